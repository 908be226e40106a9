"""Registers (class 3): energy that grows, instantaneous values that move, or fixed values.

Behaviours (model keys):

- ``energy = { rate_w = 1200 }``: an energy register of a load drawing 1200 W on average with a daily
  swing (:class:`~dlmskit.simulator.signals.EnergyCurve`); the value counts from ``attributes.value``
  (the reading at installation) in units of ``10^scaler`` Wh and never decreases. Method 1 reset starts it
  from 0 again.
- ``instantaneous = { mean = 230.0, amplitude = 5.0 }``: a value moving around ``mean`` (in the unit of
  ``scaler_unit``, before scaling); a load profile column captures its average over the period.
- none: the value in ``attributes.value``, writable; reset sets it to 0.

The value is sent in the type of ``attributes.value`` (double-long-unsigned for energy and long-unsigned for
instantaneous values when the model gives none).
"""

from __future__ import annotations

import math
from typing import Any

from dlmskit.apdu.action import ActionResponseWithOptionalData
from dlmskit.apdu.common import SelectiveAccessDescriptor
from dlmskit.codec import axdr
from dlmskit.errors import EncodeError
from dlmskit.session.server import AssociationContext
from dlmskit.simulator.model import ObjectModel
from dlmskit.simulator.objects.base import MeterServices, SimObject, done
from dlmskit.simulator.signals import EnergyCurve, Wave

__all__ = ["EnergyRegister", "InstantaneousRegister", "Register", "make_register"]


class Register(SimObject):
    """A register holding a fixed value (writable; reset sets it to 0)."""

    writable = frozenset({2})
    methods = frozenset({1})

    def __init__(self, model: ObjectModel, meter: MeterServices, default_type: axdr.DataType) -> None:
        super().__init__(model, meter)
        if self.values[2] is None:
            self.values[2] = axdr.convert(0, default_type)
        value = self.values[2]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise model.error(
                'a register value is a number: { type = "double-long-unsigned", value = 0 }', "value"
            )
        self.value_class: type[Any] = type(value)
        scaler_unit = self.values[3]
        self.scaler = int(scaler_unit[0]) if isinstance(scaler_unit, tuple) and scaler_unit else 0

    def raw(self, quantity: float) -> axdr.Data:
        """``quantity`` (in the unit) as the raw register value: divided by 10^scaler, in the value's type."""
        number = quantity / 10.0**self.scaler
        if issubclass(self.value_class, float):
            return self.value_class(number)
        value = math.floor(number)
        try:
            return self.value_class(value)
        except EncodeError:  # the register rolls over, as a real one does
            limit = self.value_class.MAX - self.value_class.MIN + 1
            return self.value_class((value - self.value_class.MIN) % limit + self.value_class.MIN)

    def invoke(
        self, method: int, parameters: axdr.Data, context: AssociationContext
    ) -> ActionResponseWithOptionalData:
        self.values[2] = self.raw(0)
        return done()


class EnergyRegister(Register):
    """Energy that grows with time."""

    writable = frozenset()
    behaviours = frozenset({"energy"})

    def __init__(self, model: ObjectModel, meter: MeterServices, rate_w: float) -> None:
        super().__init__(model, meter, axdr.DataType.DOUBLE_LONG_UNSIGNED)
        initial = float(self.values[2]) * 10.0**self.scaler
        self.curve = EnergyCurve.for_object(
            meter.seed, str(self.logical_name), rate_w, meter.installed, initial
        )
        self.reset_wh = 0.0

    def energy_wh(self, t: float) -> float:
        """The register reading in Wh at ``t`` on the measurement timeline."""
        return self.curve.energy_wh(t) - self.reset_wh

    def read(
        self, attribute: int, context: AssociationContext | None, access: SelectiveAccessDescriptor | None
    ) -> Any:
        if attribute == 2:
            return self.raw(self.energy_wh(self.meter.base_time()))
        return super().read(attribute, context, access)

    def captured(self, attribute: int, start: float, end: float) -> axdr.Data:
        if attribute == 2:
            return self.raw(self.energy_wh(end))
        return super().captured(attribute, start, end)

    def invoke(
        self, method: int, parameters: axdr.Data, context: AssociationContext
    ) -> ActionResponseWithOptionalData:
        self.reset_wh = self.curve.energy_wh(self.meter.base_time())
        return done()


class InstantaneousRegister(Register):
    """A measured value that moves around its mean."""

    writable = frozenset()
    methods = frozenset()
    behaviours = frozenset({"instantaneous"})

    def __init__(self, model: ObjectModel, meter: MeterServices, mean: float, amplitude: float) -> None:
        super().__init__(model, meter, axdr.DataType.LONG_UNSIGNED)
        self.wave = Wave.for_object(meter.seed, str(self.logical_name), mean, amplitude)

    def read(
        self, attribute: int, context: AssociationContext | None, access: SelectiveAccessDescriptor | None
    ) -> Any:
        if attribute == 2:
            return self.raw(self.wave.at(self.meter.base_time()))
        return super().read(attribute, context, access)

    def captured(self, attribute: int, start: float, end: float) -> axdr.Data:
        if attribute == 2:
            return self.raw(self.wave.average(start, end))
        return super().captured(attribute, start, end)


def _numbers(model: ObjectModel, key: str, names: tuple[str, ...]) -> list[float]:
    table = model.behaviour[key]
    if not isinstance(table, dict) or set(table) - set(names) or names[0] not in table:
        raise model.error(f"{key} is a table {{ {', '.join(f'{n} = ...' for n in names)} }}", key)
    values = [table.get(name, 0.0) for name in names]
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
        raise model.error(f"{key}: {', '.join(names)} are numbers", key)
    return [float(v) for v in values]


def make_register(model: ObjectModel, meter: MeterServices) -> Register:
    """The Register the model's behaviour keys ask for."""
    if "energy" in model.behaviour:
        (rate,) = _numbers(model, "energy", ("rate_w",))
        if rate < 0:
            raise model.error("energy rate_w cannot be negative", "energy")
        return EnergyRegister(model, meter, rate)
    if "instantaneous" in model.behaviour:
        mean, amplitude = _numbers(model, "instantaneous", ("mean", "amplitude"))
        return InstantaneousRegister(model, meter, mean, amplitude)
    return Register(model, meter, axdr.DataType.DOUBLE_LONG_UNSIGNED)
