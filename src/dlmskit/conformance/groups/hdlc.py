"""HDLC (IEC 62056-46): frame format, addressing, SNRM/UA parameters, I-frames and sequence numbers,
segmentation, RR, DISC/DM, FRMR, damaged frames and inter-frame fill, driven with raw frames."""

from __future__ import annotations

from dlmskit.apdu import acse
from dlmskit.conformance.framework import Safety, TestContext, conformance_test
from dlmskit.conformance.groups._common import IEC_46, describe, expect_kind, plain_aarq, raw_of, req
from dlmskit.conformance.probe import RawLink
from dlmskit.link.crc import crc16_le
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_frame import LLC_REQUEST, LLC_RESPONSE, Control, FrameType, HdlcFrame
from dlmskit.link.hdlc_parameters import HdlcParameters

SMALL = HdlcParameters(max_info_tx=64, max_info_rx=64, window_tx=1, window_rx=1)
"""A small proposal: a meter must not answer with more than this."""
LARGE = HdlcParameters(max_info_tx=2030, max_info_rx=2030, window_tx=7, window_rx=7)


def _raw_hdlc(t: TestContext) -> RawLink:
    if t.meter.settings.link != "hdlc":
        t.skip("the meter is reached over the wrapper, not HDLC")
    return t.meter.raw()


def _connected(t: TestContext, parameters: HdlcParameters | None = LARGE) -> RawLink:
    raw = _raw_hdlc(t)
    answer = raw.snrm(parameters)
    expect_kind(t, answer, FrameType.UA, "answers SNRM")
    return raw


def _check_addresses(t: TestContext, raw: object, frame: HdlcFrame) -> None:
    client = HdlcAddress(t.meter.settings.client_address)
    server = HdlcAddress(t.meter.settings.server_logical, t.meter.settings.server_physical)
    t.check(
        frame.dest == client
        and frame.src.logical == server.logical
        and frame.src.physical == server.physical,
        f"the answer goes from the server {server} to the client {client}",
        f"from {frame.src} to {frame.dest}",
        got_bytes=frame.encode(),
    )


@conformance_test(
    "hdlc.snrm-ua",
    requirement=req(
        IEC_46,
        "SNRM with P=1 is answered by UA with F=1; the UA's negotiated parameters are no "
        "larger than the client proposed",
    ),
    effect="clients that size their frames by their own proposal lose frames the meter sends larger",
)
def snrm_ua(t: TestContext) -> None:
    """SNRM/UA: addresses, the final bit and the negotiated parameters."""
    raw = _raw_hdlc(t)
    for proposal in (LARGE, SMALL):
        ua = expect_kind(t, raw.snrm(proposal), FrameType.UA, "answers SNRM")
        t.check(ua.control.poll_final, "the UA has F=1", "F=0", got_bytes=ua.encode())
        _check_addresses(t, raw, ua)
        try:
            got = HdlcParameters.decode(ua.information)
        except Exception as error:
            t.fail("a parameter field 81 80 ... in the UA", str(error), got_bytes=ua.encode())
        # The UA states the server's view: it transmits at most what we receive, and vice versa.
        t.check(
            got.max_info_tx <= proposal.max_info_rx and got.max_info_rx <= proposal.max_info_tx,
            f"max information field length at most {proposal.max_info_rx}/{proposal.max_info_tx} (proposed)",
            f"{got.max_info_tx}/{got.max_info_rx}",
            got_bytes=ua.encode(),
            effect="a client with small buffers (optical probes, gateways) overflows on the meter's frames",
        )
        t.check(
            got.window_tx <= proposal.window_rx and got.window_rx <= proposal.window_tx,
            f"window size at most {proposal.window_rx}/{proposal.window_tx} (proposed)",
            f"{got.window_tx}/{got.window_rx}",
            got_bytes=ua.encode(),
        )
    raw.disc()


@conformance_test(
    "hdlc.snrm-defaults",
    requirement=req(
        IEC_46,
        "an SNRM without information field means the default parameters (128 bytes, "
        "window 1); the UA may not exceed them",
    ),
    effect="clients that send a bare SNRM receive frames longer than 128 bytes",
)
def snrm_defaults(t: TestContext) -> None:
    """A bare SNRM: the meter keeps to the defaults."""
    raw = _raw_hdlc(t)
    ua = expect_kind(t, raw.snrm(None), FrameType.UA, "answers SNRM")
    got = HdlcParameters.decode(ua.information)
    t.check(
        got.max_info_tx <= 128 and got.window_tx <= 1,
        "at most 128 bytes and window 1",
        f"{got.max_info_tx} bytes, window {got.window_tx}",
        got_bytes=ua.encode(),
    )
    raw.disc()


