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

from dlmskit.cli.main import stderr
from dlmskit.client.profiles import resolve_settings
from dlmskit.client.settings import COUNTER_FILE, MeterSettings, describe_server_address
from dlmskit.errors import ConfigurationError, EncodeError

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
        "--server-address",
        type=int,
        help="HDLC server address as one number, as Gurux tools show it (145 = logical 1, physical 17).",
    ),
    click.option(
        "--hdlc-max-info",
        "hdlc_max_info_length",
        type=int,
        help="HDLC max information field sent.  [default: 2030]",
    ),
    click.option(
        "--hdlc-max-info-rx",
        "hdlc_max_info_length_rx",
        type=int,
        help="HDLC max information field received.  [default: as sent]",
    ),
    click.option("--hdlc-window", "hdlc_window_size", type=int, help="HDLC window sent.  [default: 7]"),
    click.option(
        "--hdlc-window-rx", "hdlc_window_size_rx", type=int, help="HDLC window received.  [default: as sent]"
    ),
    click.option(
        "--max-pdu", "max_pdu_size", type=int, help="xDLMS max PDU size proposed.  [default: 65535]"
    ),
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
        "--ca-cert",
        "ca_certificate",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Suites 1/2: the root CA certificate (PEM) that must have issued --meter-cert (signature, "
        "validity, key usage, CN = system title are checked).",
    ),
    click.option(
        "--policy-bits",
        "security_policy_bits",
        callback=lambda _context, _parameter, value: _byte(value),
        help="Security setup v1 policy bits per direction, e.g. 0x6C or 108 (4/8/16: authenticated/encrypted/"
        "signed requests, 32/64/128: responses).",
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
    click.option(
        "--read-frame-counter",
        "read_frame_counter_first",
        is_flag=True,
        default=None,
        help="Read the meter's frame counter through the public client first and continue above it.",
    ),
    click.option(
        "--frame-counter-obis",
        metavar="OBIS",
        help="Where the frame counter is (implies --read-frame-counter).  [default: 0.0.43.1.<client>.255; "
        "many meters use 0.0.43.1.0.255]",
    ),
    click.option(
        "--public-client",
        "public_client_address",
        type=int,
        help="The client address that reads the frame counter.  [default: 16]",
    ),
    click.option(
        "--state-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Where the client keeps its invocation counters (default: $XDG_STATE_HOME/dlmskit/client; "
        "the simulator keeps its own in .../dlmskit/simulator).",
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
    "server_address",
    "hdlc_max_info_length",
    "hdlc_max_info_length_rx",
    "hdlc_window_size",
    "hdlc_window_size_rx",
    "max_pdu_size",
    "authentication",
    "password",
    "system_title",
    "block_cipher_key",
    "authentication_key",
    "security_policy",
    "security_suite",
    "signing_key",
    "meter_certificate",
    "ca_certificate",
    "security_policy_bits",
    "key_agreement",
    "sign_apdus",
    "read_frame_counter_first",
    "frame_counter_obis",
    "public_client_address",
    "timeout",
    "strict",
    "referencing",
)


def _byte(value: str | None) -> int | None:
    """A byte given in decimal or with a 0x prefix (``--policy-bits 0x6C``)."""
    if value is None:
        return None
    try:
        number = int(value, 0)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a number (e.g. 0x6C or 108)") from None
    if not 0 <= number <= 0xFF:
        raise click.BadParameter(f"{value} is not a byte (0..255)")
    return number


def meter_options(function: F) -> F:
    """Add the connection options to a command; it receives ``settings``, ``trace`` and ``as_json``."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        meter_name = kwargs.pop("meter_name")
        meters_file = kwargs.pop("meters_file")
        given = {name: kwargs.pop(name) for name in _SETTING_NAMES}
        state_dir = kwargs.pop("state_dir")
        if state_dir is not None:
            given["invocation_counter_path"] = state_dir / COUNTER_FILE
        if given["frame_counter_obis"] is not None:
            given["read_frame_counter_first"] = True
        kwargs["settings"] = build_settings(meter_name, meters_file, given)
        return function(*args, **kwargs)

    for option in reversed(_OPTIONS):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


def build_settings(meter_name: str | None, meters_file: Path | None, given: dict[str, Any]) -> MeterSettings:
    """Options given on the command line override the named profile, which overrides the defaults."""
    overrides = {name: value for name, value in given.items() if value is not None}
    if "server_address" in overrides:
        if "server_logical" in overrides or "server_physical" in overrides:
            raise ConfigurationError("give --server-address or --server-logical/--server-physical, not both")
        try:
            note = describe_server_address(overrides["server_address"])
        except EncodeError as error:
            raise ConfigurationError(str(error)) from None
        stderr.print(f"note: {note}")
    if overrides.get("authentication") == "gmac" and "client_address" not in overrides and meter_name is None:
        overrides["client_address"] = 1  # the management client of the simulator's default model
    return resolve_settings(meter_name, meters_file, overrides)
