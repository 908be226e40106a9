"""Clients for tests that must act before the association opens (hooks, expected refusals)."""

from __future__ import annotations

from typing import Any

from dlmskit.client import DlmsClient, MeterSettings


def unopened_client(**settings: Any) -> DlmsClient:
    """A client with these settings that has not connected yet: ``open()`` or ``with`` connects it
    (``connect()`` and ``DlmsClient.connect()`` return an opened client)."""
    return DlmsClient(MeterSettings(**settings))
