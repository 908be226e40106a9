"""``dlmskit headend``: the head-end on one machine: database, inventory, runs, schedules, status and export."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as _dt
import io
import logging
import os
import signal
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar

import click
import sqlalchemy as sa
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dlmskit.cli.config import CONFIG_ENV, ScheduleOption, load_config, show_config
from dlmskit.cli.main import cli, stdout
from dlmskit.errors import ConfigurationError
from dlmskit.headend import (
    BUILTIN_PLANS,
    Engine,
    EngineLimits,
    Inventory,
    JobOutcome,
    KeyStore,
    ReadPlan,
    Schedule,
    Store,
    create_key_file,
    load_master_key,
    run_schedules,
)
from dlmskit.headend.counters import advance_counters
from dlmskit.headend.export import EXPORTS, export_csv, export_parquet
from dlmskit.headend.inbound import InboundListener
from dlmskit.headend.keystore import MASTER_KEY_ENV, NEW_MASTER_KEY_ENV
from dlmskit.headend.lease import FENCE_SECONDS
from dlmskit.headend.meter_io import make_settings
from dlmskit.headend.metrics import EngineMetrics, QueueMetrics
from dlmskit.headend.plans import TRACE_MODES
from dlmskit.headend.push import PushListener, PushReceiver
from dlmskit.headend.store import (
    PruneReport,
    default_database_url,
    events,
    jobs,
    profile_rows,
    pushes,
    quarantine,
    readings,
)
from dlmskit.headend.store import counters as counter_table
from dlmskit.headend.store import push_counters as push_counter_table
from dlmskit.headend.traces import prune as prune_traces
from dlmskit.headend.traces import render as render_trace
from dlmskit.transport.eventloop import LOOP_CHOICES
from dlmskit.transport.eventloop import run as run_loop

OUTCOME_STYLES = {"ok": "green", "busy": "yellow", "refused": "red", "unreachable": "red", "timeout": "red"}


def _default_key_file() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "dlmskit" / "headend.key"


class _Context:
    def __init__(self, db: str | None, key_file: Path | None) -> None:
        self.url = db or default_database_url()
        self.key_file = key_file or _default_key_file()
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.url)
        return self._store

    def inventory(self, *, keys: bool = True) -> Inventory:
        keystore = KeyStore(self.store, load_master_key(self.key_file)) if keys else None
        return Inventory(self.store, keystore)

    def plan(self, name: str) -> ReadPlan:
        stored = self.inventory(keys=False).plan_bodies()
        if name in stored:
            return ReadPlan.from_mapping(name, stored[name])
        if name in BUILTIN_PLANS:
            return BUILTIN_PLANS[name]
        known = sorted({*stored, *BUILTIN_PLANS})
        raise ConfigurationError(f"no plan {name!r}; the plans: {', '.join(known)}")


@cli.group()
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar=CONFIG_ENV,
    show_envvar=True,
    is_eager=True,
    expose_value=False,
    callback=load_config,
    help="TOML file of option values (precedence: flags > environment > file > defaults).",
)
@click.option(
    "--db",
    metavar="URL",
    envvar="DLMSKIT_HEADEND_DB",
    show_envvar=True,
    help="Database URL (default: a SQLite file in the user's data directory).",
)
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="DLMSKIT_KEY_FILE",
    show_envvar=True,
    help=f"Master key file (default: beside the default database); ${MASTER_KEY_ENV} takes precedence.",
)
@click.pass_context
def headend(ctx: click.Context, db: str | None, key_file: Path | None) -> None:
    """Read a fleet of meters from this machine: inventory, plans, schedules, storage.

    \b
    Examples:
      dlmskit simulate --fleet 100 --port 0 --inventory fleet.toml &
      dlmskit headend init
      dlmskit headend import fleet.toml
      dlmskit headend run daily --group fleet
      dlmskit headend status
    """
    ctx.obj = _Context(db, key_file)


@headend.command()
@click.pass_obj
def init(context: _Context) -> None:
    """Create the database (or bring its schema up to date) and a master key file."""
    store = Store(context.url, migrate=False)
    done = store.migrate()
    stdout.print(
        f"database {_shown(context.url)}: schema revision {store.revision()}"
        + (f" ({len(done)} migration(s))" if done else ""),
        soft_wrap=True,
    )
    if os.environ.get(MASTER_KEY_ENV):
        stdout.print(f"master key: from ${MASTER_KEY_ENV}")
    else:
        existed = context.key_file.exists()
        create_key_file(context.key_file)
        stdout.print(
            f"master key: {context.key_file}"
            + (" (kept)" if existed else " (new; keep a copy somewhere safe)")
        )
    store.close()


def _shown(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)


@headend.command()
@click.option(
    "--to", "to", default="head", show_default=True, help="The revision to go to (older: downgrade)."
)
@click.option("--list", "listing", is_flag=True, help="List the revisions and stop.")
@click.pass_obj
def migrate(context: _Context, to: str, listing: bool) -> None:
    """Bring the database's schema to a revision (Alembic; the newest by default) and print it."""
    from dlmskit.headend import migrations

    store = Store(context.url, migrate=False)
    try:
        if listing:
            current = store.revision()
            for revision, what in migrations.revisions():
                mark = "*" if revision == current else " "
                stdout.print(f"{mark} {revision}  {what}", highlight=False, soft_wrap=True)
            return
        before = store.revision()
        done = store.migrate(to)
        for line in done:
            stdout.print(line, highlight=False, soft_wrap=True)
        stdout.print(
            f"database {_shown(context.url)}: schema revision {store.revision()}"
            + (f" (was {before or 'empty'})" if done else " (nothing to do)"),
            soft_wrap=True,
        )
    finally:
        store.close()


