"""The commands that talk to a meter: read, write, call, objects, clock, profile, relay, disconnect,
reconnect and token.

Every command takes the connection options of :mod:`dlmskit.cli.meter_options`; with none it reaches
``dlmskit simulate``. Values are typed from the interface-class model, so ``dlmskit write 0.0.1.0.0.255:2
2026-01-01T00:00:00`` or ``dlmskit call 0.0.96.3.10.255 remote_disconnect`` need no type annotations
(``--type`` overrides).
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any, Literal, cast

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from dlmskit.cli.main import cli, stderr, stdout
from dlmskit.cli.meter_options import meter_options
from dlmskit.cli.tracing import open_client
from dlmskit.client.results import ProfileTable
from dlmskit.client.settings import MeterSettings
from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import CosemDateTime
from dlmskit.codec.obis import Obis, describe
from dlmskit.cosem import class_name
from dlmskit.errors import ConfigurationError

__all__ = [
    "call",
    "clock",
    "disconnect",
    "objects",
    "profile",
    "read",
    "reconnect",
    "relay",
    "token",
    "write",
]

_TYPES = {t.standard_name: t for t in axdr.DataType}


def _emit_json(payload: Any) -> None:
    click.echo(json.dumps(payload, indent=2, default=str))


def _mode(mode: object) -> str:
    """An access mode's name (``read-and-write``), or the number when the meter sent an unknown one."""
    name = getattr(mode, "name", None)
    return name.lower().replace("_", "-") if isinstance(name, str) else str(mode)


def _split_reference(text: str, default_attribute: int = 2) -> tuple[Obis, int | str]:
    """``OBIS[:ATTR]``: ATTR by index or name; the OBIS code in any usual form (1-0:1.8.0*255 too)."""
    obis_text, attribute = text, str(default_attribute)
    head, sep, tail = text.rpartition(":")
    if sep and tail and "." not in tail and "*" not in tail:
        obis_text, attribute = head, tail
    attr: int | str = int(attribute) if attribute.isdigit() else attribute
    return Obis.parse(obis_text), attr


def _show_value(value: Any) -> str:
    """A value as a meter engineer reads it: text for printable octet-strings, dates for date-times."""
    if isinstance(value, bytes) and len(value) == 12:
        stamp = CosemDateTime.from_bytes(value)
        if stamp.is_calendar_time:
            return f"{stamp}  ({value.hex().upper()})"
    if isinstance(value, bytes):
        if value and all(32 <= b < 127 for b in value):
            return f'"{value.decode()}"  ({value.hex().upper()})'
        return value.hex().upper() or '""'
    if isinstance(value, (list, tuple)) and len(value) > 12:
        return f"{type(value).__name__} of {len(value)} elements"
    if isinstance(value, (list, tuple)):
        return json.dumps(axdr.to_python(value))
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return str(float(value))
    return str(value)


def _parse_value(text: str, type_name: str | None) -> Any:
    """A command-line value: JSON where it parses (numbers, lists, true/false), else the text itself."""
    if type_name is not None:
        data_type = _TYPES.get(type_name)
        if data_type is None:
            raise ConfigurationError(f"unknown type {type_name!r}; use one of: {', '.join(sorted(_TYPES))}")
        return axdr.convert(text, data_type)
    try:
        return json.loads(text)
    except ValueError:
        return text


# -- read / write / call -----------------------------------------------------------------------------------------


@cli.command()
@click.argument("references", nargs=-1, required=True, metavar="OBIS[:ATTR]...")
@meter_options
def read(references: tuple[str, ...], settings: MeterSettings, trace: bool, as_json: bool) -> None:
    """Read attributes (attribute 2, the value, unless :ATTR names another, by index or name).

    \b
    Examples:
      dlmskit read 0.0.42.0.0.255
      dlmskit read 1-0:1.8.0*255 1.0.1.8.0.255:scaler_unit
    """
    parsed = [_split_reference(ref) for ref in references]
    with open_client(settings, trace=trace, console=stderr) as client:
        values = [client.read(obis, attribute) for obis, attribute in parsed]
    if as_json:
        _emit_json(
            [
                {"obis": str(obis), "attribute": attribute, "value": axdr.to_python(value)}
                for (obis, attribute), value in zip(parsed, values, strict=True)
            ]
        )
        return
    table = Table("OBIS", "object", "attribute", "value", show_lines=False)
    for (obis, attribute), value in zip(parsed, values, strict=True):
        table.add_row(str(obis), describe(obis) or "", str(attribute), _show_value(value))
    stdout.print(table)


