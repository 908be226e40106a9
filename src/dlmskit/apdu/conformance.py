"""The xDLMS conformance block: which services and options a client proposes and a server grants.

The block is a 24-bit BIT STRING (IEC 62056-5-3 ``Conformance ::= [APPLICATION 31] IMPLICIT BIT
STRING``). Bit 0 is the most significant bit of the first of the three octets, so bit *n* has the
integer value ``1 << (23 - n)``: ``get`` (bit 19) is ``0x000010`` and the three octets ``00 7E 1F`` read
as priority-mgmt-supported, attribute0-supported-with-get, the three block-transfer bits,
multiple-references, get, set, selective-access, event-notification and action.

Inside the (A-XDR encoded) InitiateRequest and InitiateResponse the block keeps its BER form
``5F 1F 04 00 xx xx xx``: tag [APPLICATION 31] in high-tag-number form, length 4, no unused bits, then
the three octets. The server answers with the intersection of what was proposed and what it supports.
"""

from __future__ import annotations

import enum

from dlmskit.codec import ber
from dlmskit.errors import DecodeError, EncodeError

__all__ = ["CONFORMANCE_TAG", "Conformance"]

CONFORMANCE_TAG = 0x5F1F
"""[APPLICATION 31] IMPLICIT, the BER tag of the conformance block."""

_OCTETS = 3
_TAG_OCTETS = CONFORMANCE_TAG.to_bytes(2, "big")


_LN_CLIENT_DEFAULT: dict[type[Conformance], Conformance] = {}


class Conformance(enum.IntFlag):
    """The conformance bits, named as in the standard (``names()`` gives the standard spelling).

    Members are declared in bit order, bit 0 first. Bits 3, 4, 5, 15 and 18 concern short-name
    referencing (read, write, unconfirmed-write, information-report, parameterized-access); bit 1 is
    set when the general-protection (general-glo/ded/general-ciphering) APDUs are supported. Newer
    editions of the Green Book call bit 6 ``delta-value-encoding``; it is ``reserved-six`` here.
    """

    RESERVED_ZERO = 1 << 23
    GENERAL_PROTECTION = 1 << 22
    GENERAL_BLOCK_TRANSFER = 1 << 21
    READ = 1 << 20
    WRITE = 1 << 19
    UNCONFIRMED_WRITE = 1 << 18
    RESERVED_SIX = 1 << 17
    RESERVED_SEVEN = 1 << 16
    ATTRIBUTE0_SUPPORTED_WITH_SET = 1 << 15
    PRIORITY_MGMT_SUPPORTED = 1 << 14
    ATTRIBUTE0_SUPPORTED_WITH_GET = 1 << 13
    BLOCK_TRANSFER_WITH_GET_OR_READ = 1 << 12
    BLOCK_TRANSFER_WITH_SET_OR_WRITE = 1 << 11
    BLOCK_TRANSFER_WITH_ACTION = 1 << 10
    MULTIPLE_REFERENCES = 1 << 9
    INFORMATION_REPORT = 1 << 8
    DATA_NOTIFICATION = 1 << 7
    ACCESS = 1 << 6
    PARAMETERIZED_ACCESS = 1 << 5
    GET = 1 << 4
    SET = 1 << 3
    SELECTIVE_ACCESS = 1 << 2
    EVENT_NOTIFICATION = 1 << 1
    ACTION = 1 << 0

    @classmethod
    def default_ln_client(cls) -> Conformance:
        """The block a logical-name client usually proposes: ``00 7E 1F``.

        This is the set of the Green Book AARQ example (facts sheet section 5) and what common LN
        clients send: get, set, action, selective-access, event-notification, multiple-references,
        block transfer with get, set and action, attribute0-supported-with-get and
        priority-mgmt-supported. General protection, general block transfer and the SN services are
        left out; ask for them explicitly when the session uses them.
        """
        cached = _LN_CLIENT_DEFAULT.get(cls)
        if cached is not None:  # every session asks: ten Flag operations once, not per session
            return cached
        cached = _LN_CLIENT_DEFAULT[cls] = (
            cls.PRIORITY_MGMT_SUPPORTED
            | cls.ATTRIBUTE0_SUPPORTED_WITH_GET
            | cls.BLOCK_TRANSFER_WITH_GET_OR_READ
            | cls.BLOCK_TRANSFER_WITH_SET_OR_WRITE
            | cls.BLOCK_TRANSFER_WITH_ACTION
            | cls.MULTIPLE_REFERENCES
            | cls.GET
            | cls.SET
            | cls.SELECTIVE_ACCESS
            | cls.EVENT_NOTIFICATION
            | cls.ACTION
        )
        return cached

    @classmethod
    def default_sn_client(cls) -> Conformance:
        """The block a short-name client usually proposes: ``1C 03 20``.

        The six short-name bits: read, write, unconfirmed-write, multiple-references,
        information-report and parameterized-access (what the gurux-dlms client proposes in SN mode; public
        trace https://pastebin.com/Vvs6PqXK). Add block-transfer-with-get-or-read (and -set-or-write) when
        the session transfers long values in blocks.
        """
        return (
            cls.READ
            | cls.WRITE
            | cls.UNCONFIRMED_WRITE
            | cls.MULTIPLE_REFERENCES
            | cls.INFORMATION_REPORT
            | cls.PARAMETERIZED_ACCESS
        )

    def names(self) -> list[str]:
        """The standard names of the set bits, in bit order (``"block-transfer-with-get-or-read"``...)."""
        return [str(member.name).lower().replace("_", "-") for member in Conformance if member & self]

    def encode(self) -> bytes:
        """The three octets of the bit string, bit 0 first."""
        if not 0 <= self <= 0xFFFFFF:
            raise EncodeError(f"conformance value 0x{int(self):X} does not fit in 24 bits")
        return int(self).to_bytes(_OCTETS, "big")

    @classmethod
    def decode(cls, data: bytes | memoryview) -> Conformance:
        """Read the three octets of the bit string (exactly three)."""
        if len(data) != _OCTETS:
            raise DecodeError(
                "conformance block has the wrong size", offset=0, expected="3 octets", found=f"{len(data)}"
            )
        return cls(int.from_bytes(data, "big"))

    def encode_ber(self) -> bytes:
        """The BER form used inside InitiateRequest/Response: ``5F 1F 04 00`` and the three octets."""
        return ber.encode_tlv(CONFORMANCE_TAG, ber.encode_bit_string(self.encode()))

    @classmethod
    def decode_ber(cls, data: bytes | memoryview, offset: int = 0) -> tuple[Conformance, int]:
        """Read ``5F 1F 04 00 xx xx xx`` at ``offset``; return the block and the offset after it."""
        found = bytes(data[offset : offset + 2])
        if found != _TAG_OCTETS:
            raise DecodeError(
                "conformance block expected",
                offset=offset,
                expected="tag 5F 1F",
                found=found.hex(" ").upper(),
            )
        _tag, start, end = ber.read_header(data, offset)
        if end - start != _OCTETS + 1:
            raise DecodeError(
                "conformance block has the wrong length",
                offset=start,
                expected="4 octets (unused-bits octet and 24 bits)",
                found=f"{end - start}",
            )
        if data[start] != 0:
            raise DecodeError(
                "conformance block has unused bits",
                offset=start,
                expected="unused-bits octet 00",
                found=f"{data[start]:02X}",
            )
        return cls.decode(data[start + 1 : end]), end
