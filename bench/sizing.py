"""The sizing model of docs/deployment.md: 10 million meters read every 15 minutes, from measured per-read costs.

``python -m bench.sizing [--results bench/results/workers.json]`` reads the figures that ``python -m
bench.workers`` measured on this machine (CPU per read of the workers, Redis and PostgreSQL; Redis commands,
PostgreSQL transactions, rows and WAL bytes per read; the size of a stream entry, of a meter's keys and of a
stored row; the bytes and messages of one HLS-GMAC session on the wire) and works out what a fleet needs:
worker cores and processes, sessions open at once (Little's law: concurrency = rate x session time), Redis
operations and memory, PostgreSQL CPU, transactions, rows, WAL and disk per day and month, connections, and
the network. Every assumption is printed with the result; the Markdown goes into docs/deployment.md as is.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "workers.json"

TCP_IP_HEADER = 52
"""Bytes of IPv4 (20) and TCP (20, plus 12 of timestamps) headers on every segment."""
REDIS_CONNECTIONS_PER_PROCESS = 64
"""A worker's connections to Redis at most (``dlmskit.cli.commands.headend.REDIS_CONNECTIONS``)."""
TCP_OPEN_CLOSE_SEGMENTS = 7
"""SYN, SYN-ACK, ACK to open; FIN, ACK, FIN, ACK to close."""


@dataclass(frozen=True)
class Assumptions:
    """What the model takes as given; each is printed beside the result."""

    meters: int = field(default=10_000_000, metadata={"help": "meters in the fleet"})
    interval_minutes: float = field(
        default=15.0, metadata={"help": "each meter read once every so many minutes"}
    )
    peak_factor: float = field(
        default=1.5,
        metadata={
            "help": "design rate over the mean: a round bunched at its start, catch-up after an outage"
        },
    )
    utilisation: float = field(
        default=0.7, metadata={"help": "share of a core planned to be busy (headroom for bursts, GC, the OS)"}
    )
    rtt_s: float = field(
        default=1.0, metadata={"help": "a GPRS/3G round trip to a meter, its processing included (seconds)"}
    )
    session_kib: float = field(
        default=0.0,
        metadata={
            "help": "memory of an open session in a worker; 0: as measured (peak RSS less idle RSS over "
            "--max-sessions), 60 when the results do not say"
        },
    )
    worker_cores: int = field(
        default=1, metadata={"help": "cores one worker process uses (one asyncio loop; store calls brief)"}
    )
    retention_days: float = field(
        default=30.0,
        metadata={"help": "days readings and job records stay in PostgreSQL (then exported, dropped)"},
    )
    rounds_in_stream: float = field(
        default=2.0,
        metadata={"help": "rounds of jobs kept in the Redis stream (trimmed to the oldest pending)"},
    )
    connections_per_worker: int = field(
        default=0, metadata={"help": "PostgreSQL connections of one worker process; 0: as measured"}
    )

    @property
    def reads_per_hour(self) -> float:
        return self.meters * 60 / self.interval_minutes

    @property
    def mean_rate(self) -> float:
        return self.reads_per_hour / 3600

    @property
    def design_rate(self) -> float:
        return self.mean_rate * self.peak_factor


@dataclass(frozen=True)
class Measured:
    """The per-read costs taken from one results file (the most costly of its runs, to be safe)."""

    worker_cpu_ms: float
    redis_cpu_ms: float
    postgres_cpu_ms: float
    redis_commands: float
    postgres_transactions: float
    wal_bytes: float
    readings_per_read: float
    reading_row_bytes: float
    job_row_bytes: float
    stream_entry_bytes: float
    fence_key_bytes: float
    lease_key_bytes: float
    exchanges: float
    bytes_up: float
    bytes_down: float
    writes_up: float
    writes_down: float
    connections_per_worker: float
    session_kib: float
    best_reads_per_hour: float
    best_workers: int
    load_average: float


