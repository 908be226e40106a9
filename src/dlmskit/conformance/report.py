"""Conformance reports: counts, JSON, JUnit XML (for a vendor's CI) and one self-contained HTML page.

The terminal summary (rich) lives with the command (:mod:`dlmskit.cli.commands.conformance`); this module
writes what is kept.
"""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dlmskit.conformance.framework import Outcome, TestResult

__all__ = ["summary", "to_json", "to_junit", "write_html"]


def summary(results: Sequence[TestResult]) -> dict[str, int]:
    """How many tests ended how: ``{"pass": 30, "fail": 2, ...}`` (every outcome present)."""
    counts = Counter(r.outcome.value for r in results)
    return {outcome.value: counts.get(outcome.value, 0) for outcome in Outcome}


def to_json(results: Sequence[TestResult], meter: dict[str, Any] | None = None) -> str:
    """The whole report as JSON: the meter (as given), the counts and every result with its findings."""
    document = {
        "meter": meter or {},
        "summary": summary(results),
        "results": [r.to_dict() for r in results],
    }
    return json.dumps(document, indent=2)


def to_junit(results: Sequence[TestResult], name: str = "dlmskit conformance") -> str:
    """JUnit XML: one testcase per test (classname = group); failures carry expected/got and the effect."""
    counts = summary(results)
    suite = ET.Element(
        "testsuite",
        name=name,
        tests=str(len(results)),
        failures=str(counts["fail"]),
        errors=str(counts["error"]),
        skipped=str(counts["skip"] + counts["xfail"]),
    )
    for result in results:
        test = result.test
        case = ET.SubElement(suite, "testcase", classname=f"conformance.{test.group}", name=test.id)
        requirement = str(test.requirement)
        if result.outcome is Outcome.FAIL:
            failure = ET.SubElement(case, "failure", message=result.message)
            failure.text = (
                requirement + "\n\n" + "\n\n".join(_finding_text(f.to_dict()) for f in result.findings)
            )
        elif result.outcome is Outcome.ERROR:
            ET.SubElement(case, "error", message=result.message).text = requirement
        elif result.outcome in (Outcome.SKIP, Outcome.XFAIL):
            ET.SubElement(case, "skipped", message=result.message)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def _finding_text(finding: dict[str, str]) -> str:
    lines = [f"expected: {finding['expected']}", f"got: {finding['got']}"]
    if finding["got_bytes"]:
        lines.append(f"bytes: {finding['got_bytes']}")
    if finding["decoded"]:
        lines.append("decoded:\n" + finding["decoded"])
    if finding["effect"]:
        lines.append(f"effect on clients: {finding['effect']}")
    return "\n".join(lines)


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
h1{font-size:1.4em} table{border-collapse:collapse;width:100%} td,th{padding:4px 8px;border-bottom:1px solid #ddd;
text-align:left;vertical-align:top} .pass{color:#1a7f37} .fail{color:#c62828;font-weight:bold} .error{color:#b26a00}
.skip,.xfail{color:#777} details{margin:4px 0} pre{background:#f6f8fa;padding:8px;overflow-x:auto;font-size:12px}
.req{color:#555;font-size:.9em} .counts span{margin-right:1.5em}
"""


def write_html(
    results: Sequence[TestResult], path: str | Path, *, meter: dict[str, Any] | None = None
) -> None:
    """One HTML page with no outside resources: counts, then every test with its requirement, findings
    (expected, got, bytes and their decoding, effect) and its transcript."""
    e = html.escape
    counts = summary(results)
    rows = []
    for result in results:
        data = result.to_dict()
        body = [f"<div class='req'>{e(str(result.test.requirement))} &middot; {e(data['safety'])}</div>"]
        if result.message:
            body.append(f"<p>{e(result.message)}</p>")
        for finding in data["findings"]:
            body.append(f"<pre>{e(_finding_text(finding))}</pre>")
        if data["transcript"]:
            frames = "\n\n".join(
                f"{t['direction'].upper()} {t['hex']}"
                + (f"  ({t['note']})" if t["note"] else "")
                + "\n"
                + t["decoded"]
                for t in data["transcript"]
            )
            body.append(f"<details><summary>transcript</summary><pre>{e(frames)}</pre></details>")
        rows.append(
            f"<tr><td class='{result.outcome.value}'>{result.outcome.value}</td><td><b>{e(data['id'])}</b> "
            f"{e(data['title'])}{''.join(body)}</td></tr>"
        )
    where = e(json.dumps(meter or {}))
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>dlmskit conformance report</title>"
        f"<style>{_STYLE}</style></head><body><h1>dlmskit conformance report</h1><p>{where}</p>"
        "<p class='counts'>"
        + "".join(f"<span class='{k}'>{k}: {v}</span>" for k, v in counts.items())
        + "</p><table><tr><th>result</th><th>test</th></tr>"
        + "".join(rows)
        + "</table></body></html>"
    )
    Path(path).write_text(page, encoding="utf-8")
