"""Hostile input in every state of the client and server sessions and of the HDLC links.

Malformed and truncated APDUs, wrong tags, lengths announcing gigabytes, damaged ciphered APDUs and
valid APDUs that do not fit the state are fed to every state a session can be in. The client may only
raise typed errors (``DlmsError`` subclasses); the server never raises and answers with an APDU a
client can decode (an exception-response, a refusal, or the service's own error result); links never
raise. Memory stays bounded over thousands of hostile inputs, and a meter server keeps serving its good
clients while a bad one sends garbage on another connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from tests.tinymeter import TinyMeter, demo_meter

from dlmskit.apdu.block import GeneralBlockTransfer
from dlmskit.apdu.common import CosemAttributeDescriptorWithSelection
from dlmskit.apdu.parse import decode_apdu
from dlmskit.client.connection import AsyncConnection
from dlmskit.codec import axdr
from dlmskit.errors import DecodeError, DlmsError
from dlmskit.link.events import ApduReceived, LinkClosed, LinkOpened
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_frame import Control, FrameType, HdlcFrame
from dlmskit.link.hdlc_link import LARGEST_PARAMETERS, HdlcClientLink, HdlcServerLink
from dlmskit.security.ciphering import CipheredApdu, is_ciphered_tag
from dlmskit.session.client import ClientSession
from dlmskit.session.events import SendApdu
from dlmskit.session.server import ServerSession
from dlmskit.simulator.server import MeterServer
from dlmskit.transport import AsyncTcpTransport

from .harness import (
    CLIENT_SAP,
    DISCONNECT,
    ENERGY,
    LDN,
    PROFILE,
    SERVER,
    Case,
    client_session,
    client_settings,
    entry_range,
)

STOC = bytes.fromhex("503677524A323146")  # Green Book StoC (shared/reference/dlms-facts.md section 4)
CLIENT = HdlcAddress(16)


@dataclass
class Exchange:
    """A client session and a server session wired back to back (no link), with every APDU kept."""

    client: ClientSession
    server: ServerSession
    to_server: list[bytes]
    to_client: list[bytes]

    def send(self, apdu: bytes) -> object:
        """Send ``apdu`` to the server and give its answer to the client; returns the client's event."""
        self.to_server.append(apdu)
        (answer,) = self.server.receive(apdu)
        self.to_client.append(answer)
        return self.client.receive(answer)

    def run(self, apdu: bytes) -> object:
        event = self.send(apdu)
        while isinstance(event, SendApdu):
            event = self.send(event.apdu)
        return event


_METERS: dict[int, TinyMeter] = {}


def meter(max_pdu: int = 0x400) -> TinyMeter:
    """A demo meter (built once per PDU size: its profile has 20,000 rows) with its own attribute values."""
    if max_pdu not in _METERS:
        _METERS[max_pdu] = demo_meter(max_pdu=max_pdu)
    base = _METERS[max_pdu]
    return TinyMeter(associations=base.associations, values=dict(base.values))


def exchange(case: Case, *, max_pdu: int = 0xFFFF, server_pdu: int = 0x400) -> Exchange:
    meter_ = meter(server_pdu)
    return Exchange(
        client_session(case, max_pdu=max_pdu),
        ServerSession(meter_, CLIENT_SAP[case], challenge_factory=lambda: STOC),
        [],
        [],
    )


def associated(case: Case, **kwargs: int) -> Exchange:
    pair = exchange(case, **kwargs)
    pair.run(pair.client.associate())
    return pair


# -- every state, both sides ---------------------------------------------------------------------------------


def _idle(case: Case) -> Exchange:
    return exchange(case)


def _awaiting_aare(case: Case) -> Exchange:
    pair = exchange(case)
    pair.to_server.append(pair.client.associate())
    return pair


def _awaiting_hls_pass4(case: Case) -> Exchange:
    pair = exchange("hls-gmac")
    aarq = pair.client.associate()
    pair.to_server.append(aarq)
    (aare,) = pair.server.receive(aarq)
    event = pair.client.receive(aare)
    assert isinstance(event, SendApdu)
    pair.to_server.append(event.apdu)  # server now awaits pass 3 too: it has not seen it
    return pair


def _associated(case: Case) -> Exchange:
    return associated(case)


def _get_pending(case: Case) -> Exchange:
    pair = associated(case)
    pair.to_server.append(pair.client.get(LDN))
    return pair


