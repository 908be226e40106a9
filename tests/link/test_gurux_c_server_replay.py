"""Our HDLC client link against the bytes of the Gurux ANSI-C example server, replayed at the link level.

The transcripts in ``<repo root>/../shared/interop/gurux-c-server/`` (README there) are byte-exact
recordings of that server, the DLMS stack inside many meters' firmware. Each test feeds the recorded
server -> client frames to :class:`HdlcClientLink` and checks that every frame the link sends equals
the recorded client -> server frame at that point: RRs asking for the next segment, N(R) and N(S) of every
I-frame, DISC. The APDUs the link sends are taken from the recording (the link does not make them).
What the server does at the HDLC level (README points 5 and 6): it answers every SNRM with 128 bytes
(1-byte values) and window 1 (4-byte values), whatever was proposed; it fills segments with 125 of
the 128 negotiated bytes, sets P/F on every frame and waits for an RR after each segment; its UA to
DISC repeats the whole parameter field.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path

import pytest

from dlmskit.link.events import ApduReceived, LinkClosed, LinkEvent, LinkFailed, LinkOpened, LinkState
from dlmskit.link.framer import HdlcFrameReader
from dlmskit.link.hdlc_frame import LLC_REQUEST, FrameType, HdlcFrame
from dlmskit.link.hdlc_link import HdlcClientLink
from dlmskit.link.hdlc_parameters import HdlcParameters

RECORDINGS = Path(__file__).resolve().parents[2] / ".." / "shared" / "interop" / "gurux-c-server"
HDLC_FILES = [
    "a-hdlc-public-clock.txt",
    "b-hdlc-gmac-profile-relay.txt",
    "d-hdlc-low-object-list.txt",
    "e-sn-port-ln-aarq.txt",
]
UA_128_WINDOW_1 = bytes.fromhex("818012050180060180070400000001080400000001")
"""The server's UA information field (README point 5): 128 / 128 in 1 byte, window 1 / 1 in 4 bytes."""


@dataclass
class Recording:
    headers: dict[str, str]
    chunks: list[tuple[str, bytes]]
    """("C->S" or "S->C", one HDLC frame)"""


def load(name: str) -> Recording:
    path = RECORDINGS / name
    if not path.exists():
        pytest.skip(f"shared interop recordings not found at {RECORDINGS} (the repository's ../shared)")
    headers: dict[str, str] = {}
    chunks: list[tuple[str, bytes]] = []
    for line in path.read_text().splitlines():
        if line.startswith("# ") and ":" in line:
            key, _, value = line[2:].partition(":")
            headers[key.strip()] = value.strip()
        elif line.startswith(("C->S ", "S->C ")):
            chunks.append((line[:4], bytes.fromhex(line[5:])))
    return Recording(headers, chunks)


def frames(data: bytes) -> list[bytes]:
    out = []
    for item in HdlcFrameReader().feed(data):
        assert isinstance(item, HdlcFrame), item
        out.append(item.encode())
    return out


@dataclass
class Replay:
    sent: int = 0
    """Client frames compared with the recording."""
    rrs: int = 0
    apdus: int = 0
    segments: int = 0
    closed: bool = False


def replay(name: str) -> Replay:
    """Walk the recording: feed S->C frames to the link, compare what it sends with C->S frames."""
    recording = load(name)
    snrm = HdlcFrame.decode(recording.chunks[0][1])
    assert snrm.control.kind is FrameType.SNRM
    proposal = HdlcParameters.decode(snrm.information)
    link = HdlcClientLink(snrm.src.logical, snrm.dest, proposal)
    link.open()
    produced: deque[bytes] = deque(frames(link.data_to_send()))
    result = Replay()
    events: list[LinkEvent] = []
    for direction, chunk in recording.chunks:
        if direction == "S->C":
            frame = HdlcFrame.decode(chunk)
            result.segments += frame.segmented
            new = link.receive_data(chunk)
            assert not [e for e in new if isinstance(e, LinkFailed)], new
            events += new
            produced.extend(frames(link.data_to_send()))
            continue
        recorded = HdlcFrame.decode(chunk)
        if not produced:
            # The recorded client starts something new: an APDU (from the recording) or DISC.
            if recorded.control.kind is FrameType.DISC:
                link.close()
            else:
                assert recorded.control.kind is FrameType.I and not recorded.segmented
                assert recorded.information.startswith(LLC_REQUEST)
                link.send_apdu(recorded.information[len(LLC_REQUEST) :])
            produced.extend(frames(link.data_to_send()))
        ours = produced.popleft()
        if recorded.control.kind is FrameType.SNRM:
            # gurux-dlms wrote the windows on 4 bytes; ours are the shortest form of the same values.
            assert HdlcFrame.decode(ours).information == proposal.encode()
        else:
            assert ours == chunk, f"{name}: ours {ours.hex().upper()} recorded {chunk.hex().upper()}"
        result.sent += 1
        result.rrs += recorded.control.kind is FrameType.RR
    assert not produced, [frame.hex().upper() for frame in produced]
    opened = [e for e in events if isinstance(e, LinkOpened)]
    assert opened and opened[0].parameters == HdlcParameters()  # 128 / 128 / 1 / 1, from 4-byte windows
    result.apdus = sum(isinstance(e, ApduReceived) for e in events)
    result.closed = any(isinstance(e, LinkClosed) for e in events)
    if result.closed:
        assert link.state is LinkState.DISCONNECTED
    return result


@pytest.mark.parametrize("name", HDLC_FILES)
def test_every_client_frame_matches_the_recording(name: str) -> None:
    result = replay(name)
    recording = load(name)
    assert result.sent == sum(direction == "C->S" for direction, _ in recording.chunks)
    ua = HdlcFrame.decode(recording.chunks[1][1])
    assert ua.control.kind is FrameType.UA and ua.information == UA_128_WINDOW_1


def test_segmented_object_list_is_acknowledged_with_an_rr_after_every_segment() -> None:
    # d: 9 GET blocks in 36 frames, 27 with the segmentation bit, each answered by our RR with the
    # N(R) the recording shows; then RLRQ/RLRE and DISC, whose UA repeats the parameters.
    result = replay("d-hdlc-low-object-list.txt")
    assert result.segments == 27 and result.rrs == 27
    assert result.apdus == 1 + 9 + 1  # AARE, 9 blocks, RLRE
    assert result.closed
    last = HdlcFrame.decode(load("d-hdlc-low-object-list.txt").chunks[-1][1])
    assert last.control.kind is FrameType.UA and last.information == UA_128_WINDOW_1


def test_125_byte_segments_of_a_128_byte_link_are_accepted() -> None:
    recording = load("d-hdlc-low-object-list.txt")
    sizes = {len(HdlcFrame.decode(c).information) for d, c in recording.chunks if d == "S->C"}
    assert 125 in sizes and max(sizes) <= 128
