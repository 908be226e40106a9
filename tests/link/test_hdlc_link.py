"""Tests of dlmskit.link.hdlc_link (the IEC 62056-46 HDLC link state machines).

A client link and a server link are wired together in memory: :class:`Wire` moves ``data_to_send()``
from one to the other, optionally through a fault function, and calls ``on_timeout()`` when nothing
moves while a link waits for its peer.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmskit.errors import ConfigurationError, LinkError
from dlmskit.link import (
    DEFAULT_PARAMETERS,
    LARGEST_PARAMETERS,
    LLC_REQUEST,
    LLC_RESPONSE,
    ApduReceived,
    Control,
    FrameDiscarded,
    FrameType,
    HdlcAddress,
    HdlcClientLink,
    HdlcFrame,
    HdlcParameters,
    HdlcServerLink,
    Link,
    LinkClosed,
    LinkEvent,
    LinkFailed,
    LinkOpened,
    LinkState,
    crc16_le,
)

CLIENT = 0x10
SERVER = HdlcAddress(1, 17)
TO_SERVER = "up"
TO_CLIENT = "down"

Fault = Callable[[str, list[bytes]], list[bytes]]
"""Given the direction and the frames one side sent, the frames that reach the other side."""


def split_frames(data: bytes) -> list[bytes]:
    """Cut what a link sent into its frames (the format field gives each length)."""
    frames = []
    while data:
        length = ((data[1] & 0x07) << 8) | data[2]
        frames.append(data[: length + 2])
        data = data[length + 2 :]
    return frames


def echo(request: bytes) -> bytes:
    """The server application of most tests: answers every APDU with a recognisable response."""
    return b"\xc4" + request[::-1]


class Wire:
    """A client link and a server link connected in memory."""

    def __init__(
        self,
        client: HdlcClientLink,
        server: HdlcServerLink,
        fault: Fault | None = None,
        respond: Callable[[bytes], bytes] | None = echo,
    ) -> None:
        self.client = client
        self.server = server
        self.fault = fault
        self.respond = respond
        self.client_events: list[LinkEvent] = []
        self.server_events: list[LinkEvent] = []
        self.timeouts = 0

    def step(self) -> bool:
        """Move what each side has to send once; return whether anything was sent."""
        moved = False
        for direction in (TO_SERVER, TO_CLIENT):
            source, target = (
                (self.client, self.server) if direction == TO_SERVER else (self.server, self.client)
            )
            data = source.data_to_send()
            if not data:
                continue
            moved = True
            frames = split_frames(data)
            if self.fault is not None:
                frames = self.fault(direction, frames)
            if not frames:
                continue
            events = target.receive_data(b"".join(frames))
            if direction == TO_CLIENT:
                self.client_events += events
                continue
            self.server_events += events
            for event in events:
                if isinstance(event, ApduReceived) and self.respond is not None:
                    self.server.send_apdu(self.respond(event.apdu))
        return moved

    def run(self, done: Callable[[], bool], max_steps: int = 20_000) -> None:
        """Pump until ``done()``; a timer expires whenever nothing moves and a side waits."""
        for _ in range(max_steps):
            if done():
                return
            if self.step():
                continue
            if not (self.client.needs_timer or self.server.needs_timer):
                raise AssertionError("stuck: nothing to send and no timer running")
            self.timeouts += 1
            self.server_events += self.server.on_timeout()
            self.client_events += self.client.on_timeout()
        raise AssertionError("the links never settled")

    def client_apdus(self) -> list[bytes]:
        return [event.apdu for event in self.client_events if isinstance(event, ApduReceived)]

    def server_apdus(self) -> list[bytes]:
        return [event.apdu for event in self.server_events if isinstance(event, ApduReceived)]

    def failures(self) -> list[LinkFailed]:
        return [event for event in self.client_events if isinstance(event, LinkFailed)]

    def connect(self) -> None:
        self.client.open()
        self.run(lambda: self.client.state is not LinkState.CONNECTING)

    def request(self, apdu: bytes) -> None:
        """Send one APDU and pump until its response arrived (or the link failed)."""
        expected = len(self.client_apdus()) + 1
        self.client.send_apdu(apdu)
        self.run(lambda: len(self.client_apdus()) == expected or self.client.state is LinkState.FAILED)

    def disconnect(self) -> None:
        self.client.close()
        self.run(lambda: self.client.state in (LinkState.DISCONNECTED, LinkState.FAILED))


def make_wire(
    proposal: HdlcParameters = DEFAULT_PARAMETERS,
    limits: HdlcParameters = LARGEST_PARAMETERS,
    fault: Fault | None = None,
    max_retries: int = 3,
    log: list[tuple[str, HdlcFrame]] | None = None,
) -> Wire:
    """A wire whose frames are recorded in ``log`` (direction, frame), in the order they were sent."""

    def tracer(direction: str) -> Callable[[str, bytes, object], None] | None:
        if log is None:
            return None

        def trace(kind: str, raw: bytes, frame: object) -> None:
            assert isinstance(frame, HdlcFrame)
            assert frame.encode() == raw
            if kind == "tx":
                log.append((direction, frame))

        return trace

    client = HdlcClientLink(CLIENT, SERVER, proposal, max_retries, trace=tracer(TO_SERVER))
    server = HdlcServerLink(SERVER, limits, trace=tracer(TO_CLIENT))
    return Wire(client, server, fault)


def summary(log: list[tuple[str, HdlcFrame]]) -> list[tuple[str, int, bool]]:
    """(direction, control byte, segmentation bit) of every frame."""
    return [(direction, frame.control.encode(), frame.segmented) for direction, frame in log]


class Once:
    """A fault hitting the first frame of one direction that ``match`` selects: ``drop``, ``duplicate``,
    ``corrupt`` (one byte flipped) or ``delay`` (delivered after the next frames of that direction)."""

    def __init__(self, direction: str, match: Callable[[HdlcFrame], bool], action: str) -> None:
        self.direction = direction
        self.match = match
        self.action = action
        self.done = False
        self.held: list[bytes] = []

    def __call__(self, direction: str, frames: list[bytes]) -> list[bytes]:
        if direction != self.direction:
            return frames
        if self.done:
            held, self.held = self.held, []
            return frames + held
        for index, raw in enumerate(frames):
            if not self.match(HdlcFrame.decode(raw)):
                continue
            self.done = True
            if self.action == "duplicate":
                return frames[: index + 1] + frames[index:]
            if self.action == "corrupt":
                damaged = bytearray(raw)
                damaged[len(raw) // 2] ^= 0x5A
                return [*frames[:index], bytes(damaged), *frames[index + 1 :]]
            if self.action == "delay":
                self.held.append(raw)
            return frames[:index] + frames[index + 1 :]
        return frames


def is_kind(kind: FrameType) -> Callable[[HdlcFrame], bool]:
    return lambda frame: frame.control.kind is kind


# --- connection ---------------------------------------------------------------------------------------


def test_snrm_classic_vector() -> None:
    # The SNRM "7E A0 07 03 21 93 0F 01 7E" (public client 0x10 to server address 1, no parameters) found
    # in countless public DLMS tools and forum posts, e.g. the GXByteBuffer hex test of Gurux's Go library.
    link = HdlcClientLink(CLIENT, HdlcAddress(1))
    link.open()
    assert link.data_to_send() == bytes.fromhex("7E A0 07 03 21 93 0F 01 7E")
    assert link.state is LinkState.CONNECTING and link.needs_timer


def test_snrm_ua_bytes_defaults() -> None:
    # Client 0x10 -> "21"; logical 1, physical 17 in two bytes -> "02 23"; SNRM with P -> 0x93; the
    # default proposal goes without information field. FCS over "A0 08 02 23 21 93".
    wire = make_wire(limits=DEFAULT_PARAMETERS)
    wire.client.open()
    snrm = wire.client.data_to_send()
    assert crc16_le(bytes.fromhex("A0 08 02 23 21 93")) == bytes.fromhex("BD 64")
    assert snrm == bytes.fromhex("7E A0 08 02 23 21 93 BD 64 7E")
    events = wire.server.receive_data(snrm)
    assert events == [LinkOpened(DEFAULT_PARAMETERS)]
    ua = wire.server.data_to_send()
    # UA with F (0x73) stating the defaults: 81 80 0C then 05/06 max info 128, 07/08 window 1.
    assert ua == bytes.fromhex(
        "7E A0 19 21 02 23 73 7E FC 81 80 0C 05 01 80 06 01 80 07 01 01 08 01 01 05 13 7E"
    )
    assert wire.client.receive_data(ua) == [LinkOpened(DEFAULT_PARAMETERS)]
    assert wire.client.state is wire.server.state is LinkState.CONNECTED
    assert wire.server.client_address == CLIENT
    assert not wire.client.needs_timer


def test_snrm_ua_bytes_largest_parameters() -> None:
    # 2030 = 0x07EE in two bytes, window 7 in one: group length 0x0E.
    information = bytes.fromhex("81 80 0E 05 02 07 EE 06 02 07 EE 07 01 07 08 01 07")
    wire = make_wire(LARGEST_PARAMETERS, LARGEST_PARAMETERS)
    wire.client.open()
    snrm = wire.client.data_to_send()
    assert HdlcFrame.decode(snrm) == HdlcFrame(
        SERVER, HdlcAddress(CLIENT), Control(FrameType.SNRM, True), information
    )
    assert snrm == bytes.fromhex("7E A0 1B 02 23 21 93 31 CD") + information + bytes.fromhex("E9 B3 7E")
    wire.server.receive_data(snrm)
    ua = wire.server.data_to_send()
    assert ua == bytes.fromhex("7E A0 1B 21 02 23 73 F6 EA") + information + bytes.fromhex("E9 B3 7E")
    assert wire.client.receive_data(ua) == [LinkOpened(LARGEST_PARAMETERS)]
    assert wire.client.parameters == wire.server.parameters == LARGEST_PARAMETERS


def test_negotiation_takes_the_smaller_offer_each_way() -> None:
    wire = make_wire(HdlcParameters(2030, 512, 7, 3), HdlcParameters(256, 1024, 2, 7))
    wire.connect()
    # Server view: it sends min(256, client rx 512) in windows of min(2, 3); receives min(1024, 2030) x 7.
    assert wire.server.parameters == HdlcParameters(256, 1024, 2, 7)
    assert wire.client.parameters == HdlcParameters(1024, 256, 7, 2)
    assert [e for e in wire.server_events if isinstance(e, LinkOpened)] == [
        LinkOpened(wire.server.parameters)
    ]


def test_small_apdu_exchange_exact_bytes() -> None:
    wire = make_wire(limits=DEFAULT_PARAMETERS)
    wire.connect()
    request = bytes.fromhex(
        "C001C1000F0000280000FF0100"
    )  # get-request-normal, shared/reference section 5 style
    wire.client.send_apdu(request)
    assert wire.client.needs_timer
    frame = wire.client.data_to_send()
    # I-frame N(S)=0 N(R)=0 P=1 -> 0x10; HCS; LLC E6 E6 00; the APDU; FCS.
    assert frame == bytes.fromhex("7E A0 1A 02 23 21 10 E6 70 E6 E6 00") + request + bytes.fromhex("F9 79 7E")
    assert wire.server.receive_data(frame) == [ApduReceived(request)]
    assert wire.server.data_to_send() == b""  # the poll waits for the application's response
    response = bytes.fromhex("C401C100090400000000")
    wire.server.send_apdu(response)
    answer = wire.server.data_to_send()
    # I-frame N(S)=0 N(R)=1 F=1 -> 0x30, LLC E6 E7 00.
    assert answer == bytes.fromhex("7E A0 17 21 02 23 30 59 ED E6 E7 00") + response + bytes.fromhex(
        "9B 48 7E"
    )
    assert wire.client.receive_data(answer) == [ApduReceived(response)]
    assert not wire.client.needs_timer


def test_disc_ua_exact_bytes() -> None:
    wire = make_wire()
    wire.connect()
    wire.client.close()
    disc = wire.client.data_to_send()
    assert disc == bytes.fromhex("7E A0 08 02 23 21 53 B1 A2 7E")
    assert wire.server.receive_data(disc) == [LinkClosed("client disconnected (DISC)")]
    ua = wire.server.data_to_send()
    assert HdlcFrame.decode(ua) == HdlcFrame(HdlcAddress(CLIENT), SERVER, Control(FrameType.UA, True))
    assert wire.client.receive_data(ua) == [LinkClosed("disconnected")]
    assert wire.client.state is wire.server.state is LinkState.DISCONNECTED
    assert wire.server.client_address is None
    # A second DISC (its UA lost) is answered with DM, which closes as well.
    wire.client.open()
    wire.run(lambda: wire.client.state is LinkState.CONNECTED)
    wire.server.receive_data(HdlcFrame(SERVER, HdlcAddress(CLIENT), Control(FrameType.DISC, True)).encode())
    assert wire.server.state is LinkState.DISCONNECTED
    wire.server.data_to_send()
    wire.client.close()
    wire.server.receive_data(wire.client.data_to_send())
    assert wire.client.receive_data(wire.server.data_to_send()) == [
        LinkClosed("server was already disconnected (DM)")
    ]


# --- segmentation and windowing -------------------------------------------------------------------------

# A 1000-byte APDU: with the LLC header 1003 bytes, 7 segments of 128 and one of 107.
BIG = bytes(range(256)) * 3 + bytes(range(232))
UP, DOWN = TO_SERVER, TO_CLIENT


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (
            1,
            # I N(S)=0..7 N(R)=0 P, each acknowledged by RR N(R)=1..0 F; the response I N(S)=0 N(R)=0 F.
            [
                (UP, 0x10, True), (DOWN, 0x31, False), (UP, 0x12, True), (DOWN, 0x51, False),
                (UP, 0x14, True), (DOWN, 0x71, False), (UP, 0x16, True), (DOWN, 0x91, False),
                (UP, 0x18, True), (DOWN, 0xB1, False), (UP, 0x1A, True), (DOWN, 0xD1, False),
                (UP, 0x1C, True), (DOWN, 0xF1, False), (UP, 0x1E, False), (DOWN, 0x10, False),
            ],
        ),
        (
            3,
            # Windows of three I-frames, P on the third; the last window stops at the end of the APDU.
            [
                (UP, 0x00, True), (UP, 0x02, True), (UP, 0x14, True), (DOWN, 0x71, False),
                (UP, 0x06, True), (UP, 0x08, True), (UP, 0x1A, True), (DOWN, 0xD1, False),
                (UP, 0x0C, True), (UP, 0x1E, False), (DOWN, 0x10, False),
            ],
        ),
    ],
)  # fmt: skip
def test_segmented_request_exact_frames(window: int, expected: list[tuple[str, int, bool]]) -> None:
    log: list[tuple[str, HdlcFrame]] = []
    wire = make_wire(HdlcParameters(128, 128, window, window), log=log)
    wire.respond = lambda request: b"\xc4\x01"
    wire.connect()
    del log[:]
    wire.request(BIG)
    assert summary(log) == expected
    segments = [frame.information for direction, frame in log if direction == UP]
    assert [len(piece) for piece in segments] == [128] * 7 + [107]
    assert segments[0].startswith(LLC_REQUEST) and b"".join(segments) == LLC_REQUEST + BIG
    assert wire.server_apdus() == [BIG] and wire.client_apdus() == [b"\xc4\x01"]
    assert wire.timeouts == 0


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (
            1,
            # I N(S)=0..7 N(R)=1 F, the client asking for each next segment with RR N(R)=1..7 P.
            [
                (UP, 0x10, False), (DOWN, 0x30, True), (UP, 0x31, False), (DOWN, 0x32, True),
                (UP, 0x51, False), (DOWN, 0x34, True), (UP, 0x71, False), (DOWN, 0x36, True),
                (UP, 0x91, False), (DOWN, 0x38, True), (UP, 0xB1, False), (DOWN, 0x3A, True),
                (UP, 0xD1, False), (DOWN, 0x3C, True), (UP, 0xF1, False), (DOWN, 0x3E, False),
            ],
        ),
        (
            3,
            [
                (UP, 0x10, False), (DOWN, 0x20, True), (DOWN, 0x22, True), (DOWN, 0x34, True),
                (UP, 0x71, False), (DOWN, 0x26, True), (DOWN, 0x28, True), (DOWN, 0x3A, True),
                (UP, 0xD1, False), (DOWN, 0x2C, True), (DOWN, 0x3E, False),
            ],
        ),
    ],
)  # fmt: skip
def test_segmented_response_exact_frames(window: int, expected: list[tuple[str, int, bool]]) -> None:
    log: list[tuple[str, HdlcFrame]] = []
    wire = make_wire(HdlcParameters(128, 128, window, window), log=log)
    wire.respond = lambda request: BIG
    wire.connect()
    del log[:]
    wire.request(b"\xc0\x01")
    assert summary(log) == expected
    segments = [
        frame.information
        for direction, frame in log
        if direction == DOWN and frame.control.kind is FrameType.I
    ]
    assert [len(piece) for piece in segments] == [128] * 7 + [107]
    assert segments[0].startswith(LLC_RESPONSE) and b"".join(segments) == LLC_RESPONSE + BIG
    assert wire.client_apdus() == [BIG]
    assert not wire.client.needs_timer


def test_largest_parameters_are_used_when_offered() -> None:
    log: list[tuple[str, HdlcFrame]] = []
    wire = make_wire(LARGEST_PARAMETERS, LARGEST_PARAMETERS, log=log)
    wire.respond = lambda request: request * 2
    wire.connect()
    del log[:]
    apdu = bytes(5000)
    wire.request(apdu)
    # 5003 bytes: 2030 + 2030 + 943 in one window, P on the last; the 10003-byte response likewise.
    assert summary(log) == [
        (UP, 0x00, True), (UP, 0x02, True), (UP, 0x14, False),
        (DOWN, 0x60, True), (DOWN, 0x62, True), (DOWN, 0x64, True), (DOWN, 0x66, True), (DOWN, 0x78, False),
    ]  # fmt: skip
    assert [len(frame.information) for _, frame in log] == [2030, 2030, 943, 2030, 2030, 2030, 2030, 1883]
    assert wire.client_apdus() == [apdu * 2]


@pytest.mark.parametrize("parameters", [LARGEST_PARAMETERS, DEFAULT_PARAMETERS], ids=["2030x7", "128x1"])
def test_64_kib_both_directions(parameters: HdlcParameters) -> None:
    request = random.Random(1).randbytes(65536)
    response = random.Random(2).randbytes(65536)
    wire = make_wire(parameters, LARGEST_PARAMETERS)
    wire.respond = lambda apdu: response
    wire.connect()
    wire.request(request)
    assert wire.server_apdus() == [request]
    assert wire.client_apdus() == [response]
    assert wire.timeouts == 0
    wire.disconnect()
    assert wire.client.state is LinkState.DISCONNECTED


def test_several_apdus_keep_the_sequence_numbers_going() -> None:
    wire = make_wire(HdlcParameters(128, 128, 3, 3))
    wire.connect()
    requests = [bytes([n]) * (n * 97) for n in range(12)]
    for request in requests:
        wire.request(request)
    assert wire.server_apdus() == requests
    assert wire.client_apdus() == [echo(request) for request in requests]
    assert wire.timeouts == 0


def test_any_chunking_of_the_line() -> None:
    wire = make_wire(HdlcParameters(128, 128, 2, 2))
    wire.connect()
    wire.client.send_apdu(BIG)
    for _ in range(20):
        for byte in wire.client.data_to_send():
            events = wire.server.receive_data(bytes([byte]))
            wire.server_events += events
            if events and isinstance(events[-1], ApduReceived):
                wire.server.send_apdu(BIG)
        for byte in wire.server.data_to_send():
            wire.client_events += wire.client.receive_data(bytes([byte]))
    assert wire.server_apdus() == [BIG] and wire.client_apdus() == [BIG]
    assert not wire.client.needs_timer


# --- faults ----------------------------------------------------------------------------------------------


def first_i_frame(frame: HdlcFrame) -> bool:
    return frame.control.kind is FrameType.I


def nth_i_frame(n: int) -> Callable[[HdlcFrame], bool]:
    return lambda frame: frame.control.kind is FrameType.I and frame.control.ns == n


def last_segment(frame: HdlcFrame) -> bool:
    return frame.control.kind is FrameType.I and not frame.segmented


def ua_to_disc(frame: HdlcFrame) -> bool:
    return frame.control.kind is FrameType.UA and not frame.information


@pytest.mark.parametrize("window", [1, 3])
@pytest.mark.parametrize(
    ("name", "fault"),
    [
        ("lost request segment", lambda: Once(UP, nth_i_frame(1), "drop")),
        ("lost last request segment", lambda: Once(UP, last_segment, "drop")),
        ("lost response segment", lambda: Once(DOWN, nth_i_frame(1), "drop")),
        ("lost last response segment", lambda: Once(DOWN, last_segment, "drop")),
        ("duplicated request segment", lambda: Once(UP, nth_i_frame(1), "duplicate")),
        ("duplicated last request segment", lambda: Once(UP, last_segment, "duplicate")),
        ("duplicated response segment", lambda: Once(DOWN, nth_i_frame(2), "duplicate")),
        ("corrupted request segment", lambda: Once(UP, nth_i_frame(2), "corrupt")),
        ("corrupted response segment", lambda: Once(DOWN, nth_i_frame(0), "corrupt")),
        ("reordered request segments", lambda: Once(UP, nth_i_frame(0), "delay")),
        ("reordered response segments", lambda: Once(DOWN, nth_i_frame(1), "delay")),
        ("reordered RR", lambda: Once(DOWN, is_kind(FrameType.RR), "delay")),
        ("lost RR from the server", lambda: Once(DOWN, is_kind(FrameType.RR), "drop")),
        ("lost RR from the client", lambda: Once(UP, is_kind(FrameType.RR), "drop")),
        ("corrupted RR from the server", lambda: Once(DOWN, is_kind(FrameType.RR), "corrupt")),
        ("corrupted RR from the client", lambda: Once(UP, is_kind(FrameType.RR), "corrupt")),
        ("duplicated RR", lambda: Once(DOWN, is_kind(FrameType.RR), "duplicate")),
        ("lost UA", lambda: Once(DOWN, is_kind(FrameType.UA), "drop")),
        ("lost SNRM", lambda: Once(UP, is_kind(FrameType.SNRM), "drop")),
        ("corrupted UA", lambda: Once(DOWN, is_kind(FrameType.UA), "corrupt")),
        ("duplicated SNRM", lambda: Once(UP, is_kind(FrameType.SNRM), "duplicate")),
        ("lost DISC", lambda: Once(UP, is_kind(FrameType.DISC), "drop")),
        ("lost UA to DISC", lambda: Once(DOWN, ua_to_disc, "drop")),
    ],
)  # fmt: skip
def test_single_fault_is_recovered(name: str, fault: Callable[[], Once], window: int) -> None:
    injected = fault()
    wire = make_wire(HdlcParameters(128, 128, window, window), fault=injected)
    wire.respond = lambda request: BIG if request == b"\xc0\x02" else echo(request)
    wire.connect()
    requests = [BIG, b"\xc0\x02", b"\xc0\x03"]
    for request in requests:
        wire.request(request)
    wire.disconnect()
    assert injected.done, name
    assert not wire.failures(), wire.failures()
    assert wire.server_apdus() == requests
    assert wire.client_apdus() == [echo(BIG), BIG, echo(b"\xc0\x03")]
    assert wire.client.state is LinkState.DISCONNECTED
    assert wire.server.state is LinkState.DISCONNECTED


def test_lost_frame_is_resent_from_the_n_r_of_the_poll_answer() -> None:
    # Window 3: the second I-frame of the first window is lost. The server gets N(S)=2 with P while
    # expecting N(S)=1: not delivered, answered RR N(R)=1 F; the client goes back to N(S)=1.
    log: list[tuple[str, HdlcFrame]] = []
    wire = make_wire(HdlcParameters(128, 128, 3, 3), fault=Once(UP, nth_i_frame(1), "drop"), log=log)
    wire.connect()
    del log[:]
    wire.request(BIG)
    assert summary(log)[:8] == [
        (UP, 0x00, True), (UP, 0x02, True), (UP, 0x14, True), (DOWN, 0x31, False),
        (UP, 0x02, True), (UP, 0x04, True), (UP, 0x16, True), (DOWN, 0x91, False),
    ]  # fmt: skip
    discarded = [event for event in wire.server_events if isinstance(event, FrameDiscarded)]
    assert discarded == [FrameDiscarded("I-frame N(S)=2 out of sequence (a frame was lost), expected N(S)=1")]
    assert wire.server_apdus() == [BIG] and wire.timeouts == 0


def test_lost_response_frame_is_asked_for_again_at_once() -> None:
    # Window 3: the server's I-frame N(S)=1 is lost. N(S)=2 (F) arrives out of sequence: the client
    # answers at once with RR N(R)=1 P (0x31) and the server goes back to N(S)=1.
    log: list[tuple[str, HdlcFrame]] = []
    wire = make_wire(HdlcParameters(128, 128, 3, 3), fault=Once(DOWN, nth_i_frame(1), "drop"), log=log)
    wire.respond = lambda request: BIG
    wire.connect()
    del log[:]
    wire.request(b"\xc0\x01")
    assert summary(log)[:9] == [
        (UP, 0x10, False), (DOWN, 0x20, True), (DOWN, 0x22, True), (DOWN, 0x34, True),
        (UP, 0x31, False), (DOWN, 0x22, True), (DOWN, 0x24, True), (DOWN, 0x36, True),
        (UP, 0x91, False),
    ]  # fmt: skip
    assert wire.client_apdus() == [BIG] and wire.timeouts == 0


def test_lost_ua_repeats_snrm_and_reopens_the_server() -> None:
    log: list[tuple[str, HdlcFrame]] = []
    wire = make_wire(fault=Once(DOWN, is_kind(FrameType.UA), "drop"), log=log)
    wire.connect()
    # The first UA is sent (and lost on the way).
    assert summary(log) == [(UP, 0x93, False), (DOWN, 0x73, False), (UP, 0x93, False), (DOWN, 0x73, False)]
    assert wire.server_events == [LinkOpened(DEFAULT_PARAMETERS), LinkOpened(DEFAULT_PARAMETERS)]
    assert wire.client_events == [LinkOpened(DEFAULT_PARAMETERS)] and wire.timeouts == 1


def test_timeout_resends_the_single_unacknowledged_i_frame() -> None:
    # Window 1, the first I-frame is lost: after the timeout the client sends N(S)=0 again with P=1
    # (one I-frame unacknowledged: as cheap as a poll, a round trip shorter; docs/hdlc.md C7).
    log: list[tuple[str, HdlcFrame]] = []
    wire = make_wire(fault=Once(UP, first_i_frame, "drop"), log=log)
    wire.connect()
    del log[:]
    wire.request(b"\xc0\x01")
    assert summary(log) == [(UP, 0x10, False), (UP, 0x10, False), (DOWN, 0x30, False)]
    assert wire.timeouts == 1


def test_duplicate_is_acknowledged_again_not_delivered_twice() -> None:
    wire = make_wire()
    wire.connect()
    wire.client.send_apdu(b"\xc0\x01")
    frame = wire.client.data_to_send()
    assert wire.server.receive_data(frame) == [ApduReceived(b"\xc0\x01")]
    wire.server.send_apdu(b"\xc4\x01")
    response = wire.server.data_to_send()
    # The same I-frame once more (the client did not get the response): acknowledged again, with the
    # response repeated (go-back-N), not delivered.
    assert wire.server.receive_data(frame) == [FrameDiscarded("repeated I-frame N(S)=0, already received")]
    assert wire.server.data_to_send() == response
    assert wire.client.receive_data(response) == [ApduReceived(b"\xc4\x01")]
    assert wire.client.receive_data(response) == [FrameDiscarded("repeated I-frame N(S)=0, already received")]
    assert wire.client.data_to_send() == b""


def test_everything_lost_while_connecting() -> None:
    wire = make_wire(fault=lambda direction, frames: [], max_retries=3)
    wire.connect()
    assert wire.client.state is LinkState.FAILED
    (failure,) = wire.failures()
    assert str(failure.error) == (
        "no answer to SNRM from HDLC server logical device 1, physical device 17 after 3 retries"
    )
    assert wire.timeouts == 4  # the SNRM and three repetitions
    assert not wire.client.needs_timer
    with pytest.raises(LinkError, match="failed"):
        wire.client.send_apdu(b"\x00")


@pytest.mark.parametrize(
    ("direction", "message"),
    [
        (
            UP,
            "HDLC server logical device 1, physical device 17 did not acknowledge an I-frame after 2 retries",
        ),
        (
            DOWN,
            "HDLC server logical device 1, physical device 17 did not acknowledge an I-frame after 2 retries",
        ),
    ],
)
def test_everything_lost_while_connected(direction: str, message: str) -> None:
    cut = False

    def fault(way: str, frames: list[bytes]) -> list[bytes]:
        return [] if cut and way == direction else frames

    wire = make_wire(fault=fault, max_retries=2)
    wire.connect()
    cut = True
    wire.client.send_apdu(b"\xc0\x01")
    wire.run(lambda: wire.client.state is LinkState.FAILED)
    (failure,) = wire.failures()
    assert str(failure.error) == message
    assert wire.timeouts == 3


def test_no_response_fails_after_polls() -> None:
    # The server acknowledges the request but its application never answers: the client polls.
    wire = make_wire(max_retries=2)
    wire.respond = None
    wire.connect()
    wire.client.send_apdu(b"\xc0\x01")
    wire.run(lambda: wire.client.state is LinkState.FAILED)
    (failure,) = wire.failures()
    assert (
        str(failure.error)
        == "no response from HDLC server logical device 1, physical device 17 after 2 retries"
    )


def test_late_response_is_fetched_by_polling() -> None:
    wire = make_wire()
    wire.respond = None
    wire.connect()
    wire.client.send_apdu(b"\xc0\x01")
    wire.step()  # the server got the request and keeps the turn for its application
    assert wire.server.data_to_send() == b""
    assert wire.client.needs_timer and wire.server_apdus() == [b"\xc0\x01"]
    wire.client_events += wire.client.on_timeout()  # poll: RR P=1; the server answers RR F=1
    wire.step()
    wire.server.send_apdu(b"\xc4\x01")  # the response is ready now; it waits for the next poll
    assert wire.server.data_to_send() == b""
    assert wire.client.needs_timer
    wire.client_events += wire.client.on_timeout()
    wire.step()
    assert wire.client_apdus() == [b"\xc4\x01"] and not wire.failures()
    assert not wire.client.needs_timer


# --- unnumbered frames and errors -----------------------------------------------------------------------


def from_server(kind: FrameType, information: bytes = b"", nr: int = 0) -> bytes:
    return HdlcFrame(HdlcAddress(CLIENT), SERVER, Control(kind, True, nr=nr), information).encode()


def test_dm_while_connected_fails() -> None:
    wire = make_wire()
    wire.connect()
    (event,) = wire.client.receive_data(from_server(FrameType.DM))
    assert isinstance(event, LinkFailed) and "is disconnected (DM)" in str(event.error)
    assert wire.client.state is LinkState.FAILED
    # A new open() starts over.
    wire.client.open()
    wire.run(lambda: wire.client.state is LinkState.CONNECTED)
    wire.request(b"\xc0\x01")
    assert wire.client_apdus() == [echo(b"\xc0\x01")]


def test_frmr_fails_with_the_reason() -> None:
    wire = make_wire()
    wire.connect()
    (event,) = wire.client.receive_data(from_server(FrameType.FRMR, bytes([0x10, 0x22, 0x04])))
    assert isinstance(event, LinkFailed)
    assert str(event.error) == (
        "HDLC server rejected a frame (FRMR): rejected control field 0x10, information field too long (Y)"
    )


def test_refused_client_gets_dm() -> None:
    client = HdlcClientLink(CLIENT, SERVER)
    server = HdlcServerLink(SERVER, accept_client=lambda sap: sap == 1)
    client.open()
    assert server.receive_data(client.data_to_send()) == [FrameDiscarded("SNRM from client 16 refused")]
    (event,) = client.receive_data(server.data_to_send())
    assert isinstance(event, LinkFailed)
    assert str(event.error) == "HDLC server logical device 1, physical device 17 refused the connection (DM)"


def test_unexpected_ua_and_dm_when_idle_are_discarded() -> None:
    link = HdlcClientLink(CLIENT, SERVER)
    events = link.receive_data(from_server(FrameType.UA) + from_server(FrameType.DM))
    assert events == [
        FrameDiscarded("unexpected UA frame: link is disconnected"),
        FrameDiscarded("unexpected DM frame: link is disconnected"),
    ]
    assert link.state is LinkState.DISCONNECTED and link.data_to_send() == b""


def test_rnr_makes_the_client_wait_and_poll() -> None:
    link = HdlcClientLink(CLIENT, SERVER, HdlcParameters(128, 128, 1, 1))
    link.open()
    link.data_to_send()
    link.receive_data(from_server(FrameType.UA))
    link.send_apdu(BIG)
    link.data_to_send()  # first segment, N(S)=0
    assert link.receive_data(from_server(FrameType.RNR, nr=1)) == []  # acknowledged, but busy
    assert link.data_to_send() == b"" and link.needs_timer
    link.on_timeout()
    poll = HdlcFrame.decode(link.data_to_send())
    assert poll.control == Control(FrameType.RR, True, nr=0)
    link.receive_data(from_server(FrameType.RR, nr=1))  # ready again: the next segment goes
    frame = HdlcFrame.decode(link.data_to_send())
    assert frame.control == Control(FrameType.I, True, ns=1, nr=0) and frame.segmented
    for _ in range(3):
        link.receive_data(from_server(FrameType.RNR, nr=2))
        link.on_timeout()
    (failure,) = link.on_timeout()
    assert isinstance(failure, LinkFailed)
    assert (
        str(failure.error)
        == "HDLC server logical device 1, physical device 17 still busy (RNR) after 3 retries"
    )


def test_server_ignores_other_addresses_and_polls_when_disconnected() -> None:
    server = HdlcServerLink(SERVER)
    other = HdlcFrame(HdlcAddress(1, 18), HdlcAddress(CLIENT), Control(FrameType.SNRM, True)).encode()
    other_size = HdlcFrame(HdlcAddress(1, 17, 4), HdlcAddress(CLIENT), Control(FrameType.SNRM, True)).encode()
    assert server.receive_data(other + other_size) == [
        FrameDiscarded(
            "frame for logical device 1, physical device 18 (2-byte address), "
            "not logical device 1, physical device 17 (2-byte address)"
        ),
        FrameDiscarded(
            "frame for logical device 1, physical device 17 (4-byte address), "
            "not logical device 1, physical device 17 (2-byte address)"
        ),
    ]
    assert server.data_to_send() == b""
    poll = HdlcFrame(SERVER, HdlcAddress(CLIENT), Control(FrameType.RR, True)).encode()
    assert server.receive_data(poll) == [FrameDiscarded("RR frame while disconnected")]
    assert HdlcFrame.decode(server.data_to_send()).control == Control(FrameType.DM, True)
    disc = HdlcFrame(SERVER, HdlcAddress(CLIENT), Control(FrameType.DISC, True)).encode()
    assert server.receive_data(disc) == []
    assert HdlcFrame.decode(server.data_to_send()).control == Control(FrameType.DM, True)
    with pytest.raises(LinkError):
        server.send_apdu(b"\x00")


def test_server_busy_with_another_client() -> None:
    wire = make_wire()
    wire.connect()
    intruder = HdlcClientLink(0x01, SERVER)
    intruder.open()
    assert wire.server.receive_data(intruder.data_to_send()) == [
        FrameDiscarded("SNRM frame from client 1: busy with client 16")
    ]
    assert isinstance(intruder.receive_data(wire.server.data_to_send())[0], LinkFailed)
    wire.request(b"\xc0\x01")
    assert wire.client_apdus() == [echo(b"\xc0\x01")]


def test_server_close_answers_the_next_poll_with_dm() -> None:
    wire = make_wire()
    wire.connect()
    wire.server.close()
    assert wire.server.state is LinkState.DISCONNECTED
    wire.client.send_apdu(b"\xc0\x01")
    wire.run(lambda: wire.client.state is LinkState.FAILED)
    assert "is disconnected (DM)" in str(wire.failures()[0].error)


def test_ui_push_from_the_server() -> None:
    wire = make_wire()
    notification = b"\x0f" + bytes(300)  # data-notification, longer than one UI frame
    wire.server.send_ui(notification, client_address=CLIENT)  # also when not connected
    wire.step()
    assert wire.client_apdus() == [notification]
    wire.connect()
    wire.server.send_ui(b"\x0f\x01")
    wire.step()
    assert wire.client_apdus() == [notification, b"\x0f\x01"]
    with pytest.raises(LinkError):
        HdlcServerLink(SERVER).send_ui(b"\x0f")


def test_ui_frames_exact() -> None:
    server = HdlcServerLink(SERVER)
    server.send_ui(bytes(200), client_address=CLIENT)
    frames = [HdlcFrame.decode(raw) for raw in split_frames(server.data_to_send())]
    assert [(frame.control.encode(), frame.segmented, len(frame.information)) for frame in frames] == [
        (0x03, True, 128),
        (0x03, False, 75),
    ]
    assert frames[0].information.startswith(LLC_RESPONSE)


def test_unreadable_parameters() -> None:
    server = HdlcServerLink(SERVER)
    snrm = HdlcFrame(SERVER, HdlcAddress(CLIENT), Control(FrameType.SNRM, True), b"\x82\x00").encode()
    (event,) = server.receive_data(snrm)
    assert isinstance(event, FrameDiscarded) and event.reason.startswith(
        "SNRM with unreadable HDLC parameters"
    )
    assert HdlcFrame.decode(server.data_to_send()).control.kind is FrameType.DM
    client = HdlcClientLink(CLIENT, SERVER)
    client.open()
    (failure,) = client.receive_data(from_server(FrameType.UA, b"\x81\x80\x05"))
    assert isinstance(failure, LinkFailed) and str(failure.error).startswith(
        "UA with unreadable HDLC parameters"
    )


def test_frames_the_client_ignores() -> None:
    wire = make_wire()
    wire.client.open()
    wire.client.data_to_send()
    assert wire.client.receive_data(from_server(FrameType.I)) == [
        FrameDiscarded("unexpected I frame: link is connecting")
    ]
    wire.client.receive_data(from_server(FrameType.UA))
    other = HdlcFrame(HdlcAddress(1), SERVER, Control(FrameType.UA, True)).encode()
    assert wire.client.receive_data(other) == [
        FrameDiscarded("frame from logical device 1, physical device 17 to address 1 is not for this link")
    ]
    assert wire.client.receive_data(from_server(FrameType.RR, nr=3)) == [
        FrameDiscarded("RR frame N(R)=3 names a frame never sent")
    ]
    assert wire.client.receive_data(from_server(FrameType.UA)) == [
        FrameDiscarded("unexpected UA frame: link is connected")
    ]
    no_llc = HdlcFrame(HdlcAddress(CLIENT), SERVER, Control(FrameType.I, True), b"\xc4\x01").encode()
    (event,) = wire.client.receive_data(no_llc)
    assert isinstance(event, FrameDiscarded) and event.reason.startswith("I-frame information dropped: LLC")
    assert wire.client.state is LinkState.CONNECTED


def test_damaged_frames_are_reported() -> None:
    wire = make_wire()
    wire.connect()
    wire.client.send_apdu(b"\xc0\x01")
    damaged = bytearray(wire.client.data_to_send())
    damaged[-4] ^= 0xFF
    (event,) = wire.server.receive_data(bytes(damaged))
    assert isinstance(event, FrameDiscarded) and "FCS mismatch" in event.reason


def test_server_drops_a_frame_cut_short_after_its_timer() -> None:
    wire = make_wire()
    wire.connect()
    assert not wire.server.needs_timer
    wire.client.send_apdu(b"\xc0\x01")
    frame = wire.client.data_to_send()
    assert wire.server.receive_data(frame[:10]) == []
    assert wire.server.needs_timer
    assert wire.server.on_timeout() == [
        FrameDiscarded("incomplete frame dropped: the rest did not arrive in time")
    ]
    assert not wire.server.needs_timer and wire.server.on_timeout() == []
    wire.run(lambda: bool(wire.client_apdus()))
    assert wire.server_apdus() == [b"\xc0\x01"]


def test_misuse() -> None:
    link = HdlcClientLink(CLIENT, SERVER)
    with pytest.raises(LinkError, match="disconnected"):
        link.send_apdu(b"\x00")
    assert link.on_timeout() == [] and not link.needs_timer
    link.close()  # nothing to do
    assert link.data_to_send() == b""
    link.open()
    with pytest.raises(LinkError, match="connecting"):
        link.open()
    with pytest.raises(ConfigurationError):
        HdlcClientLink(CLIENT, SERVER, HdlcParameters(window_tx=8))
    with pytest.raises(ConfigurationError):
        HdlcClientLink(CLIENT, SERVER, HdlcParameters(max_info_rx=2031))
    with pytest.raises(ConfigurationError):
        HdlcClientLink(CLIENT, SERVER, max_retries=-1)


def test_links_have_the_common_shape() -> None:
    links: list[Link] = [HdlcClientLink(CLIENT, SERVER), HdlcServerLink(SERVER)]
    for link in links:
        assert link.state is LinkState.DISCONNECTED


# --- random faults ---------------------------------------------------------------------------------------


class RandomFaults:
    """Drops, duplicates, corrupts and swaps frames at random (seeded). Swaps stay within what one side
    sent at once: HDLC counting modulo 8 relies on the line keeping frames in order."""

    def __init__(self, seed: int, rate: float) -> None:
        self.random = random.Random(seed)
        self.rate = rate
        self.count = 0

    def __call__(self, direction: str, frames: list[bytes]) -> list[bytes]:
        out: list[bytes] = []
        for raw in frames:
            roll = self.random.random()
            if roll >= self.rate:
                out.append(raw)
                continue
            self.count += 1
            action = self.random.choice(("drop", "duplicate", "corrupt", "swap"))
            if action == "duplicate":
                out += [raw, raw]
            elif action == "corrupt":
                damaged = bytearray(raw)
                damaged[self.random.randrange(len(raw))] ^= 1 << self.random.randrange(8)
                out.append(bytes(damaged))
            elif action == "swap":
                out.insert(max(len(out) - 1, 0), raw)
        return out


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    sizes=st.lists(st.integers(0, 2500), min_size=1, max_size=4),
    window=st.sampled_from([1, 3, 7]),
    max_info=st.sampled_from([32, 128, 2030]),
    rate=st.sampled_from([0.05, 0.15, 0.3]),
)
def test_random_faults_deliver_exactly_or_fail_clearly(
    seed: int, sizes: list[int], window: int, max_info: int, rate: float
) -> None:
    wire = make_wire(
        HdlcParameters(max_info, max_info, window, window), fault=RandomFaults(seed, rate), max_retries=6
    )
    requests = [bytes([index]) * size for index, size in enumerate(sizes)]
    wire.connect()
    for request in requests:
        if wire.client.state is not LinkState.CONNECTED:
            break
        wire.request(request)
    if wire.client.state is LinkState.CONNECTED:
        wire.disconnect()
    server_got, client_got = wire.server_apdus(), wire.client_apdus()
    assert server_got == requests[: len(server_got)]
    assert client_got == [echo(request) for request in requests[: len(client_got)]]
    if wire.client.state is LinkState.FAILED:
        (failure,) = wire.failures()
        assert "after 6 retries" in str(failure.error)
    else:
        assert wire.client.state is LinkState.DISCONNECTED
        assert server_got == requests and len(client_got) == len(requests)


def test_oversized_segmented_apdu_is_dropped_not_buffered() -> None:
    """A peer that keeps sending segments cannot make the server buffer without bound."""
    from dlmskit.link.events import ApduReceived, FrameDiscarded
    from dlmskit.link.hdlc_address import HdlcAddress
    from dlmskit.link.hdlc_link import HdlcClientLink, HdlcServerLink
    from dlmskit.link.hdlc_parameters import HdlcParameters

    params = HdlcParameters(128, 128, 1, 1)
    client = HdlcClientLink(0x10, HdlcAddress(1, 17), params)
    server = HdlcServerLink(HdlcAddress(1, 17), params, max_apdu_length=1000)
    client.open()
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    events: list[object] = []
    client.send_apdu(bytes(5000))
    for _ in range(200):
        data = client.data_to_send()
        if not data:
            break
        events += server.receive_data(data)
        client.receive_data(server.data_to_send())
    assert any(isinstance(e, FrameDiscarded) and "longer than 1000" in e.reason for e in events)
    assert not any(isinstance(e, ApduReceived) for e in events)
    assert len(server._rx) <= 1000
    client.send_apdu(b"\xc0\x01\xc1")  # the link still works for a normal APDU afterwards
    for _ in range(10):
        data = client.data_to_send()
        if not data:
            break
        events += server.receive_data(data)
        client.receive_data(server.data_to_send())
    assert any(isinstance(e, ApduReceived) and e.apdu == b"\xc0\x01\xc1" for e in events)


def test_server_answers_an_invalid_receive_number_with_frmr_until_snrm() -> None:
    """ISO/IEC 13239 (applied by IEC 62056-46): an N(R) naming a frame never sent is a frame reject (Z)."""
    from dlmskit.link.events import LinkFailed, LinkOpened
    from dlmskit.link.hdlc_address import HdlcAddress
    from dlmskit.link.hdlc_frame import Control, FrameType, HdlcFrame
    from dlmskit.link.hdlc_link import HdlcClientLink, HdlcServerLink

    server_address, client_address = HdlcAddress(1, 17), HdlcAddress(16)
    server = HdlcServerLink(server_address)
    server.receive_data(HdlcFrame(server_address, client_address, Control(FrameType.SNRM, True)).encode())
    server.data_to_send()
    bad = HdlcFrame(
        server_address, client_address, Control(FrameType.I, True, ns=0, nr=3), b"\xe6\xe6\x00\xc0"
    )
    server.receive_data(bad.encode())
    answer = HdlcFrame.decode(server.data_to_send())
    assert answer.control.kind is FrameType.FRMR
    assert answer.information == bytes((bad.control.encode(), 0x00, 0x08))  # control, V(R)/V(S), Z
    server.receive_data(HdlcFrame(server_address, client_address, Control(FrameType.RR, True, nr=0)).encode())
    assert HdlcFrame.decode(server.data_to_send()).control.kind is FrameType.FRMR  # repeated on every poll
    # Our client reports the FRMR as a failed link, with the reason in words.
    client = HdlcClientLink(16, server_address)
    client.open()
    server.receive_data(client.data_to_send())  # SNRM: the reject condition ends
    events = client.receive_data(server.data_to_send())
    assert any(isinstance(e, LinkOpened) for e in events)
    frmr = HdlcFrame(client_address, server_address, Control(FrameType.FRMR, True), answer.information)
    failed = [e for e in client.receive_data(frmr.encode()) if isinstance(e, LinkFailed)]
    assert failed and "invalid N(R)" in str(failed[0].error)


# --- the address bytes each link keeps ------------------------------------------------------------------


def addresses_of(data: bytes) -> list[tuple[HdlcAddress, HdlcAddress]]:
    """(destination, source) of every frame in ``data``."""
    return [(frame.dest, frame.src) for frame in map(HdlcFrame.decode, split_frames(data))]


def test_links_with_different_addresses_keep_their_own() -> None:
    """Each link sends its own two addresses (kept as bytes) and takes only the frames for it."""
    pairs = [
        (0x10, HdlcAddress(1, 17)),
        (0x01, HdlcAddress(1, 18)),
        (0x01, HdlcAddress(1, 17, 4)),
        (0x20, HdlcAddress(3)),
    ]
    wires = [Wire(HdlcClientLink(client, server), HdlcServerLink(server)) for client, server in pairs]
    for wire in wires:
        wire.connect()
    for (client, server), wire in zip(pairs, wires, strict=True):
        wire.client.send_apdu(b"\xc0\x01" + bytes((client,)))
        sent = wire.client.data_to_send()
        assert addresses_of(sent) == [(server, HdlcAddress(client))]
        events = wire.server.receive_data(sent)
        assert events == [ApduReceived(b"\xc0\x01" + bytes((client,)))]
        wire.server.send_apdu(echo(b"\xc0\x01"))
        answer = wire.server.data_to_send()
        assert addresses_of(answer) == [(HdlcAddress(client), server)]
        assert wire.client.receive_data(answer) == [ApduReceived(echo(b"\xc0\x01"))]
    # A frame of one link is not taken by the others.
    for index, wire in enumerate(wires):
        other = wires[(index + 1) % len(wires)]
        other.client.send_apdu(b"\xc0\x02")
        events = wire.server.receive_data(other.client.data_to_send())
        assert len(events) == 1 and isinstance(events[0], FrameDiscarded)
        assert wire.server.data_to_send() == b""


def test_server_answers_each_new_client_with_its_address() -> None:
    """The server's address bytes follow the client of the last SNRM, and a DM to another client while
    connected carries that client's address."""
    server = HdlcServerLink(SERVER)
    for client_address in (0x10, 0x01, 0x10):
        client = HdlcClientLink(client_address, SERVER)
        wire = Wire(client, server)
        wire.connect()
        wire.request(b"\xc0\x01")
        assert wire.client_apdus() == [echo(b"\xc0\x01")]
        intruder = HdlcClientLink(0x30, SERVER)
        intruder.open()
        server.receive_data(intruder.data_to_send())
        assert addresses_of(server.data_to_send()) == [(HdlcAddress(0x30), SERVER)]
        client.send_apdu(b"\xc0\x03")
        server.receive_data(client.data_to_send())
        server.send_apdu(b"\xc4\x03")
        assert addresses_of(server.data_to_send()) == [(HdlcAddress(client_address), SERVER)]
        wire.disconnect()


def test_links_work_when_the_address_tables_are_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the remembered addresses (a head-end that met more than 4,096) the links compare
    addresses by value: the same frames, the same events."""
    from dlmskit.link import hdlc_address

    log: list[tuple[str, HdlcFrame]] = []
    remembered = make_wire(log=log)
    remembered.connect()
    remembered.request(b"\xc0\x01" * 100)
    monkeypatch.setattr(hdlc_address, "_CACHE_LIMIT", 0)
    monkeypatch.setattr(hdlc_address, "_DECODED", {})
    monkeypatch.setattr(hdlc_address, "_ENCODED", {})
    fresh_log: list[tuple[str, HdlcFrame]] = []
    fresh = make_wire(log=fresh_log)
    fresh.connect()
    fresh.request(b"\xc0\x01" * 100)
    assert fresh.client_apdus() == remembered.client_apdus() == [echo(b"\xc0\x01" * 100)]
    assert fresh_log == log
    assert not hdlc_address._DECODED and not hdlc_address._ENCODED
