"""Units and scalers of COSEM values (the Blue Book's unit enumeration, scal_unit_type).

A register sends its value as an integer and, in attribute 3 (``scaler_unit``), a power of ten and a unit:
raw 123456 with scaler -2 and unit 30 (Wh) is 1234.56 Wh. :func:`scaled` does the arithmetic exactly, with
:class:`decimal.Decimal`, and :class:`Quantity` prints the result::

    >>> str(ScalerUnit(-2, Unit.WATT_HOUR).quantity(123456))
    '1234.56 Wh'
    >>> ScalerUnit(-2, Unit.WATT_HOUR).quantity(123456).format(prefix=True)
    '1.23456 kWh'
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from dlmskit.codec import axdr
from dlmskit.errors import DecodeError

__all__ = ["Quantity", "ScalerUnit", "Unit", "scaled", "unit_symbol"]


class Unit(IntEnum):
    """The DLMS unit enumeration. Members carry ``symbol`` (``"Wh"``) and ``quantity`` (what is measured).

    Values a meter sends outside this table (newer editions, manufacturer units) are kept as plain ints by
    :meth:`lookup` and the decoders of this package.
    """

    _value_: int
    symbol: str
    quantity: str

    # The defaults only let ``Unit(30)`` type-check: every member gives a symbol and a quantity.
    def __new__(cls, value: int, symbol: str = "", quantity: str = "") -> Unit:
        member = int.__new__(cls, value)
        member._value_ = value
        member.symbol = symbol
        member.quantity = quantity
        return member

    YEAR = 1, "a", "time (year)"
    MONTH = 2, "mo", "time (month)"
    WEEK = 3, "wk", "time (week)"
    DAY = 4, "d", "time (day)"
    HOUR = 5, "h", "time (hour)"
    MINUTE = 6, "min", "time (minute)"
    SECOND = 7, "s", "time (second)"
    DEGREE = 8, "°", "(phase) angle"
    DEGREE_CELSIUS = 9, "°C", "temperature"
    CURRENCY = 10, "currency", "(local) currency"
    METRE = 11, "m", "length"
    METRE_PER_SECOND = 12, "m/s", "speed"
    CUBIC_METRE = 13, "m³", "volume"
    CUBIC_METRE_CORRECTED = 14, "m³ (corrected)", "corrected volume"
    CUBIC_METRE_PER_HOUR = 15, "m³/h", "volume flux"
    CUBIC_METRE_PER_HOUR_CORRECTED = 16, "m³/h (corrected)", "corrected volume flux"
    CUBIC_METRE_PER_DAY = 17, "m³/d", "volume flux"
    CUBIC_METRE_PER_DAY_CORRECTED = 18, "m³/d (corrected)", "corrected volume flux"
    LITRE = 19, "l", "volume"
    KILOGRAM = 20, "kg", "mass"
    NEWTON = 21, "N", "force"
    NEWTON_METRE = 22, "Nm", "energy"
    PASCAL = 23, "Pa", "pressure"
    BAR = 24, "bar", "pressure"
    JOULE = 25, "J", "energy"
    JOULE_PER_HOUR = 26, "J/h", "thermal power"
    WATT = 27, "W", "active power"
    VOLT_AMPERE = 28, "VA", "apparent power"
    VAR = 29, "var", "reactive power"
    WATT_HOUR = 30, "Wh", "active energy"
    VOLT_AMPERE_HOUR = 31, "VAh", "apparent energy"
    VAR_HOUR = 32, "varh", "reactive energy"
    AMPERE = 33, "A", "current"
    COULOMB = 34, "C", "electrical charge"
    VOLT = 35, "V", "voltage"
    VOLT_PER_METRE = 36, "V/m", "electric field strength"
    FARAD = 37, "F", "capacitance"
    OHM = 38, "Ω", "resistance"
    OHM_SQUARE_METRE_PER_METRE = 39, "Ωm²/m", "resistivity"
    WEBER = 40, "Wb", "magnetic flux"
    TESLA = 41, "T", "magnetic flux density"
    AMPERE_PER_METRE = 42, "A/m", "magnetic field strength"
    HENRY = 43, "H", "inductance"
    HERTZ = 44, "Hz", "frequency"
    PER_WATT_HOUR = 45, "1/(Wh)", "active energy meter constant or pulse value"
    PER_VAR_HOUR = 46, "1/(varh)", "reactive energy meter constant or pulse value"
    PER_VOLT_AMPERE_HOUR = 47, "1/(VAh)", "apparent energy meter constant or pulse value"
    VOLT_SQUARED_HOUR = 48, "V²h", "volt-squared hour"
    AMPERE_SQUARED_HOUR = 49, "A²h", "ampere-squared hour"
    KILOGRAM_PER_SECOND = 50, "kg/s", "mass flux"
    SIEMENS = 51, "S", "conductance"
    KELVIN = 52, "K", "temperature"
    PER_VOLT_SQUARED_HOUR = 53, "1/(V²h)", "volt-squared hour meter constant or pulse value"
    PER_AMPERE_SQUARED_HOUR = 54, "1/(A²h)", "ampere-squared hour meter constant or pulse value"
    PER_CUBIC_METRE = 55, "1/m³", "volume meter constant or pulse value"
    PERCENT = 56, "%", "percentage"
    AMPERE_HOUR = 57, "Ah", "energy (ampere-hour)"
    WATT_HOUR_PER_CUBIC_METRE = 60, "Wh/m³", "energy per volume"
    JOULE_PER_CUBIC_METRE = 61, "J/m³", "calorific value, Wobbe index"
    MOLE_PERCENT = 62, "Mol %", "molar fraction (gas composition)"
    GRAM_PER_CUBIC_METRE = 63, "g/m³", "mass density (gas analysis)"
    PASCAL_SECOND = 64, "Pa s", "dynamic viscosity"
    JOULE_PER_KILOGRAM = 65, "J/kg", "specific energy"
    GRAM_PER_SQUARE_CENTIMETRE = 66, "g/cm²", "pressure"
    ATMOSPHERE = 67, "atm", "pressure"
    DECIBEL_MILLIWATT = 70, "dBm", "signal strength"
    DECIBEL_MICROVOLT = 71, "dBµV", "signal strength"
    DECIBEL = 72, "dB", "logarithmic ratio"
    OTHER = 254, "other", "other unit"
    COUNT = 255, "", "no unit, a count"

    @classmethod
    def lookup(cls, value: int) -> Unit | None:
        """The unit with this code, or ``None`` (never raises)."""
        return cls._value2member_map_.get(value)  # type: ignore[return-value]

    def __str__(self) -> str:
        """The symbol (``Wh``, ``V``); ``int(unit)`` is the code (30, 35)."""
        return self.symbol

    def __format__(self, spec: str) -> str:
        return (
            format(self.symbol, spec) if not spec or spec[-1:] not in "bcdoxXn" else format(int(self), spec)
        )


_PREFIXABLE: Final = frozenset(
    {Unit.WATT, Unit.VOLT_AMPERE, Unit.VAR, Unit.WATT_HOUR, Unit.VOLT_AMPERE_HOUR, Unit.VAR_HOUR}
)


def unit_symbol(unit: int) -> str:
    """The symbol of a unit code (``"Wh"``); ``"unit 123"`` for a code outside the table."""
    known = Unit.lookup(unit)
    return known.symbol if known is not None else f"unit {unit}"


def scaled(raw: int, scaler: int) -> decimal.Decimal:
    """``raw`` x 10^``scaler``, exactly: ``scaled(123456, -2)`` is ``Decimal('1234.56')``.

    The result keeps the meter's resolution (``scaled(1000, -3)`` is ``Decimal('1.000')``).
    """
    return decimal.Decimal(raw).scaleb(scaler)


def _plain(value: decimal.Decimal) -> str:
    return format(value, "f")


@dataclass(frozen=True, slots=True)
class Quantity:
    """A value with its unit. ``str()`` shows the meter's own unit (``1234560 Wh``); :meth:`format` with
    ``prefix=True`` uses k and M for the power and energy units (``1.23456 MWh``)."""

    value: decimal.Decimal
    unit: Unit | int

    def format(self, *, prefix: bool = False) -> str:
        """The value and unit as text, with a k/M prefix when ``prefix`` is set and the unit takes one."""
        value = self.value
        symbol = unit_symbol(self.unit)
        if prefix and self.unit in _PREFIXABLE and value.is_finite():
            magnitude = abs(value)
            if magnitude >= 1_000_000:
                value, symbol = value.scaleb(-6), "M" + symbol
            elif magnitude >= 1000:
                value, symbol = value.scaleb(-3), "k" + symbol
        if Unit.lookup(self.unit) is None:
            return f"{_plain(value)} ({symbol})"
        return f"{_plain(value)} {symbol}" if symbol else _plain(value)

    @property
    def symbol(self) -> str:
        """The unit's symbol (``Wh``)."""
        return unit_symbol(self.unit)

    def __str__(self) -> str:
        return self.format()

    def __float__(self) -> float:
        return float(self.value)

    def __int__(self) -> int:
        return int(self.value)

    def __format__(self, spec: str) -> str:
        """``f"{q:.1f}"`` formats the number and keeps the unit: ``228.8 V``; no spec is ``str(q)``."""
        if not spec:
            return str(self)
        number = format(self.value, spec)
        return f"{number} {self.symbol}" if self.symbol else number


