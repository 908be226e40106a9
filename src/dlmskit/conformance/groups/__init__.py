"""The built-in test groups; importing this package registers them in :data:`~dlmskit.conformance.REGISTRY`."""

from __future__ import annotations

from dlmskit.conformance.groups import association, cosem, hdlc, security, services, wrapper

__all__ = ["association", "cosem", "hdlc", "security", "services", "wrapper"]
