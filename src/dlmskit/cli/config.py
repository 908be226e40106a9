"""Configuration files of the head-end's commands: TOML under ``--config FILE`` (or ``$DLMSKIT_CONFIG``).

The file gives defaults; every option may still come from its environment variable or the command line,
with the precedence ``flags > environment > file > defaults`` (Click's own: a file's values are the
command's ``default_map``). Top-level keys apply to the ``headend`` group and to every command that has
such an option; a table applies to one command::

    redis = "redis://queue:6379/0"                  # --redis, $DLMSKIT_REDIS_URL
    db = "postgresql+psycopg://headend@db/headend"  # --db, $DLMSKIT_HEADEND_DB

    [worker]
    max_sessions = 500                              # --max-sessions, $DLMSKIT_MAX_SESSIONS
    lease_seconds = 60

    [scheduler]
    schedule = [["daily", "fleet", "0 2 * * *"]]    # --schedule PLAN GROUP WHEN, $DLMSKIT_SCHEDULES

``--show-config`` prints the effective configuration, where each value comes from, passwords masked.
No secret belongs in the file: master keys come from ``$DLMSKIT_MASTER_KEY`` or the key file.
"""

from __future__ import annotations

import sys
import urllib.parse
from pathlib import Path
from typing import Any

import click

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = ["CONFIG_ENV", "ScheduleOption", "load_config", "mask", "show_config"]

CONFIG_ENV = "DLMSKIT_CONFIG"

# A file's key -> the option's parameter name, where they differ.
_ALIASES = {"redis": "redis_url", "schedule": "schedules"}


def _param_names(command: click.Command) -> set[str]:
    return {p.name for p in command.params if p.name}


def _entry(key: str, value: Any) -> tuple[str, Any]:
    name = key.replace("-", "_")
    name = _ALIASES.get(name, name)
    if name == "schedules":
        value = [_schedule(item) for item in value]
    return name, value


def _schedule(item: Any) -> tuple[str, str, str]:
    if isinstance(item, dict):
        return str(item["plan"]), str(item.get("group", "*")), str(item["when"])
    plan, group, when = item
    return str(plan), str(group), str(when)


def _name_in(command: click.Command, key: str) -> str | None:
    """The parameter of ``command`` a file's ``key`` sets, or None."""
    names = _param_names(command)
    name = _ALIASES.get(key.replace("-", "_"), key.replace("-", "_"))
    if name == "db" and "db_url" in names:  # the group's --db is the worker's and scheduler's --db too
        name = "db_url"
    return name if name in names and name != "config" else None


def _for(command: click.Command, values: dict[str, Any], where: str, *, strict: bool) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in values.items():
        name = _name_in(command, key)
        if name is not None:
            found[name] = _entry(key, value)[1]
        elif strict:
            raise click.BadParameter(
                f"{where}: no option {key!r} for `{command.name}`", param_hint="--config"
            )
    return found


def load_config(ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
    """The ``--config`` option's callback (eager): the file's values become the commands' defaults."""
    if value is None:
        return None
    try:
        data = tomllib.loads(value.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise click.BadParameter(f"{value}: {error}", param_hint="--config") from error
    group = ctx.command
    assert isinstance(group, click.Group)
    common = {k: v for k, v in data.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    unknown = sorted(set(tables) - set(group.commands))
    unknown += sorted(
        k for k in common if all(_name_in(c, k) is None for c in [group, *group.commands.values()])
    )
    if unknown:
        raise click.BadParameter(f"{value}: unknown key(s) {', '.join(unknown)}", param_hint="--config")
    defaults: dict[str, Any] = _for(group, common, str(value), strict=False)
    for name, command in group.commands.items():
        chosen = _for(command, common, str(value), strict=False)
        chosen.update(_for(command, tables.get(name, {}), f"{value} [{name}]", strict=True))
        defaults[name] = chosen
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    return value


class ScheduleOption(click.Option):
    """``--schedule PLAN GROUP WHEN`` (repeated); from the environment ``PLAN GROUP WHEN; PLAN GROUP WHEN``
    (the WHEN of a cron expression has spaces)."""

    def value_from_envvar(self, ctx: click.Context) -> Any:
        text = self.resolve_envvar_value(ctx)
        if not text:
            return None
        found = []
        for part in text.split(";"):
            words = part.split(maxsplit=2)
            if not words:
                continue
            if len(words) != 3:
                raise click.BadParameter(f"${self.envvar}: {part.strip()!r} is not PLAN GROUP WHEN")
            found.append(tuple(words))
        return found


def mask(name: str, value: Any) -> Any:
    """``value`` with any password in it replaced by ``***`` (URLs), or all of it for a secret's name."""
    if value is None:
        return None
    if any(word in name for word in ("password", "secret", "token")):
        return "***"
    if isinstance(value, str) and "://" in value:
        parts = urllib.parse.urlsplit(value)
        if parts.password is not None:
            user = parts.username or ""
            host = parts.hostname or ""
            port = f":{parts.port}" if parts.port else ""
            return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))
    return value


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _source(source: click.core.ParameterSource | None, param: click.Parameter) -> str:
    if source is click.core.ParameterSource.COMMANDLINE:
        return "command line"
    if source is click.core.ParameterSource.ENVIRONMENT:
        return f"${getattr(param, 'envvar', None) or 'environment'}"
    if source is click.core.ParameterSource.DEFAULT_MAP:
        return "config file"
    return "default"


def show_config(ctx: click.Context, *, skip: tuple[str, ...] = ("show_config",)) -> list[str]:
    """The effective configuration of the running command (and its group) as TOML lines, each with where
    its value comes from; passwords masked, unset options left out."""
    lines: list[str] = []
    for context in (ctx.parent, ctx):
        if context is None:
            continue
        if context is ctx:
            lines.append(f"[{ctx.info_name}]")
        for param in context.command.params:
            name = param.name
            if not name or name in skip or name not in context.params:
                continue
            value = context.params[name]
            if value is None or value == ():
                continue
            where = _source(context.get_parameter_source(name), param)
            if isinstance(value, Path):
                value = str(value)
            lines.append(f"{name} = {_toml(mask(name, value))}  # {where}")
    return lines
