"""Every Python block of README.md and docs/*.md runs against a simulated meter and type-checks under
``mypy --strict``, so that what a new user copies works as written.

The rules, for whoever writes documentation:

- A block runs as written, with two substitutions: a line ``HOST = "..."`` becomes the loopback address
  and a line ``PORT = 4059`` the port of a fresh simulator started for the block (``dlmskit simulate
  --tamper`` when the block mentions ``--tamper``, ``--referencing sn`` when it mentions that). Blocks
  run in a temporary directory, with the invocation counters and the meter profile file in temporary places.
- A block that is not meant to run (a fragment, a program that needs a real meter or a profile file) is
  preceded by ``<!-- not-run -->`` (a reason may follow: ``<!-- not-run: needs meters.toml -->``); it is
  still type-checked.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dlmskit.conformance import REGISTRY
from dlmskit.simulator import SimulatedMeter, SimulatorThread

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```python[^\n]*\n(?P<code>.*?)^```", re.DOTALL | re.MULTILINE)
_NOT_RUN = re.compile(r"<!--\s*not-run\b")


@dataclass(frozen=True)
class Block:
    """One Python block of a document."""

    path: Path
    line: int
    code: str
    runs: bool

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def _blocks() -> list[Block]:
    found = []
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        for match in _FENCE.finditer(text):
            before = text[: match.start()].rstrip("\n").splitlines()[-2:]
            runs = not any(_NOT_RUN.search(line) for line in before)
            line = text.count("\n", 0, match.start()) + 2
            found.append(Block(path, line, match["code"], runs))
    return found


BLOCKS = _blocks()


def test_the_documents_have_python_blocks_and_most_run() -> None:
    assert len(BLOCKS) >= 10
    assert sum(block.runs for block in BLOCKS) >= len(BLOCKS) - 3, [b.name for b in BLOCKS if not b.runs]


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def _prepared(block: Block, port: int) -> str:
    code = re.sub(r'^HOST = "[^"\n]*"', 'HOST = "127.0.0.1"', block.code, flags=re.MULTILINE)
    return re.sub(r"^PORT = 4059\b", f"PORT = {port}", code, flags=re.MULTILINE)


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.runs], ids=lambda b: b.name)
def test_block_runs_against_the_simulator(
    block: Block, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    meter = SimulatedMeter(
        state_dir=isolated / "meter",
        tamper="--tamper" in block.code,
        referencing="sn" if "--referencing sn" in block.code else None,
    )
    running = SimulatorThread(meter, link="hdlc", port=0)
    registered = {test.id for test in REGISTRY}
    try:
        code = compile(_prepared(block, running.port), block.name, "exec")
        exec(code, {"__name__": "__main__"})
    finally:
        running.stop()
        for test in list(REGISTRY):  # a block that registers conformance tests leaves the registry as it was
            if test.id not in registered:
                REGISTRY.remove(test.id)
    capsys.readouterr()


def test_every_block_type_checks_under_mypy_strict(tmp_path: Path) -> None:
    files = []
    for number, block in enumerate(BLOCKS):
        stem = re.sub(r"\W", "_", block.path.stem.lower())
        file = tmp_path / f"block_{stem}_{block.line}_{number}.py"
        file.write_text(block.code, encoding="utf-8")
        files.append(file)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(ROOT / "src")},
        check=False,
    )
    report = result.stdout
    for block, file in zip(BLOCKS, files, strict=True):
        report = report.replace(str(file), block.name).replace(file.name, block.name)
    assert result.returncode == 0, report + result.stderr
