"""Units, scalers and quantities."""

from __future__ import annotations

import decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlmskit.codec import axdr
from dlmskit.cosem.units import Quantity, ScalerUnit, Unit, scaled, unit_symbol
from dlmskit.errors import DecodeError

D = decimal.Decimal


def test_unit_table() -> None:
    expected = {
        1: "a", 2: "mo", 3: "wk", 4: "d", 5: "h", 6: "min", 7: "s", 8: "°", 9: "°C", 10: "currency",
        11: "m", 12: "m/s", 13: "m³", 14: "m³ (corrected)", 15: "m³/h", 27: "W", 28: "VA", 29: "var",
        30: "Wh", 31: "VAh", 32: "varh", 33: "A", 34: "C", 35: "V", 36: "V/m", 37: "F", 38: "Ω",
        44: "Hz", 56: "%", 72: "dB", 254: "other", 255: "",
    }  # fmt: skip
    for code, symbol in expected.items():
        assert Unit(code).symbol == symbol
        assert unit_symbol(code) == symbol
    assert all(unit.quantity for unit in Unit)
    assert len({unit.value for unit in Unit}) == len(Unit)
    assert Unit.lookup(58) is None and Unit.lookup(30) is Unit.WATT_HOUR
    assert unit_symbol(200) == "unit 200"


def test_scaled_is_exact() -> None:
    assert scaled(123456, -2) == D("1234.56")
    assert str(scaled(123456, -2)) == "1234.56"
    assert scaled(1000, -3) == D("1.000") and str(scaled(1000, -3)) == "1.000"
    assert scaled(5, 2) == 500
    assert scaled(-7, 0) == -7
    assert scaled(2**64 - 1, -20) == D("0.18446744073709551615")


@given(st.integers(-(2**63), 2**64 - 1), st.integers(-128, 127))
def test_scaled_matches_integer_arithmetic(raw: int, scaler: int) -> None:
    value = scaled(raw, scaler)
    assert value.scaleb(-scaler) == raw


def test_quantity_formatting() -> None:
    assert str(Quantity(D("1234.56"), Unit.WATT_HOUR)) == "1234.56 Wh"
    assert str(ScalerUnit(1, Unit.WATT_HOUR).quantity(123456)) == "1234560 Wh"
    assert ScalerUnit(1, Unit.WATT_HOUR).quantity(123456).format(prefix=True) == "1.23456 MWh"
    assert ScalerUnit(1, Unit.WATT_HOUR).quantity(12345).format(prefix=True) == "123.45 kWh"
    assert ScalerUnit(-2, Unit.WATT_HOUR).quantity(123456).format(prefix=True) == "1.23456 kWh"
    assert Quantity(D("2500000"), Unit.WATT).format(prefix=True) == "2.500000 MW"
    assert Quantity(D("-1500"), Unit.VAR_HOUR).format(prefix=True) == "-1.500 kvarh"
    assert Quantity(D("999.9"), Unit.VOLT_AMPERE).format(prefix=True) == "999.9 VA"
    assert Quantity(D("2300"), Unit.VOLT).format(prefix=True) == "2300 V"  # no prefix for volts
    assert str(ScalerUnit(-1, Unit.VOLT).quantity(2301)) == "230.1 V"
    assert str(ScalerUnit(0, Unit.COUNT).quantity(42)) == "42"
    assert str(ScalerUnit(-2, 200).quantity(5)) == "0.05 (unit 200)"
    assert str(ScalerUnit(0, Unit.DEGREE_CELSIUS).quantity(21.5)) == "21.5 °C"
    assert str(ScalerUnit(-3, Unit.CUBIC_METRE).quantity(D("1234"))) == "1.234 m³"
    assert str(ScalerUnit(0, Unit.WATT).quantity(float("nan"))) == "NaN W"
    assert ScalerUnit(0, Unit.WATT).quantity(float("inf")).format(prefix=True) == "Infinity W"


def test_scaler_unit_decode_and_encode() -> None:
    # dlms-facts.md section 7: scaler_unit 02 02 0F ss 16 uu.
    value = axdr.decode(bytes.fromhex("02020FFE161E"))
    scaler_unit = ScalerUnit.decode(value)
    assert scaler_unit == ScalerUnit(-2, Unit.WATT_HOUR)
    assert axdr.encode(scaler_unit.encode()).hex().upper() == "02020FFE161E"
    assert str(scaler_unit) == "10^-2 Wh"
    unknown = ScalerUnit.decode(axdr.decode(bytes.fromhex("02020F0016C8")))
    assert unknown.unit == 200 and not isinstance(unknown.unit, Unit)


@pytest.mark.parametrize(
    "value",
    [None, axdr.Structure([axdr.Integer(1)]), axdr.Array([axdr.Integer(1), axdr.Enum(2)]),
     axdr.Structure([True, axdr.Enum(2)]), axdr.Structure([axdr.Integer(1), axdr.OctetString(b"")])],
)  # fmt: skip
def test_scaler_unit_decode_refuses_other_shapes(value: object) -> None:
    with pytest.raises(DecodeError):
        ScalerUnit.decode(value)


@given(st.integers(-128, 127), st.integers(0, 255))
def test_scaler_unit_round_trip(scaler: int, unit: int) -> None:
    original = ScalerUnit(scaler, Unit.lookup(unit) or unit)
    assert ScalerUnit.decode(axdr.decode(axdr.encode(original.encode()))) == original
