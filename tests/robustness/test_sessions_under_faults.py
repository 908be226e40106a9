"""Whole sessions over a bad line: they complete with the right data or fail with a clear, typed error;
never wrong data, never a hang.

In memory, the real :class:`~dlmskit.client.connection.Connection` (client session + HDLC or wrapper
client link) talks to the meter's link and sessions through a :class:`~dlmskit.link.faults.FaultPlan`
(``SimulatedLine``, steps instead of seconds). Over TCP, the client goes through
:class:`~dlmskit.link.faults.FaultyProxy` to :class:`~dlmskit.simulator.server.MeterServer` with short
timeouts. Every session reads the logical device name, writes, invokes a method and reads 2,500 rows of
the load profile, which must equal the rows the meter holds, byte for byte.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from tests.tinymeter import TinyMeter, demo_meter

from dlmskit.apdu.results import ActionResult, DataAccessResult
from dlmskit.client.connection import Connection
from dlmskit.codec import axdr
from dlmskit.errors import DlmsError, LinkError, MeterTimeout
from dlmskit.link.faults import FaultPlan, FaultStats, FaultyProxy
from dlmskit.link.hdlc_link import DEFAULT_PARAMETERS, LARGEST_PARAMETERS, HdlcClientLink
from dlmskit.link.hdlc_parameters import HdlcParameters
from dlmskit.link.wrapper_link import WrapperLink
from dlmskit.session.events import ActionCompleted, GetCompleted, SetCompleted
from dlmskit.simulator.server import MeterServer
from dlmskit.transport import TcpTransport

from .harness import (
    CLIENT_SAP,
    DISCONNECT,
    ENERGY,
    LDN,
    SERVER,
    Case,
    HangDetected,
    ProfileReader,
    SimulatedLine,
    TransferInterrupted,
    axdr_rows,
    client_link,
    client_session,
    profile_rows,
)

ROWS = 2500
CASES: tuple[Case, ...] = ("none", "lls", "hls-gmac")
FAULTS = {
    "drop": {"drop": 0.05},
    "corrupt": {"corrupt": 0.05},
    "duplicate": {"duplicate": 0.05},
    "delay": {"delay": 0.1, "max_delay": 6},
    "reorder": {"reorder": 0.05, "max_delay": 6},
    "mixed": {
        "drop": 0.05,
        "corrupt": 0.05,
        "duplicate": 0.02,
        "delay": 0.05,
        "reorder": 0.02,
        "max_delay": 6,
    },
}
RECOVERABLE = ("drop", "corrupt")
"""Faults HDLC recovers from every time with enough retries: the session must complete."""


def full_session(connection: Connection, meter: TinyMeter, rows: int = ROWS) -> None:
    """Read, write, invoke and read a long profile; every answer is checked against the meter."""
    session = connection.session
    got = connection.request(session.get(LDN), context="logical device name")
    assert isinstance(got, GetCompleted) and got.results[0].value == b"DLMSKIT000000001"
    written = connection.request(session.set(ENERGY, axdr.DoubleLongUnsigned(4242)), context="SET energy")
    assert isinstance(written, SetCompleted) and written.results == (DataAccessResult.SUCCESS,)
    done = connection.request(session.action(DISCONNECT, axdr.Integer(0)), context="remote disconnect")
    assert isinstance(done, ActionCompleted) and done.results[0].result == ActionResult.SUCCESS
    read = ProfileReader(1, rows, slice_rows=1000).read(connection)
    assert axdr_rows(read) == axdr_rows(profile_rows(meter, 1, rows)), "wrong profile data"
    energy = connection.request(session.get(ENERGY), context="read back")
    assert isinstance(energy, GetCompleted) and energy.results[0].value == 4242


def run_in_memory(
    plan: FaultPlan,
    case: Case,
    *,
    link: Literal["hdlc", "wrapper"] = "hdlc",
    parameters: HdlcParameters = DEFAULT_PARAMETERS,
    max_pdu: int = 1024,
    timeout_steps: int = 4,
    rows: int = ROWS,
) -> tuple[str, FaultStats]:
    """One full session over a simulated faulty line: ``"ok"`` or the name of the typed error it
    failed with. Wrong data and hangs fail the test (AssertionError, HangDetected)."""
    meter = demo_meter()
    line = SimulatedLine(meter, plan, link=link, timeout_steps=timeout_steps)
    connection = Connection(
        line,
        client_link(case, link, parameters=parameters, max_retries=10),
        client_session(case, max_pdu=max_pdu),
        timeout=1.0,
    )
    try:
        with connection:
            full_session(connection, meter, rows)
    except TransferInterrupted as interrupted:
        assert isinstance(interrupted.cause, DlmsError)
        assert axdr_rows(interrupted.rows) == axdr_rows(profile_rows(meter, 1, len(interrupted.rows)))
        return type(interrupted.cause).__name__, line.stats
    except DlmsError as error:
        assert str(error), "a typed error must say what went wrong"
        return type(error).__name__, line.stats
    return "ok", line.stats


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_hdlc_sessions_survive_faults(case: Case, fault: str) -> None:
    outcomes = Counter()
    faults_applied = FaultStats()
    for seed, parameters in ((1, DEFAULT_PARAMETERS), (2, LARGEST_PARAMETERS)):
        outcome, stats = run_in_memory(FaultPlan(seed=seed, **FAULTS[fault]), case, parameters=parameters)
        outcomes[outcome] += 1
        faults_applied.add(stats)
    assert faults_applied.units > 100
    if fault in RECOVERABLE:
        assert outcomes == {"ok": 2}, outcomes
    else:
        assert set(outcomes) <= {"ok", "LinkError", "MeterTimeout"}, outcomes


def test_clean_line_applies_no_fault() -> None:
    outcome, stats = run_in_memory(FaultPlan(seed=0), "hls-gmac", rows=100)
    assert outcome == "ok" and stats.units == stats.delivered and stats.dropped == stats.corrupted == 0


@pytest.mark.parametrize("case", ["none", "hls-gmac"])
def test_wrapper_sessions_over_a_slow_line(case: Case) -> None:
    """The wrapper has no recovery of its own (TCP's job): late frames within the response time are
    fine, a lost frame is a clear timeout."""
    slow = FaultPlan(seed=3, delay=0.3, max_delay=3)
    assert run_in_memory(slow, case, link="wrapper", timeout_steps=8)[0] == "ok"
    lossy = FaultPlan(seed=3, drop=0.05)
    assert run_in_memory(lossy, case, link="wrapper")[0] in ("ok", "MeterTimeout")


def test_wrapper_with_authenticated_encryption_detects_every_damaged_apdu() -> None:
    """No check sequence in the wrapper: integrity over TCP is TCP's, and with auth+enc every damaged
    APDU fails the GCM tag (a typed error), never passes as data."""
    outcomes = Counter(
        run_in_memory(FaultPlan(seed=seed, corrupt=0.05), "hls-gmac", link="wrapper", max_pdu=512)[0]
        for seed in range(4)
    )
    assert set(outcomes) <= {
        "ok",
        "TagVerificationError",
        "ExceptionResponseReceived",
        "MeterTimeout",
        "DecodeError",
        "ProtocolError",
        "InvocationCounterError",
        "LinkError",
    }, outcomes


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_hdlc_sessions_survive_faults_many_seeds(case: Case, fault: str) -> None:
    outcomes = Counter()
    for seed in range(30):
        parameters = (DEFAULT_PARAMETERS, LARGEST_PARAMETERS)[seed % 2]
        outcomes[
            run_in_memory(FaultPlan(seed=seed, **FAULTS[fault]), case, parameters=parameters, max_pdu=256)[0]
        ] += 1
    if fault in RECOVERABLE:
        assert outcomes == {"ok": 30}, outcomes
    else:
        assert set(outcomes) <= {"ok", "LinkError", "MeterTimeout"}, outcomes


@pytest.mark.slow
def test_heavy_faults_end_in_typed_errors_never_in_hangs() -> None:
    """20 % of every fault at once: most sessions fail, each with a typed error, none hangs."""
    heavy = {"drop": 0.2, "corrupt": 0.2, "duplicate": 0.2, "delay": 0.2, "reorder": 0.2, "max_delay": 8}
    outcomes = Counter()
    for seed in range(40):
        try:
            outcomes[run_in_memory(FaultPlan(seed=seed, **heavy), CASES[seed % 3], rows=300)[0]] += 1
        except HangDetected:  # pragma: no cover - the failure this test exists to catch
            pytest.fail(f"seed {seed}: hang")
    assert sum(outcomes.values()) == 40


# -- over TCP: Connection -> FaultyProxy -> MeterServer ---------------------------------------------------


class Loop:
    """An asyncio loop on its own thread (the meter server and the proxy), for the blocking client."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def meter_behind_proxy(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[int, TinyMeter, FaultyProxy, MeterServer]]:
    kind, plan = request.param
    meter = demo_meter()
    loop = Loop()
    server = MeterServer(meter, link=kind)
    listener = loop.call(server.start_tcp("127.0.0.1", 0))
    proxy = FaultyProxy(
        ("127.0.0.1", 0), ("127.0.0.1", listener.sockets[0].getsockname()[1]), plan, framing=kind
    )
    port = loop.call(proxy.start())
    try:
        yield port, meter, proxy, server
    finally:
        loop.call(proxy.close())
        loop.call(server.close())
        loop.stop()


def _tcp_connection(
    port: int, case: Case, kind: str, parameters: HdlcParameters = DEFAULT_PARAMETERS
) -> Connection:
    link = (
        WrapperLink(CLIENT_SAP[case], 1)
        if kind == "wrapper"
        else HdlcClientLink(CLIENT_SAP[case], SERVER, parameters, max_retries=10)
    )
    return Connection(TcpTransport("127.0.0.1", port), link, client_session(case, max_pdu=1024), timeout=0.15)


@pytest.mark.parametrize(
    "meter_behind_proxy",
    [("hdlc", FaultPlan(seed=5, drop=0.05, corrupt=0.05))],
    indirect=True,
    ids=["hdlc-drop-corrupt"],
)
@pytest.mark.parametrize("case", CASES)
def test_tcp_sessions_through_a_faulty_proxy(meter_behind_proxy: Any, case: Case) -> None:
    port, meter, proxy, _server = meter_behind_proxy
    with _tcp_connection(port, case, "hdlc", LARGEST_PARAMETERS) as connection:
        full_session(connection, meter, rows=ROWS if case == "hls-gmac" else 500)
    assert proxy.connections == 1
    assert proxy.client_to_server.dropped + proxy.server_to_client.corrupted > 0


@pytest.mark.parametrize(
    "meter_behind_proxy",
    [("hdlc", FaultPlan(seed=6, delay=0.2, max_delay=0.05, duplicate=0.03))],
    indirect=True,
    ids=["hdlc-delay-duplicate"],
)
def test_tcp_session_through_a_slow_repeating_proxy(meter_behind_proxy: Any) -> None:
    port, meter, proxy, _server = meter_behind_proxy
    try:
        with _tcp_connection(port, "hls-gmac", "hdlc", LARGEST_PARAMETERS) as connection:
            full_session(connection, meter, rows=500)
    except TransferInterrupted as interrupted:
        assert isinstance(interrupted.cause, (LinkError, MeterTimeout))
    except (LinkError, MeterTimeout):
        pass
    stats = FaultStats()
    stats.add(proxy.client_to_server)
    stats.add(proxy.server_to_client)
    assert stats.delayed > 0


@pytest.mark.parametrize(
    "meter_behind_proxy", [("wrapper", FaultPlan(seed=7, drop=0.3))], indirect=True, ids=["wrapper-drop"]
)
def test_tcp_wrapper_loss_is_a_clear_timeout(meter_behind_proxy: Any) -> None:
    port, meter, _proxy, _server = meter_behind_proxy
    with (
        pytest.raises((MeterTimeout, TransferInterrupted)) as failure,
        _tcp_connection(port, "none", "wrapper") as connection,
    ):
        for _ in range(20):
            full_session(connection, meter, rows=200)
    error = failure.value.cause if isinstance(failure.value, TransferInterrupted) else failure.value
    assert isinstance(error, MeterTimeout) and "no answer from the meter" in str(error)


def test_proxy_refuses_addresses_off_the_loopback() -> None:
    from dlmskit.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="loopback"):
        FaultyProxy(("0.0.0.0", 0), ("127.0.0.1", 4059), FaultPlan())
    with pytest.raises(ConfigurationError, match="loopback"):
        FaultyProxy(("127.0.0.1", 0), ("192.0.2.1", 4059), FaultPlan())
