"""Named meter profiles in a TOML file, so that addresses and keys are written down once.

The file (by default ``$XDG_CONFIG_HOME/dlmskit/meters.toml``, i.e. ``~/.config/dlmskit/meters.toml``)
holds one ``[meter.NAME]`` table per meter, with the fields of
:class:`~dlmskit.client.settings.MeterSettings`::

    [meter.site-a]
    host = "10.0.0.7"
    link = "wrapper"
    client_address = 1
    authentication = "gmac"
    system_title = "444C4B0000000001"
    block_cipher_key = "env:SITE_A_EK"       # read from the environment variable SITE_A_EK
    authentication_key = "env:SITE_A_AK"

A text value ``env:VARNAME`` is read from the environment when the profile is loaded, so that keys stay
out of the file and out of the shell history; a variable that is not set is a
:class:`~dlmskit.errors.ConfigurationError` naming it (never showing any value).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dlmskit.client.settings import MeterSettings
from dlmskit.errors import ArgumentError, ConfigurationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = [
    "ENV_PREFIX",
    "default_profiles_path",
    "load_meter_profile",
    "load_profile",
    "profile_names",
    "resolve_settings",
]

ENV_PREFIX = "env:"
"""A text value starting with this names an environment variable to read the value from."""

_FIELDS = {f.name: f for f in dataclasses.fields(MeterSettings)}


def default_profiles_path() -> Path:
    """``$XDG_CONFIG_HOME/dlmskit/meters.toml`` (``~/.config/dlmskit/meters.toml`` when it is not set)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "dlmskit" / "meters.toml"


def _read(path: str | os.PathLike[str] | None) -> tuple[Path, dict[str, Any]]:
    file = Path(path) if path is not None else default_profiles_path()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(
            f"no meter profile file {file}: create it with [meter.NAME] tables"
        ) from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read the meter profile file {file}: {exc.strerror}") from None
    try:
        document: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{file} is not valid TOML: {exc}") from None
    meters = document.get("meter", {})
    if not isinstance(meters, dict):
        raise ConfigurationError(f"{file}: 'meter' must hold tables, one per meter: [meter.NAME]")
    return file, meters


def profile_names(path: str | os.PathLike[str] | None = None) -> list[str]:
    """The names of the meters in the profile file."""
    return sorted(_read(path)[1])


def load_meter_profile(
    name: str,
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> MeterSettings:
    """The settings of the meter ``name`` from the profile file (``env:`` values read from ``environ``,
    the process environment by default), with ``overrides`` (settings given elsewhere, e.g. on the
    command line) applied on top."""
    file, meters = _read(path)
    table = meters.get(name)
    if table is None:
        known = ", ".join(sorted(meters)) or "none"
        raise ConfigurationError(f"{file} has no profile [meter.{name}]; it has: {known}")
    if not isinstance(table, dict):
        raise ConfigurationError(f"{file}: meter.{name} must be a table: [meter.{name}]")
    where = f"{file} [meter.{name}]"
    _check_names(overrides)
    values = {
        key: _value(where, key, value, os.environ if environ is None else environ)
        for key, value in table.items()
        if key not in overrides
    }
    values.update(overrides)
    try:
        return MeterSettings(**values)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None
    except ValueError as exc:  # a key or system title in the wrong form (KeyFormatError, ObisError)
        raise type(exc)(f"{where}: {exc}") from None


def load_profile(
    name: str,
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> MeterSettings:
    """Deprecated: the old name of :func:`load_meter_profile` (it loads settings, not a meter's load profile)."""
    warnings.warn(
        "load_profile() is now load_meter_profile(): it loads a meter's settings from the TOML file, "
        "not the meter's load profile (that is DlmsClient.profile())",
        DeprecationWarning,
        stacklevel=2,
    )
    return load_meter_profile(name, path, environ=environ, **overrides)


def _value(where: str, key: str, value: Any, environ: Mapping[str, str]) -> Any:
    definition = _FIELDS.get(key)
    if definition is None:
        raise ConfigurationError(f"{where}: unknown setting {key!r}; the settings are: {', '.join(_FIELDS)}")
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        variable = value[len(ENV_PREFIX) :]
        if variable not in environ:
            raise ConfigurationError(
                f"{where}: {key} is read from the environment variable {variable}, which is not set"
            )
        value = environ[variable]
    wanted, words = _kind(0 if key == "server_address" else definition.default)  # Gurux form: a number
    if not isinstance(value, wanted) or (bool not in wanted and isinstance(value, bool)):
        raise ConfigurationError(f"{where}: {key} must be {words}, not {type(value).__name__}")
    return value


def _kind(default: object) -> tuple[tuple[type, ...], str]:
    """The TOML types a setting takes, judged by its default value, and their name in words."""
    if isinstance(default, bool):
        return (bool,), "true or false"
    if isinstance(default, int):
        return (int,), "a whole number"
    if isinstance(default, float):
        return (int, float), "a number"
    return (str,), "text"


def resolve_settings(
    meter: MeterSettings | str | None,
    profiles: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> MeterSettings:
    """Settings from settings, a profile name or nothing (the defaults), with ``overrides`` applied."""
    overrides = overrides or {}
    if isinstance(meter, str):
        return load_meter_profile(meter, profiles, **overrides)
    if meter is not None and not isinstance(meter, MeterSettings):
        raise ArgumentError(
            f"a meter is given as MeterSettings or a profile name, not {type(meter).__name__}"
        )
    _check_names(overrides)
    if meter is None:
        return MeterSettings(**overrides)
    return dataclasses.replace(meter, **overrides) if overrides else meter


def _check_names(overrides: Mapping[str, Any]) -> None:
    unknown = sorted(set(overrides) - set(_FIELDS))
    if unknown:
        guesses = [match for name in unknown for match in difflib.get_close_matches(name, _FIELDS, n=1)]
        meant = f" (did you mean {', '.join(guesses)}?)" if guesses else ""
        raise ArgumentError(
            f"unknown setting(s) {', '.join(unknown)}{meant}; the settings are: {', '.join(_FIELDS)}"
        )
