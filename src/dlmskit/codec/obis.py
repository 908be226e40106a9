"""OBIS codes: the logical names of COSEM objects (IEC 62056-6-1).

An OBIS code has six value groups A to F, each 0..255:

- A: medium (0 abstract objects, 1 electricity, 6 heat, 7 gas, 8 water, ...)
- B: channel (0 = no channel)
- C: the quantity (electricity: 1 active power+, 32 voltage L1, ...; abstract: 1 clock, 40 association, ...)
- D: the processing (electricity: 7 instantaneous value, 8 time integral 1 = energy register, ...)
- E: further classification; for energy and demand registers the tariff (0 total, 1..63 tariff n)
- F: billing period (255 = current value / not used)

On the wire a logical name is a 6-byte octet-string. People write it dotted (``1.0.1.8.0.255``, what Gurux
and most tools show) or in the IEC display form (``1-0:1.8.0*255``, F often left out when it is 255).
:func:`obis` and :meth:`Obis.parse` accept all of these; :func:`describe` names the common objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import overload

from dlmskit.errors import DecodeError, DlmsError

__all__ = ["Obis", "ObisError", "decode_obis", "describe", "obis"]

_GROUPS = "ABCDEF"
_ACCEPTED_FORMS = (
    "expected 6 groups like 1.0.1.8.0.255, the IEC form 1-0:1.8.0*255 (F may be left out: 1-0:1.8.0), "
    "or 12 hex digits like 0100010800FF"
)
_NUM = "([0-9]{1,3})"
_DOTTED = re.compile(r"\.".join([_NUM] * 6))
# A-B:C.D.E with an optional F after '*', '.' or '&' (all three separators occur in meter documentation).
_IEC = re.compile(rf"{_NUM}-{_NUM}:{_NUM}\.{_NUM}\.{_NUM}(?:[.*&]{_NUM})?")
_HEX = re.compile(r"(?:0[xX])?([0-9a-fA-F]{12})")
_HEX_PAIRS = re.compile(r"[0-9a-fA-F]{2}(?: [0-9a-fA-F]{2}){5}")


class ObisError(DlmsError, ValueError):
    """Text or numbers that do not form a valid OBIS code."""


@dataclass(frozen=True, slots=True, order=True, repr=False, init=False)
class Obis:
    """An OBIS code (COSEM logical name): six value groups A..F, each 0..255.

    Instances are immutable, hashable and ordered like the 6-tuple. ``str()`` gives the dotted form
    ``1.0.1.8.0.255``, :meth:`to_iec` the IEC form ``1-0:1.8.0*255`` and ``bytes()`` the 6 bytes sent on
    the wire. F defaults to 255 ("not used"), as in ``Obis(1, 0, 1, 8, 0)``. One text argument is parsed
    as :meth:`parse` does: ``Obis("1.0.1.8.0.255")``, ``Obis("1-0:1.8.0*255")`` (what ``repr()`` shows).
    """

    a: int
    b: int
    c: int
    d: int
    e: int
    f: int

    @overload
    def __init__(self, a: str, /) -> None: ...

    @overload
    def __init__(self, a: int, b: int, c: int, d: int, e: int, f: int = 255) -> None: ...

    def __init__(
        self,
        a: int | str,
        b: int | None = None,
        c: int | None = None,
        d: int | None = None,
        e: int | None = None,
        f: int = 255,
    ) -> None:
        if isinstance(a, str):
            if (b, c, d, e, f) != (None, None, None, None, 255):
                raise ObisError("Obis takes one text (Obis('1.0.1.8.0.255')) or six groups, not both")
            a, b, c, d, e, f = Obis.parse(a).groups
        elif b is None or c is None or d is None or e is None:
            raise ObisError(
                "Obis takes the groups A, B, C, D, E (and F, 255 when left out) or one text: "
                f"Obis(1, 0, 1, 8, 0) or Obis('1.0.1.8.0.255'); {_ACCEPTED_FORMS}"
            )
        set_ = object.__setattr__
        set_(self, "a", a)
        set_(self, "b", b)
        set_(self, "c", c)
        set_(self, "d", d)
        set_(self, "e", e)
        set_(self, "f", f)
        self.__post_init__()

    def __post_init__(self) -> None:
        for group, value in zip(_GROUPS, self.groups, strict=True):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ObisError(f"group {group} must be an int 0..255, got {type(value).__name__} {value!r}")
            if not 0 <= value <= 255:
                raise ObisError(f"value {value} out of range 0..255 in group {group}")

    @classmethod
    def parse(cls, text: str) -> Obis:
        """Parse any of the usual written forms.

        Accepted: ``1.0.1.8.0.255``; ``1-0:1.8.0*255``, ``1-0:1.8.0.255``, ``1-0:1.8.0&255`` and
        ``1-0:1.8.0`` (F = 255); 12 hex digits ``0100010800FF`` (optionally ``0x``-prefixed or as six
        space-separated pairs ``01 00 01 08 00 FF``). Surrounding white space is ignored.

        Raises :class:`ObisError` saying what is wrong and which forms are accepted.
        """
        if not isinstance(text, str):
            raise ObisError(f"expected a str, got {type(text).__name__}; {_ACCEPTED_FORMS}")
        stripped = text.strip()
        match = _DOTTED.fullmatch(stripped) or _IEC.fullmatch(stripped)
        if match is not None:
            values = [255 if group is None else int(group) for group in match.groups()]
            return cls._checked(values, text)
        match = _HEX.fullmatch(stripped)
        if match is not None:
            return cls(*bytes.fromhex(match.group(1)))
        if _HEX_PAIRS.fullmatch(stripped):
            return cls(*bytes.fromhex(stripped))
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise ObisError(f"cannot read {shown!r} as an OBIS code: {_problem(stripped)}; {_ACCEPTED_FORMS}")

    @classmethod
    def _checked(cls, values: list[int], text: str) -> Obis:
        for group, value in zip(_GROUPS, values, strict=True):
            if value > 255:
                raise ObisError(f"value {value} out of range 0..255 in group {group} of {text!r}")
        return cls(*values)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Obis:
        """The OBIS code in exactly 6 raw bytes (the logical-name octet-string's content).

        Raises :class:`~dlmskit.errors.DecodeError` for any other length.
        """
        if len(data) != 6:
            raise DecodeError(
                "a logical name is 6 bytes", offset=0, expected="6 bytes", found=f"{len(data)} bytes"
            )
        return cls(*bytes(data))

    @property
    def groups(self) -> tuple[int, int, int, int, int, int]:
        """The six value groups (A, B, C, D, E, F)."""
        return (self.a, self.b, self.c, self.d, self.e, self.f)

    @property
    def name(self) -> str | None:
        """A human name for the object, or ``None`` when the code is not known (see :func:`describe`)."""
        return describe(self)

    def to_bytes(self) -> bytes:
        """The 6 bytes sent on the wire."""
        return bytes(self.groups)

    def to_iec(self) -> str:
        """The IEC 62056-6-1 display form ``A-B:C.D.E*F``, e.g. ``1-0:1.8.0*255``."""
        return f"{self.a}-{self.b}:{self.c}.{self.d}.{self.e}*{self.f}"

    def __bytes__(self) -> bytes:
        return self.to_bytes()

    def __str__(self) -> str:
        return f"{self.a}.{self.b}.{self.c}.{self.d}.{self.e}.{self.f}"

    def __repr__(self) -> str:
        return f"Obis('{self}')"


_parse_cached = lru_cache(maxsize=1024)(Obis.parse)
""":meth:`Obis.parse` remembering the texts it read (an ``Obis`` is immutable, so sharing one is safe): a client
names the same few objects by text in every session. Text that does not parse raises every time."""


def obis(value: str | bytes | bytearray | memoryview | Obis | tuple[int, ...]) -> Obis:
    """An :class:`Obis` from any usual representation.

    ``str`` is parsed with :meth:`Obis.parse`; ``bytes``-like must be the 6 wire bytes
    (:class:`~dlmskit.errors.DecodeError` otherwise); a tuple holds 6 ints (or 5, F = 255); an
    :class:`Obis` is returned as is. Anything else raises :class:`ObisError`.
    """
    if isinstance(value, Obis):
        return value
    if isinstance(value, str):
        return _parse_cached(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return Obis.from_bytes(value)
    if isinstance(value, tuple):
        if len(value) not in (5, 6):
            raise ObisError(f"expected a tuple of 6 ints (A..F) or 5 (F = 255), got {len(value)} items")
        return Obis(*value)
    raise ObisError(f"cannot make an OBIS code from {type(value).__name__}; {_ACCEPTED_FORMS}")


def decode_obis(data: bytes | memoryview, offset: int) -> tuple[Obis, int]:
    """Read 6 logical-name bytes at ``offset``; return the code and the offset after it.

    For APDU decoders (COSEM attribute and method descriptors). Raises
    :class:`~dlmskit.errors.DecodeError` when fewer than 6 bytes are left.
    """
    left = len(data) - offset
    if offset < 0 or left < 6:
        raise DecodeError(
            "truncated logical name", offset=offset, expected="6 bytes", found=f"{max(left, 0)} bytes"
        )
    return Obis(*bytes(data[offset : offset + 6])), offset + 6


def _problem(text: str) -> str:
    """Say in a few words why ``text`` is not one of the accepted forms."""
    if not text:
        return "the text is empty"
    if re.fullmatch(r"[0-9.]+", text):
        return f"found {len(text.split('.'))} groups separated by dots"
    if re.fullmatch(r"[0-9a-fA-F]+", text):
        return f"found {len(text)} hex digits"
    return "unrecognised form"


# ----------------------------------------------------------------------------------------------------
# Names. Looked up in this order: an exact code, a pattern (None = any value), the electricity rules (A = 1).

_Key = tuple[int, int, int, int, int, int]
_Pattern = tuple[int | None, int | None, int | None, int | None, int | None, int | None]

_EXACT: dict[_Key, str] = {
    (0, 0, 1, 0, 0, 255): "Clock",
    (0, 0, 10, 0, 0, 255): "Global meter reset script table",
    (0, 0, 10, 0, 100, 255): "Tariffication script table",
    (0, 0, 10, 0, 106, 255): "Disconnect control script table",
    (0, 0, 11, 0, 0, 255): "Special days table",
    (0, 0, 13, 0, 0, 255): "Activity calendar",
    (0, 0, 17, 0, 0, 255): "Limiter",
    (0, 0, 19, 0, 0, 255): "Account",
    (0, 0, 19, 10, 0, 255): "Credit",
    (0, 0, 19, 20, 0, 255): "Charge",
    (0, 0, 19, 40, 0, 255): "Token gateway",
    (0, 0, 20, 0, 0, 255): "IEC local port setup (optical port)",
    (0, 0, 22, 0, 0, 255): "IEC HDLC setup",
    (0, 0, 25, 0, 0, 255): "TCP-UDP setup",
    (0, 0, 25, 1, 0, 255): "IPv4 setup",
    (0, 0, 25, 4, 0, 255): "GPRS modem setup",
    (0, 0, 25, 9, 0, 255): "Push setup",
    (0, 0, 40, 0, 0, 255): "Current association (Association LN of this connection)",
    (0, 0, 41, 0, 0, 255): "SAP assignment",
    (0, 0, 42, 0, 0, 255): "COSEM logical device name",
    (0, 0, 44, 0, 0, 255): "Image transfer (firmware update)",
    (0, 0, 96, 1, 0, 255): "Meter serial number (device ID 1)",
    (0, 0, 96, 1, 1, 255): "Device ID 2",
    (0, 0, 96, 3, 10, 255): "Disconnect control",
    (0, 0, 97, 97, 0, 255): "Error register",
    (0, 0, 97, 98, 0, 255): "Alarm register",
    (0, 0, 99, 98, 0, 255): "Standard event log",
    (1, 0, 0, 2, 0, 255): "Active firmware version (identifier)",
    (1, 0, 99, 1, 0, 255): "Load profile 1 (recording period 1)",
    (1, 0, 99, 2, 0, 255): "Load profile 2 (recording period 2)",
}

_PATTERNS: tuple[tuple[_Pattern, str], ...] = (
    ((0, 0, 10, 0, None, 255), "Script table, instance {e}"),
    ((0, 0, 15, 0, None, 255), "Single action schedule, instance {e}"),
    ((0, 0, 16, 0, None, 255), "Register monitor, instance {e}"),
    ((0, 0, 19, 10, None, 255), "Credit, instance {e}"),
    ((0, 0, 19, 20, None, 255), "Charge, instance {e}"),
    ((0, 0, 25, 9, None, 255), "Push setup, instance {e}"),
    ((0, 0, 40, 0, None, 255), "Association LN, instance {e} (one per client association)"),
    ((0, 0, 43, 0, None, 255), "Security setup, instance {e}"),
    ((0, 0, 43, 1, None, 255), "Invocation counter (frame counter), instance {e}"),
    ((0, 0, 96, 1, None, 255), "Device ID, instance {e}"),
    ((0, 0, 97, 98, None, 255), "Alarm register, instance {e}"),
    ((0, 0, 99, 98, None, 255), "Event log, instance {e}"),
    ((0, None, 24, 1, 0, 255), "M-Bus client, channel {b}"),
    ((0, None, 24, 2, None, 255), "M-Bus value, channel {b}, instance {e}"),
)

# Electricity value group C (IEC 62056-6-1). Each entry: (name as power / instantaneous quantity, name of
# its time integral (energy) or None). The L1/L2/L3 quantities repeat 1..20 at C + 20, C + 40 and C + 60.
_PHASE_QUANTITIES: dict[int, tuple[str, str | None]] = {
    1: ("Active power+", "Active energy import (+A)"),
    2: ("Active power-", "Active energy export (-A)"),
    3: ("Reactive power+", "Reactive energy import (+R)"),
    4: ("Reactive power-", "Reactive energy export (-R)"),
    5: ("Reactive power QI", "Reactive energy QI"),
    6: ("Reactive power QII", "Reactive energy QII"),
    7: ("Reactive power QIII", "Reactive energy QIII"),
    8: ("Reactive power QIV", "Reactive energy QIV"),
    9: ("Apparent power+", "Apparent energy import (+VA)"),
    10: ("Apparent power-", "Apparent energy export (-VA)"),
    11: ("Current", None),
    12: ("Voltage", None),
    13: ("Power factor", None),
    14: ("Frequency", None),
    15: ("Active power |+A|+|-A|", "Active energy |+A|+|-A|"),
    16: ("Active power |+A|-|-A|", "Active energy |+A|-|-A|"),
    17: ("Active power QI", "Active energy QI"),
    18: ("Active power QII", "Active energy QII"),
    19: ("Active power QIII", "Active energy QIII"),
    20: ("Active power QIV", "Active energy QIV"),
}
_TOTAL_QUANTITY_NAMES = {11: "Current (any phase)", 12: "Voltage (any phase)", 14: "Supply frequency"}
_ELECTRICITY_QUANTITIES: dict[int, tuple[str, str | None]] = {
    **{c: (_TOTAL_QUANTITY_NAMES.get(c, power), energy) for c, (power, energy) in _PHASE_QUANTITIES.items()},
    **{
        base + c: (f"{power} {phase}", energy and f"{energy} {phase}")
        for base, phase in ((20, "L1"), (40, "L2"), (60, "L3"))
        for c, (power, energy) in _PHASE_QUANTITIES.items()
    },
    81: ("Angle", None),
    82: ("Unitless quantity (e.g. pulses)", None),
    91: ("Neutral current", None),
    92: ("Neutral voltage", None),
}

# Electricity value group D: the processing of the quantity.
_ELECTRICITY_PROCESSING: dict[int, str] = {
    0: "billing period average",
    1: "cumulative minimum 1",
    2: "cumulative maximum 1",
    3: "minimum 1",
    4: "current average 1 (demand of the running period)",
    5: "last average 1 (demand of the last complete period)",
    6: "maximum 1 (maximum demand)",
    7: "instantaneous value",
    8: "time integral 1",
    9: "time integral 2 (since the start of the billing period)",
    10: "time integral 3",
    11: "cumulative minimum 2",
    12: "cumulative maximum 2",
    13: "minimum 2",
    14: "current average 2",
    15: "last average 2",
    16: "maximum 2",
    21: "cumulative minimum 3",
    22: "cumulative maximum 3",
    23: "minimum 3",
    24: "current average 3",
    25: "last average 3",
    26: "maximum 3",
    27: "current average 5",
    28: "current average 6",
    29: "time integral 5 (over the last recording period)",
    30: "time integral 6",
    31: "under limit threshold",
    32: "under limit occurrence counter",
    33: "under limit duration",
    34: "under limit magnitude",
    35: "over limit threshold",
    36: "over limit occurrence counter",
    37: "over limit duration",
    38: "over limit magnitude",
    39: "missing threshold",
    40: "missing occurrence counter",
    41: "missing duration",
    42: "missing magnitude",
    55: "test average",
    58: "time integral 4",
}
_TIME_INTEGRALS = frozenset({8, 9, 10, 29, 30, 58})
_ENERGY_REGISTER = 8  # time integral 1: the cumulative energy register everybody reads
_INSTANTANEOUS = 7


def describe(code: Obis) -> str | None:
    """A human name for a COSEM object, or ``None`` when the code is not known.

    Common objects have fixed names (``0.0.96.3.10.255`` -> "Disconnect control"); other electricity codes
    (A = 1) are named from their quantity (C), processing (D), tariff (E), channel (B) and billing period
    (F): ``1.0.21.7.0.255`` -> "Active power+ L1, instantaneous value".
    """
    groups = code.groups
    name = _EXACT.get(groups)
    if name is not None:
        return name
    for pattern, template in _PATTERNS:
        if all(want is None or want == have for want, have in zip(pattern, groups, strict=True)):
            return template.format(a=code.a, b=code.b, c=code.c, d=code.d, e=code.e, f=code.f)
    if code.a == 1:
        return _describe_electricity(code)
    return None


def _describe_electricity(code: Obis) -> str | None:
    quantity = _ELECTRICITY_QUANTITIES.get(code.c)
    processing = _ELECTRICITY_PROCESSING.get(code.d)
    if quantity is None or processing is None:
        return None
    power_name, energy_name = quantity
    if code.d in _TIME_INTEGRALS and energy_name is not None:
        parts = [energy_name] if code.d == _ENERGY_REGISTER else [energy_name, processing]
    else:
        parts = [power_name, processing]
    if code.e == 0:
        if code.d != _INSTANTANEOUS:
            parts.append("total")
    elif 1 <= code.e <= 63 and code.d != _INSTANTANEOUS:
        parts.append(f"tariff {code.e}")
    else:
        parts.append(f"E={code.e}")
    if code.b != 0:
        parts.append(f"channel {code.b}")
    if code.f <= 99:
        parts.append(f"billing period {code.f}")
    elif code.f != 255:
        parts.append(f"F={code.f}")
    return ", ".join(parts)
