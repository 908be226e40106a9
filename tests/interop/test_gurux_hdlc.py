"""HDLC link behaviour as gurux-dlms meets it (HDLC only: the wrapper has no sequence numbers)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.interop.demo_meter import GURUX_MISSING

pytest.importorskip("gurux_dlms", reason=GURUX_MISSING)

from gurux_dlms import GXDLMSException  # type: ignore[import-untyped]
from gurux_dlms.enums import ErrorCode  # type: ignore[import-untyped]
from gurux_dlms.objects import GXDLMSData  # type: ignore[import-untyped]
from tests.interop.gurux_session import GuruxSession

from dlmskit.simulator import SimulatorThread

LOGICAL_DEVICE_NAME = "0.0.42.0.0.255"


def test_a_frame_with_an_invalid_receive_sequence_number_is_answered_with_frmr(
    simulator: Callable[..., SimulatorThread], gurux: Callable[..., GuruxSession]
) -> None:
    running = simulator("hdlc")
    session = gurux(running, 16, answer_timeout_ms=1000)
    session.connect()
    session.associate()
    # gurux numbers a frame when it builds it: a request built but never sent moves its N(S) and, as gurux
    # counts, its N(R) too. The next request's N(R) (2) then acknowledges an I-frame the meter never sent
    # (it sent one, the AARE, N(S)=0).
    session.client.read(GXDLMSData(LOGICAL_DEVICE_NAME), 2)
    with pytest.raises(GXDLMSException) as rejected:
        session.read(GXDLMSData(LOGICAL_DEVICE_NAME), 2)
    # gurux reports a FRMR answer as ErrorCode.UNACCEPTABLE_FRAME (checked by feeding it an FRMR frame).
    assert rejected.value.errorCode == ErrorCode.UNACCEPTABLE_FRAME