@cli.command()
@click.argument("reference", metavar="OBIS:ATTR")
@click.argument("value")
@click.option(
    "--type", "type_name", help="A-XDR type of VALUE (e.g. long-unsigned), when the model does not know it."
)
@meter_options
def write(
    reference: str, value: str, type_name: str | None, settings: MeterSettings, trace: bool, as_json: bool
) -> None:
    """Write VALUE into an attribute; its type comes from the interface-class model.

    \b
    Examples:
      dlmskit write 0.0.96.3.10.255:control_mode 4 --auth gmac --key ... --auth-key ...
      dlmskit write 0.0.1.0.0.255:2 2026-01-01T12:00:00+01:00
    """
    obis, attribute = _split_reference(reference, default_attribute=2)
    with open_client(settings, trace=trace, console=stderr) as client:
        client.write(obis, attribute, _parse_value(value, type_name))
    if as_json:
        _emit_json({"obis": str(obis), "attribute": attribute, "result": "success"})
    else:
        stdout.print(f"[green]written[/] {obis} attribute {attribute}")


@cli.command()
@click.argument("reference", metavar="OBIS")
@click.argument("method")
@click.argument("value", required=False)
@click.option("--type", "type_name", help="A-XDR type of VALUE, when the model does not know it.")
@meter_options
def call(
    reference: str,
    method: str,
    value: str | None,
    type_name: str | None,
    settings: MeterSettings,
    trace: bool,
    as_json: bool,
) -> None:
    """Invoke METHOD (index or name) of an object; VALUE defaults to the method's usual parameter.

    \b
    Examples:
      dlmskit call 0.0.96.3.10.255 remote_disconnect --auth gmac --key ... --auth-key ...
      dlmskit call 0.0.1.0.0.255 shift_time 60
    """
    obis = Obis.parse(reference)
    method_ref: int | str = int(method) if method.isdigit() else method
    parameter = None if value is None else _parse_value(value, type_name)
    with open_client(settings, trace=trace, console=stderr) as client:
        returned = client.call(obis, method_ref, parameter)
    if as_json:
        _emit_json(
            {"obis": str(obis), "method": method_ref, "result": "success", "data": axdr.to_python(returned)}
        )
    else:
        stdout.print(
            f"[green]done[/] {obis} {method_ref}" + ("" if returned is None else f": {_show_value(returned)}")
        )


# -- objects / clock ------------------------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--wide",
    "plain",
    is_flag=True,
    help="Plain lines, one object a line, nothing shortened (for narrow terminals, grep and copy).",
)
@meter_options
def objects(settings: MeterSettings, trace: bool, as_json: bool, plain: bool) -> None:
    """The association's object list: classes, versions and access rights.

    OBIS codes are never shortened; on a narrow terminal the names are. --wide prints plain lines.
    """
    with open_client(settings, trace=trace, console=stderr) as client:
        entries = client.objects()
    if as_json:
        _emit_json(
            [
                {
                    "class_id": e.class_id,
                    "version": e.version,
                    "obis": str(e.logical_name),
                    "attributes": {str(k): _mode(v.access_mode) for k, v in e.attribute_access.items()},
                    "methods": {str(k): _mode(v.access_mode) for k, v in e.method_access.items()},
                }
                for e in entries
            ]
        )
        return
    if plain:
        for e in entries:
            readable = ",".join(str(k) for k, v in sorted(e.attribute_access.items()) if v.can_read)
            writable = ",".join(str(k) for k, v in sorted(e.attribute_access.items()) if v.can_write)
            methods = ",".join(str(k) for k, v in sorted(e.method_access.items()) if v.can_execute)
            click.echo(
                f"{e.logical_name!s:<23} {class_name(e.class_id)} ({e.class_id}) v{e.version}"
                f"  {describe(e.logical_name) or '-'}  read {readable or '-'}  write {writable or '-'}"
                f"  methods {methods or '-'}"
            )
        return
    longest = max((len(str(e.logical_name)) for e in entries), default=4)
    table = Table()
    table.add_column("OBIS", no_wrap=True, min_width=longest)  # never shortened
    table.add_column("class", overflow="ellipsis", ratio=1)
    table.add_column("v", no_wrap=True)
    table.add_column("name", overflow="ellipsis", ratio=2)  # shortened first on a narrow terminal
    for heading in ("read", "write", "methods"):
        table.add_column(heading, overflow="fold")
    for e in entries:
        readable = ",".join(str(k) for k, v in sorted(e.attribute_access.items()) if v.can_read)
        writable = ",".join(str(k) for k, v in sorted(e.attribute_access.items()) if v.can_write)
        methods = ",".join(str(k) for k, v in sorted(e.method_access.items()) if v.can_execute)
        table.add_row(
            str(e.logical_name),
            f"{class_name(e.class_id)} ({e.class_id})",
            str(e.version),
            describe(e.logical_name) or "",
            readable or "-",
            writable or "-",
            methods or "-",
        )
    stdout.print(table)


