"""xDLMS InitiateRequest and InitiateResponse: the DLMS part of an association request and answer.

They travel A-XDR encoded inside the ``user-information`` of the AARQ and AARE (or ciphered, as the
glo-initiateRequest ``21`` / glo-initiateResponse ``28``, which the security layer handles). A-XDR writes
an OPTIONAL component as ``00`` (absent) or ``01`` followed by the value, and a DEFAULT component as
``00`` when it has its default value, else ``01`` followed by the value. The Green Book example::

    01                                        initiate-request
    01 10 00112233445566778899AABBCCDDEEFF    dedicated-key present, 16 octets
    00                                        response-allowed: default (TRUE)
    00                                        proposed-quality-of-service: absent
    06                                        proposed-dlms-version-number 6
    5F1F 04 00 007E1F                         proposed-conformance
    04B0                                      client-max-receive-pdu-size 1200

and an InitiateResponse ``08 00 06 5F1F0400 00101D 04B0 0007``: no negotiated quality of service, DLMS
version 6, the negotiated conformance, server-max-receive-pdu-size 1200 and vaa-name 0x0007 (logical
name referencing; short-name servers answer 0xFA00, the base name of their Association SN object).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from dlmskit.apdu.conformance import Conformance
from dlmskit.codec import ber
from dlmskit.errors import DecodeError, EncodeError

__all__ = ["DLMS_VERSION", "VAA_NAME_LN", "VAA_NAME_SN", "InitiateRequest", "InitiateResponse"]

DLMS_VERSION = 6
"""The DLMS version number of the current standard, proposed and negotiated in every association."""
VAA_NAME_LN = 0x0007
"""vaa-name answered by a logical-name referencing server."""
VAA_NAME_SN = 0xFA00
"""vaa-name answered by a short-name referencing server (base name of the Association SN object)."""


class _Reader:
    """Bounds-checked sequential reading of an A-XDR buffer."""

    __slots__ = ("data", "offset")

    def __init__(self, data: bytes | memoryview) -> None:
        self.data = data
        self.offset = 0

    def take(self, count: int, what: str) -> bytes:
        left = len(self.data) - self.offset
        if count > left:
            raise DecodeError(
                f"input ends inside {what}", offset=self.offset, expected=f"{count} bytes", found=f"{left}"
            )
        chunk = bytes(self.data[self.offset : self.offset + count])
        self.offset += count
        return chunk

    def unsigned(self, size: int, what: str) -> int:
        return int.from_bytes(self.take(size, what), "big")

    def present(self, what: str) -> bool:
        """Read the A-XDR presence flag of an OPTIONAL or DEFAULT component (00 absent, 01 present)."""
        flag = self.unsigned(1, what)
        if flag > 1:
            raise DecodeError(
                f"invalid presence flag for {what}",
                offset=self.offset - 1,
                expected="00 or 01",
                found=f"{flag:02X}",
            )
        return flag == 1

    def tag(self, expected: int, what: str) -> None:
        found = self.unsigned(1, what)
        if found != expected:
            raise DecodeError(
                f"not an {what}",
                offset=self.offset - 1,
                expected=f"tag 0x{expected:02X}",
                found=f"0x{found:02X}",
            )

    def conformance(self) -> Conformance:
        value, self.offset = Conformance.decode_ber(self.data, self.offset)
        return value

    def finish(self, what: str) -> None:
        if self.offset != len(self.data):
            raise DecodeError(
                f"trailing bytes after the {what}",
                offset=self.offset,
                expected="end of input",
                found=f"{len(self.data) - self.offset} more bytes",
            )


def _check_range(value: int, low: int, high: int, what: str) -> None:
    if not low <= value <= high:
        raise EncodeError(f"{what} {value} is not in {low}..{high}")


def _encode_quality_of_service(value: int | None) -> bytes:
    if value is None:
        return b"\x00"
    _check_range(value, -128, 127, "quality-of-service")
    return b"\x01" + value.to_bytes(1, "big", signed=True)


def _decode_quality_of_service(reader: _Reader) -> int | None:
    if not reader.present("quality-of-service"):
        return None
    return int.from_bytes(reader.take(1, "quality-of-service"), "big", signed=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class InitiateRequest:
    """The xDLMS InitiateRequest (tag 01), sent by the client in the AARQ user-information.

    ``dedicated_key`` is only sent inside a ciphered glo-initiateRequest; it is kept out of ``repr``.
    ``response_allowed`` is FALSE only for associations whose services are all unconfirmed.
    """

    TAG: ClassVar[int] = 0x01

    dedicated_key: bytes | None = field(default=None, repr=False)
    response_allowed: bool = True
    proposed_quality_of_service: int | None = None
    proposed_dlms_version_number: int = DLMS_VERSION
    proposed_conformance: Conformance
    client_max_receive_pdu_size: int

    def encode(self) -> bytes:
        """The A-XDR encoding, starting with the tag 01."""
        _check_range(self.proposed_dlms_version_number, 0, 0xFF, "proposed-dlms-version-number")
        _check_range(self.client_max_receive_pdu_size, 0, 0xFFFF, "client-max-receive-pdu-size")
        out = bytearray((self.TAG,))
        if self.dedicated_key is None:
            out.append(0x00)
        else:
            out += b"\x01" + ber.encode_length(len(self.dedicated_key)) + self.dedicated_key
        out += b"\x00" if self.response_allowed else b"\x01\x00"
        out += _encode_quality_of_service(self.proposed_quality_of_service)
        out.append(self.proposed_dlms_version_number)
        out += self.proposed_conformance.encode_ber()
        out += self.client_max_receive_pdu_size.to_bytes(2, "big")
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes | memoryview) -> InitiateRequest:
        """Decode a whole plain InitiateRequest (first byte 01)."""
        reader = _Reader(data)
        reader.tag(cls.TAG, "initiate-request")
        dedicated_key = None
        if reader.present("dedicated-key"):
            length, reader.offset = ber.read_length(data, reader.offset)
            dedicated_key = reader.take(length, "dedicated-key")
        response_allowed = True
        if reader.present("response-allowed"):
            response_allowed = reader.unsigned(1, "response-allowed") != 0
        quality_of_service = _decode_quality_of_service(reader)
        version = reader.unsigned(1, "proposed-dlms-version-number")
        conformance = reader.conformance()
        max_pdu_size = reader.unsigned(2, "client-max-receive-pdu-size")
        reader.finish("initiate-request")
        return cls(
            dedicated_key=dedicated_key,
            response_allowed=response_allowed,
            proposed_quality_of_service=quality_of_service,
            proposed_dlms_version_number=version,
            proposed_conformance=conformance,
            client_max_receive_pdu_size=max_pdu_size,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class InitiateResponse:
    """The xDLMS InitiateResponse (tag 08), sent by the server in the AARE user-information.

    ``negotiated_conformance`` is what the client may use; ``server_max_receive_pdu_size`` bounds the
    APDUs the client sends; ``vaa_name`` is :data:`VAA_NAME_LN` or :data:`VAA_NAME_SN` (some meters send
    other values; they are kept as read).
    """

    TAG: ClassVar[int] = 0x08

    negotiated_quality_of_service: int | None = None
    negotiated_dlms_version_number: int = DLMS_VERSION
    negotiated_conformance: Conformance
    server_max_receive_pdu_size: int
    vaa_name: int = VAA_NAME_LN

    def encode(self) -> bytes:
        """The A-XDR encoding, starting with the tag 08."""
        _check_range(self.negotiated_dlms_version_number, 0, 0xFF, "negotiated-dlms-version-number")
        _check_range(self.server_max_receive_pdu_size, 0, 0xFFFF, "server-max-receive-pdu-size")
        _check_range(self.vaa_name, 0, 0xFFFF, "vaa-name")
        return (
            bytes((self.TAG,))
            + _encode_quality_of_service(self.negotiated_quality_of_service)
            + bytes((self.negotiated_dlms_version_number,))
            + self.negotiated_conformance.encode_ber()
            + self.server_max_receive_pdu_size.to_bytes(2, "big")
            + self.vaa_name.to_bytes(2, "big")
        )

    @classmethod
    def decode(cls, data: bytes | memoryview) -> InitiateResponse:
        """Decode a whole plain InitiateResponse (first byte 08)."""
        reader = _Reader(data)
        reader.tag(cls.TAG, "initiate-response")
        quality_of_service = _decode_quality_of_service(reader)
        version = reader.unsigned(1, "negotiated-dlms-version-number")
        conformance = reader.conformance()
        max_pdu_size = reader.unsigned(2, "server-max-receive-pdu-size")
        vaa_name = reader.unsigned(2, "vaa-name")
        reader.finish("initiate-response")
        return cls(
            negotiated_quality_of_service=quality_of_service,
            negotiated_dlms_version_number=version,
            negotiated_conformance=conformance,
            server_max_receive_pdu_size=max_pdu_size,
            vaa_name=vaa_name,
        )
