"""The client API names the web console calls, in one place (issue 13 renames them; adapt here only).

Where a new name does not exist on this branch yet, the old one is called with a ``# rename:`` comment.
"""

from __future__ import annotations

from typing import Any

from dlmskit.client.client import DlmsClient
from dlmskit.client.errors import MeterRefused
from dlmskit.client.settings import MeterSettings
from dlmskit.errors import ConfigurationError, EncodeError, KeyFormatError, TimeoutError_
from dlmskit.link.events import TraceHook

__all__ = ["ArgumentError", "MeterRefused", "MeterTimeout", "connect", "profile_last_selection"]

# rename: MeterTimeout is the new name of TimeoutError_.
MeterTimeout = TimeoutError_
# rename: ArgumentError (a value or setting the user gave that cannot work) does not exist yet; these are
# the errors it replaces.
ArgumentError = (ConfigurationError, EncodeError, KeyFormatError)


def connect(settings: MeterSettings, *, on_frame: TraceHook | None = None) -> DlmsClient:
    """An opened (associated) client for ``settings``."""
    # rename: connect(...) returns an opened client after issue 13; here it returns one still closed.
    return DlmsClient.connect(settings, on_frame=on_frame).open()


def profile_last_selection(client: DlmsClient, logical_name: Any, last: int) -> dict[str, int]:
    """The entry range of the ``last`` most recent entries of a profile."""
    # rename: profile(..., last=N) does not exist yet; read entries_in_use as the CLI does.
    in_use = int(client.read(logical_name, "entries_in_use", class_id=7))
    return {"from_entry": max(1, in_use - last + 1), "to_entry": in_use}