class Age(click.ParamType):  # type: ignore[type-arg,unused-ignore]
    """An age: a number and a unit, ``90d``, ``12h``, ``30m``, ``45s``, ``2w`` (a bare number: days)."""

    name = "age"
    UNITS: ClassVar[dict[str, int]] = {
        "s": 1,
        "m": 60,
        "h": 3600,
        "d": 86400,
        "w": 7 * 86400,
        "y": 365 * 86400,
    }

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> _dt.timedelta:
        if isinstance(value, _dt.timedelta):
            return value
        text = str(value).strip().lower()
        unit = text[-1:] if text[-1:] in self.UNITS else "d"
        number = text[:-1] if text[-1:] in self.UNITS else text
        try:
            amount = float(number)
        except ValueError:
            self.fail(f"{value!r} is not an age: a number and s, m, h, d, w or y (90d, 12h, 2y)", param, ctx)
        if amount < 0:
            self.fail(f"{value!r}: an age is not negative", param, ctx)
        return _dt.timedelta(seconds=amount * self.UNITS[unit])


AGE = Age()


def _age(age: _dt.timedelta) -> str:
    days = age.total_seconds() / 86400
    return f"{days:g} day(s)" if days >= 1 else f"{age.total_seconds() / 3600:g} hour(s)"


_KINDS = {
    "readings": ("readings", "register readings", "captured", "each register's latest reading stays"),
    "profiles": ("profile_rows", "load profile rows", "captured", "each profile's newest row stays"),
    "events": ("events", "events", "captured", "each event log's newest entry stays"),
    "pushes": ("pushes", "pushes", "received", "each meter's latest push stays"),
    "quarantine": ("quarantine", "quarantined APDUs", "received", ""),
}
"""The kinds of stored rows aged out besides job records and frame traces: the option's word -> (the
PruneReport field, the rows in words, the time their age counts from, what stays)."""


def _kind_options(prefix: str, suffix: str, words: str) -> Callable[[Any], Any]:
    def decorate(function: Any) -> Any:
        for word, (_field, shown, when, stays) in reversed(_KINDS.items()):
            kept = f"; {stays}" if stays else ""
            function = click.option(
                f"--{prefix}{word}{suffix}",
                type=AGE,
                metavar="AGE",
                help=f"{words.format(shown=shown, when=when)}{kept}.",
            )(function)
        return function

    return decorate


def _report(report: PruneReport, ages: dict[str, _dt.timedelta | None], *, quiet: bool = False) -> list[str]:
    """One line for each kind given an age, in words (``quiet``: for each that lost rows only)."""
    lines = []
    for word, (field, shown, _when, _stays) in _KINDS.items():
        age, count = ages.get(word), getattr(report, field)
        if age is not None and (count or not quiet):
            lines.append(f"{count} {shown} older than {_age(age)} deleted")
    return lines


@headend.command()
@click.option(
    "--jobs-older-than",
    type=AGE,
    metavar="AGE",
    help="Delete the records (and frame traces) of jobs that finished longer ago than AGE (90d, 12h); "
    "each meter's latest job stays.",
)
@click.option("--traces-older-than", type=AGE, metavar="AGE", help="Delete frame traces older than AGE.")
@_kind_options("", "-older-than", "Delete the {shown} {when} longer ago than AGE")
@click.option("--batch", default=500, show_default=True, help="Rows deleted a transaction.")
@click.pass_obj
def prune(
    context: _Context,
    /,
    jobs_older_than: _dt.timedelta | None,
    traces_older_than: _dt.timedelta | None,
    batch: int,
    **older_than: _dt.timedelta | None,
) -> None:
    """Delete old job records, frame traces, readings, profile rows, events, pushes and quarantined APDUs,
    each kind after its own age, in small transactions (the head-end may keep running).

    Never deleted: what the next incremental read starts from (each meter's newest profile row and event log
    entry), each register's latest reading, each meter's latest push and job, keys, invocation counters and
    push counters.

    \b
    Example:
      dlmskit headend prune --jobs-older-than 90d --traces-older-than 30d --readings-older-than 2y \\
          --profiles-older-than 2y --events-older-than 5y --pushes-older-than 1y --quarantine-older-than 90d
    """
    ages = {name.removesuffix("_older_than"): age for name, age in older_than.items()}
    if jobs_older_than is None and traces_older_than is None and all(a is None for a in ages.values()):
        raise ConfigurationError(
            "say what to prune: --jobs-older-than AGE, --traces-older-than AGE, --readings-older-than AGE, "
            "--profiles-older-than AGE, --events-older-than AGE, --pushes-older-than AGE, "
            "--quarantine-older-than AGE (one or more)"
        )
    report = _prune(context.store, jobs_older_than, traces_older_than, ages, batch)
    if jobs_older_than is not None:
        stdout.print(f"{report.jobs} job record(s) older than {_age(jobs_older_than)} deleted")
    if traces_older_than is not None or report.frames:
        stdout.print(f"{report.frames} traced frame(s) deleted")
    for line in _report(report, ages):
        stdout.print(line)


