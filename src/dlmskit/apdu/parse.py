"""Decode any APDU by its tag: the entry point for bytes received from a peer.

:func:`decode_apdu` looks at the first byte (and, for GET, SET and ACTION, the CHOICE byte after it) and
returns the matching dataclass. ACSE APDUs (AARQ, AARE, RLRQ, RLRE) and the xDLMS initiate APDUs are
decoded by :mod:`dlmskit.apdu.acse` and :mod:`dlmskit.apdu.initiate`, the short-name services by
:mod:`dlmskit.apdu.sn`. Ciphered APDUs and access/signing APDUs are returned as :class:`UnparsedApdu` for
the layer that handles them (the
security layer deciphers glo-/ded-/general-ciphering APDUs and decodes the plaintext with this function
again). An unknown tag or choice raises :class:`~dlmskit.errors.DecodeError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from dlmskit.apdu.acse import AARE, AARQ, RLRE, RLRQ
from dlmskit.apdu.action import (
    ActionRequestNextPblock,
    ActionRequestNormal,
    ActionRequestWithFirstPblock,
    ActionRequestWithList,
    ActionRequestWithListAndFirstPblock,
    ActionRequestWithPblock,
    ActionResponseNextPblock,
    ActionResponseNormal,
    ActionResponseWithList,
    ActionResponseWithPblock,
)
from dlmskit.apdu.block import GeneralBlockTransfer
from dlmskit.apdu.common import ApduTag, XdlmsApdu
from dlmskit.apdu.exception import ConfirmedServiceError, ExceptionResponse
from dlmskit.apdu.get import (
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
)
from dlmskit.apdu.initiate import InitiateRequest, InitiateResponse
from dlmskit.apdu.notification import DataNotification, EventNotificationRequest
from dlmskit.apdu.set import (
    SetRequestNormal,
    SetRequestWithDatablock,
    SetRequestWithFirstDatablock,
    SetRequestWithList,
    SetRequestWithListAndFirstDatablock,
    SetResponseDatablock,
    SetResponseLastDatablock,
    SetResponseLastDatablockWithList,
    SetResponseNormal,
    SetResponseWithList,
)
from dlmskit.apdu.sn import (
    InformationReportRequest,
    ReadRequest,
    ReadResponse,
    UnconfirmedWriteRequest,
    WriteRequest,
    WriteResponse,
)
from dlmskit.codec import ber
from dlmskit.errors import DecodeError

__all__ = ["Apdu", "UnparsedApdu", "decode_apdu", "decode_apdu_prefix"]


class Apdu(Protocol):
    """What every decoded APDU offers."""

    def encode(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class UnparsedApdu:
    """An APDU of a known type that this package does not decode (ciphered, access, general-signing):
    ``data`` is the whole APDU, tag included."""

    data: bytes

    @property
    def tag(self) -> ApduTag:
        """The APDU's tag."""
        return ApduTag(self.data[0])

    def encode(self) -> bytes:
        return self.data


_SERVICE_APDUS: tuple[type[XdlmsApdu], ...] = (
    GetRequestNormal,
    GetRequestNext,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    SetRequestNormal,
    SetRequestWithFirstDatablock,
    SetRequestWithDatablock,
    SetRequestWithList,
    SetRequestWithListAndFirstDatablock,
    SetResponseNormal,
    SetResponseDatablock,
    SetResponseLastDatablock,
    SetResponseLastDatablockWithList,
    SetResponseWithList,
    ActionRequestNormal,
    ActionRequestNextPblock,
    ActionRequestWithList,
    ActionRequestWithFirstPblock,
    ActionRequestWithListAndFirstPblock,
    ActionRequestWithPblock,
    ActionResponseNormal,
    ActionResponseWithPblock,
    ActionResponseWithList,
    ActionResponseNextPblock,
    DataNotification,
    EventNotificationRequest,
    ExceptionResponse,
    ConfirmedServiceError,
    GeneralBlockTransfer,
    ReadRequest,
    ReadResponse,
    WriteRequest,
    WriteResponse,
    UnconfirmedWriteRequest,
    InformationReportRequest,
)
_BY_CHOICE: dict[tuple[int, int | None], type[XdlmsApdu]] = {
    (cls.TAG, cls.CHOICE): cls for cls in _SERVICE_APDUS if cls.CHOICE is not None
}
_BY_TAG: dict[int, Callable[[bytes], Apdu]] = {
    cls.TAG: cls.decode for cls in _SERVICE_APDUS if cls.CHOICE is None
} | {cls.TAG: cls.decode for cls in (AARQ, AARE, RLRQ, RLRE, InitiateRequest, InitiateResponse)}
_CHOICE_TAGS = frozenset(tag for tag, _ in _BY_CHOICE)
_KNOWN_TAGS = frozenset(int(tag) for tag in ApduTag)


