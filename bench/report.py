"""The results of a run: the JSON document, the rich tables on the terminal and the Markdown for the docs.

The JSON document is the source of both views (``run.py --from-json`` renders a saved one again)::

    {"machine": {...}, "versions": {...}, "simulator": "...", "settings": {...},
     "cases": [{"id", "group", "title", "unit", "units", "target",
                "results": {library: {"seconds_per_unit", "seconds", "fastest", "runs", "calls", "note"}
                                     | {"na": reason} | {"error": what}}}],
     "session": {library: {"client_cpu_per_session", "wall_per_session", ...} | {"na"|"error": ...}},
     "many": [{"concurrency", "sessions", "sessions_per_second", "client_cpu_per_session", ...}]}
"""

from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.cases import LIBRARIES

__all__ = ["machine_info", "package_versions", "print_tables", "to_markdown"]

SESSION_CPU_TARGET = 1e-3
"""Client CPU per HLS-GMAC session, the target (not asserted)."""


def machine_info() -> dict[str, Any]:
    """CPU model, cores, Python, OS and the load when the run started."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "commit": _commit(),
    }


def _commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return None
    return done.stdout.strip() or None


def package_versions() -> dict[str, str | None]:
    """Versions of the libraries measured (None when not installed)."""
    found: dict[str, str | None] = {}
    for name in ("dlmskit", "gurux-dlms", "gurux-net", "dlms-cosem", "cryptography"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def duration(seconds: float) -> str:
    """``seconds`` with a unit that keeps three significant digits (ns, µs, ms, s)."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _cell(case: dict[str, Any], library: str, notes: list[str]) -> str:
    result = case["results"].get(library)
    if result is None:
        return ""
    if "na" in result or "error" in result:
        notes.append(f"{case['id']}, {library}: " + result.get("na", result.get("error", "")))
        return f"n/a [{len(notes)}]"
    text = f"{duration(result['seconds_per_unit'])}/{case['unit']}"
    reference = case["results"].get("dlmskit", {}).get("seconds_per_unit")
    if library != "dlmskit" and reference:
        text += f" ({_ratio(result['seconds_per_unit'] / reference)})"
    return text


def _ratio(value: float) -> str:
    return f"{value:.0f}×" if value >= 10 else f"{value:.2g}×"


def _target(case: dict[str, Any]) -> str:
    target = case.get("target")
    if target is None:
        return ""
    best = case["results"].get("dlmskit", {}).get("seconds_per_unit")
    met = "" if best is None else (" met" if best <= target else " missed")
    return f"<= {duration(target)}{met}"


def _case_rows(data: dict[str, Any]) -> tuple[list[str], list[list[str]], list[str]]:
    header = ["case", *LIBRARIES, "target (dlmskit)"]
    rows: list[list[str]] = []
    notes: list[str] = []
    for case in data["cases"]:
        rows.append(
            [
                f"{case['group']}: {case['title']}",
                *(_cell(case, lib, notes) for lib in LIBRARIES),
                _target(case),
            ]
        )
    return header, rows, notes


def _session_rows(data: dict[str, Any], notes: list[str]) -> tuple[list[str], list[list[str]]]:
    session = data.get("session", {})
    libraries = [lib for lib in LIBRARIES if lib in session]
    header = ["5 session (HLS-GMAC, 10 GETs)", *libraries, "target (dlmskit)"]
    cpu, wall, server = ["client CPU per session"], ["wall time per session"], ["simulator CPU per session"]
    for lib in libraries:
        result = session[lib]
        if "na" in result or "error" in result:
            notes.append(f"session, {lib}: " + result.get("na", result.get("error", "")))
            for row in (cpu, wall, server):
                row.append(f"n/a [{len(notes)}]")
            continue
        ratio = ""
        if lib != "dlmskit" and "client_cpu_per_session" in session.get("dlmskit", {}):
            ratio = f" ({_ratio(result['client_cpu_per_session'] / session['dlmskit']['client_cpu_per_session'])})"
        cpu.append(duration(result["client_cpu_per_session"]) + ratio)
        wall.append(duration(result["wall_per_session"]))
        simulator = result.get("simulator_cpu_per_session")
        server.append("" if simulator is None else duration(simulator))
    dlmskit_cpu = session.get("dlmskit", {}).get("client_cpu_per_session")
    met = "" if dlmskit_cpu is None else (" met" if dlmskit_cpu <= SESSION_CPU_TARGET else " missed")
    cpu.append(f"<= {duration(SESSION_CPU_TARGET)}{met}")
    wall.append("")
    server.append("")
    return header, [cpu, wall, server]


def _many_rows(data: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = [
        "6 concurrent sessions (dlmskit asyncio)",
        "sessions",
        "sessions/s",
        "wall",
        "client CPU/session",
        "simulator CPU/session",
        "failures",
    ]
    rows = []
    for item in data.get("many", []):
        simulator = item.get("simulator_cpu_per_session")
        rows.append(
            [
                str(item["concurrency"]),
                str(item["sessions"]),
                f"{item['sessions_per_second']:.0f}",
                duration(item["wall"]),
                duration(item["client_cpu_per_session"]),
                "" if simulator is None else duration(simulator),
                str(item["failures"]) + (f" ({item['first_error']})" if item["failures"] else ""),
            ]
        )
    return header, rows


def _machine_line(data: dict[str, Any]) -> str:
    machine = data["machine"]
    versions = ", ".join(f"{name} {value}" for name, value in data["versions"].items() if value)
    load = machine.get("load_average_at_start")
    load_text = f"; load average at start {load[0]:.2f}" if load else ""
    return (
        f"{machine['cpu']}, {machine['cores']} cores, {machine['python']}, {machine['platform']}"
        f"{load_text}; {versions}; simulator: {data.get('simulator', '?')}"
    )


def print_tables(data: dict[str, Any], console: Console) -> None:
    """The tables of ``data`` on ``console``."""
    header, rows, notes = _case_rows(data)
    table = Table(title="Cases 1-4: time per unit (ratio to dlmskit; > 1 is slower than dlmskit)")
    for column in header:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    if data.get("session"):
        header, rows = _session_rows(data, notes)
        table = Table(title="Case 5: one session after the other against the simulator")
        for column in header:
            table.add_column(column)
        for row in rows:
            table.add_row(*row)
        console.print(table)
    if data.get("many"):
        header, rows = _many_rows(data)
        table = Table(title="Case 6: many meters, one simulator process")
        for column in header:
            table.add_column(column)
        for row in rows:
            table.add_row(*row)
        console.print(table)
    for number, note in enumerate(notes, 1):
        console.print(f"[{number}] {note}", markup=False, highlight=False)
    console.print(_machine_line(data), markup=False, highlight=False)


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def to_markdown(data: dict[str, Any]) -> str:
    """The same tables as Markdown, with the machine line and the notes (for docs/benchmarks.md)."""
    header, rows, notes = _case_rows(data)
    parts = [_markdown_table(header, rows)]
    if data.get("session"):
        header, rows = _session_rows(data, notes)
        parts.append(_markdown_table(header, rows))
    if data.get("many"):
        parts.append(_markdown_table(*_many_rows(data)))
    parts.append("\n".join(f"{number}. {note}" for number, note in enumerate(notes, 1)))
    how = [
        f"- {case['id']}, {lib}: {result['note']}"
        for case in data["cases"]
        for lib, result in case["results"].items()
        if result.get("note")
    ]
    parts.append("How each library was called where it matters:\n\n" + "\n".join(how))
    parts.append(f"Machine: {_machine_line(data)}")
    return "\n\n".join(parts) + "\n"
