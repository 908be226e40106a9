"""The event codes the simulated meter writes to its event log (0.0.99.98.0.255).

Event codes are manufacturer or companion-standard specific; these are the simulator's own, documented in
``docs/simulator.md``.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["EventCode"]


class EventCode(IntEnum):
    """What happened."""

    CLOCK_ADJUSTED = 5
    """The clock was set, shifted or adjusted (the entry carries the new time)."""
    READY_FOR_RECONNECTION = 59
    """A remote reconnection made the relay wait for the customer's button (transition d)."""
    MANUAL_DISCONNECTION = 60
    MANUAL_CONNECTION = 61
    REMOTE_DISCONNECTION = 62
    REMOTE_CONNECTION = 63
    LOCAL_DISCONNECTION = 64
    LOCAL_CONNECTION = 65
    TAMPER_DETECTED = 40
    TAMPER_CLEARED = 41
    TOKEN_ACCEPTED = 70
    TOKEN_REJECTED = 71
    KEYS_CHANGED = 80
    SECURITY_POLICY_CHANGED = 81
