"""Addresses and connection errors in words, shared by the TCP and UDP transports."""

from __future__ import annotations

import socket

from dlmskit.errors import LinkError, MeterTimeout

_HINT = "is the meter or `dlmskit simulate` running?"


def format_endpoint(host: str, port: int) -> str:
    """``host:port``, with an IPv6 literal in brackets (``[::1]:4059``)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def connect_error(host: str, port: int, exc: OSError) -> LinkError:
    """The error, in words, for a failed attempt to reach ``host:port``."""
    where = f"cannot connect to {format_endpoint(host, port)}"
    if isinstance(exc, ConnectionRefusedError):
        return LinkError(f"{where}: connection refused — {_HINT}")
    if isinstance(exc, socket.gaierror):
        return LinkError(f"{where}: unknown host {host!r} ({exc.strerror})")
    return LinkError(f"{where}: {exc.strerror or exc}")


def connect_timeout_error(host: str, port: int, connect_timeout: float) -> MeterTimeout:
    """The error for a connection attempt that got no answer in ``connect_timeout`` seconds."""
    return MeterTimeout(
        f"cannot connect to {format_endpoint(host, port)}: no answer within {connect_timeout:g} s"
    )


def unreachable_error(description: str) -> LinkError:
    """The error for an ICMP 'port unreachable' reported on a connected UDP socket."""
    return LinkError(f"{description}: nothing listens at that port (ICMP port unreachable) — {_HINT}")