@cli.command()
@click.option(
    "--set",
    "set_to",
    metavar="now|ISO",
    help="Set the meter's clock (to the PC's time, or an ISO time; without an offset, the PC's local time).",
)
@click.option("--shift", type=int, metavar="SECONDS", help="Shift the clock by -900..900 seconds.")
@meter_options
def clock(set_to: str | None, shift: int | None, settings: MeterSettings, trace: bool, as_json: bool) -> None:
    """Read the meter's clock, or set or shift it."""
    with open_client(settings, trace=trace, console=stderr) as client:
        if set_to is not None:
            when = _dt.datetime.now(_dt.timezone.utc).astimezone() if set_to == "now" else _iso(set_to)
            client.set_clock(when)
        if shift is not None:
            client.shift_clock(shift)
        reading = client.clock_reading()
    now = reading.time
    pc = _dt.datetime.now(_dt.timezone.utc)
    drift = (now - pc).total_seconds() if now.tzinfo is not None else None
    if as_json:
        offset = reading.utc_offset.total_seconds() / 60 if reading.utc_offset is not None else None
        _emit_json(
            {
                "clock": now.isoformat(),
                "drift_seconds": drift,
                "utc_offset_minutes": offset,
                "daylight_saving": reading.daylight_saving,
                "status": reading.status,
            }
        )
        return
    stdout.print(f"meter clock: [bold]{reading}[/]")
    if drift is not None:
        stdout.print(f"difference to this PC: {drift:+.1f} s")


def _iso(text: str) -> _dt.datetime:
    """An ISO 8601 time; without an offset, this computer's local time."""
    try:
        when = _dt.datetime.fromisoformat(text)
        return when if when.utcoffset() is not None else when.astimezone()
    except ValueError:
        raise ConfigurationError(
            f"{text!r} is not an ISO 8601 time such as 2026-01-01T12:00:00+01:00"
        ) from None


# -- profile ---------------------------------------------------------------------------------------------------------


