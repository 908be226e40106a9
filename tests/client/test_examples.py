"""The seed-story examples of docs/client.md, run exactly as written there (only the port is changed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "client.md"
_EXAMPLE = re.compile(r"<!-- example: (?P<name>[a-z-]+) -->\n```python\n(?P<code>.*?)```", re.DOTALL)


def example(name: str) -> str:
    """The code of one example of docs/client.md."""
    found = {m["name"]: m["code"] for m in _EXAMPLE.finditer(DOC.read_text(encoding="utf-8"))}
    return found[name]


def run(code: str, port: int) -> None:
    code, replaced = re.subn(r"^PORT = 4059\b", f"PORT = {port}", code, count=1, flags=re.MULTILINE)
    assert replaced == 1, "every example names its port in a PORT = 4059 line"
    exec(compile(code, str(DOC), "exec"), {"__name__": "__main__"})


@pytest.mark.parametrize("form", ["sync", "async"])
def test_disconnect_example(form: str, simulator: Any, capsys: pytest.CaptureFixture[str]) -> None:
    running = simulator()
    run(example(f"disconnect-{form}"), running.port)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "relay open (supply off), control state disconnected, control mode 2"
    assert lines[1] == "relay closed (supply on), control state connected, control mode 2"
    assert lines[2].startswith(
        "calling remote_disconnect (method 1) of 0.0.96.3.10.255 Disconnect control (class 70): "
        "the meter answered read-write-denied (3)"
    )
    assert lines[2].endswith(
        "Hint: this association (client 32, LLS) has no method access; HLS-GMAC management associations usually do"
    )
    assert running.meter.relay.output_state is True


@pytest.mark.parametrize("form", ["sync", "async"])
def test_token_example(form: str, simulator: Any, capsys: pytest.CaptureFixture[str]) -> None:
    running = simulator(tamper=True)
    run(example(f"token-{form}"), running.port)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "relay open (supply off), control state disconnected, control mode 2"
    assert "temporary-failure (2)" in lines[1] and "tamper token is entered" in lines[1]
    assert lines[2] == "token-execution-ok (3): the token was accepted and carried out"
    assert lines[3] == "relay closed (supply on), control state connected, control mode 2"
    assert lines[4].startswith("validation-result-failure (6):") and "already used" in lines[4]
    assert not running.meter.tamper
