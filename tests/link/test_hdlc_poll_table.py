"""Every cell of the HDLC poll/final and N(R) tables in docs/hdlc.md, one test each (C1-C12 for the
client, the primary station; S1-S13 for the server, the secondary). Frames are built by hand and fed
to one station at a time, so each test shows exactly what that station sends in answer."""

from __future__ import annotations

from dlmskit.link.crc import crc16_le
from dlmskit.link.events import ApduReceived, FrameDiscarded, LinkEvent, LinkFailed, LinkOpened
from dlmskit.link.framer import HdlcFrameReader
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_frame import Control, FrameType, HdlcFrame
from dlmskit.link.hdlc_link import DEFAULT_PARAMETERS, LARGEST_PARAMETERS, HdlcClientLink, HdlcServerLink
from dlmskit.link.hdlc_parameters import HdlcParameters

CLIENT = HdlcAddress(16)
SERVER = HdlcAddress(1, 17)
I, RR, RNR = FrameType.I, FrameType.RR, FrameType.RNR  # noqa: E741 - the frame names of the standard
REQ = b"\xe6\xe6\x00"
RSP = b"\xe6\xe7\x00"


def sent(data: bytes) -> list[tuple[str, bool, int, int]]:
    """The frames in ``data`` as (kind, P/F, N(S), N(R))."""
    out = []
    for frame in HdlcFrameReader().feed(data):
        assert isinstance(frame, HdlcFrame), frame
        control = frame.control
        out.append((control.kind.name, control.poll_final, control.ns, control.nr))
    return out


def to_client(
    kind: FrameType, final: bool, ns: int = 0, nr: int = 0, info: bytes = b"", more: bool = False
) -> bytes:
    return HdlcFrame(CLIENT, SERVER, Control(kind, final, ns=ns, nr=nr), info, more).encode()


def to_server(
    kind: FrameType, poll: bool, ns: int = 0, nr: int = 0, info: bytes = b"", more: bool = False
) -> bytes:
    return HdlcFrame(SERVER, CLIENT, Control(kind, poll, ns=ns, nr=nr), info, more).encode()


def discarded(events: list[LinkEvent]) -> list[str]:
    return [event.reason for event in events if isinstance(event, FrameDiscarded)]


def client(parameters: HdlcParameters = DEFAULT_PARAMETERS, max_retries: int = 3) -> HdlcClientLink:
    """A connected client link with the given parameters (the UA agrees to all of them)."""
    link = HdlcClientLink(16, SERVER, parameters, max_retries)
    link.open()
    link.data_to_send()
    ua = HdlcFrame(CLIENT, SERVER, Control(FrameType.UA, True), parameters.swapped().encode())
    assert any(isinstance(event, LinkOpened) for event in link.receive_data(ua.encode()))
    return link


def server(
    limits: HdlcParameters = DEFAULT_PARAMETERS, proposal: HdlcParameters = DEFAULT_PARAMETERS
) -> HdlcServerLink:
    link = HdlcServerLink(SERVER, limits)
    info = b"" if proposal == DEFAULT_PARAMETERS else proposal.encode()
    link.receive_data(to_server(FrameType.SNRM, True, info=info))
    assert sent(link.data_to_send())[0][0] == "UA"
    return link


# --- client (primary) ---------------------------------------------------------------------------


def test_c1_final_with_progress_answers_the_poll() -> None:
    link = client()
    link.send_apdu(bytes(300))  # three segments, window 1
    assert sent(link.data_to_send()) == [("I", True, 0, 0)]
    link.receive_data(to_client(RR, True, nr=1))
    assert sent(link.data_to_send()) == [("I", True, 1, 0)]


def test_c2_i_frame_ahead_goes_back_at_once() -> None:
    link = client(LARGEST_PARAMETERS)
    link.send_apdu(b"\xc0")
    link.data_to_send()
    events = link.receive_data(to_client(I, False, ns=0, nr=1, info=RSP + b"a", more=True))
    events += link.receive_data(to_client(I, True, ns=2, nr=1, info=b"c", more=True))  # N(S)=1 was lost
    assert "out of sequence" in discarded(events)[0]
    assert sent(link.data_to_send()) == [("RR", True, 0, 1)]