@cli.command()
@click.argument("reference", metavar="OBIS", default="1.0.99.1.0.255")
@click.option("--from", "start", metavar="ISO", help="First capture time (selective access by range).")
@click.option("--to", "end", metavar="ISO", help="Last capture time.")
@click.option("--last", type=int, metavar="N", help="The N most recent entries.")
@click.option(
    "--csv", "csv_file", type=click.Path(dir_okay=False, path_type=Path), help="Write the rows to a CSV file."
)
@meter_options
def profile(
    reference: str,
    start: str | None,
    end: str | None,
    last: int | None,
    csv_file: Path | None,
    settings: MeterSettings,
    trace: bool,
    as_json: bool,
) -> None:
    """Read a profile (load profile 1.0.99.1.0.255 by default) by time range or the last N entries.

    Times without an offset (--from 2026-01-01T00:00) are this computer's local time."""
    obis = Obis.parse(reference)
    with open_client(settings, trace=trace, console=stderr) as client:
        selection: dict[str, Any] = {}
        if start or end:
            selection = {"start": _iso(start) if start else None, "end": _iso(end) if end else None}
        elif last is not None:
            selection = {"last": last}
        with Progress(
            TextColumn("reading"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=stderr,
            transient=True,
        ) as bar:
            task = bar.add_task("rows", total=None)

            def moved(rows: int, expected: int | None) -> None:
                bar.update(task, completed=rows, total=expected)

            chunks = list(client.iter_profile(obis, progress=moved, **selection))
    columns = chunks[0].columns if chunks else ()
    table = ProfileTable(columns, [row for chunk in chunks for row in chunk.rows])
    if csv_file is not None:
        table.to_csv(csv_file)
        stderr.print(f"{len(table)} rows written to {csv_file}")
    if as_json:
        click.echo(table.to_json())
    elif csv_file is None:
        shown = Table(*(c.heading for c in columns))
        for row in table.as_dicts():
            shown.add_row(*(v.isoformat() if isinstance(v, _dt.datetime) else str(v) for v in row.values()))
        stdout.print(shown)
        stdout.print(f"{len(table)} rows")


# -- relay -------------------------------------------------------------------------------------------------------------


def _relay_report(state: Any, as_json: bool) -> None:
    if as_json:
        _emit_json(
            {
                "output_state": state.output_state,
                "control_state": int(state.control_state),
                "control_mode": int(state.control_mode),
                "connected": state.connected,
                "text": str(state),
            }
        )
    else:
        colour = "green" if state.connected else "red"
        stdout.print(f"relay: [{colour}]{state}[/]")


@cli.command()
@meter_options
def relay(settings: MeterSettings, trace: bool, as_json: bool) -> None:
    """The supply relay (Disconnect control 0.0.96.3.10.255): output state, control state and mode."""
    with open_client(settings, trace=trace, console=stderr) as client:
        _relay_report(client.relay_state(), as_json)


@cli.command()
@meter_options
def disconnect(settings: MeterSettings, trace: bool, as_json: bool) -> None:
    """Open the supply relay (remote_disconnect with integer(0); needs method access, usually HLS)."""
    with open_client(settings, trace=trace, console=stderr) as client:
        _relay_report(client.remote_disconnect(), as_json)


@cli.command()
@meter_options
def reconnect(settings: MeterSettings, trace: bool, as_json: bool) -> None:
    """Close the supply relay, or make it ready for the customer's button, as the control mode says."""
    with open_client(settings, trace=trace, console=stderr) as client:
        _relay_report(client.remote_reconnect(), as_json)


# -- token ---------------------------------------------------------------------------------------------------------------


@cli.group()
def token() -> None:
    """Prepayment tokens through the Token gateway (0.0.19.40.0.255)."""


def _token_report(result: Any, as_json: bool) -> None:
    if as_json:
        _emit_json(
            {
                "status_code": result.status_code,
                "name": result.name,
                "ok": result.ok,
                "text": result.description,
            }
        )
    else:
        colour = "green" if result.ok else "red"
        stdout.print(f"token status: [{colour}]{result.name}[/] ({result.status_code}): {result.description}")
    if not result.ok:
        raise SystemExit(1)


@token.command("enter")
@click.argument("digits", nargs=-1, required=True, metavar="TOKEN")
@click.option(
    "--format",
    "token_format",
    type=click.Choice(["ascii", "bcd"]),
    default="ascii",
    show_default=True,
    help="How the 20 digits go into the octet-string.",
)
@meter_options
def token_enter(
    digits: tuple[str, ...], token_format: str, settings: MeterSettings, trace: bool, as_json: bool
) -> None:
    """Enter a 20-digit STS token (spaces allowed), then show the token status in words.

    \b
    Example:
      dlmskit token enter 0571 8854 5901 9721 1241 --auth gmac --key ... --auth-key ...
    """
    with open_client(settings, trace=trace, console=stderr) as client:
        result = client.token_enter(" ".join(digits), format=cast(Literal["ascii", "bcd"], token_format))
    _token_report(result, as_json)


@token.command("status")
@meter_options
def token_status(settings: MeterSettings, trace: bool, as_json: bool) -> None:
    """The token gateway's status: how far the last token got."""
    with open_client(settings, trace=trace, console=stderr) as client:
        result = client.token_status()
    _token_report(result, as_json)