def decode_apdu(data: bytes | bytearray | memoryview, *, decode_value: bool = True) -> Apdu:
    """Decode one whole APDU of any type.

    ``decode_value=False`` is passed to :meth:`GetResponseNormal.decode
    <dlmskit.apdu.get.GetResponseNormal.decode>` (the value stays an
    :class:`~dlmskit.apdu.common.EncodedData`). Raises :class:`DecodeError` for an empty buffer, an unknown
    tag or choice, and malformed or truncated APDUs.
    """
    raw = bytes(data)
    if not raw:
        raise DecodeError("empty APDU", offset=0, expected="an APDU tag", found="end of data")
    tag = raw[0]
    if tag in _CHOICE_TAGS:
        if len(raw) < 2:
            raise DecodeError(
                "truncated APDU", offset=1, expected="a service choice byte", found="end of data"
            )
        service = _BY_CHOICE.get((tag, raw[1]))
        if service is None:
            raise DecodeError(
                f"unknown choice of {ApduTag(tag).name.lower().replace('_', '-')}",
                offset=1,
                expected="a defined service choice",
                found=f"0x{raw[1]:02X}",
            )
        if service is GetResponseNormal:
            return GetResponseNormal.decode(raw, decode_value=decode_value)
        return service.decode(raw)
    decode = _BY_TAG.get(tag)
    if decode is not None:
        return decode(raw)
    if tag in _KNOWN_TAGS:
        return UnparsedApdu(raw)
    raise DecodeError(
        "unknown APDU tag", offset=0, expected="an xDLMS or ACSE APDU tag", found=f"0x{tag:02X}"
    )


_ACSE_TAGS = frozenset((AARQ.TAG, AARE.TAG, RLRQ.TAG, RLRE.TAG))


def decode_apdu_prefix(data: bytes | bytearray | memoryview) -> tuple[Apdu, int]:
    """Decode the APDU at the start of ``data``; return it and the offset where it ends.

    Like :func:`decode_apdu`, but bytes after a complete xDLMS or ACSE APDU are not an error here: the
    caller sees where the APDU ended and decides (the client session accepts them with a
    :class:`~dlmskit.deviations.Deviation`, or refuses them in strict mode). Everything inside the APDU is
    checked as strictly as by :func:`decode_apdu`; no length may point past the data.
    """
    raw = bytes(data)
    if not raw:
        raise DecodeError("empty APDU", offset=0, expected="an APDU tag", found="end of data")
    tag = raw[0]
    if tag in _CHOICE_TAGS and len(raw) >= 2:
        service = _BY_CHOICE.get((tag, raw[1]))
        if service is not None:
            return service.decode_prefix(raw)
    else:
        for cls in _SERVICE_APDUS:
            if cls.CHOICE is None and tag == cls.TAG:
                return cls.decode_prefix(raw)
        if tag in _ACSE_TAGS:
            _tag, _start, end = ber.read_header(raw)
            return decode_apdu(raw[:end]), end
    return decode_apdu(raw), len(raw)