def _prune(
    store: Store,
    jobs_age: _dt.timedelta | None,
    traces_age: _dt.timedelta | None,
    ages: dict[str, _dt.timedelta | None],
    batch: int = 500,
) -> PruneReport:
    """:meth:`Store.prune` with the ages by option word."""
    return store.prune(
        jobs_age,
        traces_age,
        readings_older_than=ages.get("readings"),
        profiles_older_than=ages.get("profiles"),
        events_older_than=ages.get("events"),
        pushes_older_than=ages.get("pushes"),
        quarantine_older_than=ages.get("quarantine"),
        batch=batch,
    )


@headend.group(name="keys")
def keys_group() -> None:
    """The key store's master key."""


@keys_group.command(name="rotate-master")
@click.option(
    "--new-key-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=f"The new master key (a file of 64 hex digits); without it: ${NEW_MASTER_KEY_ENV}.",
)
@click.option("--batch", default=500, show_default=True, help="Keys sealed again a transaction.")
@click.pass_obj
def rotate_master(context: _Context, /, new_key_file: Path | None, batch: int) -> None:
    """Seal every stored key again under a new master key, BATCH keys a transaction.

    The current master key comes as for every command (--key-file, or $DLMSKIT_MASTER_KEY). Every key is
    checked first: if one opens with neither the current nor the new master key, nothing changes. Stopped
    half-way (Ctrl-C, a crash), each key is whole under one master key or the other: run the same command
    again, with the same two keys, to seal the rest. Stop the head-end's processes first, and start them
    again with the new key only.

    \b
    Example:
      (umask 077; python3 -c 'import secrets; print(secrets.token_hex(32))' > new.key)
      dlmskit headend keys rotate-master --new-key-file new.key
      mv new.key ~/.local/share/dlmskit/headend.key
    """
    old = load_master_key(context.key_file)
    if new_key_file is not None:
        new = load_master_key(new_key_file, env=None)
    else:
        new = load_master_key(None, env=NEW_MASTER_KEY_ENV)
    if new.reveal() == old.reveal():
        raise ConfigurationError("the new master key is the current one: nothing to rotate")
    count = KeyStore(context.store, old).rotate_master(new, batch=batch)
    where = new_key_file if new_key_file is not None else f"${NEW_MASTER_KEY_ENV}"
    stdout.print(
        f"{count} key(s) sealed again under the new master key ({where}); every key is now under it and the "
        "old one opens none of them: give the head-end the new one from now on",
        soft_wrap=True,
    )


@headend.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def import_(context: _Context, file: Path) -> None:
    """Import templates, plans and meters from a TOML or CSV file (keys go to the key store, sealed)."""
    report = context.inventory().import_file(file)
    stdout.print(
        f"imported {report.meters} meter(s), {report.templates} template(s), {report.plans} plan(s), "
        f"{report.keys} key(s)"
    )


@headend.command()
@click.option("--group", help="Only the meters of this group.")
@click.pass_obj
def meters(context: _Context, group: str | None) -> None:
    """List the meters."""
    inventory = context.inventory(keys=False)
    table = Table(title="Meters", title_justify="left")
    for column in ("name", "template", "groups", "where"):
        table.add_column(column)
    found = inventory.meters(group)
    for meter in found:
        where = (
            meter.settings.get("device")
            or f"{meter.settings.get('host', '127.0.0.1')}:{meter.settings.get('port', 4059)}"
        )
        table.add_row(meter.name, meter.template or "-", ", ".join(meter.groups), str(where))
    stdout.print(table)
    stdout.print(f"{len(found)} meter(s)")


@headend.command()
@click.pass_obj
def templates(context: _Context) -> None:
    """List the templates and the plans."""
    inventory = context.inventory(keys=False)
    table = Table(title="Templates", title_justify="left")
    table.add_column("name")
    table.add_column("settings")
    for name, settings in inventory.templates().items():
        table.add_row(name, ", ".join(f"{k}={v}" for k, v in settings.items()))
    stdout.print(table)
    plans = Table(title="Plans", title_justify="left")
    plans.add_column("name")
    plans.add_column("what")
    bodies = {**{n: p.to_mapping() for n, p in BUILTIN_PLANS.items()}, **inventory.plan_bodies()}
    for name, body in bodies.items():
        plans.add_row(name, ", ".join(f"{k}={v}" for k, v in body.items() if v not in ((), [], None)))
    stdout.print(plans)


def _limits(options: dict[str, Any]) -> EngineLimits:
    return EngineLimits(
        max_sessions=options["max_sessions"],
        connections_per_second=options["rate"],
        retries=options["retries"],
        backoff=options["backoff"],
        backoff_max=options["backoff_max"],
        job_timeout=options["job_timeout"],
        lease_seconds=options["lease_seconds"],
    )


def _env(name: str) -> dict[str, Any]:
    return {"envvar": f"DLMSKIT_{name}", "show_envvar": True}


_LOOP_OPTION = click.option(
    "--loop",
    type=click.Choice(LOOP_CHOICES),
    default="auto",
    show_default=True,
    help="The event loop: uvloop (pip install dlmskit[fast]) spends less CPU a session; auto takes it when "
    "installed.",
    **_env("LOOP"),
)

