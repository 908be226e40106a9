"""Run every benchmark case for every library on the same inputs, in one run; print tables, save JSON.

``make bench`` runs this in ``bench/.venv`` (dlmskit from the repository, gurux-dlms, gurux-net and
dlms-cosem from PyPI). A library that is not installed is reported as n/a. Options::

    --quick            small inputs and short budgets, to try the harness (numbers not comparable)
    --skip-sessions    cases 1-4 only
    --json PATH        where to save the results (default bench/results/latest.json)
    --markdown PATH    also write the tables as Markdown (for docs/benchmarks.md)
    --from-json PATH   render a saved run again instead of running

The whole run takes one to two minutes on 2 quiet cores; no timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console

from bench import lib_baseline, lib_dlms_cosem, lib_dlmskit, lib_gurux, sessions
from bench.cases import CASES, NotAvailable, Runnable
from bench.report import machine_info, package_versions, print_tables, to_markdown
from bench.simulator import has_simulate_command
from bench.timing import measure
from bench.workload import Workload

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def _implementations(work: Workload, console: Console) -> dict[str, dict[str, Runnable | NotAvailable]]:
    found: dict[str, dict[str, Runnable | NotAvailable]] = {
        "dlmskit": lib_dlmskit.implementations(work),
        "AESGCM": lib_baseline.implementations(work),
    }
    for name, module in (("gurux-dlms", lib_gurux), ("dlms-cosem", lib_dlms_cosem)):
        if not module.available():
            reason = f"{name} is not installed in this Python (make bench installs it in bench/.venv)"
            found[name] = {case.id: NotAvailable(reason) for case in CASES}
            continue
        console.print(f"preparing {name} {module.version()}")
        found[name] = module.implementations(work)
    return found


def _run_case(implementation: Runnable | NotAvailable, units: int, budget: float) -> dict[str, Any]:
    if isinstance(implementation, NotAvailable):
        return {"na": implementation.reason}
    try:
        problem = implementation.check(implementation.run())
    except Exception as error:  # a foreign library: report whatever it raised
        return {"error": f"raised {type(error).__name__}: {error}"}
    if problem is not None:
        return {"error": f"output differs from the reference: {problem}"}
    measured = measure(implementation.run, budget=budget)
    result: dict[str, Any] = {"seconds_per_unit": measured.seconds / units, **measured.to_json()}
    if implementation.note:
        result["note"] = implementation.note
    return result


def run(quick: bool, with_sessions: bool, console: Console) -> dict[str, Any]:
    """Everything, in one process; the JSON document of :mod:`bench.report`."""
    work = Workload(rows=200, hdlc_apdu_size=8192) if quick else Workload()
    budget = 0.2 if quick else 1.0
    data: dict[str, Any] = {
        "machine": machine_info(),
        "versions": package_versions(),
        "settings": {"rows": work.rows, "hdlc_apdu_size": work.hdlc_apdu_size, "budget_per_case": budget},
        "cases": [],
    }
    implementations = _implementations(work, console)
    for case in CASES:
        units = case.units(work.rows)
        results = {}
        for library in case.libraries:
            implementation = implementations[library].get(
                case.id, NotAvailable("not implemented in the bench")
            )
            console.print(f"{case.id:<22} {library}", highlight=False)
            results[library] = _run_case(implementation, units, budget)
        data["cases"].append(
            {
                "id": case.id,
                "group": case.group,
                "title": case.title,
                "unit": case.unit,
                "units": units,
                "target": case.target,
                "results": results,
            }
        )
    if with_sessions:
        _run_sessions(data, quick, console)
    data["machine"]["load_average_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    return data


def _run_sessions(data: dict[str, Any], quick: bool, console: Console) -> None:
    use_simulate = has_simulate_command()
    data["simulator"] = (
        "dlmskit simulate"
        if use_simulate
        else "MeterServer with tests/tinymeter.py demo_meter() (bench/simulator.py)"
    )
    count = 5 if quick else 30
    console.print(f"case 5: {count} sessions per client against {data['simulator']}")
    single = sessions.single_sessions(count, use_simulate=use_simulate, with_gurux=lib_gurux.available())
    data["session"] = {
        library: ({"error": outcome} if isinstance(outcome, str) else outcome.to_json())
        for library, outcome in single.items()
    }
    if "gurux-dlms" not in data["session"]:
        data["session"]["gurux-dlms"] = {"na": "gurux-dlms is not installed in this Python"}
    data["session"]["dlms-cosem"] = {
        "na": "not measured in this bench (the issue compares the session with gurux-dlms's client only)"
    }
    plan = [(1, 5), (10, 20), (50, 50)] if quick else [(1, 50), (100, 300), (1000, 1000)]
    console.print(f"case 6: (concurrency, sessions) {plan}")
    data["many"] = [result.to_json() for result in sessions.many_sessions(plan, use_simulate=use_simulate)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-sessions", action="store_true")
    parser.add_argument("--json", type=Path, default=RESULTS)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--from-json", type=Path)
    args = parser.parse_args(argv)
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)  # a log or a pipe: keep the table rows on one line
    if args.from_json:
        data = json.loads(args.from_json.read_text())
    else:
        started = time.perf_counter()
        data = run(args.quick, not args.skip_sessions, console)
        data["settings"]["run_seconds"] = round(time.perf_counter() - started, 1)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        partial = args.json.with_suffix(".tmp")
        partial.write_text(json.dumps(data, indent=2, default=str) + "\n")
        partial.replace(args.json)
    print_tables(data, console)
    if args.markdown:
        args.markdown.write_text(to_markdown(data))
    if not args.from_json:
        console.print(f"saved {args.json} ({data['settings']['run_seconds']} s)", highlight=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
