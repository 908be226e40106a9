"""The connection options every meter command shares, and how they become :class:`MeterSettings`.

The defaults reach ``dlmskit simulate``'s default model with no options at all (TCP 127.0.0.1:4059, HDLC,
public client 16, server logical 1 / physical 17). Secrets can come from environment variables so they stay
out of shell history: ``DLMSKIT_PASSWORD``, ``DLMSKIT_KEY`` (block cipher key) and ``DLMSKIT_AUTH_KEY``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from dlmskit.client.profiles import resolve_settings
from dlmskit.client.settings import MeterSettings

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS: list[Callable[[Any], Any]] = [
    click.option("--meter", "meter_name", metavar="NAME", help="A named meter profile from the meters file."),
    click.option(
        "--meters-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The meters file (default: $XDG_CONFIG_HOME/dlmskit/meters.toml).",
    ),
    click.option("--host", help="Meter or gateway host (TCP).  [default: 127.0.0.1]"),
    click.option("--port", type=int, help="TCP port.  [default: 4059]"),
    click.option(
        "--serial", "device", metavar="DEVICE", help="Serial line or optical probe, e.g. /dev/ttyUSB0."
    ),
    click.option("--baud", "baudrate", type=int, help="Serial baud rate.  [default: 9600]"),
    click.option(
        "--mode-e",
        is_flag=True,
        default=None,
        help="Open the serial line with the IEC 62056-21 mode E sign-on.",
    ),
    click.option(
        "--transport", "link", type=click.Choice(["hdlc", "wrapper"]), help="Data link.  [default: hdlc]"
    ),
    click.option(
        "--udp", is_flag=True, default=None, help="With --transport wrapper: UDP datagrams instead of TCP."
    ),
    click.option("--client", "client_address", type=int, help="Client address (SAP).  [default: 16]"),
    click.option("--server-logical", type=int, help="Server logical address / wrapper wPort.  [default: 1]"),
    click.option("--server-physical", type=int, help="HDLC server physical address.  [default: 17]"),
    click.option(
        "--auth",
        "authentication",
        type=click.Choice(["none", "low", "high", "md5", "sha1", "sha256", "gmac", "ecdsa"]),
        help="Authentication.  [default: none]",
    ),
    click.option(
        "--password", envvar="DLMSKIT_PASSWORD", help="LLS password or HLS secret (env DLMSKIT_PASSWORD)."
    ),
    click.option("--system-title", help="The client's system title, 16 hex digits."),
    click.option(
        "--key",
        "block_cipher_key",
        envvar="DLMSKIT_KEY",
        help="Block cipher key, 32 hex digits (env DLMSKIT_KEY).",
    ),
    click.option(
        "--auth-key",
        "authentication_key",
        envvar="DLMSKIT_AUTH_KEY",
        help="Authentication key, 32 hex digits (env DLMSKIT_AUTH_KEY).",
    ),
    click.option(
        "--security",
        "security_policy",
        type=click.Choice(["none", "auth", "enc", "auth-enc"]),
        help="Security policy.",
    ),
    click.option(
        "--suite",
        "security_suite",
        type=click.IntRange(0, 2),
        help="Security suite: 0 AES-GCM-128, 1 ECDSA/ECDH P-256, 2 P-384 with AES-GCM-256 (64 hex digit keys).",
    ),
    click.option(
        "--signing-key",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The client's ECDSA private key, a PEM file (--auth ecdsa).",
    ),
    click.option(
        "--meter-cert",
        "meter_certificate",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The meter's certificate or public key, a PEM file (--auth ecdsa).",
    ),
    click.option(
        "--key-agreement",
        type=click.Choice(["one-pass-dh", "static-unified"]),
        help="Suites 1/2: general-ciphering with keys agreed per APDU (needs --signing-key, --meter-cert).",
    ),
    click.option(
        "--sign",
        "sign_apdus",
        is_flag=True,
        default=None,
        help="Suites 1/2: sign every APDU (general-signing) and require the meter's to be signed.",
    ),
    click.option("--timeout", type=float, help="Seconds to wait for each answer.  [default: 5]"),
    click.option(
        "--trace",
        is_flag=True,
        default=False,
        help="Print every frame and APDU (decrypted when the keys are known).",
    ),
    click.option(
        "--json", "as_json", is_flag=True, default=False, help="Print machine-readable JSON on stdout."
    ),
    click.option(
        "--referencing",
        type=click.Choice(["ln", "sn", "auto"]),
        help="Logical-name (ln), short-name (sn) referencing, or auto: LN, then SN when the meter "
        "rejects LN (docs/short-names.md).  [default: ln]",
    ),
    click.option(
        "--strict",
        is_flag=True,
        default=None,
        help="Refuse every deviation from the standard instead of accepting it with a warning "
        "(docs/tolerance.md).",
    ),
]

_SETTING_NAMES = (
    "host",
    "port",
    "device",
    "baudrate",
    "mode_e",
    "link",
    "udp",
    "client_address",
    "server_logical",
    "server_physical",
    "authentication",
    "password",
    "system_title",
    "block_cipher_key",
    "authentication_key",
    "security_policy",
    "security_suite",
    "signing_key",
    "meter_certificate",
    "key_agreement",
    "sign_apdus",
    "timeout",
    "strict",
    "referencing",
)


def meter_options(function: F) -> F:
    """Add the connection options to a command; it receives ``settings``, ``trace`` and ``as_json``."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        meter_name = kwargs.pop("meter_name")
        meters_file = kwargs.pop("meters_file")
        given = {name: kwargs.pop(name) for name in _SETTING_NAMES}
        kwargs["settings"] = build_settings(meter_name, meters_file, given)
        return function(*args, **kwargs)

    for option in reversed(_OPTIONS):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


def build_settings(meter_name: str | None, meters_file: Path | None, given: dict[str, Any]) -> MeterSettings:
    """Options given on the command line override the named profile, which overrides the defaults."""
    overrides = {name: value for name, value in given.items() if value is not None}
    if overrides.get("authentication") == "gmac" and "client_address" not in overrides and meter_name is None:
        overrides["client_address"] = 1  # the management client of the simulator's default model
    return resolve_settings(meter_name, meters_file, overrides)
