"""The conformance framework without a meter: registration, outcomes, selection and the reports."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dlmskit.client import MeterSettings
from dlmskit.conformance import (
    REGISTRY,
    MeterUnderTest,
    Outcome,
    Registry,
    Requirement,
    Safety,
    TestContext,
    conformance_test,
    run_tests,
    summary,
    to_json,
    to_junit,
    write_html,
)
from dlmskit.errors import ProtocolError

REQ = Requirement("ACME meter specification 2.1", "4.2", "the serial number has 8 digits")


def _registry() -> Registry:
    """A vendor's own registry with one test of each outcome."""
    registry = Registry()

    @conformance_test("vendor.passes", requirement=REQ, registry=registry)
    def passes(t: TestContext) -> None:
        """Always passes."""

    @conformance_test("vendor.fails", requirement=REQ, registry=registry, effect="the head-end rejects it")
    def fails(t: TestContext) -> None:
        t.finding("8 digits", "7 digits", got_bytes=bytes.fromhex("C401C1000907") + b"1234567")
        t.check(False, "digits only", "a letter")

    @conformance_test("vendor.skips", requirement=REQ, registry=registry)
    def skips(t: TestContext) -> None:
        t.skip("the meter has no serial number object")

    @conformance_test("vendor.errors", requirement=REQ, registry=registry)
    def errors(t: TestContext) -> None:
        raise ProtocolError("no connection")

    @conformance_test("vendor.known", requirement=REQ, registry=registry, xfail="issue 99")
    def known(t: TestContext) -> None:
        t.fail("this", "that")

    @conformance_test("vendor.writes", requirement=REQ, registry=registry, safety=Safety.WRITES)
    def writes(t: TestContext) -> None:
        raise AssertionError("never runs without allow_writes")

    return registry


def _meter() -> MeterUnderTest:
    return MeterUnderTest(MeterSettings(port=1))


def test_outcomes_and_findings() -> None:
    results = {r.test.id: r for r in run_tests(_registry().select(), _meter())}
    assert {k: r.outcome for k, r in results.items()} == {
        "vendor.passes": Outcome.PASS,
        "vendor.fails": Outcome.FAIL,
        "vendor.skips": Outcome.SKIP,
        "vendor.errors": Outcome.ERROR,
        "vendor.known": Outcome.XFAIL,
        "vendor.writes": Outcome.SKIP,
    }
    failed = results["vendor.fails"]
    assert failed.message == "8 digits (and 1 more)"
    first = failed.findings[0]
    assert first.effect == "the head-end rejects it"  # the test's effect by default
    assert "GetResponseNormal" in first.decoded  # rendered by the translator
    assert "ProtocolError: no connection" in results["vendor.errors"].message
    assert "issue 99" in results["vendor.known"].message
    assert "--allow-writes" in results["vendor.writes"].message


def test_registration_rules() -> None:
    registry = _registry()
    with pytest.raises(ValueError, match="registered already"):
        conformance_test("vendor.passes", requirement=REQ, registry=registry)(lambda t: None)
    with pytest.raises(ValueError, match=r"<group>\.<name>"):
        conformance_test("nogroup", requirement=REQ, registry=registry)(lambda t: None)
    assert [t.id for t in registry.select(["vendor.*s"], exclude=["vendor.writes"])] == [
        "vendor.passes",
        "vendor.fails",
        "vendor.skips",
        "vendor.errors",
    ]


def test_builtin_tests_name_their_requirement() -> None:
    groups = {t.group for t in REGISTRY}
    assert {"hdlc", "wrapper", "association", "services", "security", "cosem"} <= groups
    for test in REGISTRY:
        assert test.requirement.source and test.requirement.text, test.id
        assert test.description, test.id
    writing = {t.id for t in REGISTRY if t.safety is Safety.WRITES}
    assert writing == {"services.set-read-only", "services.set-same-value", "services.action-undefined"}


def test_reports(tmp_path: Path) -> None:
    results = run_tests(_registry().select(), _meter())
    counts = summary(results)
    assert counts == {"pass": 1, "fail": 1, "skip": 2, "error": 1, "xfail": 1}
    document = json.loads(to_json(results, {"where": "test"}))
    assert document["summary"] == counts
    failed = next(r for r in document["results"] if r["id"] == "vendor.fails")
    assert failed["requirement"]["clause"] == "4.2"
    assert failed["findings"][0]["got_bytes"].startswith("C401C1")
    suite = ET.fromstring(to_junit(results))
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        "6",
        "1",
        "1",
        "3",
    )
    failure = suite.find("testcase[@name='vendor.fails']/failure")
    assert failure is not None and "effect on clients" in (failure.text or "")
    page = tmp_path / "report.html"
    write_html(results, page, meter={"where": "test"})
    text = page.read_text(encoding="utf-8")
    assert "vendor.fails" in text and "7 digits" in text
    assert "http://" not in text and "https://" not in text and "<script" not in text  # self-contained
