"""The conformance tester against the gurux-dlms Python package's own server engine (``GXDLMSServer``).

gurux-dlms ships no runnable server, so tests/conformance/gurux_server.py gives its engine a socket and
four objects. The engine of gurux-dlms 1.0.203 calls two accessors its own reply class lacks
(``setReply``, ``getConnectionInfo``); the test adds those two and nothing else, so what the tester finds
is the package's behaviour. Findings (each checked below):

- HDLC: its SNRM handler needs an HDLC setup object the server never creates, so an SNRM is answered with an
  I-frame instead of UA; a frame with a damaged FCS is answered with FRMR instead of being dropped.
- wrapper: the RLRE's BER lengths do not match its contents; a rejected AARE carries an InitiateResponse;
  the GET path calls a method the engine lacks (``notifyRead``), so reads answer hardware-fault, and the
  error answer to a request with invoke-id 2 carries invoke-id 1; the ACTION response lacks the presence
  byte of its optional return parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from tests.conformance.conftest import Results, outcomes
from tests.interop.demo_meter import GURUX_MISSING

from dlmskit.conformance import Outcome

pytest.importorskip("gurux_dlms", reason=GURUX_MISSING)

from tests.conformance.gurux_server import GuruxServerThread

Run = Callable[..., Results]


@pytest.fixture
def gurux_server() -> Iterator[Callable[[str], GuruxServerThread]]:
    started: list[GuruxServerThread] = []

    def start(interface: str) -> GuruxServerThread:
        started.append(GuruxServerThread(interface))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def test_hdlc_snrm_is_not_answered_with_ua(
    gurux_server: Callable[[str], GuruxServerThread], run_conformance: Run
) -> None:
    port = gurux_server("hdlc").port
    results = run_conformance(port, ["hdlc.snrm-ua", "hdlc.bad-fcs"], timeout=0.5)
    assert results["hdlc.snrm-ua"].findings[0].got.startswith("I frame")
    bad_fcs = results["hdlc.bad-fcs"].findings[0]
    assert bad_fcs.expected == "no answer to a frame with a wrong FCS" and bad_fcs.got.startswith("FRMR")


def test_wrapper_deviations(gurux_server: Callable[[str], GuruxServerThread], run_conformance: Run) -> None:
    port = gurux_server("wrapper").port
    results = run_conformance(port, ["wrapper", "association", "services"], link="wrapper", allow_writes=True)
    assert outcomes(results, Outcome.ERROR) == {}
    failed = outcomes(results, Outcome.FAIL)
    assert set(failed) == {
        "association.public",
        "association.unknown-context",
        "services.get-normal",
        "services.action-undefined",
    }, failed
    assert "RLRE" in results["association.public"].findings[0].expected
    assert "InitiateResponse" in results["association.unknown-context"].findings[0].expected
    assert results["services.get-normal"].findings[0].got == "invoke-id 1 answers invoke-id 2"
    assert "return-parameters" in results["services.action-undefined"].findings[0].got
    for passed in ("wrapper.header", "association.conformance", "services.get-undefined"):
        assert results[passed].outcome is Outcome.PASS, passed
