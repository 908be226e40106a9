"""The conformance tester against the simulator's quirk switches (issue 19, "Done when"): with each quirk on,
the one test that checks that deviation fails, naming it (expected, got, the bytes), and every other test
ends as it does against the simulator without quirks; against a window-1, 128-byte HDLC meter everything
passes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.conformance.conftest import Results, outcomes
from tests.conformance.test_simulator import MANAGEMENT, READER

from dlmskit.conformance import Outcome
from dlmskit.session.server import QUIRKS
from dlmskit.simulator import SimulatedMeter, SimulatorThread

Run = Callable[..., Results]
CLIENTS: dict[str, dict[str, Any]] = {"public": {}, "lls": READER, "gmac": MANAGEMENT}
"""The clients, by the name the cases use; the HLS-GMAC one runs with --allow-writes."""

# quirk -> (client under which it shows, the test that catches it, words its finding must hold)
CATCHES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "trailing-bytes": (
        "gmac",
        "services.get-normal",
        ("0.0.1.0.0.255:2", "trailing bytes after the GetResponseNormal", "18 bytes"),
    ),
    "aare-padding": (
        "lls",
        "association.public",
        ("well-formed AARE", "trailing bytes after the AARE: 1 (00)"),
    ),
    "profile-empty-last-block": (
        "lls",
        "services.get-selective-access",
        ("buffer of 1.0.99.1.0.255", "trailing bytes after the GetResponseWithDatablock", "11 bytes"),
    ),
    "rlre-bad-lengths": (
        "gmac",
        "association.configured",
        ("well-formed RLRE", "trailing bytes after the RLRE", "says 36 bytes, 40 follow"),
    ),
    "denied-for-unknown": (
        "public",
        "services.get-undefined",
        ("object-undefined (4)", "read-write-denied (3)"),
    ),
}


@pytest.fixture
def simulator() -> Iterator[Callable[..., SimulatorThread]]:
    started: list[SimulatorThread] = []

    def start(*quirks: str, window: int | None = None, max_info: int | None = None) -> SimulatorThread:
        meter = SimulatedMeter(quirks=quirks)
        if window is not None or max_info is not None:
            meter.set_hdlc_limits(window=window, max_info_length=max_info)
        started.append(SimulatorThread(meter, link="hdlc", port=0))
        return started[-1]

    yield start
    for running in started:
        running.stop()


_BASELINES: dict[str, dict[str, Outcome]] = {}
"""Outcomes against the simulator without quirks, by client (measured once per session)."""


def _run(run: Run, port: int, client: str) -> Results:
    return run(port, allow_writes=client == "gmac", **CLIENTS[client])


def _baseline(client: str, simulator: Callable[..., SimulatorThread], run: Run) -> dict[str, Outcome]:
    if client not in _BASELINES:
        results = _run(run, simulator().port, client)
        assert outcomes(results, Outcome.FAIL, Outcome.ERROR, Outcome.XFAIL) == {}
        _BASELINES[client] = {test_id: result.outcome for test_id, result in results.items()}
    return _BASELINES[client]


def test_every_quirk_has_a_case() -> None:
    assert set(CATCHES) == set(QUIRKS)


@pytest.mark.parametrize("quirk", sorted(CATCHES))
def test_the_quirk_fails_its_test_and_only_that(
    quirk: str, simulator: Callable[..., SimulatorThread], run_conformance: Run
) -> None:
    client, catcher, words = CATCHES[quirk]
    baseline = _baseline(client, simulator, run_conformance)
    results = _run(run_conformance, simulator(quirk).port, client)
    caught = results[catcher]
    assert caught.outcome is Outcome.FAIL, (catcher, caught.outcome, caught.message)
    finding = caught.findings[0]
    text = f"{finding.expected} / {finding.got}"
    assert all(word in text for word in words), text
    assert finding.got_bytes and finding.decoded and finding.effect, finding
    others = {test_id: r.outcome for test_id, r in results.items() if test_id != catcher}
    changed = {
        test_id: (outcome, results[test_id].message)
        for test_id, outcome in others.items()
        if outcome is not baseline[test_id]
    }
    assert changed == {}


@pytest.mark.parametrize("client", ["public", "gmac"])
def test_a_window_1_meter_passes_everything(
    client: str, simulator: Callable[..., SimulatorThread], run_conformance: Run
) -> None:
    """`dlmskit simulate --hdlc-window 1 --hdlc-max-info 128`: a conforming meter like most real ones."""
    results = _run(run_conformance, simulator(window=1, max_info=128).port, client)
    assert outcomes(results, Outcome.FAIL, Outcome.ERROR, Outcome.XFAIL) == {}
    for test_id in (
        "hdlc.snrm-ua",
        "hdlc.i-frames",
        "hdlc.segmentation",
        "hdlc.rr-poll",
        "services.get-blocks",
    ):
        assert results[test_id].outcome is Outcome.PASS, (test_id, results[test_id].message)