def measured(results: dict[str, Any]) -> Measured:
    """The per-read costs of a ``bench.workers`` results document."""
    runs = [r for r in results["runs"] if r["ok"] > 0]
    if not runs:
        raise SystemExit("the results hold no run with a successful read")
    wire = max(runs, key=lambda r: r["wire"]["connections"])["wire"]
    sessions = max(int(wire["connections"]), 1)
    tables = results["tables"]
    best = max(runs, key=lambda r: r["reads_per_hour"])
    return Measured(
        worker_cpu_ms=max(r["worker_cpu_ms_per_read"] for r in runs),
        redis_cpu_ms=max(r["redis_cpu_ms_per_read"] for r in runs),
        postgres_cpu_ms=max(r["postgres_cpu_ms_per_read"] for r in runs),
        redis_commands=max(r["redis_commands_per_read"] for r in runs),
        postgres_transactions=max(r["postgres_transactions_per_read"] for r in runs),
        wal_bytes=max(r["postgres_wal_bytes_per_read"] for r in runs),
        readings_per_read=max(r["postgres_new_readings"] / r["ok"] for r in runs),
        reading_row_bytes=float(tables["readings"]["bytes_per_row"]),
        job_row_bytes=float(tables["jobs"]["bytes_per_row"]),
        stream_entry_bytes=max(r["redis_stream_bytes_per_entry"] for r in runs),
        fence_key_bytes=max(r["redis_fence_key_bytes"] for r in runs),
        lease_key_bytes=max(r["redis_lease_key_bytes"] for r in runs),
        exchanges=wire["writes_up"] / sessions,
        bytes_up=wire["bytes_up"] / sessions,
        bytes_down=wire["bytes_down"] / sessions,
        writes_up=wire["writes_up"] / sessions,
        writes_down=wire["writes_down"] / sessions,
        connections_per_worker=max(r["postgres_client_connections_max"] / r["workers"] for r in runs),
        session_kib=_session_kib(runs, results.get("settings", {})),
        best_reads_per_hour=best["reads_per_hour"],
        best_workers=int(best["workers"]),
        load_average=max(max(r["load_average_before"][0], r["load_average_after"][0]) for r in runs),
    )


def _session_kib(runs: list[dict[str, Any]], settings: dict[str, Any]) -> float:
    """Peak RSS less idle RSS over the sessions a worker may hold, the largest of the workers (60 unknown)."""
    sessions = settings.get("max_sessions_per_worker")
    found = [
        (peak - idle) * 1024 / sessions
        for run in runs
        for peak, idle in zip(run["peak_rss_mib"], run.get("idle_rss_mib", []), strict=False)
        if sessions and peak is not None and idle is not None
    ]
    return max(found, default=60.0)


@dataclass(frozen=True)
class Line:
    """One figure of the model: what, how much, and how it was worked out."""

    part: str
    what: str
    value: float
    unit: str
    how: str


