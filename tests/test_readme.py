"""The README says what is true: its examples are the ones the test suite runs, its commands are CI's."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_EXAMPLE = re.compile(r"<!-- example: (?P<name>[a-z-]+) -->\n```python\n(?P<code>.*?)```", re.DOTALL)


def _examples(path: Path) -> dict[str, str]:
    return {m["name"]: m["code"] for m in _EXAMPLE.finditer(path.read_text(encoding="utf-8"))}


def test_readme_examples_are_the_tested_ones() -> None:
    readme = _examples(ROOT / "README.md")
    tested = _examples(ROOT / "docs" / "client.md")  # run by tests/client/test_examples.py
    assert set(readme) == {"disconnect-sync", "disconnect-async", "token-sync", "token-async"}
    for name, code in readme.items():
        assert code == tested[name], f"README example {name} differs from docs/client.md"


def test_the_two_quick_start_commands_are_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo:", makefile, re.MULTILINE) and re.search(r"^test:", makefile, re.MULTILINE)
