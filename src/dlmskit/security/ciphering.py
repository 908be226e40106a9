"""Ciphered xDLMS APDUs: service-specific glo-/ded- APDUs and general-glo-/general-ded-ciphering.

A service-specific ciphered APDU replaces the plain APDU's tag by its ciphered counterpart and wraps
the protected APDU (see :mod:`dlmskit.security.suite0`) as an octet string::

    TAG || length || SC || IC || C || T                       e.g. glo-get-request C8, ded-get-request D0

The general ciphering APDUs also carry the sender's system title, so a receiver that does not know
the sender yet can decipher them (the system title may be empty)::

    DB || length(ST) || ST || length || SC || IC || C || T    general-glo-ciphering (global keys)
    DC || length(ST) || ST || length || SC || IC || C || T    general-ded-ciphering (dedicated key)

Lengths are A-XDR lengths: below 0x80 one byte, else 0x81-0x84 followed by 1-4 big-endian bytes.
"glo" APDUs are ciphered with a global key (unicast, or broadcast when the security control says so),
"ded" APDUs with the dedicated key of the association; choosing the matching
:class:`~dlmskit.security.suite0.GcmCipher` is the caller's part.

The tag table is the xDLMS-APDU CHOICE of IEC 62056-5-3 (DLMS UA Green Book): glo tags are the plain
tag + 0x20 (+ 0x08 for the LN services), ded tags the plain tag + 0x40 (+ 0x10 for the LN services).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

from dlmskit.codec.axdr import encode_length
from dlmskit.errors import ConfigurationError, DecodeError, EncodeError, SecurityError
from dlmskit.security.suite0 import (
    _SECURITY_CONTROLS,
    SECURITY_HEADER_LENGTH,
    BytesLike,
    GcmCipher,
    SecurityControl,
)

__all__ = [
    "DEDICATED_TAGS",
    "GENERAL_DED_CIPHERING",
    "GENERAL_GLO_CIPHERING",
    "CipheredApdu",
    "CipheringKind",
    "DecryptedApdu",
    "ciphered_envelope",
    "ciphered_tag_for",
    "decrypt_apdu",
    "encrypt_apdu",
    "is_ciphered_tag",
    "plain_tag_for",
]

GENERAL_GLO_CIPHERING = 0xDB
GENERAL_DED_CIPHERING = 0xDC

CipheringKind = Literal["glo", "ded", "general-glo", "general-ded"]

# (plain tag, glo- tag, ded- tag), from the xDLMS-APDU CHOICE.
_SERVICE_TAGS = (
    (0x01, 0x21, 0x41),  # initiateRequest
    (0x05, 0x25, 0x45),  # readRequest (SN)
    (0x06, 0x26, 0x46),  # writeRequest (SN)
    (0x08, 0x28, 0x48),  # initiateResponse
    (0x0C, 0x2C, 0x4C),  # readResponse (SN)
    (0x0D, 0x2D, 0x4D),  # writeResponse (SN)
    (0x0E, 0x2E, 0x4E),  # confirmedServiceError
    (0x16, 0x36, 0x56),  # unconfirmedWriteRequest (SN)
    (0x18, 0x38, 0x58),  # informationReportRequest (SN)
    (0xC0, 0xC8, 0xD0),  # get-request
    (0xC1, 0xC9, 0xD1),  # set-request
    (0xC2, 0xCA, 0xD2),  # event-notification-request
    (0xC3, 0xCB, 0xD3),  # action-request
    (0xC4, 0xCC, 0xD4),  # get-response
    (0xC5, 0xCD, 0xD5),  # set-response
    (0xC7, 0xCF, 0xD7),  # action-response
)
_GLO_TAGS = {plain: glo for plain, glo, _ in _SERVICE_TAGS}
_DED_TAGS = {plain: ded for plain, _, ded in _SERVICE_TAGS}
_PLAIN_TAGS = {glo: plain for plain, glo, _ in _SERVICE_TAGS} | {
    ded: plain for plain, _, ded in _SERVICE_TAGS
}
DEDICATED_TAGS = frozenset(_DED_TAGS.values()) | {GENERAL_DED_CIPHERING}
"""The tags of APDUs ciphered with the dedicated key: ded- APDUs and general-ded-ciphering."""
_DEDICATED_TAGS = DEDICATED_TAGS
_GENERAL_TAGS = frozenset((GENERAL_GLO_CIPHERING, GENERAL_DED_CIPHERING))
_new_tuple = tuple.__new__
_GENERAL_KIND_TAGS = {"general-glo": GENERAL_GLO_CIPHERING, "general-ded": GENERAL_DED_CIPHERING}


def is_ciphered_tag(tag: int) -> bool:
    """``tag`` starts a glo-/ded- APDU or a general-glo-/general-ded-ciphering APDU.

    general-ciphering (DD) and general-signing (DF) have another layout and are not covered here.
    """
    return tag in _PLAIN_TAGS or tag in _GENERAL_TAGS


def plain_tag_for(ciphered_tag: int) -> int:
    """The plain APDU tag behind a service-specific glo-/ded- tag (``0xC8`` -> ``0xC0``).

    General ciphering tags carry any APDU, whose tag is only known after deciphering: they raise
    :class:`~dlmskit.errors.DecodeError` like any other tag that is not a glo-/ded- tag.
    """
    try:
        return _PLAIN_TAGS[ciphered_tag]
    except KeyError:
        raise DecodeError(
            "not a service-specific ciphered APDU tag",
            expected="a glo- or ded- tag",
            found=f"0x{ciphered_tag:02X}",
        ) from None


def ciphered_tag_for(plain_tag: int, kind: Literal["glo", "ded"]) -> int:
    """The glo- or ded- tag for a plain APDU tag (``0xC0``, ``"glo"`` -> ``0xC8``)."""
    table = _GLO_TAGS if kind == "glo" else _DED_TAGS
    try:
        return table[plain_tag]
    except KeyError:
        raise EncodeError(
            f"APDU tag 0x{plain_tag:02X} has no {kind}- ciphered form; use general-{kind}-ciphering"
        ) from None


def _decode_length(data: BytesLike, offset: int, what: str) -> tuple[int, int]:
    """``(length, offset after it)`` of the A-XDR length at ``offset``, checked against the bytes left."""
    if offset >= len(data):
        raise DecodeError(
            f"{what} length missing", offset=offset, expected="a length byte", found="end of data"
        )
    first = data[offset]
    offset += 1
    if first < 0x80:
        length = first
    else:
        size = first & 0x7F
        if not 1 <= size <= 4:
            raise DecodeError(
                f"{what} length", offset=offset - 1, expected="0x00-0x7F or 0x81-0x84", found=f"0x{first:02X}"
            )
        if offset + size > len(data):
            raise DecodeError(
                f"{what} length truncated",
                offset=offset,
                expected=f"{size} length bytes",
                found=f"{len(data) - offset} bytes",
            )
        length = int.from_bytes(data[offset : offset + size], "big")
        offset += size
    if length > len(data) - offset:
        raise DecodeError(
            f"{what} longer than the data",
            offset=offset,
            expected=f"{length} bytes",
            found=f"{len(data) - offset} bytes",
        )
    return length, offset


def ciphered_envelope(data: BytesLike) -> tuple[int, bytes | None, int]:
    """``(tag, system title, offset of SC)`` of a ciphered APDU whose ciphered content runs to the end of
    ``data``: the grammar of :meth:`CipheredApdu.decode` without copying anything.

    ``system title`` is the sender's, carried by general-glo-/general-ded-ciphering (possibly empty), and
    ``None`` for service-specific APDUs. Malformed input raises ``DecodeError`` (the same as ``decode``).
    """
    size = len(data)
    if 6 < size < 0x82:
        # The common case first: a glo-/ded- APDU whose one-byte length (below 0x80) is exactly the rest.
        tag = data[0]
        if tag in _PLAIN_TAGS and data[1] == size - 2:
            return tag, None, 2
    if not size:
        raise DecodeError(
            "empty ciphered APDU", offset=0, expected="a ciphered APDU tag", found="end of data"
        )
    tag = data[0]
    system_title: bytes | None = None
    offset = 1
    if tag in _GENERAL_TAGS:
        title_length, offset = _decode_length(data, offset, "system title")
        system_title = bytes(data[offset : offset + title_length])
        offset += title_length
    elif tag not in _PLAIN_TAGS:
        raise DecodeError(
            "not a ciphered APDU",
            offset=0,
            expected="a glo-, ded- or general ciphering tag",
            found=f"0x{tag:02X}",
        )
    body_length, offset = _decode_length(data, offset, "ciphered content")
    end = offset + body_length
    if end != size:
        raise DecodeError(
            "bytes after the ciphered content",
            offset=end,
            expected="end of data",
            found=f"{size - end} more bytes",
        )
    if body_length < SECURITY_HEADER_LENGTH:
        raise DecodeError(
            "security header truncated",
            offset=offset,
            expected=f"{SECURITY_HEADER_LENGTH} bytes (SC and IC)",
            found=f"{body_length} bytes",
        )
    return tag, system_title, offset


@dataclass(frozen=True, slots=True)
class CipheredApdu:
    """The security envelope of a ciphered APDU, readable without keys (what a trace translator shows).

    ``ciphertext_and_tag`` is ``C || T`` (just ``C`` when the security control has no authentication,
    ``P || T`` when it has no encryption). ``system_title`` is the sender's system title carried by
    general-glo-/general-ded-ciphering (possibly empty) and ``None`` for service-specific APDUs.
    """

    tag: int
    security_control: SecurityControl
    invocation_counter: int
    ciphertext_and_tag: bytes
    system_title: bytes | None = None

    @property
    def is_general(self) -> bool:
        """A general-glo- or general-ded-ciphering APDU."""
        return self.tag in _GENERAL_TAGS

    @property
    def is_dedicated(self) -> bool:
        """Ciphered with the dedicated key of the association (ded- and general-ded-ciphering)."""
        return self.tag in _DEDICATED_TAGS

    def encode(self) -> bytes:
        """``TAG [|| len(ST) || ST] || length || SC || IC || C || T``."""
        if self.tag in _GENERAL_TAGS:
            if self.system_title is None:
                raise EncodeError(
                    f"tag 0x{self.tag:02X} (general ciphering) needs a system title (may be empty)"
                )
            prefix = bytes((self.tag,)) + encode_length(len(self.system_title)) + self.system_title
        elif self.tag in _PLAIN_TAGS:
            if self.system_title is not None:
                raise EncodeError(
                    f"tag 0x{self.tag:02X} (service-specific ciphering) carries no system title"
                )
            prefix = bytes((self.tag,))
        else:
            raise EncodeError(f"0x{self.tag:02X} is not a ciphered APDU tag")
        if not 0 <= self.invocation_counter <= 0xFFFFFFFF:
            raise EncodeError(f"invocation counter must be 0..4294967295, got {self.invocation_counter}")
        body_length = SECURITY_HEADER_LENGTH + len(self.ciphertext_and_tag)
        return b"".join(
            (
                prefix,
                encode_length(body_length),
                bytes((self.security_control.value,)),
                self.invocation_counter.to_bytes(4, "big"),
                self.ciphertext_and_tag,
            )
        )

    @classmethod
    def decode(cls, data: BytesLike) -> CipheredApdu:
        """Parse the whole of ``data`` as a ciphered APDU; malformed input raises ``DecodeError``."""
        tag, system_title, offset = ciphered_envelope(data)
        return cls(
            tag=tag,
            security_control=SecurityControl.from_byte(data[offset]),
            invocation_counter=int.from_bytes(data[offset + 1 : offset + SECURITY_HEADER_LENGTH], "big"),
            ciphertext_and_tag=bytes(data[offset + SECURITY_HEADER_LENGTH :]),
            system_title=system_title,
        )


class DecryptedApdu(NamedTuple):
    """A deciphered APDU. ``plain`` (the plain APDU bytes) is kept out of ``repr``.

    Immutable, compared and hashed by value. A named tuple rather than a frozen dataclass: it is made for
    every APDU received, and a frozen dataclass costs four times as much to build.
    """

    plain: bytes
    security_control: SecurityControl
    invocation_counter: int
    system_title: bytes
    tag: int

    def __repr__(self) -> str:
        return (
            f"DecryptedApdu(security_control={self.security_control!r}, "
            f"invocation_counter={self.invocation_counter!r}, system_title={self.system_title!r}, "
            f"tag={self.tag!r})"
        )


def encrypt_apdu(
    plain_apdu: BytesLike,
    *,
    kind: CipheringKind,
    sc: int | SecurityControl,
    system_title: bytes,
    ic: int,
    keys: GcmCipher,
) -> bytes:
    """Cipher a plain APDU into a ``kind`` ciphered APDU.

    ``system_title`` and ``ic`` are the sender's own system title and invocation counter (take the
    counter from an :class:`~dlmskit.security.invocation.InvocationCounterStore`); ``keys`` is the
    cipher of the global (``glo``) or dedicated (``ded``) key the kind calls for.
    """
    if kind == "glo" or kind == "ded":
        if not plain_apdu:
            raise EncodeError("cannot cipher an empty APDU")
        return keys.encrypt_enveloped(ciphered_tag_for(plain_apdu[0], kind), sc, system_title, ic, plain_apdu)
    if kind in _GENERAL_KIND_TAGS:
        body = keys.encrypt(sc, system_title, ic, plain_apdu)
        return b"".join(
            (
                bytes((_GENERAL_KIND_TAGS[kind],)),
                encode_length(len(system_title)),
                system_title,
                encode_length(len(body)),
                body,
            )
        )
    raise EncodeError(f"unknown ciphering kind {kind!r}; expected glo, ded, general-glo or general-ded")


def decrypt_apdu(
    ciphered: BytesLike | CipheredApdu,
    *,
    system_title: bytes | None = None,
    keys: GcmCipher,
) -> DecryptedApdu:
    """Decipher a ciphered APDU (bytes or an already decoded :class:`CipheredApdu`).

    ``system_title`` is the sender's. It may be left out for general ciphering APDUs that carry one;
    when both are there they must agree. ``keys`` is the cipher of the key the tag calls for (see
    :attr:`CipheredApdu.is_dedicated`). A tag that does not verify raises
    :class:`~dlmskit.errors.TagVerificationError` naming the sender system title and counter.
    """
    if isinstance(ciphered, CipheredApdu):
        return _decrypt_decoded(ciphered, system_title, keys)
    # Straight from the bytes: SC, IC and C || T are read where they are (no CipheredApdu, no copies).
    tag, carried, offset = ciphered_envelope(ciphered)
    sender = (
        system_title if carried is None and system_title is not None else _sender(tag, carried, system_title)
    )
    plain, sc, ic = keys.decrypt_at(ciphered, offset, sender)
    if type(sender) is not bytes:
        sender = bytes(sender)
    return _new_tuple(DecryptedApdu, (plain, _SECURITY_CONTROLS[sc], ic, sender, tag))


def _sender(tag: int, carried: bytes | None, expected: bytes | None) -> bytes:
    """The sender's system title: the one a general ciphering APDU carries (which must agree with the
    expected one when both are there), else the expected one."""
    if carried:
        if expected is not None and bytes(expected) != carried:
            raise SecurityError(
                f"the APDU comes from system title {carried.hex().upper()}, "
                f"not from the expected {bytes(expected).hex().upper()}"
            )
        return carried
    if expected is None:
        raise ConfigurationError(
            f"APDU tag 0x{tag:02X} does not carry the sender's system title: pass system_title"
        )
    return expected


def _decrypt_decoded(apdu: CipheredApdu, system_title: bytes | None, keys: GcmCipher) -> DecryptedApdu:
    sender = _sender(apdu.tag, apdu.system_title, system_title)
    # An int security control hits the cipher's prefix cache (a SecurityControl object would miss it).
    plain = keys.decrypt(int(apdu.security_control), sender, apdu.invocation_counter, apdu.ciphertext_and_tag)
    return DecryptedApdu(plain, apdu.security_control, apdu.invocation_counter, bytes(sender), apdu.tag)
