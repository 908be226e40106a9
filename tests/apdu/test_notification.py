"""Notifications: data-notification 0F and event-notification C2 (dlmskit.apdu.notification)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.strategies import attribute_descriptors, axdr_data, check_apdu, check_garbage

from dlmskit.apdu import (
    CosemAttributeDescriptor,
    DataNotification,
    EventNotificationRequest,
    LongInvokeIdAndPriority,
    decode_apdu,
)
from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import CosemDateTime
from dlmskit.codec.obis import Obis
from dlmskit.errors import DecodeError, EncodeError

STAMP = bytes.fromhex("07E708100311131E00FF8882")

# -- worked examples ----------------------------------------------------------------------------------------


def test_push_with_date_time() -> None:
    # The header layout of a smart meter push: long-invoke-id 801BF780, date-time as octet-string(12).
    body = axdr.Structure([axdr.OctetString(STAMP), axdr.OctetString(bytes.fromhex("0100010800FF"))])
    apdu = DataNotification(
        LongInvokeIdAndPriority.from_int(0x801BF780), CosemDateTime.from_bytes(STAMP), body
    )
    check_apdu(
        apdu,
        bytes.fromhex("0F 801BF780 0C")
        + STAMP
        + bytes.fromhex("0202 090C")
        + STAMP
        + bytes.fromhex("0906 0100010800FF"),
    )
    assert apdu.invoke.high_priority
    assert not apdu.invoke.confirmed
    assert apdu.invoke.invoke_id == 0x1BF780
    assert apdu.date_time is not None
    assert (apdu.date_time.year, apdu.date_time.hour, apdu.date_time.deviation) == (2023, 17, -120)


def test_push_without_date_time() -> None:
    apdu = DataNotification(LongInvokeIdAndPriority(5), None, axdr.DoubleLongUnsigned(1234))
    check_apdu(apdu, bytes.fromhex("0F 00000005 00 06000004D2"))


def test_long_invoke_id_bits() -> None:
    every_flag = LongInvokeIdAndPriority(0xABCDEF, True, True, True, True)
    assert every_flag.to_int() == 0xF0ABCDEF
    assert LongInvokeIdAndPriority.from_int(0x0F000001) == LongInvokeIdAndPriority(1)  # reserved bits ignored
    assert LongInvokeIdAndPriority.from_int(0x20000000).break_on_error
    assert LongInvokeIdAndPriority.from_int(0x10000000).self_descriptive
    with pytest.raises(EncodeError):
        LongInvokeIdAndPriority(0x1000000)


def test_event_notification() -> None:
    attribute = CosemAttributeDescriptor(1, Obis(0, 0, 96, 11, 0, 255), 2)
    with_time = EventNotificationRequest(attribute, axdr.LongUnsigned(16), CosemDateTime.from_bytes(STAMP))
    check_apdu(with_time, bytes.fromhex("C2 01 0C") + STAMP + bytes.fromhex("0001 0000600B00FF 02 120010"))
    check_apdu(
        EventNotificationRequest(attribute, axdr.LongUnsigned(16)),
        bytes.fromhex("C2 00 0001 0000600B00FF 02 120010"),
    )


def test_event_notification_time_marker_is_a_boolean() -> None:
    # gurux-dlms 1.0.203 (GXDLMSNotify.generateReport) marks the time with 0x09, the octet-string type tag:
    # a non-zero usage flag, so the time is there. Bytes produced by gurux-dlms for 0.0.96.11.0.255 = 16.
    sent = bytes.fromhex("c2090c07ea0101ff0c0000ff00000000010000600b00ff020500000010")
    event = decode_apdu(sent)
    assert isinstance(event, EventNotificationRequest)
    assert event.time is not None and event.time.to_bytes() == bytes.fromhex("07ea0101ff0c0000ff000000")
    assert event.value == axdr.DoubleLong(16)


def test_decode_errors() -> None:
    with pytest.raises(DecodeError, match="invalid date-time length"):
        decode_apdu(bytes.fromhex("0F 00000001 05 0102030405 00"))
    with pytest.raises(DecodeError, match="invalid time length"):
        decode_apdu(bytes.fromhex("C2 01 00 0001 0000600B00FF 02 00"))
    with pytest.raises(DecodeError, match="time marker"):
        decode_apdu(bytes.fromhex("C2"))
    with pytest.raises(DecodeError, match="trailing"):
        decode_apdu(bytes.fromhex("0F 00000001 00 00 00"))


# -- properties ---------------------------------------------------------------------------------------------

_BOUNDED = settings(max_examples=60, deadline=None)
_DATE_TIMES = st.none() | st.binary(min_size=12, max_size=12).map(CosemDateTime.from_bytes)
_LONG_INVOKES = st.integers(0, 0xFFFFFFFF).map(LongInvokeIdAndPriority.from_int)


@_BOUNDED
@given(_LONG_INVOKES, _DATE_TIMES, axdr_data())
def test_data_notification_round_trip(
    invoke: LongInvokeIdAndPriority, date_time: CosemDateTime | None, body: axdr.Data
) -> None:
    check_apdu(DataNotification(invoke, date_time, body))


@_BOUNDED
@given(attribute_descriptors(), axdr_data(), _DATE_TIMES)
def test_event_notification_round_trip(
    attribute: CosemAttributeDescriptor, value: axdr.Data, time: CosemDateTime | None
) -> None:
    check_apdu(EventNotificationRequest(attribute, value, time))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["0F", "C2", "C200", "C2010C"]), st.binary(max_size=40))
def test_garbage_raises_only_decode_error(header: str, tail: bytes) -> None:
    check_garbage(bytes.fromhex(header) + tail)