def test_c3_recovery_answer_without_progress_resends() -> None:
    link = client()
    link.send_apdu(bytes(300))
    link.data_to_send()
    link.on_timeout()
    assert sent(link.data_to_send()) == [("I", True, 0, 0)]  # C7
    link.receive_data(to_client(RR, True, nr=0))  # the server still misses N(S)=0
    assert sent(link.data_to_send()) == [("I", True, 0, 0)]
    # With a window of 7 and two I-frames outstanding, the timeout polls (C8) and the answer's N(R)
    # says where to go back to.
    link = client(HdlcParameters(128, 128, 7, 7))
    link.send_apdu(bytes(200))
    assert sent(link.data_to_send()) == [("I", False, 0, 0), ("I", True, 1, 0)]
    link.on_timeout()
    assert sent(link.data_to_send()) == [("RR", True, 0, 0)]
    link.receive_data(to_client(RR, True, nr=1))
    assert sent(link.data_to_send()) == [("I", True, 1, 0)]


def test_c4_recovery_answer_without_progress_while_receiving_polls_again() -> None:
    link = client()
    link.send_apdu(b"\xc0")
    link.data_to_send()
    link.receive_data(to_client(I, True, ns=0, nr=1, info=RSP + b"a", more=True))
    assert sent(link.data_to_send()) == [("RR", True, 0, 1)]
    link.on_timeout()
    assert sent(link.data_to_send()) == [("RR", True, 0, 1)]  # C8
    events = link.receive_data(to_client(I, True, ns=0, nr=1, info=RSP + b"a", more=True))  # late copy
    assert discarded(events) == ["repeated I-frame N(S)=0, already received"]
    assert sent(link.data_to_send()) == [("RR", True, 0, 1)]


def test_c5_final_without_progress_is_a_late_answer() -> None:
    link = client()
    link.send_apdu(bytes(300))
    link.data_to_send()
    link.receive_data(to_client(RR, True, nr=1))
    assert sent(link.data_to_send()) == [("I", True, 1, 0)]
    events = link.receive_data(to_client(RR, True, nr=1))  # the line repeated the RR
    assert discarded(events) == ["F=1 frame acknowledges nothing new: taken as a late answer"]
    assert link.data_to_send() == b"" and link.needs_timer  # the poll is still outstanding
    # A repeated I-frame with F=1 is the same: nothing is sent again.
    link = client()
    link.send_apdu(b"\xc0")
    link.data_to_send()
    first = to_client(I, True, ns=0, nr=1, info=RSP + b"a", more=True)
    link.receive_data(first)
    assert sent(link.data_to_send()) == [("RR", True, 0, 1)]
    link.receive_data(first)
    assert link.data_to_send() == b""
    link.receive_data(to_client(I, True, ns=1, nr=1, info=b"b"))
    assert link.data_to_send() == b""


def test_c6_frames_without_final_only_acknowledge_and_deliver() -> None:
    link = client(LARGEST_PARAMETERS)
    link.send_apdu(b"\xc0")
    link.data_to_send()
    events = link.receive_data(to_client(I, False, ns=0, nr=1, info=RSP + b"a", more=True))
    assert events == [] and link.data_to_send() == b""
    events = link.receive_data(to_client(I, True, ns=1, nr=1, info=b"b"))
    assert events == [ApduReceived(b"ab")] and link.data_to_send() == b""


def test_c7_timeout_with_one_i_frame_unacknowledged_sends_it_again() -> None:
    link = client()
    link.send_apdu(b"\xc0")
    assert sent(link.data_to_send()) == [("I", True, 0, 0)]
    assert link.on_timeout() == []
    assert sent(link.data_to_send()) == [("I", True, 0, 0)]


def test_c8_timeout_otherwise_polls_with_rr() -> None:
    link = client()
    link.send_apdu(b"\xc0")
    link.data_to_send()
    link.receive_data(to_client(RR, True, nr=1))  # acknowledged; the response is not ready
    assert link.data_to_send() == b"" and link.needs_timer
    link.on_timeout()
    assert sent(link.data_to_send()) == [("RR", True, 0, 0)]
    link.receive_data(to_client(I, True, ns=0, nr=1, info=RSP + b"\xc4"))
    assert link.data_to_send() == b"" and not link.needs_timer


