"""The head-end's workers on Redis against a simulated fleet: ``make bench-workers`` (``python -m bench.workers``).

Everything runs on this machine, started by the bench and always stopped by it: a ``redis-server`` and a
PostgreSQL cluster of its own (temporary directories, free loopback ports, as tests/headend/conftest.py does),
a fleet simulator process (``dlmskit simulate --fleet N --transport wrapper``, answers after ``--delay`` plus
up to ``--jitter`` seconds: GPRS-like round trips), the scheduler process (``dlmskit headend scheduler``) and
1, then 2, then 3 worker processes (``dlmskit headend worker``). Each run is one round of the plan: one
HLS-GMAC register read per meter, stored in PostgreSQL.

Reported per run: meters, outcomes, wall time (from the scheduler's start to the last job stored), reads per
hour, the workers' CPU per read (``/proc/PID/stat``), the CPU per read of Redis, PostgreSQL (the postmaster
and its backends) and the fleet simulator, each worker's peak RSS (``VmHWM``), Redis commands, PostgreSQL
transactions, rows and WAL bytes per read, the memory of a stream entry and of a meter's keys in Redis, the
mean session time, and the load average. One meter's connection goes through a counting TCP proxy in this
process: the bytes (and writes) of one HLS-GMAC session on the wire, each way. The JSON goes to
``bench/results/workers.json``; ``python -m bench.sizing`` turns it into the model of docs/deployment.md.
No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import glob
import json
import os
import re
import secrets
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "workers.json"
PLAN_NAME = "bench-workers"
REGISTER = "1.0.1.8.0.255"
SCHEDULE_WHEN = "@every 1h"
TICKS = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (field 3 of proc(5) is index 0)."""
    text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """User plus system CPU of a process (and of its waited-for children that ended, with ``children``)."""
    try:
        fields = _stat(pid)
    except (OSError, ValueError):
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / TICKS


def peak_rss_mib(pid: int) -> float | None:
    """The process's peak resident set (``VmHWM``) in MiB, None once it is gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def _stop(process: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    """SIGTERM, then SIGKILL after ``seconds``; always waited for."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Postgres:
    """One throw-away PostgreSQL cluster on 127.0.0.1 (as root, run as the ``postgres`` user)."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
        on_path = shutil.which("pg_ctl")
        if not found and on_path is None:
            raise SystemExit(
                "PostgreSQL not found (/usr/lib/postgresql/*/bin/pg_ctl): apt-get install postgresql"
            )
        self.bindir = Path(found[-1]).parent if found else Path(str(on_path)).parent
        self.root = Path(tempfile.mkdtemp(prefix="dlmskit-bench-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_postgres: list[str] = []
        if os.geteuid() == 0:
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, "postgres", "postgres")
        self.user = "postgres" if self.as_postgres else os.environ.get("USER") or "postgres"

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.as_postgres, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}")

    def start(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            *("-D", str(self.data), "-U", self.user, "--auth=trust", "--no-sync", "-E", "UTF8"),
        )
        # fsync off (a throw-away cluster), full_page_writes on: the WAL volume is that of a real server.
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
            "-c synchronous_commit=off -c max_connections=300 -c shared_buffers=64MB"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            *("-D", str(self.data), "-l", str(self.root / "log"), "-o", options, "-w", "-t", "60", "start"),
        )

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/postgres"

    def cpu_seconds(self) -> float:
        """The postmaster's CPU, its ended children's and its living children's (the backends)."""
        try:
            postmaster = int((self.data / "postmaster.pid").read_text(encoding="ascii").split()[0])
        except (OSError, ValueError, IndexError):
            return 0.0
        total = cpu_seconds(postmaster, children=True)
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    if int(_stat(int(entry.name))[1]) == postmaster:
                        total += cpu_seconds(int(entry.name))
        return total


