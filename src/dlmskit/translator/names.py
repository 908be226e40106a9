"""The words the translator XML uses for enumerated values, both ways.

Result codes, mechanisms, application contexts, release reasons and conformance bits are written as the
Gurux translator writes them (``ReadWriteDenied``, ``HighGmac``, ``LN_WITH_CIPHERING``), so traces
compare side by side with what meter engineers already have; a value without a name is written as hex.
Reading accepts the names in any case, the standard's own spelling (``read-write-denied``) and hex.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from dlmskit.apdu.conformance import Conformance
from dlmskit.apdu.results import (
    SERVICE_ERROR_DETAILS,
    ConfirmedServiceErrorChoice,
    ResultCode,
)
from dlmskit.errors import EncodeError

__all__ = [
    "APPLICATION_CONTEXTS",
    "CONFIRMED_SERVICE_ERROR_CHOICES",
    "DATA_ACCESS_RESULTS",
    "MECHANISMS",
    "RELEASE_REQUEST_REASONS",
    "RELEASE_RESPONSE_REASONS",
    "SERVICE_ERRORS",
    "STATE_ERRORS",
    "NameTable",
    "camel_case",
    "conformance_bit",
    "conformance_names",
    "service_error_details",
]


def camel_case(standard_name: str) -> str:
    """``read-write-denied`` -> ``ReadWriteDenied`` (the rest of each word is kept: ``VDE`` stays)."""
    return "".join(word[:1].upper() + word[1:] for word in re.split(r"[-_\s]+", standard_name) if word)


def _key(text: str) -> str:
    return re.sub(r"[-_\s]+", "", text).lower()


class NameTable:
    """Names for the values of one enumerated field, written as ``width`` bytes of hex when unnamed."""

    __slots__ = ("_by_key", "_names", "_what", "_width")

    def __init__(
        self, what: str, names: Mapping[int, str], *, aliases: Iterable[tuple[str, int]] = (), width: int = 1
    ) -> None:
        self._what = what
        self._names = dict(names)
        self._width = width
        self._by_key = {_key(name): value for value, name in self._names.items()}
        self._by_key.update((_key(alias), value) for alias, value in aliases)

    def name(self, value: int) -> str:
        """The name of ``value``, or its hex."""
        return self._names.get(value) or f"{value:0{2 * self._width}X}"

    def value(self, text: str) -> int:
        """The value named ``text`` (a name, in any case and spelling, or hex); :class:`EncodeError` if none."""
        found = self._by_key.get(_key(text))
        if found is not None:
            return found
        stripped = text.strip()
        if (
            stripped
            and len(stripped) <= 2 * self._width
            and all(c in "0123456789abcdefABCDEF" for c in stripped)
        ):
            return int(stripped, 16)
        known = ", ".join(self._names.values())
        raise EncodeError(
            f"{text!r} is not a {self._what}; expected one of {known} or {2 * self._width} hex digits"
        )


def _result_aliases(enum_type: type[ResultCode]) -> list[tuple[str, int]]:
    return [(member.standard_name, member.value) for member in enum_type]


DATA_ACCESS_RESULTS = NameTable(
    "Data-Access-Result",
    {
        0: "Success",
        1: "HardwareFault",
        2: "TemporaryFailure",
        3: "ReadWriteDenied",
        4: "UndefinedObject",
        9: "InconsistentClass",
        11: "UnavailableObject",
        12: "UnmatchedType",
        13: "AccessViolated",
        14: "DataBlockUnavailable",
        15: "LongGetOrReadAborted",
        16: "NoLongGetOrReadInProgress",
        17: "LongSetOrWriteAborted",
        18: "NoLongSetOrWriteInProgress",
        19: "DataBlockNumberInvalid",
        250: "OtherReason",
    },
    aliases=[
        ("object-undefined", 4),
        ("object-class-inconsistent", 9),
        ("object-unavailable", 11),
        ("type-unmatched", 12),
        ("scope-of-access-violated", 13),
        ("long-get-aborted", 15),
        ("no-long-get-in-progress", 16),
        ("long-set-aborted", 17),
        ("no-long-set-in-progress", 18),
        ("long-action-aborted", 15),
        ("no-long-action-in-progress", 16),
    ],
)
"""Data-Access-Result and Action-Result (Gurux writes both with the same names)."""

STATE_ERRORS = NameTable("exception-response state-error", {1: "ServiceNotAllowed", 2: "ServiceUnknown"})
SERVICE_ERRORS = NameTable(
    "exception-response service-error",
    {
        1: "OperationNotPossible",
        2: "ServiceNotSupported",
        3: "OtherReason",
        4: "PduTooLong",
        5: "DecipheringError",
        6: "InvocationCounterError",
    },
)
CONFIRMED_SERVICE_ERROR_CHOICES = NameTable(
    "ServiceError choice",
    {member.value: camel_case(member.standard_name) for member in ConfirmedServiceErrorChoice},
)
APPLICATION_CONTEXTS = NameTable(
    "application context name",
    {1: "LN", 2: "SN", 3: "LN_WITH_CIPHERING", 4: "SN_WITH_CIPHERING"},
    aliases=[("logical-name", 1), ("short-name", 2)],
)
MECHANISMS = NameTable(
    "authentication mechanism name",
    {
        0: "None",
        1: "Low",
        2: "High",
        3: "HighMd5",
        4: "HighSha1",
        5: "HighGmac",
        6: "HighSha256",
        7: "HighEcdsa",
    },
    aliases=[("LLS", 1), ("HLS", 2), ("MD5", 3), ("SHA1", 4), ("GMAC", 5), ("SHA256", 6), ("ECDSA", 7)],
)
RELEASE_REQUEST_REASONS = NameTable("release request reason", {0: "Normal", 1: "Urgent", 30: "UserDefined"})
RELEASE_RESPONSE_REASONS = NameTable(
    "release response reason", {0: "Normal", 1: "NotFinished", 30: "UserDefined"}
)

_GURUX_DETAIL_ALIASES = {ConfirmedServiceErrorChoice.ACCESS: [("ObjectAccessInvalid", 2)]}
"""Where Gurux names a detail value other than the standard does."""
_DETAIL_TABLES = {
    choice.value: NameTable(
        f"{choice.standard_name} ServiceError value",
        {member.value: camel_case(member.standard_name) for member in detail},
        aliases=[*_result_aliases(detail), *_GURUX_DETAIL_ALIASES.get(choice, ())],
    )
    for choice, detail in SERVICE_ERROR_DETAILS.items()
}
_NO_DETAILS = NameTable("ServiceError value", {})


def service_error_details(choice: int) -> NameTable:
    """The names of the values of one ServiceError choice (hex only for choices without names)."""
    return _DETAIL_TABLES.get(choice, _NO_DETAILS)


_CONFORMANCE_NAMES = {member: camel_case(str(member.name).lower()) for member in Conformance}
_CONFORMANCE_NAMES[Conformance.RESERVED_SIX] = "DeltaValueEncoding"
_CONFORMANCE_BY_KEY = {_key(name): member for member, name in _CONFORMANCE_NAMES.items()}
_CONFORMANCE_BY_KEY[_key("reserved-six")] = Conformance.RESERVED_SIX


def conformance_names(value: Conformance) -> list[str]:
    """The names of the bits set in ``value``, bit 0 first."""
    return [name for member, name in _CONFORMANCE_NAMES.items() if member & value]


def conformance_bit(name: str) -> Conformance:
    """The conformance bit called ``name``; :class:`EncodeError` for an unknown name."""
    found = _CONFORMANCE_BY_KEY.get(_key(name))
    if found is None:
        raise EncodeError(
            f"{name!r} is not a conformance bit; expected one of {', '.join(_CONFORMANCE_NAMES.values())}"
        )
    return found
