"""Run the fuzz targets (``make fuzz``) and record the outcome in ``fuzz/results/latest.json``.

::

    fuzz/.venv/bin/python fuzz/run.py --seconds 300            # every target, a share of 300 s each
    fuzz/.venv/bin/python fuzz/run.py --targets axdr,aarq --seconds 60

Engines:

``atheris``
    Coverage-guided fuzzing with libFuzzer (``pip install atheris``, a separate venv ``fuzz/.venv``
    made by ``make fuzz``). Each target runs in its own process over its corpus directory
    ``fuzz/corpus/<target>/`` (seeded from :mod:`seeds`, grown by libFuzzer); an input that raises an
    exception the target does not allow is a crash, one that runs longer than ``--hang-seconds`` a hang.
``mutate``
    The fallback when atheris does not install: random mutations (bit flips, byte changes, inserted
    and deleted runs, A-XDR/BER length bytes, splices of two seeds) of the seed corpus, in pure
    Python, with the same crash and hang rules (hangs caught with ``SIGALRM``).

Crashing and hanging inputs are kept in ``fuzz/crashes/<target>/``; each finding becomes a regression
test in ``tests/robustness/test_regressions.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import random
import re
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

FUZZ = Path(__file__).resolve().parent
REPOSITORY = FUZZ.parent
for entry in (str(REPOSITORY / "src"), str(REPOSITORY), str(FUZZ)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

CORPUS = FUZZ / "corpus"
CRASHES = FUZZ / "crashes"
RESULTS = FUZZ / "results"
MAX_LEN = 8192
MAX_FINDINGS_PER_TARGET = 3


def _have_atheris() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


# -- child: one target -------------------------------------------------------------------------------------


def _child_atheris(name: str, seconds: int, hang_seconds: int) -> None:
    import atheris

    with atheris.instrument_imports(include=["dlmskit"]):
        from targets import TARGETS

        import dlmskit.apdu.parse  # noqa: F401  (instrumented before the targets import them)

    target = TARGETS[name]

    def one_input(data: bytes) -> None:
        with contextlib.suppress(target.allowed):
            target.function(data)

    crashes = CRASHES / name
    crashes.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.argv[0],
        str(CORPUS / name),
        f"-max_total_time={seconds}",
        f"-timeout={hang_seconds}",
        f"-max_len={MAX_LEN}",
        "-rss_limit_mb=3072",
        "-print_final_stats=1",
        f"-artifact_prefix={crashes}/",
    ]
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


class _Hang(Exception):
    pass


def _mutate(rng: random.Random, data: bytes, seeds: list[bytes]) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(7)
        position = rng.randrange(len(buffer) + 1)
        if choice == 0 and buffer:
            buffer[position % len(buffer)] ^= 1 << rng.randrange(8)
        elif choice == 1 and buffer:
            buffer[position % len(buffer)] = rng.choice(
                (0x00, 0x01, 0x7E, 0x7F, 0x80, 0x81, 0x82, 0x84, 0xFF)
            )
        elif choice == 2:
            buffer[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif choice == 3 and buffer:
            del buffer[position : position + rng.randint(1, 16)]
        elif choice == 4 and buffer:
            start = rng.randrange(len(buffer))
            buffer[position:position] = buffer[start : start + rng.randint(1, 32)]
        elif choice == 5 and seeds:
            other = rng.choice(seeds)
            buffer = buffer[:position] + other[rng.randrange(len(other) + 1) :]
        elif buffer:
            buffer = buffer[: rng.randrange(len(buffer) + 1)]
    return bytes(buffer[:MAX_LEN])


def _child_mutate(name: str, seconds: int, hang_seconds: int, seed: int) -> None:
    from targets import TARGETS

    target = TARGETS[name]
    seeds = [path.read_bytes() for path in sorted((CORPUS / name).glob("*"))] or [b""]
    rng = random.Random(seed)  # noqa: S311 - mutations, not secrets
    crashes = CRASHES / name
    findings: list[dict[str, Any]] = []
    hangs = 0
    runs = 0

    def alarm(_signum: int, _frame: object) -> None:
        raise _Hang

    signal.signal(signal.SIGALRM, alarm)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(findings) < MAX_FINDINGS_PER_TARGET:
        data = _mutate(rng, rng.choice(seeds), seeds)
        runs += 1
        signal.setitimer(signal.ITIMER_REAL, hang_seconds)
        try:
            target.function(data)
        except target.allowed:
            pass
        except _Hang:
            hangs += 1
            findings.append(_keep(crashes, "timeout", data, f"ran longer than {hang_seconds} s"))
        except Exception:
            findings.append(_keep(crashes, "crash", data, traceback.format_exc(limit=-8)))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    print(json.dumps({"runs": runs, "findings": findings, "hangs": hangs}))


def _keep(folder: Path, kind: str, data: bytes, error: str) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}-{hashlib.sha1(data).hexdigest()}"  # noqa: S324 - a file name
    path.write_bytes(data)
    return {"kind": kind, "file": str(path.relative_to(REPOSITORY)), "input_hex": data.hex(), "error": error}


# -- parent: all targets ---------------------------------------------------------------------------------


def _run_target(name: str, seconds: int, engine: str, hang_seconds: int, seed: int) -> dict[str, Any]:
    """Fuzz one target for ``seconds`` (in as many child runs as findings require)."""
    started = time.monotonic()
    runs = 0
    findings: list[dict[str, Any]] = []
    while len(findings) < MAX_FINDINGS_PER_TARGET:
        left = int(seconds - (time.monotonic() - started))
        if left < 2:
            break
        command = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--engine", engine]
        command += [
            "--seconds",
            str(left),
            "--hang-seconds",
            str(hang_seconds),
            "--seed",
            str(seed + len(findings)),
        ]
        try:
            process = subprocess.run(  # noqa: S603 - our own script
                command, capture_output=True, text=True, timeout=left + 120, check=False, cwd=REPOSITORY
            )
        except subprocess.TimeoutExpired:
            findings.append(
                {"kind": "timeout", "file": None, "error": "the fuzzing process did not stop in time"}
            )
            break
        if engine == "mutate":
            outcome = json.loads(process.stdout.strip().splitlines()[-1])
            runs += outcome["runs"]
            findings += outcome["findings"]
            break
        output = process.stderr
        executed = re.findall(r"stat::number_of_executed_units:\s*(\d+)", output)
        done = re.findall(r"Done (\d+) runs", output)
        runs += int((executed or done or re.findall(r"#(\d+)\s", output) or ["0"])[-1])
        artifacts = re.findall(r"Test unit written to (\S+)", output)
        if process.returncode == 0 or not artifacts:
            if process.returncode != 0:
                findings.append({"kind": "error", "file": None, "error": output[-3000:]})
            break
        for artifact in artifacts:
            path = Path(artifact)
            kind = "timeout" if path.name.startswith("timeout") else "crash"
            if path.name.startswith("oom"):
                kind = "oom"
            error = (
                output.split("=== Uncaught Python exception: ===")[-1][-3000:]
                if kind == "crash"
                else output[-1500:]
            )
            data = path.read_bytes() if path.exists() else b""
            findings.append(
                {
                    "kind": kind,
                    "file": str(path.resolve().relative_to(REPOSITORY)),
                    "input_hex": data.hex(),
                    "error": error,
                }
            )
    corpus_size = len(list((CORPUS / name).glob("*")))
    return {
        "engine": engine,
        "seconds": round(time.monotonic() - started, 1),
        "inputs": runs,
        "corpus_files": corpus_size,
        "crashes": [finding for finding in findings if finding["kind"] in ("crash", "error", "oom")],
        "hangs": [finding for finding in findings if finding["kind"] == "timeout"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=300, help="total fuzzing time, shared by the targets")
    parser.add_argument("--targets", default="", help="comma-separated target names (default: all)")
    parser.add_argument("--engine", choices=("auto", "atheris", "mutate"), default="auto")
    parser.add_argument("--hang-seconds", type=int, default=5, help="an input running longer is a hang")
    parser.add_argument("--seed", type=int, default=1, help="seed of the mutate engine")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    engine = arguments.engine
    if engine == "auto":
        engine = "atheris" if _have_atheris() else "mutate"
    if arguments.child:
        if engine == "atheris":
            _child_atheris(arguments.child, arguments.seconds, arguments.hang_seconds)
        else:
            _child_mutate(arguments.child, arguments.seconds, arguments.hang_seconds, arguments.seed)
        return

    import seeds
    from targets import TARGETS

    names = [name for name in arguments.targets.split(",") if name] or list(TARGETS)
    unknown = sorted(set(names) - set(TARGETS))
    if unknown:
        parser.error(f"unknown targets {unknown}; known: {sorted(TARGETS)}")
    corpus = seeds.corpus()
    seeds.write(CORPUS, {name: corpus.get(name, [b""]) for name in names})
    share = max(5, arguments.seconds // len(names))
    started = time.monotonic()
    results: dict[str, Any] = {}
    for name in names:
        print(f"fuzzing {name} for {share} s ({engine})", flush=True)
        results[name] = _run_target(name, share, engine, arguments.hang_seconds, arguments.seed)
        outcome = results[name]
        print(
            f"  {outcome['inputs']} inputs, {len(outcome['crashes'])} crashes, {len(outcome['hangs'])} hangs",
            flush=True,
        )
    report = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "engine": engine,
        "python": platform.python_version(),
        "seconds": round(time.monotonic() - started, 1),
        "seed_inputs": {name: len(corpus.get(name, [])) for name in names},
        "inputs": sum(outcome["inputs"] for outcome in results.values()),
        "crashes": sum(len(outcome["crashes"]) for outcome in results.values()),
        "hangs": sum(len(outcome["hangs"]) for outcome in results.values()),
        "targets": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(
        f"{report['inputs']} inputs, {report['crashes']} crashes, {report['hangs']} hangs in {report['seconds']} s"
    )
    print(f"results in {(RESULTS / 'latest.json').relative_to(REPOSITORY)}")
    if os.environ.get("FUZZ_FAIL_ON_FINDINGS") and (report["crashes"] or report["hangs"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