class Redis:
    """A throw-away ``redis-server`` on 127.0.0.1, nothing saved."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server not found: apt-get install redis-server")
        self.root = Path(tempfile.mkdtemp(prefix="dlmskit-bench-redis-"))
        self.port = _free_port()
        self.process = subprocess.Popen(
            [
                binary,
                *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root)),
                *("--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                break
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit("redis-server did not start")
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        _stop(self.process, 10)
        shutil.rmtree(self.root, ignore_errors=True)


class CountingProxy:
    """A TCP proxy in a thread of its own: forwards ``listen port -> target port`` and counts each way's
    bytes and writes (one write a message here: the meter and the client each send a whole APDU at once)."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.counts = {"connections": 0, "bytes_up": 0, "bytes_down": 0, "writes_up": 0, "writes_down": 0}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="counting-proxy", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        selector = selectors.DefaultSelector()
        self.listener.setblocking(False)
        selector.register(self.listener, selectors.EVENT_READ, None)
        peers: dict[socket.socket, tuple[socket.socket, str]] = {}
        while not self._stopped.is_set():
            for key, _events in selector.select(timeout=0.2):
                if key.fileobj is self.listener:
                    with contextlib.suppress(OSError):
                        client, _ = self.listener.accept()
                        meter = socket.create_connection(self.target, timeout=10)
                        client.setblocking(False)
                        meter.setblocking(False)
                        peers[client] = (meter, "up")
                        peers[meter] = (client, "down")
                        selector.register(client, selectors.EVENT_READ, None)
                        selector.register(meter, selectors.EVENT_READ, None)
                        with self._lock:
                            self.counts["connections"] += 1
                    continue
                source = key.fileobj
                assert isinstance(source, socket.socket)
                if source not in peers:
                    continue
                other, way = peers[source]
                try:
                    data = source.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if data:
                    with contextlib.suppress(OSError):
                        other.setblocking(True)
                        other.sendall(data)
                        other.setblocking(False)
                    with self._lock:
                        self.counts[f"bytes_{way}"] += len(data)
                        self.counts[f"writes_{way}"] += 1
                    continue
                for end in (source, other):
                    with contextlib.suppress(KeyError, ValueError):
                        selector.unregister(end)
                    peers.pop(end, None)
                    end.close()
        for end in list(peers):
            end.close()
        selector.close()

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        self.listener.close()


def _fleet(directory: Path, options: argparse.Namespace) -> tuple[subprocess.Popen[bytes], Path]:
    inventory = directory / "fleet.toml"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "dlmskit", "simulate", "--fleet", str(options.meters), "--port", "0"),
            *("--transport", "wrapper", "--inventory", str(inventory)),
            *("--delay", str(options.delay), "--jitter", str(options.jitter)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(directory / "fleet.log").open("wb"),
        env={**os.environ, "XDG_STATE_HOME": str(directory / "state")},
    )
    deadline = time.monotonic() + 600
    while not inventory.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            _stop(process)
            raise SystemExit(f"the fleet simulator did not start: {(directory / 'fleet.log').read_text()!r}")
        time.sleep(0.2)
    return process, inventory


def _through_proxy(inventory: Path) -> tuple[int, str]:
    """The first meter's port and name; the caller points that meter at the proxy."""
    text = inventory.read_text(encoding="utf-8")
    found = re.search(r'\[\[meter\]\]\nname = "([^"]+)"\n(?:.*\n)*?port = (\d+)\n', text)
    if found is None:
        raise SystemExit("no meter in the fleet's inventory")
    return int(found.group(2)), found.group(1)


def _point_at(inventory: Path, old_port: int, new_port: int) -> None:
    text = inventory.read_text(encoding="utf-8")
    inventory.write_text(text.replace(f"port = {old_port}\n", f"port = {new_port}\n", 1), encoding="utf-8")


