"""Helpers the built-in groups share: the sources they cite and small checks on frames."""

from __future__ import annotations

from typing import Final

from dlmskit.apdu import acse
from dlmskit.apdu.conformance import Conformance
from dlmskit.apdu.initiate import InitiateRequest
from dlmskit.conformance.framework import Requirement, TestContext
from dlmskit.errors import DecodeError
from dlmskit.link.hdlc_frame import FrameType, HdlcFrame
from dlmskit.link.wrapper import WrapperFrame

IEC_46: Final = "IEC 62056-46 (HDLC, ISO/IEC 13239 normal response mode)"
IEC_47: Final = "IEC 62056-47 (TCP-UDP wrapper)"
IEC_53: Final = "IEC 62056-5-3 (DLMS/COSEM application layer)"
IEC_62: Final = "IEC 62056-6-2 (COSEM interface classes)"
GREEN_BOOK: Final = "DLMS UA 1000-2 Green Book"
BLUE_BOOK: Final = "DLMS UA 1000-1 Blue Book"

PUBLIC_CLIENT_AARQ: Final = InitiateRequest(
    proposed_conformance=Conformance.default_ln_client(), client_max_receive_pdu_size=0xFFFF
)


def req(source: str, text: str, clause: str = "") -> Requirement:
    return Requirement(source, clause, text)


def plain_aarq(*, context: int = acse.ApplicationContextName.LOGICAL_NAME_NO_CIPHERING) -> bytes:
    """A plain AARQ without authentication (the public client's), with application context ``context``."""
    return acse.AARQ(application_context_name=context, user_information=PUBLIC_CLIENT_AARQ.encode()).encode()


def describe(frame: object) -> str:
    """A frame (or what came instead) in a few words."""
    if frame is None:
        return "nothing (silence or the connection closed)"
    if isinstance(frame, DecodeError):
        return f"a damaged frame ({frame})"
    if isinstance(frame, HdlcFrame):
        c = frame.control
        extra = (
            f" N(S)={c.ns} N(R)={c.nr}"
            if c.kind is FrameType.I
            else (f" N(R)={c.nr}" if c.kind in (FrameType.RR, FrameType.RNR) else "")
        )
        return f"{c.kind.name} frame (P/F={int(c.poll_final)}{extra}, {len(frame.information)} information bytes)"
    if isinstance(frame, WrapperFrame):
        return f"wrapper frame {frame.source_wport}->{frame.dest_wport}, {len(frame.apdu)} bytes"
    return type(frame).__name__


def raw_of(frame: object) -> bytes:
    if isinstance(frame, (HdlcFrame, WrapperFrame)):
        return frame.encode()
    return b""


def expect_kind(t: TestContext, frame: object, kind: FrameType, why: str) -> HdlcFrame:
    """The frame when it is an HDLC ``kind`` frame; fail the test otherwise."""
    if isinstance(frame, HdlcFrame) and frame.control.kind is kind:
        return frame
    t.fail(f"{kind.name} {why}", describe(frame), got_bytes=raw_of(frame))