@conformance_test(
    "hdlc.i-frames",
    requirement=req(
        IEC_46,
        "I-frames carry N(S)/N(R) modulo 8; the answer to I(N(S)=k, P=1) acknowledges "
        "with N(R)=k+1, numbers its own frames from 0 and sets F=1 on its last frame; the "
        "information field starts with the LLC header E6 E7 00",
    ),
    effect="clients that check sequence numbers (most do) drop the link",
)
def i_frames(t: TestContext) -> None:
    """Two requests in I-frames: sequence numbers, final bit and LLC header of the answers."""
    raw = _connected(t)
    requests = [LLC_REQUEST + plain_aarq(), LLC_REQUEST + acse.RLRQ(reason=0).encode()]
    received = 0
    for sent, information in enumerate(requests):
        raw.send(raw.frame(FrameType.I, information, ns=sent, nr=received))
        while True:
            answer = expect_kind(t, raw.receive(), FrameType.I, "answers an I-frame")
            t.check(
                answer.control.ns == received,
                f"N(S)={received}",
                f"N(S)={answer.control.ns}",
                got_bytes=answer.encode(),
            )
            t.check(
                answer.control.nr == (sent + 1) % 8,
                f"N(R)={(sent + 1) % 8}",
                f"N(R)={answer.control.nr}",
                got_bytes=answer.encode(),
            )
            received = (received + 1) % 8
            if not answer.segmented:
                break
            raw.send(raw.frame(FrameType.RR, nr=received))
        t.check(
            answer.control.poll_final, "F=1 on the last frame of the answer", "F=0", got_bytes=answer.encode()
        )
    raw.disc()


@conformance_test(
    "hdlc.llc-header",
    requirement=req(IEC_46, "the information field of the server's I-frames begins with E6 E7 00"),
    effect="clients that strip three LLC bytes misread every APDU",
)
def llc_header(t: TestContext) -> None:
    """The LLC header of the server's answers."""
    raw = _connected(t)
    raw.send(raw.frame(FrameType.I, LLC_REQUEST + plain_aarq()))
    answer = expect_kind(t, raw.receive(), FrameType.I, "answers an I-frame")
    t.check(
        answer.information.startswith(LLC_RESPONSE),
        "E6 E7 00",
        answer.information[:3].hex(" ").upper(),
        got_bytes=answer.encode(),
    )
    raw.disc()


@conformance_test(
    "hdlc.rr-poll",
    requirement=req(
        IEC_46, "a secondary polled with RR (P=1) and nothing to send answers RR (F=1) with its current N(R)"
    ),
    effect="clients that poll for pending data wait until their timeout",
)
def rr_poll(t: TestContext) -> None:
    """RR with the poll bit when the meter has nothing to send."""
    raw = _connected(t)
    raw.send(raw.frame(FrameType.RR, nr=0))
    rr = expect_kind(t, raw.receive(), FrameType.RR, "answers RR with P=1 when there is nothing to send")
    t.check(
        rr.control.nr == 0 and rr.control.poll_final,
        "RR with N(R)=0, F=1",
        f"RR with N(R)={rr.control.nr}, F={int(rr.control.poll_final)}",
        got_bytes=rr.encode(),
    )
    raw.disc()


@conformance_test(
    "hdlc.disc",
    requirement=req(
        IEC_46, "DISC in normal response mode is answered by UA; DISC in disconnected mode by DM"
    ),
    effect="clients that wait for the answer to DISC hang until their timeout",
)
def disc(t: TestContext) -> None:
    """DISC when connected (UA), then again when disconnected (DM)."""
    raw = _connected(t)
    expect_kind(t, raw.disc(), FrameType.UA, "answers DISC in normal response mode")
    expect_kind(t, raw.disc(), FrameType.DM, "answers DISC in disconnected mode")


@conformance_test(
    "hdlc.i-frame-disconnected",
    requirement=req(IEC_46, "in disconnected mode, a command with P=1 other than SNRM is answered by DM"),
    effect="a client that lost the link (meter restart) is not told so and times out",
)
def i_frame_disconnected(t: TestContext) -> None:
    """An I-frame before SNRM."""
    raw = _raw_hdlc(t)
    raw.send(raw.frame(FrameType.I, LLC_REQUEST + plain_aarq()))
    expect_kind(t, raw.receive(), FrameType.DM, "answers an I-frame in disconnected mode")


