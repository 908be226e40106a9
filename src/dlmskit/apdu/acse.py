"""ACSE association APDUs (ISO 8650 / IEC 62056-5-3): AARQ, AARE, RLRQ and RLRE, BER encoded.

A DLMS association opens with an AARQ (tag 60) from the client and an AARE (tag 61) from the server,
and closes with RLRQ (62) / RLRE (63). Only the elements DLMS uses are modelled; unknown optional
elements are skipped when decoding, missing mandatory ones raise :class:`~dlmskit.errors.DecodeError`
naming them. The plain LN AARQ of the Green Book::

    60 1D                                  AARQ
       A1 09 06 07 60 85 74 05 08 01 01    application-context-name 2.16.756.5.8.1.1 (LN, no ciphering)
       BE 10 04 0E 01 00 00 00 06 5F1F0400007E1F 04B0     user-information: InitiateRequest

An HLS association adds the client system title (``A6 0A 04 08 <8 octets>``), the acse-requirements
with the authentication bit (``8A 02 07 80``), the mechanism name (``8B 07 60 85 74 05 08 02 05`` for
HLS-GMAC) and the challenge or LLS password (``AC 0A 80 08 <octets>``). The AARE carries the result
(``A2 03 02 01 r``), the result-source-diagnostic (``A3 05 A1 03 02 01 d`` from the acse-service-user,
``A3 05 A2 03 02 01 d`` from the acse-service-provider), the server system title (A4), the server
challenge (``AA 0A 80 08 <StoC>``) and the InitiateResponse in BE.

``user_information`` is kept as the raw xDLMS APDU carried in the ``BE .. 04 ..`` wrapper: a plain
InitiateRequest (01) / InitiateResponse (08) (see :mod:`dlmskit.apdu.initiate`), a ciphered
glo-initiateRequest (21) / glo-initiateResponse (28), or a confirmed-service-error (0E) when the server
refuses the xDLMS part. ``result`` and the diagnostic values are plain ints: map them with
``dlmskit.apdu.results.AssociationResult``, ``AcseServiceUser`` and ``AcseServiceProvider``. Mechanism
ids are plain ints 0..7 (0 none, 1 LLS, 2 HLS, 3 MD5, 4 SHA-1, 5 GMAC, 6 SHA-256, 7 ECDSA); the security
layer names them.

Not modelled (skipped when present): protocol-version ([0], always version1 in DLMS).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

from dlmskit.codec import ber
from dlmskit.errors import DecodeError, EncodeError

__all__ = [
    "AARE",
    "AARQ",
    "APPLICATION_CONTEXT_NAME_PREFIX",
    "MECHANISM_NAME_PREFIX",
    "RLRE",
    "RLRQ",
    "ApplicationContextName",
    "AssociateSourceDiagnostic",
    "DiagnosticSource",
    "ReleaseRequestReason",
    "ReleaseResponseReason",
]

_T = TypeVar("_T")

APPLICATION_CONTEXT_NAME_PREFIX = (2, 16, 756, 5, 8, 1)
"""OID arcs of the DLMS UA application context names; the context id follows."""
MECHANISM_NAME_PREFIX = (2, 16, 756, 5, 8, 2)
"""OID arcs of the DLMS UA authentication mechanism names; the mechanism id follows."""


class ApplicationContextName(enum.IntEnum):
    """The DLMS UA application context ids (last arc of ``2.16.756.5.8.1.x``)."""

    LOGICAL_NAME_NO_CIPHERING = 1
    SHORT_NAME_NO_CIPHERING = 2
    LOGICAL_NAME_WITH_CIPHERING = 3
    SHORT_NAME_WITH_CIPHERING = 4

    @property
    def logical_name(self) -> bool:
        """True for logical-name referencing (GET/SET/ACTION), False for short-name (READ/WRITE)."""
        return self in (
            ApplicationContextName.LOGICAL_NAME_NO_CIPHERING,
            ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING,
        )

    @property
    def ciphered(self) -> bool:
        """True when the context allows ciphered APDUs."""
        return self >= ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING


class DiagnosticSource(enum.IntEnum):
    """Which side produced an AARE result-source-diagnostic (the CHOICE tag number)."""

    ACSE_SERVICE_USER = 1
    ACSE_SERVICE_PROVIDER = 2


class ReleaseRequestReason(enum.IntEnum):
    """RLRQ reason values."""

    NORMAL = 0
    URGENT = 1
    USER_DEFINED = 30


class ReleaseResponseReason(enum.IntEnum):
    """RLRE reason values."""

    NORMAL = 0
    NOT_FINISHED = 1
    USER_DEFINED = 30


@dataclass(frozen=True, slots=True)
class AssociateSourceDiagnostic:
    """The AARE result-source-diagnostic: who answered and why.

    ``value`` is an ``AcseServiceUser`` value (0 null, 1 no-reason-given, 2
    application-context-name-not-supported, 11 mechanism-name-not-recognised, 12
    mechanism-name-required, 13 authentication-failure, 14 authentication-required, ...) when ``source``
    is the acse-service-user, an ``AcseServiceProvider`` value (0 null, 1 no-reason-given, 2
    no-common-acse-version) when it is the acse-service-provider.
    """

    source: DiagnosticSource
    value: int


# Element tags: [n] context-specific, 0x80 | n when primitive (IMPLICIT), 0xA0 | n when constructed.
_AARQ_TAG = 0x60
_AARE_TAG = 0x61
_RLRQ_TAG = 0x62
_RLRE_TAG = 0x63
_APPLICATION_CONTEXT_NAME = 0xA1
_AARQ_CALLED_AP_TITLE = 0xA2
_AARQ_CALLED_AE_QUALIFIER = 0xA3
_AARQ_CALLED_AP_INVOCATION_ID = 0xA4
_AARQ_CALLED_AE_INVOCATION_ID = 0xA5
_AARQ_CALLING_AP_TITLE = 0xA6
_AARQ_CALLING_AE_QUALIFIER = 0xA7
_AARQ_CALLING_AP_INVOCATION_ID = 0xA8
_AARQ_CALLING_AE_INVOCATION_ID = 0xA9
_AARQ_SENDER_ACSE_REQUIREMENTS = 0x8A
_AARQ_MECHANISM_NAME = 0x8B
_AARQ_CALLING_AUTHENTICATION_VALUE = 0xAC
_AARE_RESULT = 0xA2
_AARE_RESULT_SOURCE_DIAGNOSTIC = 0xA3
_AARE_RESPONDING_AP_TITLE = 0xA4
_AARE_RESPONDING_AE_QUALIFIER = 0xA5
_AARE_RESPONDING_AP_INVOCATION_ID = 0xA6
_AARE_RESPONDING_AE_INVOCATION_ID = 0xA7
_AARE_RESPONDER_ACSE_REQUIREMENTS = 0x88
_AARE_MECHANISM_NAME = 0x89
_AARE_RESPONDING_AUTHENTICATION_VALUE = 0xAA
_IMPLEMENTATION_INFORMATION = 0x9D
_USER_INFORMATION = 0xBE
_RELEASE_REASON = 0x80
_AUTHENTICATION_VALUE_CHARSTRING = 0x80
_AUTHENTICATION_VALUE_BITSTRING = 0x81
_ACSE_REQUIREMENTS_AUTHENTICATION = ber.encode_bit_string(b"\x80", 7)
_DIAGNOSTIC_SOURCES = {0xA0 | source: source for source in DiagnosticSource}


# --- element encoders -------------------------------------------------------------------------------


def _explicit(tag: int, inner_tag: int, content: bytes) -> bytes:
    return ber.encode_tlv(tag, ber.encode_tlv(inner_tag, content))


@functools.lru_cache(maxsize=64)
def _context_oid(prefix: tuple[int, ...], value: int, what: str) -> bytes:
    """The OID of a DLMS UA name (a few values in use: encoded once each)."""
    if value < 0:
        raise EncodeError(f"{what} {value} is negative")
    return ber.encode_oid((*prefix, value))


def _optional_octets(tag: int, value: bytes | None) -> bytes:
    return b"" if value is None else _explicit(tag, ber.TAG_OCTET_STRING, value)


def _optional_integer(tag: int, value: int | None) -> bytes:
    return b"" if value is None else _explicit(tag, ber.TAG_INTEGER, ber.encode_integer(value))


def _optional_implicit(tag: int, content: bytes | None) -> bytes:
    return b"" if content is None else ber.encode_tlv(tag, content)


def _authentication_value(tag: int, value: bytes | None) -> bytes:
    return b"" if value is None else _explicit(tag, _AUTHENTICATION_VALUE_CHARSTRING, value)


def _acse_requirements(tag: int, authentication: bool) -> bytes:
    return ber.encode_tlv(tag, _ACSE_REQUIREMENTS_AUTHENTICATION) if authentication else b""


def _mechanism_name(tag: int, value: int | None) -> bytes:
    if value is None:
        return b""
    return ber.encode_tlv(tag, _context_oid(MECHANISM_NAME_PREFIX, value, "mechanism-name"))


@functools.lru_cache(maxsize=16)
def _application_context_name(value: int) -> bytes:
    oid = _context_oid(APPLICATION_CONTEXT_NAME_PREFIX, value, "application-context-name")
    return _explicit(_APPLICATION_CONTEXT_NAME, ber.TAG_OBJECT_IDENTIFIER, oid)


# --- element decoders (each gets the element's content; offsets are relative to it) -----------------


def _decode_inner(content: bytes, inner_tag: int, what: str, decode: Callable[[bytes], _T]) -> _T:
    """Decode an EXPLICIT element: its content is exactly one TLV with ``inner_tag``."""
    tag, start, end = ber.read_header(content)
    if tag != inner_tag:
        raise DecodeError(
            f"{what} expected", offset=0, expected=f"tag 0x{inner_tag:02X}", found=f"tag 0x{tag:02X}"
        )
    if end != len(content):
        raise DecodeError(f"trailing bytes after the {what}", offset=end, expected="end of element")
    try:
        return decode(content[start:end])
    except DecodeError as exc:
        raise exc.shifted(start) from None


def _octets(content: bytes) -> bytes:
    return content


def _decode_octet_string(content: bytes) -> bytes:
    return _decode_inner(content, ber.TAG_OCTET_STRING, "OCTET STRING", _octets)


def _decode_explicit_integer(content: bytes) -> int:
    return _decode_inner(content, ber.TAG_INTEGER, "INTEGER", ber.decode_integer)


def _decode_context_id(content: bytes, prefix: tuple[int, ...], what: str) -> int:
    arcs = ber.decode_oid(content)
    if len(arcs) != len(prefix) + 1 or arcs[: len(prefix)] != prefix:
        raise DecodeError(
            f"{what} is not a DLMS UA name",
            offset=0,
            expected=".".join(map(str, prefix)) + ".x",
            found=".".join(map(str, arcs)),
        )
    return arcs[-1]


def _decode_application_context_name(content: bytes) -> int:
    def context_id(oid: bytes) -> int:
        value = _decode_context_id(oid, APPLICATION_CONTEXT_NAME_PREFIX, "application-context-name")
        try:
            return ApplicationContextName(value)
        except ValueError:
            return value

    return _decode_inner(content, ber.TAG_OBJECT_IDENTIFIER, "OBJECT IDENTIFIER", context_id)


def _decode_mechanism_name(content: bytes) -> int:
    return _decode_context_id(content, MECHANISM_NAME_PREFIX, "mechanism-name")


def _decode_acse_requirements(content: bytes) -> bool:
    bits, _unused = ber.decode_bit_string(content)
    return bool(bits) and bool(bits[0] & 0x80)


def _decode_authentication_value(content: bytes) -> bytes:
    """Authentication-value CHOICE: charstring [0] (what DLMS sends) or bitstring [1] (accepted)."""
    tag, start, end = ber.read_header(content)
    if end != len(content):
        raise DecodeError(
            "trailing bytes after the authentication-value", offset=end, expected="end of element"
        )
    if tag == _AUTHENTICATION_VALUE_CHARSTRING:
        return content[start:end]
    if tag == _AUTHENTICATION_VALUE_BITSTRING:
        try:
            bits, _unused = ber.decode_bit_string(content[start:end])
        except DecodeError as exc:
            raise exc.shifted(start) from None
        return bits
    raise DecodeError(
        "unsupported authentication-value choice",
        offset=0,
        expected="charstring 0x80 or bitstring 0x81",
        found=f"tag 0x{tag:02X}",
    )


def _decode_result_source_diagnostic(content: bytes) -> AssociateSourceDiagnostic:
    """Associate-source-diagnostic CHOICE: acse-service-user [1] or acse-service-provider [2] INTEGER."""
    tag, _start, _end = ber.read_header(content)
    source = _DIAGNOSTIC_SOURCES.get(tag)
    if source is None:
        raise DecodeError(
            "unknown result-source-diagnostic choice",
            offset=0,
            expected="acse-service-user 0xA1 or acse-service-provider 0xA2",
            found=f"tag 0x{tag:02X}",
        )
    return AssociateSourceDiagnostic(
        source, _decode_inner(content, tag, "diagnostic", _decode_explicit_integer)
    )


def _decode_reason(content: bytes, enum_type: type[enum.IntEnum]) -> int:
    value = ber.decode_integer(content)
    try:
        return enum_type(value)
    except ValueError:
        return value


def _decode_release_request_reason(content: bytes) -> int:
    return _decode_reason(content, ReleaseRequestReason)


def _decode_release_response_reason(content: bytes) -> int:
    return _decode_reason(content, ReleaseResponseReason)


# --- APDU framing -----------------------------------------------------------------------------------


class _Elements:
    """The elements of one ACSE APDU, by tag, with their absolute offsets for error reports."""

    __slots__ = ("apdu", "by_tag")

    def __init__(self, data: bytes | memoryview, apdu_tag: int, apdu: str) -> None:
        self.apdu = apdu
        tag, start, end = ber.read_header(data)
        if tag != apdu_tag:
            raise DecodeError(
                f"not an {apdu}", offset=0, expected=f"tag 0x{apdu_tag:02X}", found=f"tag 0x{tag:02X}"
            )
        if end != len(data):
            raise DecodeError(
                f"trailing bytes after the {apdu}",
                offset=end,
                expected="end of input",
                found=f"{len(data) - end} more bytes",
            )
        self.by_tag: dict[int, tuple[bytes, int]] = {}
        for element_tag, value, value_offset in ber.iter_tlvs(data, start, end):
            if element_tag in self.by_tag:
                raise DecodeError(
                    f"{apdu} repeats element 0x{element_tag:02X}",
                    offset=value_offset,
                    expected="each element once",
                )
            self.by_tag[element_tag] = (value, value_offset)

    def require(self, mandatory: Mapping[int, str]) -> None:
        missing = [name for tag, name in mandatory.items() if tag not in self.by_tag]
        if missing:
            raise DecodeError(
                f"{self.apdu} lacks mandatory element(s)",
                offset=0,
                expected=", ".join(missing),
                found="nothing",
            )

    def get(self, tag: int, name: str, decode: Callable[[bytes], _T]) -> _T | None:
        found = self.by_tag.get(tag)
        if found is None:
            return None
        value, value_offset = found
        try:
            return decode(value)
        except DecodeError as exc:
            raise exc.shifted(value_offset, f"{self.apdu} {name}") from None

    def must(self, tag: int, name: str, decode: Callable[[bytes], _T]) -> _T:
        value = self.get(tag, name, decode)
        if value is None:
            raise DecodeError(
                f"{self.apdu} lacks mandatory element(s)", offset=0, expected=name, found="nothing"
            )
        return value


@dataclass(frozen=True, slots=True, kw_only=True)
class AARQ:
    """A-ASSOCIATE request (tag 60), sent by the client to open an association.

    ``calling_ap_title`` is the client system title (8 octets when ciphering is used).
    ``sender_acse_requirements`` is True when the authentication functional unit is requested
    (``8A 02 07 80``, needed whenever a mechanism name is sent). ``calling_authentication_value`` is the
    LLS password or the HLS client challenge CtoS; it is kept out of ``repr``. ``user_information`` is
    the raw xDLMS APDU (plain InitiateRequest or glo-initiateRequest).
    """

    TAG: ClassVar[int] = _AARQ_TAG

    application_context_name: int = ApplicationContextName.LOGICAL_NAME_NO_CIPHERING
    called_ap_title: bytes | None = None
    called_ae_qualifier: bytes | None = None
    called_ap_invocation_id: int | None = None
    called_ae_invocation_id: int | None = None
    calling_ap_title: bytes | None = None
    calling_ae_qualifier: bytes | None = None
    calling_ap_invocation_id: int | None = None
    calling_ae_invocation_id: int | None = None
    sender_acse_requirements: bool = False
    mechanism_name: int | None = None
    calling_authentication_value: bytes | None = field(default=None, repr=False)
    implementation_information: bytes | None = None
    user_information: bytes | None = None

    def encode(self) -> bytes:
        """The BER encoding, elements in the standard order."""
        content = b"".join(
            (
                _application_context_name(self.application_context_name),
                _optional_octets(_AARQ_CALLED_AP_TITLE, self.called_ap_title),
                _optional_octets(_AARQ_CALLED_AE_QUALIFIER, self.called_ae_qualifier),
                _optional_integer(_AARQ_CALLED_AP_INVOCATION_ID, self.called_ap_invocation_id),
                _optional_integer(_AARQ_CALLED_AE_INVOCATION_ID, self.called_ae_invocation_id),
                _optional_octets(_AARQ_CALLING_AP_TITLE, self.calling_ap_title),
                _optional_octets(_AARQ_CALLING_AE_QUALIFIER, self.calling_ae_qualifier),
                _optional_integer(_AARQ_CALLING_AP_INVOCATION_ID, self.calling_ap_invocation_id),
                _optional_integer(_AARQ_CALLING_AE_INVOCATION_ID, self.calling_ae_invocation_id),
                _acse_requirements(_AARQ_SENDER_ACSE_REQUIREMENTS, self.sender_acse_requirements),
                _mechanism_name(_AARQ_MECHANISM_NAME, self.mechanism_name),
                _authentication_value(_AARQ_CALLING_AUTHENTICATION_VALUE, self.calling_authentication_value),
                _optional_implicit(_IMPLEMENTATION_INFORMATION, self.implementation_information),
                _optional_octets(_USER_INFORMATION, self.user_information),
            )
        )
        return ber.encode_tlv(self.TAG, content)

    @classmethod
    def decode(cls, data: bytes | memoryview) -> AARQ:
        """Decode a whole AARQ."""
        elements = _Elements(data, cls.TAG, "AARQ")
        elements.require({_APPLICATION_CONTEXT_NAME: "application-context-name"})
        return cls(
            application_context_name=elements.must(
                _APPLICATION_CONTEXT_NAME, "application-context-name", _decode_application_context_name
            ),
            called_ap_title=elements.get(_AARQ_CALLED_AP_TITLE, "called-AP-title", _decode_octet_string),
            called_ae_qualifier=elements.get(
                _AARQ_CALLED_AE_QUALIFIER, "called-AE-qualifier", _decode_octet_string
            ),
            called_ap_invocation_id=elements.get(
                _AARQ_CALLED_AP_INVOCATION_ID, "called-AP-invocation-id", _decode_explicit_integer
            ),
            called_ae_invocation_id=elements.get(
                _AARQ_CALLED_AE_INVOCATION_ID, "called-AE-invocation-id", _decode_explicit_integer
            ),
            calling_ap_title=elements.get(_AARQ_CALLING_AP_TITLE, "calling-AP-title", _decode_octet_string),
            calling_ae_qualifier=elements.get(
                _AARQ_CALLING_AE_QUALIFIER, "calling-AE-qualifier", _decode_octet_string
            ),
            calling_ap_invocation_id=elements.get(
                _AARQ_CALLING_AP_INVOCATION_ID, "calling-AP-invocation-id", _decode_explicit_integer
            ),
            calling_ae_invocation_id=elements.get(
                _AARQ_CALLING_AE_INVOCATION_ID, "calling-AE-invocation-id", _decode_explicit_integer
            ),
            sender_acse_requirements=bool(
                elements.get(
                    _AARQ_SENDER_ACSE_REQUIREMENTS, "sender-acse-requirements", _decode_acse_requirements
                )
            ),
            mechanism_name=elements.get(_AARQ_MECHANISM_NAME, "mechanism-name", _decode_mechanism_name),
            calling_authentication_value=elements.get(
                _AARQ_CALLING_AUTHENTICATION_VALUE,
                "calling-authentication-value",
                _decode_authentication_value,
            ),
            implementation_information=elements.get(
                _IMPLEMENTATION_INFORMATION, "implementation-information", _octets
            ),
            user_information=elements.get(_USER_INFORMATION, "user-information", _decode_octet_string),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AARE:
    """A-ASSOCIATE response (tag 61), the server's answer to an AARQ.

    ``result`` is 0 accepted, 1 rejected-permanent, 2 rejected-transient. For HLS the server accepts
    with diagnostic acse-service-user 14 (authentication-required) and sends its challenge StoC in
    ``responding_authentication_value``; ``responding_ap_title`` is the server system title.
    """

    TAG: ClassVar[int] = _AARE_TAG

    application_context_name: int = ApplicationContextName.LOGICAL_NAME_NO_CIPHERING
    result: int = 0
    result_source_diagnostic: AssociateSourceDiagnostic = AssociateSourceDiagnostic(
        DiagnosticSource.ACSE_SERVICE_USER, 0
    )
    responding_ap_title: bytes | None = None
    responding_ae_qualifier: bytes | None = None
    responding_ap_invocation_id: int | None = None
    responding_ae_invocation_id: int | None = None
    responder_acse_requirements: bool = False
    mechanism_name: int | None = None
    responding_authentication_value: bytes | None = None
    implementation_information: bytes | None = None
    user_information: bytes | None = None

    def encode(self) -> bytes:
        """The BER encoding, elements in the standard order."""
        diagnostic = self.result_source_diagnostic
        if diagnostic.source not in tuple(DiagnosticSource):
            raise EncodeError(f"result-source-diagnostic source {diagnostic.source} is not 1 or 2")
        content = b"".join(
            (
                _application_context_name(self.application_context_name),
                _explicit(_AARE_RESULT, ber.TAG_INTEGER, ber.encode_integer(self.result)),
                ber.encode_tlv(
                    _AARE_RESULT_SOURCE_DIAGNOSTIC,
                    _explicit(
                        0xA0 | int(diagnostic.source), ber.TAG_INTEGER, ber.encode_integer(diagnostic.value)
                    ),
                ),
                _optional_octets(_AARE_RESPONDING_AP_TITLE, self.responding_ap_title),
                _optional_octets(_AARE_RESPONDING_AE_QUALIFIER, self.responding_ae_qualifier),
                _optional_integer(_AARE_RESPONDING_AP_INVOCATION_ID, self.responding_ap_invocation_id),
                _optional_integer(_AARE_RESPONDING_AE_INVOCATION_ID, self.responding_ae_invocation_id),
                _acse_requirements(_AARE_RESPONDER_ACSE_REQUIREMENTS, self.responder_acse_requirements),
                _mechanism_name(_AARE_MECHANISM_NAME, self.mechanism_name),
                _authentication_value(
                    _AARE_RESPONDING_AUTHENTICATION_VALUE, self.responding_authentication_value
                ),
                _optional_implicit(_IMPLEMENTATION_INFORMATION, self.implementation_information),
                _optional_octets(_USER_INFORMATION, self.user_information),
            )
        )
        return ber.encode_tlv(self.TAG, content)

    @classmethod
    def decode(cls, data: bytes | memoryview) -> AARE:
        """Decode a whole AARE."""
        elements = _Elements(data, cls.TAG, "AARE")
        elements.require(
            {
                _APPLICATION_CONTEXT_NAME: "application-context-name",
                _AARE_RESULT: "result",
                _AARE_RESULT_SOURCE_DIAGNOSTIC: "result-source-diagnostic",
            }
        )
        return cls(
            application_context_name=elements.must(
                _APPLICATION_CONTEXT_NAME, "application-context-name", _decode_application_context_name
            ),
            result=elements.must(_AARE_RESULT, "result", _decode_explicit_integer),
            result_source_diagnostic=elements.must(
                _AARE_RESULT_SOURCE_DIAGNOSTIC, "result-source-diagnostic", _decode_result_source_diagnostic
            ),
            responding_ap_title=elements.get(
                _AARE_RESPONDING_AP_TITLE, "responding-AP-title", _decode_octet_string
            ),
            responding_ae_qualifier=elements.get(
                _AARE_RESPONDING_AE_QUALIFIER, "responding-AE-qualifier", _decode_octet_string
            ),
            responding_ap_invocation_id=elements.get(
                _AARE_RESPONDING_AP_INVOCATION_ID, "responding-AP-invocation-id", _decode_explicit_integer
            ),
            responding_ae_invocation_id=elements.get(
                _AARE_RESPONDING_AE_INVOCATION_ID, "responding-AE-invocation-id", _decode_explicit_integer
            ),
            responder_acse_requirements=bool(
                elements.get(
                    _AARE_RESPONDER_ACSE_REQUIREMENTS,
                    "responder-acse-requirements",
                    _decode_acse_requirements,
                )
            ),
            mechanism_name=elements.get(_AARE_MECHANISM_NAME, "mechanism-name", _decode_mechanism_name),
            responding_authentication_value=elements.get(
                _AARE_RESPONDING_AUTHENTICATION_VALUE,
                "responding-authentication-value",
                _decode_authentication_value,
            ),
            implementation_information=elements.get(
                _IMPLEMENTATION_INFORMATION, "implementation-information", _octets
            ),
            user_information=elements.get(_USER_INFORMATION, "user-information", _decode_octet_string),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RLRQ:
    """A-RELEASE request (tag 62). ``6203800100`` is a normal release without user-information.

    With ciphering the client may send a ciphered InitiateRequest in ``user_information`` so the server
    can check the release comes from the associated client. ``reason`` values: :class:`ReleaseRequestReason`.
    """

    TAG: ClassVar[int] = _RLRQ_TAG

    reason: int | None = None
    user_information: bytes | None = None

    def encode(self) -> bytes:
        """The BER encoding."""
        reason = None if self.reason is None else ber.encode_integer(self.reason)
        content = _optional_implicit(_RELEASE_REASON, reason) + _optional_octets(
            _USER_INFORMATION, self.user_information
        )
        return ber.encode_tlv(self.TAG, content)

    @classmethod
    def decode(cls, data: bytes | memoryview) -> RLRQ:
        """Decode a whole RLRQ (``62 00`` is a valid empty one)."""
        elements = _Elements(data, cls.TAG, "RLRQ")
        return cls(
            reason=elements.get(_RELEASE_REASON, "reason", _decode_release_request_reason),
            user_information=elements.get(_USER_INFORMATION, "user-information", _decode_octet_string),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RLRE:
    """A-RELEASE response (tag 63). ``reason`` values: :class:`ReleaseResponseReason`."""

    TAG: ClassVar[int] = _RLRE_TAG

    reason: int | None = None
    user_information: bytes | None = None

    def encode(self) -> bytes:
        """The BER encoding."""
        reason = None if self.reason is None else ber.encode_integer(self.reason)
        content = _optional_implicit(_RELEASE_REASON, reason) + _optional_octets(
            _USER_INFORMATION, self.user_information
        )
        return ber.encode_tlv(self.TAG, content)

    @classmethod
    def decode(cls, data: bytes | memoryview) -> RLRE:
        """Decode a whole RLRE (``63 00`` is a valid empty one)."""
        elements = _Elements(data, cls.TAG, "RLRE")
        return cls(
            reason=elements.get(_RELEASE_REASON, "reason", _decode_release_response_reason),
            user_information=elements.get(_USER_INFORMATION, "user-information", _decode_octet_string),
        )