_ENGINE_OPTIONS = [
    click.option(
        "--max-sessions",
        default=200,
        show_default=True,
        help="Concurrent sessions at most.",
        **_env("MAX_SESSIONS"),
    ),
    click.option(
        "--rate", default=100.0, show_default=True, help="New connections a second at most.", **_env("RATE")
    ),
    click.option(
        "--retries",
        default=2,
        show_default=True,
        help="Attempts after an unreachable meter or a timeout.",
        **_env("RETRIES"),
    ),
    click.option(
        "--backoff",
        default=1.0,
        show_default=True,
        help="Seconds before the first retry; doubled for each next one, with full jitter.",
        **_env("BACKOFF"),
    ),
    click.option(
        "--backoff-max",
        default=60.0,
        show_default=True,
        help="Longest wait before a retry.",
        **_env("BACKOFF_MAX"),
    ),
    click.option(
        "--job-timeout",
        default=120.0,
        show_default=True,
        help="Seconds one attempt may take.",
        **_env("JOB_TIMEOUT"),
    ),
    click.option(
        "--lease-seconds",
        default=60.0,
        show_default=True,
        help="A meter's lease; a crashed head-end's leases expire after this long.",
        **_env("LEASE_SECONDS"),
    ),
]


_TRACE_OPTION = click.option(
    "--trace-frames",
    type=click.Choice(TRACE_MODES),
    is_flag=False,
    flag_value="ciphered",
    default=None,
    help="Store every session's frames with its job (dlmskit headend trace JOB): as sent (ciphered, the "
    "default) or also decrypted (plaintext in the database: only when you need it).",
)


def _traced(plan: ReadPlan, trace_frames: str | None) -> ReadPlan:
    return dataclasses.replace(plan, trace_frames=trace_frames) if trace_frames else plan


async def _prune_traces(store: Store, days: float) -> None:
    while True:
        pruned = await asyncio.to_thread(prune_traces, store, days)
        if pruned:
            stdout.print(f"frame traces: {pruned} frame(s) older than {days:g} day(s) pruned")
        await asyncio.sleep(3600)


async def _prune_retention(store: Store, jobs_age: _dt.timedelta | None, ages: dict[str, Any]) -> None:
    while True:
        try:
            report = await asyncio.to_thread(_prune, store, jobs_age, None, ages)
        except Exception as error:  # a locked or unreachable database: next day again
            stdout.print(f"retention: pruning failed: {error}")
        else:
            if report.jobs and jobs_age is not None:
                stdout.print(
                    f"job records: {report.jobs} older than {_age(jobs_age)} pruned ({report.frames} frame(s))"
                )
            for line in _report(report, ages, quiet=True):
                stdout.print(f"retention: {line}")
        await asyncio.sleep(86400)


def _engine_options(function: Any) -> Any:
    for option in reversed(_ENGINE_OPTIONS):
        function = option(function)
    return function


def _summary(outcomes: list[JobOutcome]) -> None:
    counts = Counter(o.outcome for o in outcomes)
    table = Table(title="Outcomes", title_justify="left")
    table.add_column("outcome")
    table.add_column("meters", justify="right")
    table.add_column("example")
    for outcome, count in counts.most_common():
        example = next(o for o in outcomes if o.outcome == outcome)
        style = OUTCOME_STYLES.get(outcome, "red")
        table.add_row(f"[{style}]{outcome}[/]", str(count), f"{example.meter}: {example.reason[:100]}")
    stdout.print(table)
    stored = sum(o.report.stored for o in outcomes if o.report is not None)
    stdout.print(f"{len(outcomes)} meter(s), {stored} new row(s) stored")


@headend.command()
@click.argument("plan")
@click.option("--group", help="The meters of this group (default: every meter).")
@click.option("--meter", "names", multiple=True, help="This meter (repeatable).")
@_TRACE_OPTION
@_LOOP_OPTION
@_engine_options
@click.pass_obj
def run(
    context: _Context,
    /,
    plan: str,
    group: str | None,
    names: tuple[str, ...],
    trace_frames: str | None,
    loop: str,
    **engine_options: Any,
) -> None:
    """Run a read plan now over a group of meters, with a progress bar and a summary of the outcomes."""
    read_plan = _traced(context.plan(plan), trace_frames)
    inventory = context.inventory()
    chosen = [inventory.meter(n) for n in names] if names else inventory.meters(group)
    if not chosen:
        raise ConfigurationError("no meter to read: import an inventory, or check --group")
    engine = Engine(inventory, _limits(engine_options))
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stdout,
    ) as progress:
        task = progress.add_task(f"plan {read_plan.name}", total=len(chosen))
        outcomes = run_loop(
            engine.run(read_plan, chosen, progress=lambda _o: progress.advance(task)), loop=loop
        )
    _summary(outcomes)