def model(found: Measured, given: Assumptions) -> list[Line]:
    """The figures for ``given.meters`` read every ``given.interval_minutes``."""
    rate = given.design_rate
    day = given.mean_rate * 86_400
    lines: list[Line] = []

    def add(part: str, what: str, value: float, unit: str, how: str) -> float:
        lines.append(Line(part, what, value, unit, how))
        return value

    add("load", "reads per hour", given.reads_per_hour, "reads/h", "meters x 60 / interval")
    add("load", "mean rate", given.mean_rate, "reads/s", "reads per hour / 3600")
    add("load", "design rate", rate, "reads/s", f"mean x peak factor {given.peak_factor:g}")
    # Workers
    cores = add(
        "workers",
        "worker CPU",
        rate * found.worker_cpu_ms / 1000 / given.utilisation,
        "cores",
        f"design rate x {found.worker_cpu_ms:.2f} ms/read / utilisation {given.utilisation:g}",
    )
    processes = add(
        "workers",
        "worker processes",
        math.ceil(cores / given.worker_cores),
        "processes",
        f"worker cores / {given.worker_cores} core a process (one asyncio loop each)",
    )
    session = add(
        "workers",
        "session time in the field",
        (found.exchanges + 1) * given.rtt_s,
        "s",
        f"({found.exchanges:.1f} request/answer exchanges + TCP connect) x RTT {given.rtt_s:g} s",
    )
    concurrency = add(
        "workers",
        "sessions open at once",
        rate * session,
        "sessions",
        "Little's law: design rate x session time",
    )
    per_process = add(
        "workers",
        "sessions per worker process (--max-sessions)",
        math.ceil(concurrency / processes),
        "sessions",
        "sessions open at once / worker processes",
    )
    session_kib = given.session_kib or found.session_kib
    add(
        "workers",
        "session memory per worker process",
        per_process * session_kib / 1024,
        "MiB",
        f"sessions per process x {session_kib:.0f} KiB",
    )
    # Redis
    add(
        "redis",
        "commands",
        rate * found.redis_commands,
        "ops/s",
        f"design rate x {found.redis_commands:.1f} commands/read (XADD, XREADGROUP, lease scripts, XPENDING, XACK)",
    )
    redis_cores = add(
        "redis",
        "Redis CPU",
        rate * found.redis_cpu_ms / 1000 / given.utilisation,
        "cores",
        f"design rate x {found.redis_cpu_ms:.2f} ms/read / utilisation {given.utilisation:g}; "
        "one Redis server uses one core",
    )
    ceiling = add(
        "redis",
        "reads one Redis server carries",
        given.utilisation / found.redis_cpu_ms * 1000,
        "reads/s",
        f"utilisation {given.utilisation:g} / {found.redis_cpu_ms:.2f} ms/read (one queue: the head-end's ceiling today)",
    )
    add(
        "redis",
        "meters one Redis server carries",
        ceiling * 3600 * given.interval_minutes / 60 / given.peak_factor,
        "meters",
        f"reads/s x seconds of an interval / peak factor {given.peak_factor:g}",
    )
    add(
        "redis",
        "Redis servers (one queue each)",
        max(1, math.ceil(redis_cores)),
        "servers",
        "Redis CPU / 1 core (several queues: not built yet, docs/deployment.md)",
    )
    stream = given.meters * given.rounds_in_stream * found.stream_entry_bytes
    fences = given.meters * found.fence_key_bytes
    leases = concurrency * found.lease_key_bytes
    add(
        "redis",
        "stream entries kept",
        stream / 2**30,
        "GiB",
        f"{given.rounds_in_stream:g} rounds x meters x {found.stream_entry_bytes:.0f} B/entry",
    )
    add(
        "redis", "fencing tokens", fences / 2**30, "GiB", f"meters x {found.fence_key_bytes:.0f} B/key (kept)"
    )
    add("redis", "leases", leases / 2**30, "GiB", f"sessions open x {found.lease_key_bytes:.0f} B/key")
    add(
        "redis",
        "Redis client connections",
        processes * REDIS_CONNECTIONS_PER_PROCESS,
        "connections",
        f"worker processes x {REDIS_CONNECTIONS_PER_PROCESS} at most (maxclients above it)",
    )
    add(
        "redis",
        "Redis memory (maxmemory)",
        2 * (stream + fences + leases) / 2**30,
        "GiB",
        "twice the data: copy-on-write while the RDB snapshot or AOF rewrite forks",
    )
    # PostgreSQL
    add(
        "postgresql",
        "PostgreSQL CPU",
        rate * found.postgres_cpu_ms / 1000 / given.utilisation,
        "cores",
        f"design rate x {found.postgres_cpu_ms:.2f} ms/read / utilisation {given.utilisation:g}",
    )
    add(
        "postgresql",
        "transactions",
        rate * found.postgres_transactions,
        "commits/s",
        f"design rate x {found.postgres_transactions:.1f} commits/read",
    )
    add(
        "postgresql",
        "rows written",
        rate * (found.readings_per_read + 3),
        "rows/s",
        f"design rate x ({found.readings_per_read:.1f} readings + 1 job + 1 fence upsert + 1 counter block)",
    )
    add(
        "postgresql",
        "WAL",
        day * found.wal_bytes / 2**30,
        "GiB/day",
        f"mean rate x 86,400 s x {found.wal_bytes:.0f} B/read (full_page_writes on)",
    )
    readings_day = day * found.readings_per_read * found.reading_row_bytes
    jobs_day = day * found.job_row_bytes
    add(
        "postgresql",
        "readings on disk",
        readings_day / 2**30,
        "GiB/day",
        f"reads/day x {found.readings_per_read:.1f} x {found.reading_row_bytes:.0f} B/row (table + indexes)",
    )
    add(
        "postgresql",
        "job records on disk",
        jobs_day / 2**30,
        "GiB/day",
        f"reads/day x {found.job_row_bytes:.0f} B/row",
    )
    add(
        "postgresql",
        "readings a month",
        readings_day * 30 / 2**40,
        "TiB",
        "readings on disk a day x 30",
    )
    add(
        "postgresql",
        "WAL a month",
        day * found.wal_bytes * 30 / 2**40,
        "TiB",
        "WAL a day x 30 (what an archive for point-in-time recovery holds, less what base backups let go)",
    )
    add(
        "postgresql",
        "disk for the retention",
        (readings_day + jobs_day) * given.retention_days / 2**40,
        "TiB",
        f"(readings + job records) per day x {given.retention_days:g} days",
    )
    per_worker = given.connections_per_worker or found.connections_per_worker
    add(
        "postgresql",
        "connections",
        math.ceil(processes * per_worker),
        "connections",
        f"worker processes x {per_worker:.1f} (use PgBouncer in transaction mode beyond a few hundred)",
    )
    # Network
    segments = found.writes_up + found.writes_down
    acks = segments  # a bare ACK for each data segment, at worst
    wire = found.bytes_up + found.bytes_down + (segments + acks + TCP_OPEN_CLOSE_SEGMENTS) * TCP_IP_HEADER
    add(
        "network",
        "bytes of one session",
        wire,
        "B",
        f"{found.bytes_up:.0f} B up + {found.bytes_down:.0f} B down of wrapper and APDUs + "
        f"{segments + acks + TCP_OPEN_CLOSE_SEGMENTS:.0f} segments x {TCP_IP_HEADER} B TCP/IP headers",
    )
    add(
        "network",
        "head-end to meters",
        rate * wire * 8 / 1e6,
        "Mbit/s",
        "design rate x bytes of one session x 8",
    )
    add(
        "network",
        "per meter a month",
        wire * 60 / given.interval_minutes * 24 * 30 / 2**20,
        "MiB",
        "bytes of one session x sessions a month (the SIM's data plan)",
    )
    return lines


