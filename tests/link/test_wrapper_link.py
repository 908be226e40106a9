"""Tests of dlmskit.link.wrapper_link (the IEC 62056-47 wrapper links, TCP stream and UDP datagrams)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmskit.errors import ConfigurationError, EncodeError, LinkError
from dlmskit.link import (
    CLIENT_PUBLIC_WPORT,
    MANAGEMENT_LOGICAL_DEVICE_WPORT,
    ApduReceived,
    FrameDiscarded,
    Link,
    LinkEvent,
    LinkFailed,
    LinkOpened,
    LinkState,
    WrapperFrame,
    WrapperLink,
    WrapperServerLink,
)

# Plain LN AARQ of shared/reference/dlms-facts.md section 5, public client (wPort 16) to the management
# logical device (wPort 1); header hand-computed: version 0001, 0010, 0001, length 001F.
AARQ = bytes.fromhex("601DA109060760857405080101BE10040E01000000065F1F0400007E1F04B0")
AARQ_WIRE = bytes.fromhex("0001 0010 0001 001F") + AARQ
RLRE = bytes.fromhex("6303800100")


def pair() -> tuple[WrapperLink, WrapperServerLink]:
    client = WrapperLink(CLIENT_PUBLIC_WPORT, MANAGEMENT_LOGICAL_DEVICE_WPORT)
    server = WrapperServerLink(MANAGEMENT_LOGICAL_DEVICE_WPORT)
    client.open()
    server.open()
    return client, server


def feed_bytewise(link: WrapperLink | WrapperServerLink, data: bytes) -> list[LinkEvent]:
    events: list[LinkEvent] = []
    for byte in data:
        events += link.receive_data(bytes([byte]))
    return events


def test_round_trip_over_a_stream_fed_byte_by_byte() -> None:
    client, server = pair()
    assert (client.state, server.state) == (LinkState.CONNECTED, LinkState.DISCONNECTED)
    client.send_apdu(AARQ)
    client.send_apdu(b"")
    wire = client.data_to_send()
    assert wire == AARQ_WIRE + bytes.fromhex("0001 0010 0001 0000")
    assert client.data_to_send() == b""
    assert feed_bytewise(server, wire) == [LinkOpened(None), ApduReceived(AARQ), ApduReceived(b"")]
    assert server.state is LinkState.CONNECTED and server.client_wport == CLIENT_PUBLIC_WPORT
    server.send_apdu(RLRE)
    answer = server.data_to_send()
    assert answer == bytes.fromhex("0001 0001 0010 0005") + RLRE
    assert feed_bytewise(client, answer) == [ApduReceived(RLRE)]
    assert not client.needs_timer and client.on_timeout() == []
    assert not server.needs_timer and server.on_timeout() == []


@settings(max_examples=50, deadline=None)
@given(
    apdus=st.lists(st.binary(max_size=300), min_size=1, max_size=5),
    cuts=st.lists(st.integers(0, 2000), max_size=8),
)
def test_any_chunking(apdus: list[bytes], cuts: list[int]) -> None:
    client, server = pair()
    for apdu in apdus:
        client.send_apdu(apdu)
    data = client.data_to_send()
    events: list[LinkEvent] = []
    previous = 0
    for cut in [*sorted(cut for cut in cuts if cut < len(data)), len(data)]:
        events += server.receive_data(data[previous:cut])
        previous = cut
    assert events == [LinkOpened(None), *(ApduReceived(apdu) for apdu in apdus)]


def test_udp_datagrams() -> None:
    client, server = pair()
    client.send_apdu(AARQ)
    client.send_apdu(RLRE)
    datagrams = client.datagrams_to_send()
    assert datagrams == [AARQ_WIRE, bytes.fromhex("0001 0010 0001 0005") + RLRE]
    assert client.datagrams_to_send() == [] and client.data_to_send() == b""
    assert server.receive_datagram(datagrams[0]) == [LinkOpened(None), ApduReceived(AARQ)]
    # A damaged datagram is dropped; the next one is read normally.
    (event,) = server.receive_datagram(datagrams[1][:-1])
    assert isinstance(event, FrameDiscarded) and "length does not match" in event.reason
    assert server.receive_datagram(datagrams[1]) == [ApduReceived(RLRE)]
    server.send_apdu(RLRE)
    assert client.receive_datagram(server.datagrams_to_send()[0]) == [ApduReceived(RLRE)]


def test_wrong_wports_are_discarded() -> None:
    client, server = pair()
    other_device = WrapperFrame(MANAGEMENT_LOGICAL_DEVICE_WPORT + 1, CLIENT_PUBLIC_WPORT, RLRE).encode()
    other_client = WrapperFrame(MANAGEMENT_LOGICAL_DEVICE_WPORT, CLIENT_PUBLIC_WPORT + 1, RLRE).encode()
    assert client.receive_data(other_device + other_client) == [
        FrameDiscarded("wrapper frame from wPort 2, not 1"),
        FrameDiscarded("wrapper frame for wPort 17, not 16"),
    ]
    assert server.receive_data(WrapperFrame(16, 2, AARQ).encode()) == [
        FrameDiscarded("wrapper frame for wPort 2, not 1")
    ]
    assert server.receive_data(AARQ_WIRE) == [LinkOpened(None), ApduReceived(AARQ)]
    assert server.receive_data(WrapperFrame(1, 1, RLRE).encode()) == [
        FrameDiscarded("wrapper frame from wPort 1, not 16")
    ]
    assert client.state is server.state is LinkState.CONNECTED


def test_bad_version_fails_the_stream() -> None:
    client, _ = pair()
    good = bytes.fromhex("0001 0001 0010 0005") + RLRE
    (failure,) = client.receive_data(bytes.fromhex("0002 0001 0010 0005") + RLRE + good)
    assert isinstance(failure, LinkFailed)
    assert str(failure.error) == (
        "wrapper stream cannot be read any further: unknown wrapper version at offset 0: expected 1, found 2"
    )
    assert client.state is LinkState.FAILED
    assert client.receive_data(good) == [] and client.receive_datagram(good) == []
    with pytest.raises(LinkError, match="failed"):
        client.send_apdu(RLRE)
    client.open()  # a new connection
    assert client.receive_data(good) == [ApduReceived(RLRE)]


def test_too_long_apdu_fails_the_stream() -> None:
    server = WrapperServerLink(1, max_apdu_length=100)
    (failure,) = server.receive_data(bytes.fromhex("0001 0010 0001 0065"))
    assert isinstance(failure, LinkFailed) and "longer than allowed" in str(failure.error)


def test_trace_hook() -> None:
    seen: list[tuple[str, bytes, object]] = []
    client = WrapperLink(16, 1, trace=lambda *entry: seen.append(entry))
    client.open()
    client.send_apdu(AARQ)
    client.receive_data(bytes.fromhex("0001 0001 0010 0005") + RLRE)
    assert seen == [
        ("tx", AARQ_WIRE, WrapperFrame(16, 1, AARQ)),
        ("rx", bytes.fromhex("0001 0001 0010 0005") + RLRE, WrapperFrame(1, 16, RLRE)),
    ]


def test_misuse() -> None:
    client = WrapperLink(16, 1)
    with pytest.raises(LinkError, match="disconnected"):
        client.send_apdu(AARQ)
    assert client.receive_data(bytes.fromhex("0001 0001 0010 0005") + RLRE) == [
        FrameDiscarded("wrapper frame while the link is not open")
    ]
    client.open()
    with pytest.raises(EncodeError):
        client.send_apdu(bytes(0x10000))
    client.close()
    assert client.state is LinkState.DISCONNECTED
    server = WrapperServerLink(1)
    with pytest.raises(LinkError, match="no client"):
        server.send_apdu(RLRE)
    server.receive_data(AARQ_WIRE)
    server.close()
    assert server.state is LinkState.DISCONNECTED and server.client_wport is None
    for bad in (
        lambda: WrapperLink(-1, 1),
        lambda: WrapperLink(16, 0x10000),
        lambda: WrapperServerLink(0x10000),
    ):
        with pytest.raises(ConfigurationError):
            bad()


def test_links_have_the_common_shape() -> None:
    links: list[Link] = [WrapperLink(16, 1), WrapperServerLink(1)]
    for link in links:
        link.open()
        assert not link.needs_timer