@headend.command()
@click.option(
    "--schedule",
    "schedules",
    nargs=3,
    multiple=True,
    metavar="PLAN GROUP WHEN",
    help="Run PLAN over GROUP ('*': every meter) at WHEN (cron, e.g. '*/15 * * * *', or '@every 30s').",
)
@click.option(
    "--jitter", default=0.0, show_default=True, help="Spread each run's meters over this many seconds."
)
@click.option(
    "--rounds", type=int, help="Stop after this many runs of each schedule (default: run until Ctrl-C)."
)
@click.option("--metrics-port", type=int, help="Serve Prometheus metrics on this port (127.0.0.1).")
@click.option("--push-host", default="0.0.0.0", show_default=True, help="Where the push listener listens.")  # noqa: S104
@click.option("--push-tcp", type=int, help="Listen for pushes (wrapper/TCP) on this port.")
@click.option("--push-udp", type=int, help="Listen for pushes (wrapper/UDP) on this port.")
@click.option("--push-hdlc", type=int, help="Listen for pushes in HDLC UI frames (over TCP) on this port.")
@click.option(
    "--push-serial", metavar="DEVICE", help="Listen for pushes in HDLC UI frames on this serial port (8N1)."
)
@click.option(
    "--push-baudrate", default=9600, show_default=True, help="With --push-serial: the line's speed."
)
@click.option("--inbound", "inbound_port", type=int, help="Listen for inbound meters (TCP) on this port.")
@click.option("--inbound-host", default="0.0.0.0", show_default=True, help="Where meters call in.")  # noqa: S104
@click.option(
    "--inbound-plan", default="registers", show_default=True, help="The plan run on an inbound meter's call."
)
@_TRACE_OPTION
@click.option(
    "--keep-traces",
    type=float,
    metavar="DAYS",
    help="Prune frame traces older than DAYS (at start, then hourly).",
)
@click.option(
    "--retention",
    type=AGE,
    metavar="AGE",
    help="Delete job records older than AGE (90d), each meter's latest kept: at start, then daily.",
)
@_kind_options("retention-", "", "Delete the {shown} {when} longer ago than AGE, at start, then daily")
@_LOOP_OPTION
@_engine_options
@click.pass_obj
def serve(
    context: _Context,
    /,
    schedules: tuple[tuple[str, str, str], ...],
    jitter: float,
    rounds: int | None,
    metrics_port: int | None,
    push_host: str,
    push_tcp: int | None,
    push_udp: int | None,
    push_hdlc: int | None,
    push_serial: str | None,
    push_baudrate: int,
    inbound_port: int | None,
    inbound_host: str,
    inbound_plan: str,
    trace_frames: str | None,
    keep_traces: float | None,
    retention: _dt.timedelta | None,
    loop: str,
    **engine_options: Any,
) -> None:
    """Run plans on schedules, listen for pushes and for inbound meters, until Ctrl-C."""
    kept = {word: engine_options.pop(f"retention_{word}") for word in _KINDS}
    listening = any(p is not None for p in (push_tcp, push_udp, push_hdlc, push_serial))
    if not schedules and not listening and inbound_port is None:
        raise ConfigurationError(
            "give a --schedule PLAN GROUP WHEN, or --push-tcp/--push-udp/--push-hdlc/--push-serial, or --inbound PORT "
            "(or several)"
        )
    parsed = [
        Schedule(plan, None if group == "*" else group, when, jitter) for plan, group, when in schedules
    ]
    plans = {s.plan: _traced(context.plan(s.plan), trace_frames) for s in parsed}
    inventory = context.inventory()
    metrics = EngineMetrics()
    if metrics_port is not None:
        metrics.serve(metrics_port)
        stdout.print(f"metrics on http://127.0.0.1:{metrics_port}/metrics")
    engine = Engine(inventory, _limits(engine_options), metrics=metrics)

    async def run_one(schedule: Schedule, spread: float) -> None:
        chosen = await asyncio.to_thread(inventory.meters, schedule.group)
        started = _dt.datetime.now(_dt.timezone.utc).strftime("%H:%M:%S")
        outcomes = await engine.run(plans[schedule.plan], chosen, jitter=spread)
        counts = Counter(o.outcome for o in outcomes)
        stdout.print(
            f"{started} plan {schedule.plan} over {schedule.group or 'every meter'}: "
            + ", ".join(f"{k} {v}" for k, v in counts.most_common())
        )

    called = _traced(context.plan(inbound_plan), trace_frames) if inbound_port is not None else None

    async def main() -> None:
        listener: PushListener | None = None
        inbound: InboundListener | None = None
        pruner = asyncio.ensure_future(_prune_traces(context.store, keep_traces)) if keep_traces else None
        retained = retention is not None or any(age is not None for age in kept.values())
        retainer = (
            asyncio.ensure_future(_prune_retention(context.store, retention, kept)) if retained else None
        )
        if called is not None and inbound_port is not None:
            limits = _limits(engine_options)
            inbound = InboundListener(
                inventory, called, job_timeout=limits.job_timeout, lease_seconds=limits.lease_seconds
            )
            server = await inbound.start(inbound_host, inbound_port)
            found = getattr(server, "sockets", None)
            bound = found[0].getsockname()[1] if found else inbound_port
            stdout.print(f"inbound meters: TCP on {inbound_host}:{bound}, plan {called.name}")
        if listening:
            assert inventory.keystore is not None
            listener = PushListener(PushReceiver(context.store, inventory, inventory.keystore))
            if push_tcp is not None:
                await listener.start_tcp(push_host, push_tcp)
                stdout.print(f"pushes: wrapper/TCP on {push_host}:{push_tcp}")
            if push_udp is not None:
                await listener.start_udp(push_host, push_udp)
                stdout.print(f"pushes: wrapper/UDP on {push_host}:{push_udp}")
            if push_hdlc is not None:
                await listener.start_hdlc_tcp(push_host, push_hdlc)
                stdout.print(f"pushes: HDLC UI frames over TCP on {push_host}:{push_hdlc}")
            if push_serial is not None:
                await listener.start_serial(push_serial, push_baudrate)
                stdout.print(f"pushes: HDLC UI frames on {push_serial} ({push_baudrate} baud, 8N1)")
        try:
            if parsed:
                await run_schedules(parsed, run_one, rounds=rounds)
            else:
                await asyncio.Event().wait()
        finally:
            if pruner is not None:
                pruner.cancel()
            if retainer is not None:
                retainer.cancel()
            if inbound is not None:
                await inbound.close()
                done = inbound.stats
                stdout.print(
                    f"inbound: {done.connections} calls, {done.identified} identified, {done.unknown} unknown"
                )
            if listener is not None:
                await listener.close()
                stats = listener.stats
                stdout.print(f"pushes: {stats.stored} stored, {stats.quarantined} quarantined")

    stdout.print(f"serving {len(parsed)} schedule(s); press Ctrl-C to stop")
    with contextlib.suppress(KeyboardInterrupt):
        run_loop(main(), loop=loop)


