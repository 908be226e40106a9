"""The fleet part of ``dlmskit demo``: a head-end reads a small simulated fleet, some of it failing on purpose.

:class:`DemoFleet` starts ``dlmskit simulate --fleet`` as a process of its own (so that the CPU figure is the
head-end's alone) as soon as the demo starts, so the fleet is up by the time the single-meter steps are done.
:func:`read_fleet` imports its inventory into a head-end database in a temporary directory (SQLite; the keys
sealed under a master key made for the run and never shown), runs the built-in ``registers`` plan over the
group with :class:`~dlmskit.headend.Engine`, and prints the outcomes with their reasons in words, a few stored
readings and the throughput. Nothing it prints holds a key or a plaintext APDU.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import click
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from dlmskit.codec.obis import Obis, describe
from dlmskit.headend import BUILTIN_PLANS, Engine, EngineLimits, Inventory, JobOutcome, KeyStore, Store
from dlmskit.headend.store import readings
from dlmskit.security.keys import SecretBytes
from dlmskit.transport import eventloop

__all__ = ["DemoFleet", "read_fleet"]

FLEET_SIZE = 30
FLEET_SEED = 14
_STYLES = {"ok": "green", "unreachable": "red", "security": "red", "timeout": "red", "refused": "red"}
_PLANTED = {
    "unreachable": "nothing listens on its port",
    "faulty": "the head-end's inventory holds other keys than the meter's (a failed key change)",
}


class DemoFleet:
    """``dlmskit simulate --fleet`` in a process of its own: one meter unreachable, one with other keys."""

    def __init__(self, directory: Path, link: str, count: int = FLEET_SIZE) -> None:
        self.count = count
        self.inventory = directory / "fleet.toml"
        self.log = directory / "fleet.log"
        share = repr(1 / count)  # one meter of each kind
        with self.log.open("wb") as log:  # the child has its own copy of the descriptor
            self.process = subprocess.Popen(  # noqa: S603 - this interpreter, arguments of our own
                [
                    sys.executable,
                    "-m",
                    "dlmskit",
                    "simulate",
                    "--fleet",
                    str(count),
                    "--port",
                    "0",
                    "--host",
                    "127.0.0.1",
                    "--transport",
                    link,
                    "--seed",
                    str(FLEET_SEED),
                    "--unreachable",
                    share,
                    "--faulty",
                    share,
                    "--inventory",
                    str(self.inventory),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def ready(self, timeout: float = 60.0) -> Path:
        """The inventory file, once the fleet serves (it is written after every meter listens)."""
        deadline = time.monotonic() + timeout
        while not self.inventory.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                told = self.log.read_text("utf-8", "replace").strip()
                raise click.ClickException(f"the fleet simulator did not start: {told[-500:]}")
            time.sleep(0.02)
        return self.inventory

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _behaviours(inventory_file: Path) -> dict[str, str]:
    """Meter name -> how it was made to misbehave, from the comments the fleet simulator writes."""
    text = inventory_file.read_text(encoding="utf-8")
    names = re.findall(r'^name = "([^"]+)"', text, re.M)
    behaviours = re.findall(r"^# behaviour: (\w+)", text, re.M)
    return dict(zip(names, behaviours, strict=False))


def read_fleet(console: Console, fleet: DemoFleet, directory: Path, ok: Callable[[str], None]) -> None:
    """Import the fleet into a fresh head-end database, read it once and print what happened."""
    inventory_file = fleet.ready()
    store = Store(f"sqlite:///{directory / 'headend.sqlite'}")
    try:
        # The meters' keys are sealed under this master key; it lives in this process only.
        inventory = Inventory(store, KeyStore(store, SecretBytes(os.urandom(32))))
        report = inventory.import_file(inventory_file)
        meters = inventory.meters("fleet")
        ok(
            f"{report.meters} meters imported into a head-end database (SQLite, in a temporary directory), "
            f"{report.keys} keys sealed under a master key made for this run (not shown)"
        )
        planted = sorted((n, b) for n, b in _behaviours(inventory_file).items() if b != "ok")
        for name, behaviour in planted:
            console.print(
                f"  [yellow]![/] made to fail on purpose: {name}: {_PLANTED.get(behaviour, behaviour)}"
            )
        plan = BUILTIN_PLANS["registers"]
        engine = Engine(
            inventory, EngineLimits(max_sessions=50, connections_per_second=1000, retries=1, backoff=0.05)
        )
        cpu, wall = time.process_time(), time.perf_counter()
        outcomes = eventloop.run(engine.run(plan, meters))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        ok(
            f"plan {plan.name} ({', '.join(plan.registers)} and the clock, HLS-GMAC authenticated and "
            f"encrypted, up to {engine.limits.max_sessions} sessions at once) run over the group"
        )
        _outcomes(console, outcomes)
        _readings(console, store)
        ok(
            f"{len(outcomes)} sessions in {wall:.2f} s: {len(outcomes) / wall:.0f} sessions/second, "
            f"{cpu / len(outcomes) * 1000:.1f} ms CPU per session in this process (the meters run in "
            "their own; a loopback fleet answers at once, real meters take seconds)"
        )
    finally:
        store.close()


def _outcomes(console: Console, outcomes: list[JobOutcome]) -> None:
    counts = Counter(o.outcome for o in outcomes)
    table = Table(title="Outcomes", title_justify="left")
    table.add_column("outcome")
    table.add_column("meters", justify="right")
    table.add_column("why (an example)")
    for outcome, count in counts.most_common():
        example = next(o for o in outcomes if o.outcome == outcome)
        why = "read and stored" if outcome == "ok" else f"{example.meter}: {_in_short(example.reason)}"
        if example.attempts > 1:
            why += f" (after {example.attempts} attempts)"
        table.add_row(f"[{_STYLES.get(outcome, 'red')}]{outcome}[/]", str(count), why)
    console.print(table)


def _in_short(reason: str) -> str:
    """A job's reason without the long tail of its hint (the first piece of advice is kept)."""
    said, _, hint = reason.partition(" Hint: ")
    return f"{said} Hint: {hint.split(';')[0]}" if hint else said


def _readings(console: Console, store: Store) -> None:
    query = (
        sa.select(readings.c.meter, readings.c.logical_name, readings.c.value, readings.c.unit)
        .order_by(readings.c.meter, readings.c.logical_name)
        .limit(4)
    )
    with store.engine.connect() as connection:
        rows = connection.execute(query).all()
        total = connection.execute(sa.select(sa.func.count()).select_from(readings)).scalar_one()
    table = Table(title=f"Stored readings (4 of {total})", title_justify="left")
    for column in ("meter", "register", "value"):
        table.add_column(column)
    for meter, logical_name, value, unit in rows:
        table.add_row(str(meter), describe(Obis.parse(str(logical_name))), f"{value} {unit or ''}".rstrip())
    console.print(table)