@dataclass(frozen=True, slots=True)
class ScalerUnit:
    """A register's scaler_unit: value = raw x 10^``scaler``, in ``unit``."""

    scaler: int
    unit: Unit | int

    @classmethod
    def decode(cls, value: axdr.Data) -> ScalerUnit:
        """From the decoded attribute (``structure {integer scaler, enum unit}``).

        Raises :class:`~dlmskit.errors.DecodeError` when the value is not a structure of two integers.
        """
        if not isinstance(value, tuple) or len(value) != 2 or not all(_is_int(v) for v in value):
            raise DecodeError("not a scaler_unit", expected="structure {integer, enum}", found=_shape(value))
        scaler, unit = int(value[0]), int(value[1])
        return cls(scaler, Unit.lookup(unit) or unit)

    def encode(self) -> axdr.Structure:
        """The attribute value: ``structure {integer scaler, enum unit}``."""
        return axdr.Structure([axdr.Integer(self.scaler), axdr.Enum(int(self.unit))])

    def quantity(self, raw: int | float | decimal.Decimal) -> Quantity:
        """The raw register value scaled, with this unit (a float is taken at its shortest decimal form)."""
        if isinstance(raw, float):
            value = decimal.Decimal(repr(raw)).scaleb(self.scaler)
        elif isinstance(raw, decimal.Decimal):
            value = raw.scaleb(self.scaler)
        else:
            value = scaled(raw, self.scaler)
        return Quantity(value, self.unit)

    def __str__(self) -> str:
        return f"10^{self.scaler} {unit_symbol(self.unit)}".rstrip()


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _shape(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of {len(value)} elements"
    return type(value).__name__