@headend.command()
@click.pass_obj
def status(context: _Context) -> None:
    """Meters, stored rows and the outcomes of the jobs so far."""
    store = context.store
    inventory = context.inventory(keys=False)
    stdout.print(f"database {_shown(context.url)} (schema revision {store.revision()})")
    stdout.print(
        f"{len(inventory.meters())} meter(s); {store.count(readings)} reading(s), {store.count(profile_rows)} "
        f"profile row(s), {store.count(events)} event(s), {store.count(jobs)} job(s), {store.count(pushes)} "
        f"push(es), {store.count(quarantine)} quarantined"
    )
    counts = store.outcome_counts()
    if counts:
        table = Table(title="Job outcomes", title_justify="left")
        table.add_column("outcome")
        table.add_column("jobs", justify="right")
        for outcome, count in sorted(counts.items(), key=lambda item: -item[1]):
            table.add_row(f"[{OUTCOME_STYLES.get(outcome, 'red')}]{outcome}[/]", str(count))
        stdout.print(table)


@headend.command()
@click.argument("what", type=click.Choice([*EXPORTS, "inventory"]))
@click.option(
    "--format", "form", type=click.Choice(["csv", "toml", "parquet"]), default="csv", show_default=True
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout)."
)
@click.option("--meter", help="Only this meter's rows.")
@click.pass_obj
def export(context: _Context, what: str, form: str, output: Path | None, meter: str | None) -> None:
    """Export stored rows as CSV or Parquet (typed columns; the parquet extra), or the inventory as TOML or
    CSV (never with keys)."""
    if what == "inventory":
        if form == "parquet":
            raise ConfigurationError("the inventory exports as toml or csv")
        inventory = context.inventory(keys=False)
        text = inventory.export_toml() if form == "toml" else inventory.export_csv()
    elif form == "parquet":
        if output is None:
            raise ConfigurationError("a Parquet export goes to a file: give -o FILE.parquet")
        count = export_parquet(context.store, what, output, meter)
        stdout.print(f"{count} row(s) written to {output}")
        return
    else:
        if form != "csv":
            raise ConfigurationError(f"{what} export as csv or parquet")
        out = io.StringIO()
        export_csv(context.store, what, out, meter)
        text = out.getvalue()
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        stdout.print(f"written to {output}")


@headend.command()
@click.argument("job", type=int)
@click.option(
    "--decrypt",
    is_flag=True,
    help="Decipher the frames on screen with the meter's keys from the key store (today's keys; nothing stored).",
)
@click.pass_obj
def trace(context: _Context, job: int, decrypt: bool) -> None:
    """Show the frames stored for a job (run with --trace-frames), decoded by the translator."""
    store = context.store
    with store.engine.connect() as connection:
        found = connection.execute(sa.select(jobs).where(jobs.c.id == job)).mappings().first()
    if found is None:
        raise ConfigurationError(f"no job {job}")
    stdout.print(
        f"job {job}: meter {found['meter']}, plan {found['plan']}, {found['started_at']} - {found['finished_at']}, "
        f"{found['outcome']}: {found['reason']}",
        highlight=False,
        soft_wrap=True,
        markup=False,
    )
    rows = store.frame_traces_of(job)
    if not rows:
        stdout.print(
            "no frames stored for this job (run its plan with --trace-frames, or trace_frames in the plan)"
        )
        return
    settings = None
    if decrypt:
        inventory = context.inventory()
        settings = make_settings(
            inventory.settings_of(inventory.meter(str(found["meter"])), inventory.templates())
        )
    for line in render_trace(rows, settings):
        stdout.print(line, highlight=False, soft_wrap=True, markup=False)


@headend.command()
@click.argument("meter")
@click.argument("kind", type=click.Choice(["disconnect", "reconnect", "token"]))
@click.argument("argument", required=False)
@click.pass_obj
def command(context: _Context, meter: str, kind: str, argument: str | None) -> None:
    """Queue a relay or token command for the meter's next job (its outcome is recorded)."""
    context.inventory(keys=False).meter(meter)
    if kind == "token" and not argument:
        raise ConfigurationError("a token command needs the token (20 digits)")
    number = context.store.queue_command(meter, kind, argument)
    stdout.print(f"command {number} queued for {meter}: {kind}")