def _prepare_database(url: str, inventory_file: Path, master: str, timeout: float) -> None:
    from dlmskit.headend import Inventory, KeyStore, ReadPlan, Store
    from dlmskit.security.keys import SecretBytes

    store = Store(url)
    try:
        inventory = Inventory(store, KeyStore(store, SecretBytes(bytes.fromhex(master))))
        inventory.import_file(inventory_file)
        template = inventory.templates()["fleet-gmac"]
        inventory.put_template("fleet-gmac", {**template, "timeout": timeout, "connect_timeout": timeout})
        plan = ReadPlan(PLAN_NAME, registers=(REGISTER,), clock=False, commands=False)
        inventory.put_plan(plan.name, plan.to_mapping())
    finally:
        store.close()


class Database:
    """The bench's own look at PostgreSQL: counts, WAL position, transactions, sizes."""

    def __init__(self, url: str) -> None:
        import sqlalchemy as sa

        self._sa = sa
        self.engine = sa.create_engine(url, pool_size=1, max_overflow=0)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(self._sa.text(sql))]

    def value(self, sql: str) -> Any:
        return self.rows(sql)[0][0]

    def close(self) -> None:
        self.engine.dispose()


def _redis_info(url: str) -> dict[str, Any]:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return dict(client.info())
    finally:
        client.close()


def _start_worker(
    directory: Path, index: int, env: dict[str, str], urls: tuple[str, str], options: argparse.Namespace
) -> tuple[subprocess.Popen[bytes], Path]:
    log = directory / f"run-worker-{index}.log"
    with log.open("wb") as sink:  # a file, not a pipe: a worker never blocks on a full pipe
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "dlmskit", "headend", "worker", "--db", urls[0], "--redis", urls[1]),
                *("--name", f"w{index}", "--max-sessions", str(options.max_sessions)),
                *("--rate", "100000", "--retries", "0", "--job-timeout", str(options.job_timeout)),
                *("--lease-seconds", "60"),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
    return process, log