def test_c9_rounds_without_progress_end_in_link_failed() -> None:
    link = client(max_retries=1)
    link.send_apdu(b"\xc0")
    link.on_timeout()
    link.receive_data(to_client(RR, True, nr=0))  # a recovery round answered, still no progress
    (event,) = link.on_timeout()
    assert isinstance(event, LinkFailed) and "did not acknowledge an I-frame after 1 retries" in str(
        event.error
    )


def test_c10_final_with_no_poll_outstanding_is_ignored() -> None:
    link = client()
    link.send_apdu(b"\xc0")
    link.data_to_send()
    assert link.receive_data(to_client(I, True, ns=0, nr=1, info=RSP + b"\xc4")) == [ApduReceived(b"\xc4")]
    assert link.receive_data(to_client(RR, True, nr=1)) == []
    assert link.data_to_send() == b"" and not link.needs_timer


def test_c11_rnr_holds_the_i_frames_until_rr() -> None:
    link = client()
    link.send_apdu(bytes(300))
    link.data_to_send()
    link.receive_data(to_client(RNR, True, nr=1))
    assert link.data_to_send() == b""
    link.on_timeout()
    assert sent(link.data_to_send()) == [("RR", True, 0, 0)]
    link.receive_data(to_client(RR, True, nr=1))
    assert sent(link.data_to_send()) == [("I", True, 1, 0)]


def test_c12_n_r_of_a_frame_never_sent_is_discarded() -> None:
    link = client()
    link.send_apdu(b"\xc0")
    link.data_to_send()
    events = link.receive_data(to_client(RR, True, nr=5))
    assert discarded(events) == ["RR frame N(R)=5 names a frame never sent"]
    assert link.data_to_send() == b"" and link.needs_timer


# --- server (secondary) -------------------------------------------------------------------------


def test_s1_i_frame_without_poll_is_taken_silently() -> None:
    link = server(LARGEST_PARAMETERS, LARGEST_PARAMETERS)
    assert link.receive_data(to_server(I, False, ns=0, info=REQ + b"a", more=True)) == []
    assert link.data_to_send() == b""


def test_s2_poll_completing_an_apdu_is_answered_by_the_response() -> None:
    link = server()
    assert link.receive_data(to_server(I, True, info=REQ + b"\xc0")) == [ApduReceived(b"\xc0")]
    assert link.data_to_send() == b""
    link.send_apdu(b"\xc4")
    assert sent(link.data_to_send()) == [("I", True, 0, 1)]


def test_s3_poll_inside_a_segmented_apdu_is_answered_with_rr() -> None:
    link = server()
    link.receive_data(to_server(I, True, info=REQ + b"a", more=True))
    assert sent(link.data_to_send()) == [("RR", True, 0, 1)]


def test_s4_repeated_i_frame_is_not_delivered_and_the_poll_is_answered() -> None:
    link = server()
    frame = to_server(I, True, info=REQ + b"a", more=True)
    link.receive_data(frame)
    link.data_to_send()
    assert discarded(link.receive_data(frame)) == ["repeated I-frame N(S)=0, already received"]
    assert sent(link.data_to_send()) == [("RR", True, 0, 1)]


def test_s5_poll_acknowledging_new_frames_gets_the_next_window() -> None:
    link = server()
    link.receive_data(to_server(I, True, info=REQ + b"\xc0"))
    link.send_apdu(bytes(300))
    assert sent(link.data_to_send()) == [("I", True, 0, 1)]
    link.receive_data(to_server(RR, True, nr=1))
    assert sent(link.data_to_send()) == [("I", True, 1, 1)]


def test_s6_poll_acknowledging_nothing_new_gets_the_frames_again() -> None:
    link = server()
    link.receive_data(to_server(I, True, info=REQ + b"\xc0"))
    link.send_apdu(bytes(300))
    first = link.data_to_send()
    link.receive_data(to_server(RR, True, nr=0))  # a recovery poll, or a repeated one: the same bytes
    assert link.data_to_send() == first
    link = server()
    link.receive_data(to_server(RR, True, nr=0))  # nothing to send: RR
    assert sent(link.data_to_send()) == [("RR", True, 0, 0)]


