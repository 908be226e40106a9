"""Unsolicited APDUs from the meter: data-notification ``0F`` (push) and event-notification ``C2``.

A push (data-notification) as sent by a meter's push setup object::

    0F                               data-notification
    801BF780                         long-invoke-id-and-priority: high priority, invoke-id 0x1BF780
    0C 07E708100311131E00FF8882      date-time: octet-string of 12 bytes (00 when the meter sends none)
    02 23 ...                        notification-body: one Data, here a structure of 35 elements

An event-notification reports one attribute value, with the time as an OPTIONAL octet-string::

    C2 01 0C <12 bytes>              time present
    0001 0000600B00FF 02             class 1 (data), 0.0.96.11.0.255, attribute 2
    12 0010                          Data long-unsigned 16
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from dlmskit.apdu.common import (
    ApduTag,
    CosemAttributeDescriptor,
    LongInvokeIdAndPriority,
    XdlmsApdu,
    encode_data,
    need,
    pack_octet_string,
    read_data,
    read_octet_string,
)
from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import CosemDateTime
from dlmskit.errors import DecodeError

__all__ = ["DataNotification", "EventNotificationRequest"]


def _read_date_time(
    data: bytes, offset: int, what: str, *, allow_empty: bool
) -> tuple[CosemDateTime | None, int]:
    raw, end = read_octet_string(data, offset, what)
    if len(raw) == CosemDateTime.SIZE:
        return CosemDateTime.from_bytes(raw), end
    if allow_empty and not raw:
        return None, end
    raise DecodeError(
        f"invalid {what} length",
        offset=offset,
        expected="0 or 12 bytes" if allow_empty else "12 bytes",
        found=f"{len(raw)} bytes",
    )


@dataclass(frozen=True, slots=True)
class DataNotification(XdlmsApdu):
    """Data-Notification (``0F``): data pushed by the meter, usually unconfirmed.

    ``date_time`` is the time the meter stamped on the push (None when it sent an empty octet-string);
    ``body`` the notification body, one Data (typically the structure configured in the push setup
    object's push_object_list).
    """

    TAG: ClassVar[int] = ApduTag.DATA_NOTIFICATION

    invoke: LongInvokeIdAndPriority
    date_time: CosemDateTime | None
    body: axdr.Data

    def _encode_body(self) -> bytes:
        stamp = b"" if self.date_time is None else self.date_time.to_bytes()
        return self.invoke.encode() + pack_octet_string(stamp) + encode_data(self.body)

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[DataNotification, int]:
        invoke, offset = LongInvokeIdAndPriority.decode_from(data, offset)
        date_time, offset = _read_date_time(data, offset, "date-time", allow_empty=True)
        body, offset = read_data(data, offset)
        return cls(invoke, date_time, body), offset


@dataclass(frozen=True, slots=True)
class EventNotificationRequest(XdlmsApdu):
    """Event-Notification-Request (``C2``): the meter reports the value of one attribute, unasked.

    ``time`` is when the event happened (OPTIONAL: None when not sent).
    """

    TAG: ClassVar[int] = ApduTag.EVENT_NOTIFICATION_REQUEST

    attribute: CosemAttributeDescriptor
    value: axdr.Data
    time: CosemDateTime | None = None

    def _encode_body(self) -> bytes:
        stamp = b"\x00" if self.time is None else b"\x01" + pack_octet_string(self.time.to_bytes())
        return stamp + self.attribute.encode() + encode_data(self.value)

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[EventNotificationRequest, int]:
        # The OPTIONAL marker is a BOOLEAN: any non-zero octet means present, as in BER. gurux-dlms (1.0.203)
        # writes 0x09 (the octet-string type tag) there, then the length and the 12 bytes.
        need(data, offset, 1, "time marker")
        present, offset = data[offset] != 0, offset + 1
        time = None
        if present:
            time, offset = _read_date_time(data, offset, "time", allow_empty=False)
        attribute, offset = CosemAttributeDescriptor.decode_from(data, offset)
        value, offset = read_data(data, offset)
        return cls(attribute, value, time), offset
