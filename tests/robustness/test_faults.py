"""The fault injector itself (``dlmskit.link.faults``): each fault does what it says, runs are
repeatable from the seed, and two HDLC links joined by a :class:`FaultyWire` deliver every APDU
exactly once and in order through loss, repetition, damage, delay and reordering."""

from __future__ import annotations

import pytest

from dlmskit.errors import ConfigurationError
from dlmskit.link.events import ApduReceived, LinkFailed, LinkOpened
from dlmskit.link.faults import FaultPlan, FaultyWire, FrameSplitter
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_frame import Control, FrameType, HdlcFrame
from dlmskit.link.hdlc_link import DEFAULT_PARAMETERS, LARGEST_PARAMETERS, HdlcClientLink, HdlcServerLink
from dlmskit.link.hdlc_parameters import HdlcParameters
from dlmskit.link.wrapper import WrapperFrame

UNITS = [bytes((index,)) * 10 for index in range(200)]


def _through(plan: FaultPlan, units: list[bytes] = UNITS, *, until: int = 100) -> list[bytes]:
    line = plan.line("test")
    for now, unit in enumerate(units):
        line.send(unit, now)
    arrived = []
    for now in range(len(units) + until):
        arrived += line.receive(now)
    assert line.in_flight == 0
    return arrived


def test_clean_plan_passes_everything_in_order() -> None:
    assert _through(FaultPlan(seed=3)) == UNITS


def test_same_seed_and_name_give_the_same_faults() -> None:
    plan = FaultPlan(seed=11, drop=0.1, duplicate=0.1, corrupt=0.1, delay=0.2, reorder=0.1)
    assert _through(plan) == _through(plan)
    assert _through(plan) != _through(FaultPlan(seed=12, drop=0.1, duplicate=0.1, corrupt=0.1, delay=0.2))
    assert plan.line("a->b").stats == plan.line("b->a").stats  # fresh lines start at zero


def test_drop_loses_units_and_counts_them() -> None:
    line = FaultPlan(seed=1, drop=0.25).line("x")
    for unit in UNITS:
        line.send(unit, 0)
    arrived = line.receive(0)
    assert line.stats.dropped == len(UNITS) - len(arrived) and 20 < line.stats.dropped < 80
    assert [unit for unit in UNITS if unit in arrived] == arrived  # what arrives is in order


def test_corrupt_changes_exactly_one_byte() -> None:
    arrived = _through(FaultPlan(seed=2, corrupt=1.0))
    assert len(arrived) == len(UNITS)
    for sent, got in zip(UNITS, arrived, strict=True):
        assert len(got) == len(sent) and sum(a != b for a, b in zip(sent, got, strict=True)) == 1


def test_duplicate_repeats_units() -> None:
    arrived = _through(FaultPlan(seed=4, duplicate=1.0))
    assert arrived == [unit for unit in UNITS for _ in range(2)]


def test_delay_keeps_the_order_and_bounds_the_lateness() -> None:
    plan = FaultPlan(seed=5, delay=0.5, max_delay=6)
    line = plan.line("x")
    for now, unit in enumerate(UNITS):
        line.send(unit, now)
    arrived: list[bytes] = []
    for now in range(len(UNITS) + 10):
        got = line.receive(now)
        arrived += got
        # Nothing sent at time t arrives after t + max_delay (units behind a late one wait for it).
        assert all(unit in arrived for unit in UNITS[: max(0, now - 6)])
    assert arrived == UNITS and line.stats.delayed > 50


def test_reorder_lets_the_next_unit_overtake() -> None:
    plan = FaultPlan(seed=6, reorder=0.3, max_delay=1000)
    arrived = _through(plan, until=1000)
    assert sorted(arrived) == sorted(UNITS) and arrived != UNITS
    swapped = [index for index in range(len(UNITS) - 1) if arrived[index] > arrived[index + 1]]
    assert swapped and all(arrived[index] == UNITS[UNITS.index(arrived[index + 1]) + 1] for index in swapped)


def test_a_held_unit_is_released_after_max_delay_when_nothing_follows() -> None:
    line = FaultPlan(seed=0, reorder=1.0, max_delay=3).line("x")
    line.send(b"only", 10)
    assert line.receive(12) == [] and line.next_due == 13
    assert line.receive(13) == [b"only"] and line.next_due is None