@headend.command()
@click.option("--meter", "meter_names", multiple=True, help="Only this meter (repeatable).")
@click.option(
    "--advance",
    type=click.IntRange(min=1),
    metavar="N",
    help="Move the counters on by N (after a restore from a backup or a failover to an asynchronous standby).",
)
@click.option(
    "--push",
    "push_side",
    is_flag=True,
    help="The meters' push counters instead: the last one accepted per meter and key (read only).",
)
@click.pass_obj
def counters(context: _Context, meter_names: tuple[str, ...], advance: int | None, push_side: bool) -> None:
    """The head-end's own invocation counters: the next one free per meter, own system title and key.

    \b
    With --advance N every counter (or those of --meter) moves on by N, never back: run it after the database
    was restored from a backup or failed over to an asynchronous standby, before any head-end process
    starts, with N above the counters used since (sessions times 32 is a safe bound). A counter used twice
    is refused by the meter and gives an eavesdropper two ciphertexts under one nonce.

    \b
    With --push: the last invocation counter accepted from each meter's pushes, per key kind (global-unicast,
    global-broadcast, dedicated, kek) and key id (a fingerprint that tells keys apart and never shows the key; v<N>: kept from
    before revision 0007). A push is stored only with a counter above its key's.
    """
    store = context.store
    names = list(meter_names) or None
    if push_side:
        if advance is not None:
            raise click.UsageError(
                "--advance moves the head-end's own counters, not the meters' push counters"
            )
        _push_counters(store, names)
        return
    if advance is not None:
        moved = advance_counters(store, advance, names)
        stdout.print(f"moved {moved} counter(s) on by {advance}")
    with store.engine.connect() as connection:
        query = sa.select(counter_table).order_by(counter_table.c.meter, counter_table.c.key_id)
        if names is not None:
            query = query.where(counter_table.c.meter.in_(names))
        rows = connection.execute(query).all()
    table = Table(title="Invocation counters (next free)", title_justify="left")
    for column in ("meter", "own system title", "key", "next free"):
        table.add_column(column, justify="right" if column == "next free" else "left")
    for row in rows:
        table.add_row(str(row.meter), str(row.system_title), str(row.key_id), str(row.next_free))
    stdout.print(table if rows else "no invocation counters stored yet")


def _push_counters(store: Store, names: list[str] | None) -> None:
    with store.engine.connect() as connection:
        query = sa.select(push_counter_table).order_by(
            push_counter_table.c.meter, push_counter_table.c.key_kind, push_counter_table.c.key_id
        )
        if names is not None:
            query = query.where(push_counter_table.c.meter.in_(names))
        rows = connection.execute(query).all()
    table = Table(title="Push invocation counters (last accepted)", title_justify="left")
    for column in ("meter", "key", "key id", "last accepted"):
        table.add_column(column, justify="right" if column == "last accepted" else "left")
    for row in rows:
        table.add_row(str(row.meter), str(row.key_kind), str(row.key_id), str(row.last))
    stdout.print(table if rows else "no push counters stored yet")


REDIS_CONNECTIONS = 64
"""Connections to Redis of one worker or scheduler process at most; a command waits for a free one."""


def _redis_client(url: str, connections: int = REDIS_CONNECTIONS) -> Any:
    """A client whose commands wait for one of ``connections`` connections. redis-py's default pool raises
    ``MaxConnectionsError`` beyond 100 commands at once, which a worker with ``--max-sessions`` above about
    100 reaches (its main loop then ends with it)."""
    try:
        import redis.asyncio as aioredis
    except ImportError as error:  # pragma: no cover - the redis extra
        raise ConfigurationError(
            "workers on Redis need the redis package: pip install 'dlmskit[redis]'"
        ) from error
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff

    # Timeouts: a connection that went silent (a partition, a server gone) fails a call instead of holding
    # it forever (30 s is well above the worker's XREADGROUP BLOCK of 1 s). Two quick retries of a call
    # (a pooled connection the server closed); a longer outage is the worker's and the scheduler's to wait
    # out, with backoff and a log line.
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=connections,
        timeout=None,
        socket_connect_timeout=5,
        socket_timeout=30,
        socket_keepalive=True,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.1), 2),
    )
    return aioredis.Redis.from_pool(pool)


def _dump_tasks() -> None:
    """SIGUSR1: every asyncio task's stack and every thread's, on stderr (a process that does not stop)."""
    import faulthandler
    import sys

    tasks = asyncio.all_tasks()
    print(f"--- {len(tasks)} asyncio task(s) ---", file=sys.stderr)
    for task in tasks:
        print(f"{task.get_name()}:", file=sys.stderr)
        awaited: Any = task.get_coro()
        while awaited is not None:  # down the chain of awaits, to what the task waits for
            frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
            if frame is None:
                print(f"  waiting for {awaited!r}", file=sys.stderr)
                break
            print(f"  {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}", file=sys.stderr)
            awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    print("--- threads ---", file=sys.stderr, flush=True)
    faulthandler.dump_traceback(all_threads=True)
    sys.stderr.flush()


def _until_terminated(
    main: Callable[[asyncio.Event], Awaitable[None]], level: str = "info", loop: str = "auto"
) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(number, stop.set)
        loop.add_signal_handler(signal.SIGUSR1, _dump_tasks)
        await main(stop)

    run_loop(runner(), loop=loop)


_REDIS_OPTION = click.option(
    "--redis",
    "redis_url",
    envvar="DLMSKIT_REDIS_URL",
    show_envvar=True,
    default="redis://127.0.0.1:6379/0",
    show_default=True,
    help="Redis URL of the job queue and leases.",
)
_DB_OPTION = click.option(
    "--db", "db_url", envvar="DLMSKIT_HEADEND_DB", show_envvar=True, metavar="URL", help="Database URL."
)
_SHOW_CONFIG = click.option(
    "--show-config", is_flag=True, help="Print the effective configuration (passwords masked) and stop."
)
_LOG_LEVEL = click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    **_env("LOG_LEVEL"),
)


def _shown_config() -> None:
    for line in show_config(click.get_current_context()):
        stdout.print(line, markup=False, highlight=False, soft_wrap=True)


def _metrics_options(function: Any) -> Any:
    function = click.option(
        "--metrics-host",
        default="127.0.0.1",
        show_default=True,
        help="Where the metrics are served (0.0.0.0: every interface).",
        **_env("METRICS_HOST"),
    )(function)
    return click.option(
        "--metrics-port", type=int, help="Serve Prometheus metrics on this port.", **_env("METRICS_PORT")
    )(function)