def frmr(link: HdlcServerLink) -> bytes:
    (frame,) = [f for f in HdlcFrameReader().feed(link.data_to_send()) if isinstance(f, HdlcFrame)]
    assert frame.control.kind is FrameType.FRMR and frame.control.poll_final
    return frame.information


def test_s7_invalid_n_r_is_rejected_with_z() -> None:
    link = server()
    link.receive_data(to_server(I, True, nr=3, info=REQ + b"\xc0"))
    assert frmr(link) == bytes((0x70, 0x00, 0x08))


def test_s8_information_field_longer_than_negotiated_is_rejected_with_y() -> None:
    link = server()  # 128 bytes
    link.receive_data(to_server(I, True, info=REQ + b"\xc0"))
    link.send_apdu(b"\xc4")
    link.data_to_send()  # V(S)=1, V(R)=1
    events = link.receive_data(to_server(I, True, ns=1, nr=1, info=bytes(129)))
    assert discarded(events) == [
        "I-frame information field of 129 bytes is longer than the negotiated 128: FRMR"
    ]
    # Rejected control field 0x32 (I, P, N(S)=1, N(R)=1), then V(R)=1 C/R=0 V(S)=1, then Y.
    assert frmr(link) == bytes((0x32, 0x22, 0x04))
    link = server()
    assert link.receive_data(to_server(I, True, info=bytes(128))) != []  # exactly the maximum is fine
    assert sent(link.data_to_send())[0][0] != "FRMR"


def test_s9_unknown_command_is_rejected_with_w() -> None:
    link = server()
    unknown = bytearray(to_server(RR, True))
    unknown[6] = 0x1D  # SREJ with P=1 (ISO/IEC 13239), not used by DLMS/COSEM; fix the FCS
    unknown[7:9] = crc16_le(bytes(unknown[1:7]))
    events = link.receive_data(bytes(unknown))
    assert "control field not used by DLMS/COSEM" in discarded(events)[0]
    assert frmr(link) == bytes((0x1D, 0x00, 0x01))
    # Without P the condition is entered all the same and the next poll gets the FRMR; X with W when the
    # unknown frame carried an information field.
    link = server()
    frame = HdlcFrame(SERVER, CLIENT, Control(FrameType.UI), b"x").encode()  # a valid frame to patch
    patched = bytearray(frame)
    patched[6] = 0x0B  # unknown unnumbered command, P=0
    patched[7:9] = crc16_le(bytes(patched[1:7]))
    patched[-3:-1] = crc16_le(bytes(patched[1:-3]))
    link.receive_data(bytes(patched))
    assert link.data_to_send() == b""
    link.receive_data(to_server(RR, True))
    assert frmr(link) == bytes((0x0B, 0x00, 0x03))


def test_s10_rr_with_information_is_rejected_with_w_and_x() -> None:
    link = server()
    link.receive_data(to_server(RR, True, info=b"x"))
    assert frmr(link) == bytes((0x11, 0x00, 0x03))


def test_s11_reject_condition_answers_every_poll_until_snrm() -> None:
    link = server()
    link.receive_data(to_server(RR, True, nr=4))
    first = frmr(link)
    link.receive_data(to_server(I, True, info=REQ + b"\xc0"))
    assert frmr(link) == first
    link.receive_data(to_server(FrameType.SNRM, True))
    assert sent(link.data_to_send())[0][0] == "UA"
    link.receive_data(to_server(RR, True))
    assert sent(link.data_to_send()) == [("RR", True, 0, 0)]


def test_s12_rnr_holds_the_server_frames() -> None:
    link = server()
    link.receive_data(to_server(I, True, info=REQ + b"\xc0"))
    link.send_apdu(bytes(300))
    link.data_to_send()
    link.receive_data(to_server(RNR, True, nr=1))
    assert sent(link.data_to_send()) == [("RR", True, 0, 1)]
    link.receive_data(to_server(RR, True, nr=1))
    assert sent(link.data_to_send()) == [("I", True, 1, 1)]


def test_s13_unknown_command_while_disconnected_gets_dm() -> None:
    link = HdlcServerLink(SERVER)
    frame = bytearray(to_server(RR, True))
    frame[6] = 0x1D
    frame[7:9] = crc16_le(bytes(frame[1:7]))
    link.receive_data(bytes(frame))
    assert sent(link.data_to_send()) == [("DM", True, 0, 0)]
