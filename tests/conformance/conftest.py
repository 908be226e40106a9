"""Fixtures of the conformance tests: a run of the tester against a meter, results by test id."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dlmskit.client import MeterSettings
from dlmskit.conformance import REGISTRY, MeterUnderTest, Outcome, TestResult, run_tests

Results = dict[str, TestResult]


@pytest.fixture(autouse=True)
def private_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the invocation counter file away from the user's home."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.fixture
def run_conformance(tmp_path: Path) -> Callable[..., Results]:
    """``run_conformance(port, select=[...], allow_writes=False, challenge=None, seed=None, **settings)``:
    the tester's results by test id."""

    def run(
        port: int,
        select: list[str] | None = None,
        *,
        allow_writes: bool = False,
        challenge: bytes | None = None,
        seed: dict[str, Any] | None = None,
        **settings: Any,
    ) -> Results:
        settings.setdefault("invocation_counter_path", tmp_path / "counters.json")
        settings.setdefault("timeout", 2.0)
        meter = MeterUnderTest(
            MeterSettings(port=port, **settings),
            silence=0.2,
            challenge=(lambda: challenge) if challenge is not None else None,
        )
        meter.cache.update(seed or {})
        results = run_tests(REGISTRY.select(select or []), meter, allow_writes=allow_writes)
        return {r.test.id: r for r in results}

    return run


def outcomes(results: Results, *kinds: Outcome) -> dict[str, str]:
    """The tests that ended in one of ``kinds``, with their messages."""
    return {test_id: r.message for test_id, r in results.items() if r.outcome in kinds}