@pytest.mark.parametrize(
    "arguments",
    [{"drop": -0.1}, {"corrupt": 1.5}, {"reorder": 2.0}, {"max_delay": -1.0}],
)
def test_bad_plans_are_refused(arguments: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        FaultPlan(**arguments)


def test_splitter_cuts_streams_into_frames_in_any_chunking() -> None:
    frames = [
        HdlcFrame(
            HdlcAddress(1, 17), HdlcAddress(16), Control(FrameType.I, True, ns=n, nr=0), bytes(n * 30)
        ).encode()
        for n in range(5)
    ]
    stream = b"".join(frames)
    splitter = FrameSplitter("hdlc")
    units = [unit for index in range(0, len(stream), 7) for unit in splitter.feed(stream[index : index + 7])]
    assert units == frames
    wrapped = [WrapperFrame(16, 1, bytes(n)).encode() for n in (0, 5, 300)]
    assert FrameSplitter("wrapper").feed(b"".join(wrapped)) == wrapped
    assert FrameSplitter("chunks").feed(b"abc") == [b"abc"]
    with pytest.raises(ConfigurationError):
        FrameSplitter("bytes")  # type: ignore[arg-type]


def transfer(plan: FaultPlan, parameters: HdlcParameters, apdus: list[bytes]) -> list[bytes]:
    """Client link sends each APDU, the server link echoes it reversed; returns what the client got."""
    client = HdlcClientLink(16, HdlcAddress(1, 17), parameters, max_retries=12)
    server = HdlcServerLink(HdlcAddress(1, 17), LARGEST_PARAMETERS)
    wire = FaultyWire(client, server, plan, timeout_steps=4)
    client.open()
    received: list[bytes] = []
    queue = list(apdus)
    for _ in range(50_000):
        client_events, server_events = wire.step()
        for event in server_events:
            if isinstance(event, ApduReceived):
                server.send_apdu(event.apdu[::-1])
        for event in client_events:
            assert not isinstance(event, LinkFailed), event
            if isinstance(event, ApduReceived):
                received.append(event.apdu)
            if isinstance(event, (LinkOpened, ApduReceived)) and queue:
                client.send_apdu(queue.pop(0))
                wire.flush()
        if len(received) == len(apdus):
            return received
    raise AssertionError(f"transfer did not finish: {len(received)} of {len(apdus)} APDUs")


LINK_FAULTS = {
    "drop": {"drop": 0.05},
    "duplicate": {"duplicate": 0.05},
    "corrupt": {"corrupt": 0.05},
    "delay": {"delay": 0.2, "max_delay": 6},
    "mixed": {"drop": 0.05, "duplicate": 0.05, "corrupt": 0.05, "delay": 0.1, "max_delay": 6},
}
WINDOWS = {"window1": DEFAULT_PARAMETERS, "window7": LARGEST_PARAMETERS}


@pytest.mark.parametrize(
    ("fault", "window"), [(fault, window) for fault in LINK_FAULTS for window in WINDOWS]
)
def test_hdlc_links_deliver_each_apdu_once_and_in_order(fault: str, window: str) -> None:
    apdus = [bytes((n,)) * (1 + 97 * n) for n in range(1, 40)]  # 98 .. 3,784 bytes: many segments
    for seed in range(3):
        got = transfer(FaultPlan(seed=seed, **LINK_FAULTS[fault]), WINDOWS[window], apdus)
        assert got == [apdu[::-1] for apdu in apdus]


@pytest.mark.slow
@pytest.mark.parametrize("window", list(WINDOWS))
def test_hdlc_links_under_heavy_faults_many_seeds(window: str) -> None:
    parameters = WINDOWS[window]
    apdus = [bytes((n,)) * (1 + 211 * n) for n in range(1, 25)]
    plan = {"drop": 0.1, "duplicate": 0.1, "corrupt": 0.1, "delay": 0.2, "max_delay": 8}
    for seed in range(100):
        assert transfer(FaultPlan(seed=seed, **plan), parameters, apdus) == [apdu[::-1] for apdu in apdus]
