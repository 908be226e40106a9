"""Read plans: what a job reads from a meter and what it does with the clock and the queued commands.

A :class:`ReadPlan` names registers (stored with their scaler applied and their unit), whether to check
the clock and beyond which drift to set it, load profiles and event logs (read from the last stored capture
time, so a job never leaves a gap and never stores a row twice), and whether to run the meter's queued
commands (relay and token commands, each recorded with its outcome).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dlmskit.codec.obis import obis
from dlmskit.errors import ConfigurationError

__all__ = ["BUILTIN_PLANS", "TRACE_MODES", "ReadPlan"]

_KEYS = frozenset(
    {
        "registers",
        "clock",
        "max_drift",
        "profiles",
        "event_logs",
        "initial_hours",
        "commands",
        "trace_frames",
        "push_setups",
    }
)
TRACE_MODES = ("ciphered", "decrypted")
"""What ``trace_frames`` keeps (:mod:`dlmskit.headend.traces`): the frames as sent, or their plaintext too."""


@dataclass(frozen=True)
class ReadPlan:
    """What one job does on one meter."""

    name: str
    registers: tuple[str, ...] = ()
    clock: bool = True
    """Read the clock (its time stamps the registers; the drift is reported)."""
    max_drift: float | None = None
    """Set the clock to the head-end's time when it is off by more than this many seconds (None: never)."""
    profiles: tuple[str, ...] = ()
    event_logs: tuple[str, ...] = ()
    initial_hours: float = 24.0
    """How far back the first read of a profile or log goes, when nothing of it is stored yet."""
    commands: bool = True
    """Carry out the meter's queued commands."""
    trace_frames: str | None = None
    """Store every session's frames with the job: ``ciphered`` (as sent), ``decrypted`` (their plaintext as
    well: only when asked), None: no trace."""
    push_setups: tuple[str, ...] = ()
    """Push setup objects (class 40, e.g. 0.0.25.9.0.255) whose push_object_list to read and keep: how the
    values of the meter's pushes are named."""

    def __post_init__(self) -> None:
        for name in (*self.registers, *self.profiles, *self.event_logs, *self.push_setups):
            obis(name)  # raises a ConfigurationError-like DecodeError for a bad logical name
        if self.max_drift is not None and self.max_drift < 0:
            raise ConfigurationError(f"plan {self.name}: max_drift must be a positive number of seconds")
        if self.initial_hours <= 0:
            raise ConfigurationError(f"plan {self.name}: initial_hours must be positive")
        if self.trace_frames is not None and self.trace_frames not in TRACE_MODES:
            raise ConfigurationError(
                f"plan {self.name}: trace_frames must be one of {', '.join(TRACE_MODES)}, not {self.trace_frames!r}"
            )

    @classmethod
    def from_mapping(cls, name: str, body: Mapping[str, Any]) -> ReadPlan:
        """A plan from its TOML table (or stored body)."""
        unknown = set(body) - _KEYS
        if unknown:
            raise ConfigurationError(
                f"plan {name}: unknown key(s) {', '.join(sorted(unknown))}; use: {', '.join(sorted(_KEYS))}"
            )
        return cls(
            name,
            registers=tuple(str(r) for r in body.get("registers", ())),
            clock=bool(body.get("clock", True)),
            max_drift=float(body["max_drift"]) if body.get("max_drift") is not None else None,
            profiles=tuple(str(p) for p in body.get("profiles", ())),
            event_logs=tuple(str(p) for p in body.get("event_logs", ())),
            initial_hours=float(body.get("initial_hours", 24.0)),
            commands=bool(body.get("commands", True)),
            trace_frames=str(body["trace_frames"]) if body.get("trace_frames") else None,
            push_setups=tuple(str(p) for p in body.get("push_setups", ())),
        )

    def to_mapping(self) -> dict[str, Any]:
        """The plan as a TOML table."""
        body: dict[str, Any] = {
            "registers": list(self.registers),
            "clock": self.clock,
            "profiles": list(self.profiles),
            "event_logs": list(self.event_logs),
            "initial_hours": self.initial_hours,
            "commands": self.commands,
        }
        if self.max_drift is not None:
            body["max_drift"] = self.max_drift
        if self.trace_frames is not None:
            body["trace_frames"] = self.trace_frames
        if self.push_setups:
            body["push_setups"] = list(self.push_setups)
        return body


BUILTIN_PLANS: Mapping[str, ReadPlan] = {
    "registers": ReadPlan("registers", registers=("1.0.1.8.0.255", "1.0.2.8.0.255"), max_drift=60.0),
    "daily": ReadPlan(
        "daily",
        registers=("1.0.1.8.0.255", "1.0.2.8.0.255"),
        max_drift=60.0,
        profiles=("1.0.99.1.0.255",),
        event_logs=("0.0.99.98.0.255",),
    ),
    "commands": ReadPlan("commands", clock=False),
    "push_setup": ReadPlan("push_setup", clock=False, commands=False, push_setups=("0.0.25.9.0.255",)),
}
"""Plans every head-end knows (for dlmskit's simulated meter and meters with the usual IDIS objects)."""
