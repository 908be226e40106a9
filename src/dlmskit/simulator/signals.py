"""What the simulated meter measures: deterministic functions of time and the model's seed.

Nothing is random and nothing is stored: the same seed and the same time always give the same value, so tests
can compute what the meter will answer, and a load profile row is computed when it is read.

- :class:`EnergyCurve`: the energy of a load drawing ``rate_w`` on average, with a daily swing; its
  integral is closed-form, so the register value at any time costs the same, and it never decreases.
- :class:`Wave`: an instantaneous value (voltage, current, power) moving around its mean; its average over
  a period (a profile column) is closed-form too.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

__all__ = ["DAY", "EnergyCurve", "Wave", "seeded"]

DAY = 86_400.0
_TAU = 2 * math.pi


def seeded(seed: int, *parts: object) -> float:
    """A number in [0, 1) fixed by the seed and ``parts`` (e.g. the object's logical name)."""
    digest = hashlib.blake2b(repr((seed, *parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


@dataclass(frozen=True, slots=True)
class EnergyCurve:
    """Energy in Wh since ``origin`` (seconds since the epoch): P(t) = rate_w (1 + swing sin(2πt/day + phase)).

    ``swing`` < 1 keeps the power positive, so the energy only grows.
    """

    rate_w: float
    swing: float
    phase: float
    origin: float
    initial_wh: float = 0.0

    @classmethod
    def for_object(cls, seed: int, name: str, rate_w: float, origin: float, initial_wh: float) -> EnergyCurve:
        return cls(
            rate_w,
            0.3 + 0.4 * seeded(seed, name, "swing"),
            _TAU * seeded(seed, name, "phase"),
            origin,
            initial_wh,
        )

    def power_w(self, t: float) -> float:
        """The power at ``t``."""
        return self.rate_w * (1 + self.swing * math.sin(_TAU * t / DAY + self.phase))

    def energy_wh(self, t: float) -> float:
        """The energy at ``t`` (``initial_wh`` at and before ``origin``)."""
        if t <= self.origin:
            return self.initial_wh
        angle = _TAU / DAY
        joules = self.rate_w * (
            (t - self.origin)
            + self.swing
            / angle
            * (math.cos(angle * self.origin + self.phase) - math.cos(angle * t + self.phase))
        )
        return self.initial_wh + joules / 3600.0


@dataclass(frozen=True, slots=True)
class Wave:
    """``mean`` plus ``amplitude`` times a mix of a daily wave (60 %) and a fast one of some minutes (40 %)."""

    mean: float
    amplitude: float
    fast_period: float
    slow_phase: float
    fast_phase: float

    @classmethod
    def for_object(cls, seed: int, name: str, mean: float, amplitude: float) -> Wave:
        return cls(
            mean,
            amplitude,
            300.0 + 600.0 * seeded(seed, name, "period"),
            _TAU * seeded(seed, name, "slow"),
            _TAU * seeded(seed, name, "fast"),
        )

    def at(self, t: float) -> float:
        """The value at ``t``."""
        slow = math.sin(_TAU * t / DAY + self.slow_phase)
        fast = math.sin(_TAU * t / self.fast_period + self.fast_phase)
        return self.mean + self.amplitude * (0.6 * slow + 0.4 * fast)

    def average(self, start: float, end: float) -> float:
        """The mean value from ``start`` to ``end`` (the value at ``end`` when they are equal)."""
        if end <= start:
            return self.at(end)

        def integral(period: float, phase: float) -> float:
            w = _TAU / period
            return (math.cos(w * start + phase) - math.cos(w * end + phase)) / w

        total = 0.6 * integral(DAY, self.slow_phase) + 0.4 * integral(self.fast_period, self.fast_phase)
        return self.mean + self.amplitude * total / (end - start)