def _get_in_datablocks(case: Case) -> Exchange:
    pair = associated(case, max_pdu=128)
    event = pair.send(pair.client.get(PROFILE, entry_range(1, 50)))
    assert isinstance(event, SendApdu)  # block 1 received, block 2 asked for
    pair.to_server.append(event.apdu)
    return pair


def _set_in_datablocks(case: Case) -> Exchange:
    pair = associated(case, server_pdu=64)
    event = pair.send(pair.client.set(LDN, axdr.OctetString(bytes(400))))
    assert isinstance(event, SendApdu)
    pair.to_server.append(event.apdu)
    return pair


def _action_in_pblocks(case: Case) -> Exchange:
    pair = associated(case, server_pdu=64)
    event = pair.send(pair.client.action(DISCONNECT, axdr.OctetString(bytes(400))))
    assert isinstance(event, SendApdu)
    pair.to_server.append(event.apdu)
    return pair


def _awaiting_rlre(case: Case) -> Exchange:
    pair = associated(case)
    pair.to_server.append(pair.client.release())
    return pair


STATES: dict[str, Callable[[Case], Exchange]] = {
    "idle": _idle,
    "awaiting-aare": _awaiting_aare,
    "awaiting-hls-pass4": _awaiting_hls_pass4,
    "associated": _associated,
    "get-pending": _get_pending,
    "get-in-datablocks": _get_in_datablocks,
    "set-in-datablocks": _set_in_datablocks,
    "action-in-pblocks": _action_in_pblocks,
    "awaiting-rlre": _awaiting_rlre,
}


def _traffic(case: Case) -> tuple[list[bytes], list[bytes]]:
    """Every APDU of a varied session in both directions: the valid material to mangle."""
    pair = associated(case, max_pdu=128, server_pdu=64)
    pair.run(pair.client.get(LDN))
    pair.run(pair.client.get(PROFILE, entry_range(1, 20)))
    if case != "hls-gmac":
        pair.run(pair.client.get_with_list([CosemAttributeDescriptorWithSelection(ENERGY)] * 2))
    pair.run(pair.client.set(LDN, axdr.OctetString(bytes(200))))
    pair.run(pair.client.action(DISCONNECT, axdr.OctetString(bytes(200))))
    pair.run(pair.client.action(DISCONNECT, axdr.Integer(0)))
    pair.run(pair.client.release())
    return pair.to_server, pair.to_client


def hostile(valid: list[bytes], rng: random.Random, count: int) -> list[bytes]:
    """Mangled versions of ``valid`` APDUs: truncations, changed bytes, wrong tags, huge lengths,
    garbage; plus the valid APDUs themselves (unexpected in most states)."""
    out = [*valid, b"", b"\x00", bytes(range(256)), secrets.token_bytes(64)]
    out += [
        bytes(
            (0xC4, 0x02, 0xC1, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x84, 0xFF, 0xFF, 0xFF, 0xFF)
        ),  # 4 GiB block
        bytes((0xC4, 0x01, 0xC1, 0x00, 0x01, 0x84, 0xFF, 0xFF, 0xFF, 0xFF)),  # array of 4 billion entries
        bytes((0x61, 0x84, 0xFF, 0xFF, 0xFF, 0xFF)),  # AARE of 4 GiB
        bytes((0xDB, 0x08)) + bytes(8) + bytes((0x84, 0xFF, 0xFF, 0xFF, 0xFF)),  # general-glo-ciphering
        GeneralBlockTransfer(False, False, 1, 7, 0, b"\xc4").encode(),  # block 7 first
        GeneralBlockTransfer(True, False, 1, 1, 0, b"\x61\x00").encode(),  # a wrapped AARE
        bytes.fromhex("D80106"),  # exception-response invocation-counter-error without the counter
        bytes.fromhex("0E010601"),  # confirmed-service-error initiate
        bytes.fromhex("0F0000000100"),  # data-notification
    ]
    for _ in range(count):
        apdu = bytearray(rng.choice(valid))
        kind = rng.randrange(5)
        if kind == 0:
            out.append(bytes(apdu[: rng.randrange(len(apdu))]))
        elif kind == 1:
            apdu[rng.randrange(len(apdu))] ^= rng.randrange(1, 256)
            out.append(bytes(apdu))
        elif kind == 2:
            apdu[0] = rng.randrange(256)
            out.append(bytes(apdu))
        elif kind == 3:
            position = rng.randrange(1, max(2, len(apdu)))
            out.append(
                bytes(apdu[:position]) + rng.choice((b"\x84\xff\xff\xff\xff", b"\x82\xff\xff", b"\x81"))
            )
        else:
            out.append(bytes(apdu) + secrets.token_bytes(rng.randrange(1, 9)))
    return out