def _queue_metrics(port: int | None, host: str) -> QueueMetrics:
    metrics = QueueMetrics()
    if port is not None:
        metrics.serve(port, host)
        stdout.print(f"metrics on http://{host}:{port}/metrics")
    return metrics


@headend.command()
@_REDIS_OPTION
@_DB_OPTION
@click.option("--name", help="This worker's consumer name (default: host:pid:random).", **_env("WORKER_NAME"))
@click.option(
    "--fence-seconds",
    type=click.FloatRange(min=1),
    default=FENCE_SECONDS,
    show_default=True,
    help="Expiry of a meter's fencing-token key in Redis after its last lease (far above --lease-seconds; "
    "the database's fences table is the guard against stale writers).",
    **_env("FENCE_SECONDS"),
)
@_TRACE_OPTION
@_metrics_options
@_LOOP_OPTION
@_engine_options
@_LOG_LEVEL
@_SHOW_CONFIG
@click.pass_obj
def worker(
    context: _Context,
    /,
    redis_url: str,
    db_url: str | None,
    name: str | None,
    fence_seconds: float,
    trace_frames: str | None,
    metrics_port: int | None,
    metrics_host: str,
    loop: str,
    log_level: str,
    show_config: bool,
    **engine_options: Any,
) -> None:
    """Run jobs from the queue on Redis (many sessions in one asyncio loop) until SIGTERM or Ctrl-C.

    Every option may also come from its environment variable or a TOML file (dlmskit headend --config).
    """
    from dlmskit.headend.worker import Worker

    if show_config:
        _shown_config()
        return
    if db_url:
        context.url = db_url
    inventory = context.inventory()
    metrics = _queue_metrics(metrics_port, metrics_host)

    async def main(stop: asyncio.Event) -> None:
        redis = _redis_client(redis_url)
        try:
            found = Worker(
                inventory,
                redis,
                _limits(engine_options),
                name=name,
                metrics=metrics,
                trace_frames=trace_frames,
            )
            found.leases.fence_seconds = fence_seconds
            stdout.print(f"worker {found.name}: queue {found.queue.stream} on {redis_url}")
            await found.run(stop)
            stats = found.stats
            stdout.print(
                f"worker {found.name}: {stats.done} jobs done, {stats.reclaimed} taken over, "
                f"{stats.stale} stale, {stats.busy} busy, {stats.dropped} dropped"
            )
        finally:
            await redis.aclose()

    _until_terminated(main, log_level, loop)


@headend.command()
@_REDIS_OPTION
@_DB_OPTION
@click.option(
    "--schedule",
    "schedules",
    cls=ScheduleOption,
    nargs=3,
    multiple=True,
    required=True,
    metavar="PLAN GROUP WHEN",
    help="Append PLAN's jobs for GROUP ('*': every meter) at WHEN (cron, or '@every 30s'); from the "
    "environment: 'PLAN GROUP WHEN; PLAN GROUP WHEN'.",
    **_env("SCHEDULES"),
)
@click.option(
    "--lock-seconds",
    default=10.0,
    show_default=True,
    help="Expiry of the scheduler lock.",
    **_env("LOCK_SECONDS"),
)
@click.option(
    "--trim-every",
    default=60.0,
    show_default=True,
    help="Seconds between trims of the job stream by the active scheduler (acknowledged entries removed).",
    **_env("TRIM_EVERY"),
)
@click.option(
    "--catch-up",
    type=click.IntRange(min=1),
    default=None,
    help="Missed rounds of a schedule appended at most, the latest (default: what a takeover spans, "
    "ceil(3 x lock-seconds / period) + 1, at least 2); older missed rounds are skipped and logged.",
    **_env("CATCH_UP"),
)
@click.option(
    "--name", help="This scheduler's name in the lock (default: host:pid:random).", **_env("SCHEDULER_NAME")
)
@_metrics_options
@_LOG_LEVEL
@_SHOW_CONFIG
@click.pass_obj
def scheduler(
    context: _Context,
    /,
    redis_url: str,
    db_url: str | None,
    schedules: tuple[tuple[str, str, str], ...],
    lock_seconds: float,
    trim_every: float,
    catch_up: int | None,
    name: str | None,
    metrics_port: int | None,
    metrics_host: str,
    log_level: str,
    show_config: bool,
) -> None:
    """Append due jobs to the queue on Redis; one scheduler is active, others stand by (until SIGTERM).

    Every option may also come from its environment variable or a TOML file (dlmskit headend --config).
    """
    from dlmskit.headend.scheduler import Scheduler

    if show_config:
        _shown_config()
        return
    if db_url:
        context.url = db_url
    parsed = [Schedule(plan, None if group == "*" else group, when) for plan, group, when in schedules]
    for item in parsed:
        context.plan(item.plan)
    inventory = context.inventory(keys=False)
    metrics = _queue_metrics(metrics_port, metrics_host)

    async def main(stop: asyncio.Event) -> None:
        redis = _redis_client(redis_url)
        try:
            found = Scheduler(
                redis,
                inventory,
                parsed,
                owner=name,
                lock_seconds=lock_seconds,
                metrics=metrics,
                trim_every=trim_every,
                catch_up=catch_up,
            )
            stdout.print(f"scheduler {found.owner}: {len(parsed)} schedule(s) on {redis_url}")
            await found.run(stop, tick=min(1.0, lock_seconds / 3))
        finally:
            await redis.aclose()

    _until_terminated(main)