@conformance_test(
    "hdlc.bad-fcs",
    requirement=req(IEC_46, "a frame whose FCS does not check is discarded without an answer"),
    effect="a meter that acts on damaged frames acts on line noise",
)
def bad_fcs(t: TestContext) -> None:
    """SNRM with a wrong FCS: silence; the same SNRM intact: UA."""
    raw = _raw_hdlc(t)
    frame = bytearray(raw.frame(FrameType.SNRM, LARGE.encode()))
    frame[-2] ^= 0xFF
    raw.send(bytes(frame), "FCS damaged on purpose")
    answer = raw.silent()
    t.check(
        answer is None, "no answer to a frame with a wrong FCS", describe(answer), got_bytes=raw_of(answer)
    )
    expect_kind(t, raw.snrm(LARGE), FrameType.UA, "answers the same SNRM intact")
    raw.disc()


@conformance_test(
    "hdlc.bad-hcs",
    requirement=req(IEC_46, "a frame whose HCS does not check is discarded without an answer"),
    effect="a meter that trusts a damaged header acts on line noise",
)
def bad_hcs(t: TestContext) -> None:
    """An I-frame with a wrong HCS after SNRM/UA: silence; the intact frame: answered."""
    raw = _connected(t)
    frame = bytearray(raw.frame(FrameType.I, LLC_REQUEST + plain_aarq()))
    header_end = 1 + 2 + len(raw.server.encode()) + 1 + 1
    frame[header_end] ^= 0xFF
    raw.send(bytes(frame), "HCS damaged on purpose")
    answer = raw.silent()
    t.check(
        answer is None, "no answer to a frame with a wrong HCS", describe(answer), got_bytes=raw_of(answer)
    )
    raw.send(raw.frame(FrameType.I, LLC_REQUEST + plain_aarq()))
    expect_kind(t, raw.receive(), FrameType.I, "answers the intact I-frame")
    raw.disc()


@conformance_test(
    "hdlc.other-address",
    requirement=req(IEC_46, "a frame addressed to another server (physical address) is not answered"),
    effect="on a shared bus (RS-485, M-Bus gateways) two meters answer at once",
)
def other_address(t: TestContext) -> None:
    """SNRM to a physical address that is not the meter's."""
    raw = _raw_hdlc(t)
    s = t.meter.settings
    other = HdlcAddress(s.server_logical, (s.server_physical + 1) % 0x3FFE or 1)
    raw.send(raw.frame(FrameType.SNRM, LARGE.encode(), server=other))
    answer = raw.silent()
    t.check(answer is None, f"no answer to a frame for {other}", describe(answer), got_bytes=raw_of(answer))