@pytest.fixture(scope="module")
def traffic() -> dict[Case, tuple[list[bytes], list[bytes]]]:
    return {case: _traffic(case) for case in ("none", "lls", "hls-gmac")}


def check_server_answer(answer: bytes) -> None:
    """What the client receives must be a decodable APDU (or a well-formed ciphered one)."""
    assert answer, "empty answer"
    if is_ciphered_tag(answer[0]):
        CipheredApdu.decode(answer)
    else:
        decode_apdu(answer)


@pytest.mark.parametrize("case", ["none", "lls", "hls-gmac"])
@pytest.mark.parametrize("state", list(STATES))
def test_client_raises_only_typed_errors_in_every_state(
    state: str, case: Case, traffic: dict[Case, tuple[list[bytes], list[bytes]]]
) -> None:
    rng = random.Random(f"client/{state}/{case}")
    inputs = hostile(traffic[case][1] + traffic["none"][1], rng, 60)
    make = STATES[state]
    for apdu in inputs:
        pair = make(case)
        with contextlib.suppress(DlmsError):
            pair.client.receive(apdu)


@pytest.mark.parametrize("case", ["none", "lls", "hls-gmac"])
@pytest.mark.parametrize("state", list(STATES))
def test_server_answers_every_input_in_every_state(
    state: str, case: Case, traffic: dict[Case, tuple[list[bytes], list[bytes]]]
) -> None:
    rng = random.Random(f"server/{state}/{case}")
    inputs = hostile(traffic[case][0] + traffic["none"][0], rng, 60)
    make = STATES[state]
    for apdu in inputs:
        pair = make(case)
        for answer in pair.server.receive(apdu):
            check_server_answer(answer)
        # The server stays usable: a fresh association on the same session works.
        if state == "associated" and case == "none":
            pair.client = client_session("none")
            pair.run(pair.client.associate())


def test_one_session_survives_a_long_stream_of_hostile_apdus(
    traffic: dict[Case, tuple[list[bytes], list[bytes]]],
) -> None:
    """A single server session fed thousands of hostile APDUs in a row, then a good association."""
    server = ServerSession(meter(), 16, challenge_factory=lambda: STOC)
    rng = random.Random(3)
    for apdu in hostile(traffic["none"][0] + traffic["hls-gmac"][0], rng, 1500):
        for answer in server.receive(apdu):
            check_server_answer(answer)
    pair = Exchange(client_session("none"), server, [], [])
    pair.run(pair.client.associate())
    assert pair.run(pair.client.get(ENERGY)) is not None


# -- links ----------------------------------------------------------------------------------------------------


def _frames(rng: random.Random, count: int) -> Iterator[bytes]:
    """Hostile HDLC input: valid-CRC frames of every control value, bad N(R)s, damaged frames,
    oversize and truncated lengths, garbage."""
    kinds = [value for value in range(256)]
    for index in range(count):
        choice = index % 6
        if choice == 0:
            try:
                control = Control.decode(rng.choice(kinds))
            except DecodeError:
                control = Control(FrameType.RR, True, nr=rng.randrange(8))
            information = (
                secrets.token_bytes(rng.randrange(0, 40))
                if control.kind in (FrameType.I, FrameType.UI, FrameType.SNRM, FrameType.FRMR, FrameType.UA)
                else b""
            )
            yield HdlcFrame(SERVER, CLIENT, control, information, rng.random() < 0.3).encode()
        elif choice == 1:
            yield HdlcFrame(
                CLIENT,
                SERVER,
                Control(FrameType.I, True, ns=rng.randrange(8), nr=rng.randrange(8)),
                b"\xe6\xe7\x00" + secrets.token_bytes(30),
                rng.random() < 0.5,
            ).encode()
        elif choice == 2:
            yield b"\x7e\xa7\xff" + secrets.token_bytes(rng.randrange(0, 60))  # announces 2047 bytes, stops
        elif choice == 3:
            frame = bytearray(
                HdlcFrame(SERVER, CLIENT, Control(FrameType.I, True), secrets.token_bytes(50)).encode()
            )
            frame[rng.randrange(1, len(frame) - 1)] ^= rng.randrange(1, 256)
            yield bytes(frame)
        elif choice == 4:
            yield HdlcFrame(
                HdlcAddress(1, 17),
                HdlcAddress(rng.randrange(1, 127)),
                Control(FrameType.SNRM, True),
                b"\x81\x80\x03\x05\x01\xff",
            ).encode()
        else:
            yield secrets.token_bytes(rng.randrange(1, 100))


