"""A long profile over HDLC window 1 / 128-byte frames (the IEC 62056-46 defaults, what most real
meters and slow modems use) through lost, repeated and late frames: the rows arrive complete and
byte-identical, and the link neither echoes nor gives up (docs/hdlc.md).

The line hands the client one frame per read, as a slow serial line does: a repeated frame then arrives
on its own, not in the same chunk as the original (where the link would answer the pair once). Before
the window-1 rules of docs/hdlc.md, every seed failed at row 0 ("did not acknowledge the I-frames after
10 retries")."""

from __future__ import annotations

import pytest
from tests.tinymeter import demo_meter

from dlmskit.client.connection import Connection
from dlmskit.link.faults import FaultPlan
from dlmskit.link.hdlc_link import DEFAULT_PARAMETERS

from .harness import ProfileReader, SimulatedLine, axdr_rows, client_link, client_session, profile_rows

ROWS = 2000
FAULTS = {"drop": 0.05, "duplicate": 0.05, "delay": 0.1, "max_delay": 6}
"""5 % lost, 5 % repeated and 10 % late by up to 6 steps: later than the 4-step response timer."""


def read_profile(seed: int) -> tuple[int, int]:
    """2,000 rows over window 1 / 128 bytes; returns (frames the client sent, faults applied)."""
    meter = demo_meter()
    plan = FaultPlan(seed=seed, **FAULTS)
    line = SimulatedLine(meter, plan, limits=DEFAULT_PARAMETERS, max_steps=400_000, frame_per_read=True)
    link = client_link("none", parameters=DEFAULT_PARAMETERS, max_retries=10)
    connection = Connection(line, link, client_session("none", max_pdu=1024), timeout=1.0)
    with connection:
        assert connection.link.parameters == DEFAULT_PARAMETERS  # type: ignore[attr-defined]
        rows = ProfileReader(1, ROWS, slice_rows=500).read(connection)
    assert axdr_rows(rows) == axdr_rows(profile_rows(meter, 1, ROWS)), "wrong profile data"
    stats = line.to_meter.stats
    faults = line.stats.dropped + line.stats.duplicated + line.stats.delayed
    return stats.units, faults


def test_2000_rows_over_window1_with_loss_repeats_and_late_answers() -> None:
    sent, faults = read_profile(seed=1)
    assert faults > 100 and sent > 400  # about one RR per 128-byte segment of the rows


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2, 22))
def test_2000_rows_over_window1_many_seeds(seed: int) -> None:
    read_profile(seed)