@conformance_test(
    "hdlc.inter-frame",
    requirement=req(IEC_46, "flags between frames are fill; a frame may arrive in pieces"),
    effect="meters behind gateways that split or pad frames do not answer",
)
def inter_frame(t: TestContext) -> None:
    """Extra flags before a frame, and the frame in two pieces."""
    raw = _raw_hdlc(t)
    frame = raw.frame(FrameType.SNRM, LARGE.encode())
    raw.send(b"\x7e\x7e" + frame[: len(frame) // 2], "flags, then half a frame")
    raw.send(frame[len(frame) // 2 :], "the rest of the frame")
    expect_kind(t, raw.receive(), FrameType.UA, "answers an SNRM preceded by flags and sent in two pieces")
    raw.disc()


@conformance_test(
    "hdlc.frmr-invalid-nr",
    requirement=req(IEC_46, "an I-frame whose N(R) acknowledges frames never sent is rejected with FRMR"),
    effect="a meter that accepts a wrong N(R) loses track of what the client received",
)
def frmr_invalid_nr(t: TestContext) -> None:
    """An I-frame with N(R)=3 right after UA."""
    raw = _connected(t)
    raw.send(raw.frame(FrameType.I, LLC_REQUEST + plain_aarq(), nr=3))
    expect_kind(t, raw.receive(), FrameType.FRMR, "answers an invalid N(R)")
    raw.disc()


@conformance_test(
    "hdlc.frmr-unknown-command",
    requirement=req(IEC_46, "a command the station does not implement is rejected with FRMR"),
    effect="clients never learn that the meter did not understand them",
)
def frmr_unknown_command(t: TestContext) -> None:
    """A control field DLMS/COSEM does not use (F3: an undefined U-frame with P=1)."""
    raw = _connected(t)
    s = t.meter.settings
    body = bytearray(HdlcFrame(raw.server, raw.client, _control(FrameType.UI)).encode())
    # Turn the UI control byte (0x13) into the undefined U-frame 0xF3 and repair the FCS.
    index = 3 + len(raw.server.encode()) + 1
    body[index] = 0xF3
    body[-3:-1] = crc16_le(bytes(body[1:-3]))
    raw.send(bytes(body), f"undefined control field F3 (client {s.client_address})")
    expect_kind(t, raw.receive(), FrameType.FRMR, "answers an undefined command")
    raw.disc()


@conformance_test(
    "hdlc.frmr-too-long",
    requirement=req(
        IEC_46, "an I-frame with more information than the negotiated maximum is rejected with FRMR"
    ),
    effect="a meter that accepts overlong frames hides buffer overruns",
)
def frmr_too_long(t: TestContext) -> None:
    """An I-frame longer than the max information length the UA agreed."""
    raw = _raw_hdlc(t)
    ua = expect_kind(t, raw.snrm(SMALL), FrameType.UA, "answers SNRM")
    limit = HdlcParameters.decode(ua.information).max_info_rx
    aarq = plain_aarq()
    information = LLC_REQUEST + aarq + bytes(max(0, limit + 1 - len(aarq) - 3))
    raw.send(raw.frame(FrameType.I, information), f"{len(information)} bytes where {limit} were agreed")
    expect_kind(t, raw.receive(), FrameType.FRMR, "answers an overlong I-frame")
    raw.disc()


@conformance_test(
    "hdlc.segmentation",
    requirement=req(
        IEC_46,
        "an APDU longer than the information field goes in segments (S bit set on all "
        "but the last), each no longer than negotiated, acknowledged by RR",
    ),
    effect="clients with small receive buffers cannot read long values",
    safety=Safety.READ_ONLY,
)
def segmentation(t: TestContext) -> None:
    """The object list read with 64-byte information fields."""
    if t.meter.settings.link != "hdlc":
        t.skip("the meter is reached over the wrapper, not HDLC")
    association = t.meter.associate(hdlc_max_info_length=64)
    association.open()
    reply = association.get(15, "0.0.40.0.0.255", 2, lenient=True)  # bytes after it: services.get-normal
    if reply.problem:
        t.fail("the object list decodes", reply.problem, got_bytes=reply.raw)
    frames = association.frames_rx
    segmented = [f for f in frames if f.segmented]
    if not segmented:
        t.skip("the object list fits one frame of 64 bytes here")
    for frame in frames:
        if frame.control.kind is FrameType.I and len(frame.information) > 64:
            t.fail(
                "information fields of at most 64 bytes (negotiated)",
                f"{len(frame.information)} bytes",
                got_bytes=frame.encode(),
            )


def _control(kind: FrameType) -> Control:
    return Control(kind, True)


@conformance_test(
    "hdlc.rnr",
    requirement=req(
        IEC_46,
        "after RNR the station sends no I-frame until RR; RR then resumes the transfer "
        "at the acknowledged frame",
    ),
    effect="a busy client (full buffer) loses the segments the meter sends anyway",
)
def rnr(t: TestContext) -> None:
    """A segmented answer (the object list in 64-byte frames), paused with RNR and resumed with RR."""
    raw = _raw_hdlc(t)
    expect_kind(t, raw.snrm(SMALL), FrameType.UA, "answers SNRM")
    s = t.meter.settings
    raw.send(raw.frame(FrameType.I, LLC_REQUEST + plain_aarq()))
    expect_kind(t, raw.receive(), FrameType.I, "answers the AARQ")
    get = bytes.fromhex("C001C1000F0000280000FF0200")  # GET 0.0.40.0.0.255:2, the object list
    raw.send(raw.frame(FrameType.I, LLC_REQUEST + get, ns=1, nr=1))
    first = expect_kind(t, raw.receive(), FrameType.I, "answers the GET")
    if not first.segmented:
        t.skip(f"the answer fits one frame (client {s.client_address})")
    raw.send(raw.frame(FrameType.RNR, nr=(first.control.ns + 1) % 8))
    answer = raw.receive()
    while isinstance(answer, HdlcFrame) and answer.control.kind in (FrameType.RR, FrameType.RNR):
        answer = raw.silent()
    t.check(answer is None, "no I-frame after RNR", describe(answer), got_bytes=raw_of(answer))
    raw.send(raw.frame(FrameType.RR, nr=(first.control.ns + 1) % 8))
    resumed = expect_kind(t, raw.receive(), FrameType.I, "resumes the transfer after RR")
    t.check(
        resumed.control.ns == (first.control.ns + 1) % 8,
        f"N(S)={(first.control.ns + 1) % 8}",
        f"N(S)={resumed.control.ns}",
        got_bytes=resumed.encode(),
    )
    raw.disc()
