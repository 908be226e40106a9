"""dlmskit.conformance: an open conformance tester for DLMS/COSEM meters.

It runs test groups modelled on the public structure of conformance testing (HDLC, wrapper, application
association, data services, security, COSEM objects) against a meter, and says test by test which
requirement holds, which does not, what came back (bytes, decoded by the trace translator) and what a
departure does to clients::

    from dlmskit.client import MeterSettings
    from dlmskit.conformance import MeterUnderTest, REGISTRY, run_tests, write_html

    meter = MeterUnderTest(MeterSettings(host="10.0.0.7", client_address=1, authentication="gmac", ...))
    results = run_tests(REGISTRY.select(["hdlc", "cosem"]), meter)
    write_html(results, "report.html")

Tests that write or call methods (:attr:`Safety.WRITES`) run only with ``allow_writes=True`` and restore
what they changed. A vendor adds tests with :func:`conformance_test` (see docs/conformance.md).
"""

from __future__ import annotations

from dlmskit.conformance import groups as _groups  # noqa: F401  (registers the built-in tests)
from dlmskit.conformance.framework import (
    GROUPS,
    REGISTRY,
    ConformanceTest,
    Finding,
    Outcome,
    Registry,
    Requirement,
    Safety,
    TestContext,
    TestResult,
    conformance_test,
    run_one,
    run_tests,
)
from dlmskit.conformance.probe import Association, GetReply, MeterUnderTest, RawLink, Reply
from dlmskit.conformance.report import summary, to_json, to_junit, write_html

__all__ = [
    "GROUPS",
    "REGISTRY",
    "Association",
    "ConformanceTest",
    "Finding",
    "GetReply",
    "MeterUnderTest",
    "Outcome",
    "RawLink",
    "Registry",
    "Reply",
    "Requirement",
    "Safety",
    "TestContext",
    "TestResult",
    "conformance_test",
    "run_one",
    "run_tests",
    "summary",
    "to_json",
    "to_junit",
    "write_html",
]