def _number(value: float) -> str:
    if value >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.2f}" if value < 10 else f"{value:,.1f}"


def runs_table(results: dict[str, Any]) -> list[str]:
    """The runs of a ``bench.workers`` results document as a Markdown table."""
    out = [
        "| workers | meters | ok | wall s | reads/hour | CPU ms/read: workers | Redis | PostgreSQL "
        "| fleet simulator | peak RSS MiB a worker | mean session s | load average (start, end) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in results["runs"]:
        rss = max((r for r in run["peak_rss_mib"] if r is not None), default=0.0)
        out.append(
            f"| {run['workers']} | {run['meters']:,} | {run['ok']:,} | {run['wall_s']:.1f} "
            f"| {run['reads_per_hour']:,.0f} | {run['worker_cpu_ms_per_read']:.2f} "
            f"| {run['redis_cpu_ms_per_read']:.2f} | {run['postgres_cpu_ms_per_read']:.2f} "
            f"| {run['fleet_cpu_ms_per_read']:.2f} | {rss:.0f} | {run['session_seconds_mean']:.1f} "
            f"| {run['load_average_before'][0]:.1f}, {run['load_average_after'][0]:.1f} |"
        )
    return out


def render(found: Measured, given: Assumptions, results: dict[str, Any]) -> str:
    """The runs, the assumptions, the measured costs and the model as Markdown."""
    out = ["**Runs**", "", *runs_table(results), "", "**Assumptions**", ""]
    for item in fields(given):
        out.append(f"- `{item.name}` = {getattr(given, item.name)!r}: {item.metadata['help']}")
    machine = results.get("machine", {})
    out += [
        "",
        f"**Measured** (`{results.get('command', 'python -m bench.workers')}`, {machine.get('cores')} cores "
        f"{machine.get('cpu', '')}, load average up to {found.load_average:.1f}; the most costly run's figure "
        "per read)",
        "",
    ]
    for key, value in asdict(found).items():
        out.append(f"- `{key}` = {_number(float(value))}")
    out += ["", "| part | figure | value | unit | how |", "|---|---|---|---|---|"]
    for line in model(found, given):
        out.append(f"| {line.part} | {line.what} | {_number(line.value)} | {line.unit} | {line.how} |")
    return "\n".join(out)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sizing", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help=f"bench.workers results (default {RESULTS})"
    )
    defaults = Assumptions()
    for item in fields(Assumptions):
        parser.add_argument(
            "--" + item.name.replace("_", "-"),
            type=type(getattr(defaults, item.name)),
            default=getattr(defaults, item.name),
            help=f"{item.metadata['help']} (default {getattr(defaults, item.name)!r})",
        )
    return parser


def main(argv: list[str] | None = None) -> None:
    options = _parser().parse_args(argv)
    results = json.loads(options.results.read_text(encoding="utf-8"))
    given = Assumptions(**{item.name: getattr(options, item.name) for item in fields(Assumptions)})
    print(render(measured(results), given, results))


if __name__ == "__main__":
    main()