def _wait_for_line(process: subprocess.Popen[bytes], log: Path, text: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while text not in log.read_text(encoding="utf-8", errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{log.name}: no {text!r}: {log.read_text(errors='replace')[-2000:]!r}")
        time.sleep(0.1)


def _ends(text: str, size: int = 4000) -> str:
    """The beginning and the end of a long log."""
    return text if len(text) <= 2 * size else f"{text[:size]}\n[...]\n{text[-size:]}"


def _seconds(text: str) -> float:
    return _dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.timezone.utc).timestamp()


def run_once(
    count: int,
    directory: Path,
    options: argparse.Namespace,
    env: dict[str, str],
    servers: tuple[Postgres, Redis],
    fleet: subprocess.Popen[bytes],
    proxy: CountingProxy,
) -> dict[str, Any]:
    """One round of the plan over the fleet with ``count`` worker processes."""
    import redis

    postgres, redis_server = servers
    database = Database(postgres.url)
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    workers: list[tuple[subprocess.Popen[bytes], Path]] = []
    processes: list[subprocess.Popen[bytes]] = []
    scheduler: subprocess.Popen[bytes] | None = None
    try:
        workers = [
            _start_worker(directory, i, env, (postgres.url, redis_server.url), options) for i in range(count)
        ]
        processes = [p for p, _ in workers]
        for process, log in workers:
            _wait_for_line(process, log, "queue dlmskit:jobs", 180)
        idle_rss = [peak_rss_mib(p.pid) for p in processes]
        # The schedule's last round an hour ago: the scheduler appends one round as soon as it starts.
        last = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(hours=1)
        client.set(f"dlmskit:schedule:{PLAN_NAME}:fleet:{SCHEDULE_WHEN}", last.strftime("%Y-%m-%dT%H:%M:%SZ"))
        first_id = int(database.value("SELECT coalesce(max(id), 0) FROM jobs"))
        rows_before = database.rows(
            "SELECT (SELECT count(*) FROM readings), (SELECT count(*) FROM fences), "
            "(SELECT count(*) FROM invocation_counters), pg_current_wal_lsn()::text, "
            "(SELECT xact_commit FROM pg_stat_database WHERE datname = current_database())"
        )[0]
        commands_before = int(_redis_info(redis_server.url)["total_commands_processed"])
        proxy_before = proxy.snapshot()
        cpu_before: dict[str, Any] = {
            "workers": [cpu_seconds(p.pid) for p in processes],
            "redis": cpu_seconds(redis_server.process.pid),
            "postgres": postgres.cpu_seconds(),
            "fleet": cpu_seconds(fleet.pid),
        }
        load_before = os.getloadavg()
        wall = time.perf_counter()
        scheduler_log = directory / "run-scheduler.log"
        with scheduler_log.open("wb") as sink:
            scheduler = subprocess.Popen(
                [
                    *(sys.executable, "-m", "dlmskit", "headend", "scheduler"),
                    *("--db", postgres.url, "--redis", redis_server.url),
                    *("--schedule", PLAN_NAME, "fleet", SCHEDULE_WHEN),
                ],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + options.run_timeout
        done = 0
        connections_seen = 0
        while time.monotonic() < deadline:
            done = int(database.value(f"SELECT count(*) FROM jobs WHERE id > {first_id}"))
            connections_seen = max(
                connections_seen,
                int(
                    database.value(
                        "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
                    )
                ),
            )
            if done >= options.meters or any(p.poll() is not None for p in processes):
                break
            time.sleep(0.5)
        wall = time.perf_counter() - wall
        load_after = os.getloadavg()
        cpu_after: dict[str, Any] = {
            "workers": [cpu_seconds(p.pid) for p in processes],
            "redis": cpu_seconds(redis_server.process.pid),
            "postgres": postgres.cpu_seconds(),
            "fleet": cpu_seconds(fleet.pid),
        }
        rss = [peak_rss_mib(p.pid) for p in processes]
        ended = {
            f"w{i}": _ends(log.read_text(encoding="utf-8", errors="replace"))
            for i, (p, log) in enumerate(workers)
            if p.poll() is not None
        }
        for name, tail in ended.items():
            print(f"worker {name} ended before the run was done:\n{tail}", file=sys.stderr)
        scheduler_cpu = cpu_seconds(scheduler.pid)
        commands = int(_redis_info(redis_server.url)["total_commands_processed"]) - commands_before
        proxy_after = proxy.snapshot()
        stream_entries = int(client.xlen("dlmskit:jobs"))
        stream_bytes = int(client.memory_usage("dlmskit:jobs", samples=0) or 0)
        fence_keys = [k for k in client.scan_iter("dlmskit:fence:*", count=1000)]
        fence_bytes = [int(client.memory_usage(k, samples=0) or 0) for k in fence_keys[:100]]
        client.set("dlmskit:lease:bench-sample-meter-000001", "host-name:12345:0123abcd", px=60_000)
        lease_bytes = int(client.memory_usage("dlmskit:lease:bench-sample-meter-000001", samples=0) or 0)
        rows_after = database.rows(
            "SELECT (SELECT count(*) FROM readings), (SELECT count(*) FROM fences), "
            "(SELECT count(*) FROM invocation_counters), pg_current_wal_lsn()::text, "
            "(SELECT xact_commit FROM pg_stat_database WHERE datname = current_database())"
        )[0]
        wal = int(database.value(f"SELECT pg_wal_lsn_diff('{rows_after[3]}', '{rows_before[3]}')"))
        outcomes = dict(
            database.rows(f"SELECT outcome, count(*) FROM jobs WHERE id > {first_id} GROUP BY outcome")
        )
        durations = [
            _seconds(f) - _seconds(s)
            for s, f in database.rows(f"SELECT started_at, finished_at FROM jobs WHERE id > {first_id}")
        ]
    finally:
        if scheduler is not None:
            _stop(scheduler)
        for process in processes:
            process.terminate()
        slow: list[int] = []
        for index, process in enumerate(processes):
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:  # a known open fault (docs/headend.md): its stacks into its log
                slow.append(index)
                process.send_signal(signal.SIGABRT)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        client.close()
        database.close()
    not_stopping = {
        f"w{i}": _ends(workers[i][1].read_text(encoding="utf-8", errors="replace"), 12_000) for i in slow
    }
    for name, text in not_stopping.items():
        print(
            f"worker {name} did not stop within 60 s of SIGTERM; its log and stacks:\n{text}", file=sys.stderr
        )
    ok = int(outcomes.get("ok", 0))
    reads = max(ok, 1)
    worker_cpu = [b - a for a, b in zip(cpu_before["workers"], cpu_after["workers"], strict=True)]
    session_bytes = {
        key: proxy_after[key] - proxy_before[key]
        for key in ("connections", "bytes_up", "bytes_down", "writes_up", "writes_down")
    }
    return {
        "workers": count,
        "meters": options.meters,
        "jobs": done,
        "ok": ok,
        "outcomes": {str(k): int(v) for k, v in outcomes.items()},
        "wall_s": wall,
        "reads_per_hour": ok / wall * 3600,
        "worker_cpu_s": worker_cpu,
        "workers_ended_early": ended,
        "workers_not_stopping_on_sigterm": not_stopping,
        "idle_rss_mib": idle_rss,
        "worker_cpu_ms_per_read": sum(worker_cpu) / reads * 1000,
        "redis_cpu_ms_per_read": (cpu_after["redis"] - cpu_before["redis"]) / reads * 1000,
        "postgres_cpu_ms_per_read": (cpu_after["postgres"] - cpu_before["postgres"]) / reads * 1000,
        "fleet_cpu_ms_per_read": (cpu_after["fleet"] - cpu_before["fleet"]) / reads * 1000,
        "scheduler_cpu_s_with_start": scheduler_cpu,
        "peak_rss_mib": rss,
        "redis_commands_per_read": commands / reads,
        "redis_stream_entries": stream_entries,
        "redis_stream_bytes_per_entry": stream_bytes / max(stream_entries, 1),
        "redis_fence_key_bytes": sum(fence_bytes) / max(len(fence_bytes), 1),
        "redis_fence_keys": len(fence_keys),
        "redis_lease_key_bytes": lease_bytes,
        "postgres_transactions_per_read": (int(rows_after[4]) - int(rows_before[4])) / reads,
        "postgres_wal_bytes_per_read": wal / reads,
        "postgres_new_readings": int(rows_after[0]) - int(rows_before[0]),
        "postgres_client_connections_max": connections_seen,
        "session_seconds_mean": sum(durations) / max(len(durations), 1),
        "wire": session_bytes,
        "load_average_before": list(load_before),
        "load_average_after": list(load_after),
    }


def _table_sizes(url: str) -> dict[str, Any]:
    database = Database(url)
    try:
        found: dict[str, Any] = {}
        for table in ("readings", "jobs", "fences", "invocation_counters"):
            rows = int(database.value(f"SELECT count(*) FROM {table}"))
            size = int(database.value(f"SELECT pg_total_relation_size('{table}')"))
            found[table] = {"rows": rows, "bytes": size, "bytes_per_row": size / rows if rows else None}
        return found
    finally:
        database.close()


def _print_run(row: dict[str, Any]) -> None:
    wire = row["wire"]
    sessions = max(wire["connections"], 1)
    rss = ", ".join(f"{r:.0f}" for r in row["peak_rss_mib"] if r is not None)
    print(
        f"{row['workers']} worker(s): {row['ok']}/{row['meters']} ok {row['outcomes']}, {row['wall_s']:.1f} s, "
        f"{row['reads_per_hour']:,.0f} reads/hour; CPU ms/read: workers {row['worker_cpu_ms_per_read']:.2f}, "
        f"Redis {row['redis_cpu_ms_per_read']:.2f}, PostgreSQL {row['postgres_cpu_ms_per_read']:.2f}, "
        f"fleet simulator {row['fleet_cpu_ms_per_read']:.2f}; peak RSS MiB per worker {rss}; "
        f"Redis {row['redis_commands_per_read']:.1f} commands/read; PostgreSQL "
        f"{row['postgres_transactions_per_read']:.1f} transactions/read, "
        f"{row['postgres_wal_bytes_per_read']:.0f} WAL bytes/read; mean session {row['session_seconds_mean']:.2f} s; "
        f"one session on the wire: {wire['bytes_up'] / sessions:.0f} B up in {wire['writes_up'] / sessions:.1f} "
        f"writes, {wire['bytes_down'] / sessions:.0f} B down in {wire['writes_down'] / sessions:.1f}; "
        f"load average {row['load_average_before'][0]:.2f} -> {row['load_average_after'][0]:.2f}"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.workers", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--meters", type=int, default=1000, help="meters in the fleet (one read each a run)")
    parser.add_argument("--workers", default="1,2,3", help="worker processes of each run, comma-separated")
    parser.add_argument("--delay", type=float, default=0.3, help="the meters' seconds before each answer")
    parser.add_argument("--jitter", type=float, default=0.2, help="up to this many seconds more")
    parser.add_argument("--max-sessions", type=int, default=500, help="sessions at once per worker")
    parser.add_argument("--job-timeout", type=float, default=120.0, help="seconds one job may take")
    parser.add_argument("--timeout", type=float, default=30.0, help="the meters' answer timeout")
    parser.add_argument("--run-timeout", type=float, default=900.0, help="seconds one run may take at most")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"where to write (default {RESULTS})")
    return parser


@contextlib.contextmanager
def _bench_directory() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="dlmskit-bench-workers-") as temporary:
        yield Path(temporary)