def _server_stack() -> tuple[HdlcServerLink, Callable[[bytes], None]]:
    meter_ = meter()
    link = HdlcServerLink(SERVER, LARGEST_PARAMETERS)
    sessions: dict[int, ServerSession] = {}

    def feed(data: bytes) -> None:
        for event in link.receive_data(data):
            if isinstance(event, (LinkOpened, LinkClosed)):
                sessions.clear()
            elif isinstance(event, ApduReceived) and link.client_address is not None:
                sap = link.client_address
                session = sessions.setdefault(sap, ServerSession(meter_, sap))
                for answer in session.receive(event.apdu):
                    link.send_apdu(answer)
        link.data_to_send()
        if link.needs_timer:
            link.on_timeout()

    return link, feed


def test_links_never_raise_on_hostile_frames() -> None:
    rng = random.Random(5)
    _link, feed = _server_stack()
    feed(HdlcFrame(SERVER, CLIENT, Control(FrameType.SNRM, True)).encode())
    client = HdlcClientLink(16, SERVER, LARGEST_PARAMETERS)
    client.open()
    for frame in _frames(rng, 3000):
        feed(frame)
        client.receive_data(frame)
        client.data_to_send()
        if client.needs_timer and rng.random() < 0.1:
            client.on_timeout()
        if client.state.name == "FAILED":
            client.open()


def test_memory_stays_bounded_under_a_stream_of_hostile_frames() -> None:
    rng = random.Random(6)
    _link, feed = _server_stack()
    frames = list(_frames(rng, 6000))
    for frame in frames[:1000]:  # warm up: caches, first sessions
        feed(frame)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for frame in frames[1000:]:
            feed(frame)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 256 * 1024, f"memory grew by {grown} bytes over 5,000 hostile frames"


def test_client_memory_stays_bounded_under_hostile_answers(
    traffic: dict[Case, tuple[list[bytes], list[bytes]]],
) -> None:
    rng = random.Random(7)
    inputs = hostile(traffic["none"][1], rng, 1500)
    pair = associated("none")

    def one(apdu: bytes) -> None:
        nonlocal pair
        try:
            pair.client.receive(apdu)
        except DlmsError:
            pair = associated("none")

    for apdu in inputs[:500]:
        one(apdu)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for apdu in inputs[500:]:
            one(apdu)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 256 * 1024, f"memory grew by {grown} bytes"


# -- a bad peer on one connection, good clients on others --------------------------------------------------


async def test_bad_client_does_not_disturb_good_ones() -> None:
    server = MeterServer(meter(), inactivity_timeout=5)
    listener = await server.start_tcp("127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    rng = random.Random(8)

    async def bad_client() -> int:
        """Garbage, half frames, hostile frames after a valid SNRM, reconnecting when dropped."""
        sent = 0
        while not stop.is_set() and sent < 2000:
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(HdlcFrame(SERVER, CLIENT, Control(FrameType.SNRM, True)).encode())
                for frame in _frames(rng, 50):
                    writer.write(frame)
                    sent += 1
                await writer.drain()
                await asyncio.sleep(0.005)
                writer.close()
            except (ConnectionError, OSError):
                await asyncio.sleep(0.01)
        return sent

    async def good_client(number: int) -> int:
        case: Case = ("none", "lls", "hls-gmac")[number % 3]
        session = ClientSession(client_settings(case), challenge=secrets.token_bytes(16))
        link = HdlcClientLink(CLIENT_SAP[case], SERVER, LARGEST_PARAMETERS)
        async with AsyncConnection(
            AsyncTcpTransport("127.0.0.1", port), link, session, timeout=5
        ) as connection:
            for _ in range(3):
                got = await connection.request(session.get(ENERGY))
                assert got.results[0].value == 123456  # type: ignore[union-attr]
        return number

    bad = [asyncio.create_task(bad_client()) for _ in range(2)]
    try:
        done = []
        for start in range(0, 12, 4):
            done += await asyncio.gather(*(good_client(n) for n in range(start, start + 4)))
    finally:
        stop.set()
        sent = sum(await asyncio.gather(*bad))
        await server.close()
    assert done == list(range(12)) and sent > 0
