"""The client API names the web console calls, in one place."""

from __future__ import annotations

from typing import Any

from dlmskit.client.client import DlmsClient
from dlmskit.client.errors import MeterRefused
from dlmskit.client.settings import MeterSettings
from dlmskit.errors import ArgumentError as _ArgumentError
from dlmskit.errors import ConfigurationError, EncodeError, KeyFormatError, MeterTimeout
from dlmskit.link.events import TraceHook

__all__ = ["ArgumentError", "MeterRefused", "MeterTimeout", "connect", "profile_last_selection"]

ArgumentError = (_ArgumentError, ConfigurationError, EncodeError, KeyFormatError)
"""What a user's own mistake in a form raises (shown in words on the page, never as a failure)."""


def connect(settings: MeterSettings, *, on_frame: TraceHook | None = None) -> DlmsClient:
    """An opened (associated) client for ``settings``."""
    return DlmsClient.connect(settings, on_frame=on_frame)


def profile_last_selection(client: DlmsClient, logical_name: Any, last: int) -> dict[str, int]:
    """The entry range of the ``last`` most recent entries of a profile (read once, so that the page can
    show the progress against the number of rows to come)."""
    in_use = int(client.read(logical_name, "entries_in_use", class_id=7))
    return {"from_entry": max(1, in_use - last + 1), "to_entry": in_use}