def main(argv: list[str] | None = None) -> None:
    options = _parser().parse_args(argv)
    counts = [int(c) for c in options.workers.split(",") if c.strip()]
    from bench.report import machine_info

    machine = machine_info()
    master = secrets.token_hex(32)
    env = {**os.environ, "DLMSKIT_MASTER_KEY": master, "PYTHONFAULTHANDLER": "1"}
    runs: list[dict[str, Any]] = []
    with _bench_directory() as directory, contextlib.ExitStack() as stack:
        postgres = Postgres()
        stack.callback(postgres.stop)
        postgres.start()
        redis_server = Redis()
        stack.callback(redis_server.stop)
        fleet, inventory = _fleet(directory, options)
        stack.callback(_stop, fleet)
        meter_port, meter_name = _through_proxy(inventory)
        proxy = CountingProxy(meter_port)
        stack.callback(proxy.stop)
        _point_at(inventory, meter_port, proxy.port)
        _prepare_database(postgres.url, inventory, master, options.timeout)
        for count in counts:
            row = run_once(count, directory, options, env, (postgres, redis_server), fleet, proxy)
            row["wire"]["meter"] = meter_name
            _print_run(row)
            runs.append(row)
        tables = _table_sizes(postgres.url)
    document = {
        "bench": "workers",
        "command": "python -m bench.workers " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine,
        "settings": {
            "meters": options.meters,
            "delay_s": options.delay,
            "jitter_s": options.jitter,
            "max_sessions_per_worker": options.max_sessions,
            "link": "wrapper (TCP)",
            "plan": f"one register ({REGISTER}) per session, HLS-GMAC, security policy auth-enc",
            "postgres": "fsync off, synchronous_commit off, full_page_writes on, shared_buffers 64MB",
        },
        "runs": runs,
        "tables": tables,
    }
    options.json.parent.mkdir(parents=True, exist_ok=True)
    options.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"written {options.json}")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # the ExitStack stops every process
    main()
