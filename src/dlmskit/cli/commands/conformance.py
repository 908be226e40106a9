"""``dlmskit conformance``: test a meter against the standard, test by test, and write the reports.

Read-only by default; ``--allow-writes`` adds the tests that write attributes or call methods (they put
back what they changed). Exit code 0 when nothing failed, 1 when a test failed or could not run.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from dlmskit.cli.main import cli, stdout
from dlmskit.cli.meter_options import meter_options
from dlmskit.client.settings import MeterSettings
from dlmskit.conformance import REGISTRY, MeterUnderTest, Outcome, TestResult, run_tests, summary
from dlmskit.conformance.report import to_json, to_junit, write_html

__all__ = ["conformance"]

_DECODED_LINES = 12
_STYLES = {"pass": "green", "fail": "bold red", "error": "yellow", "skip": "dim", "xfail": "dim"}


def _load_plugin(name: str) -> None:
    """Import a vendor's test module (a dotted module name or a .py file): its tests register themselves."""
    if name.endswith(".py"):
        path = Path(name)
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise click.BadParameter(f"cannot load {name}", param_hint="--tests")
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
    else:
        importlib.import_module(name)


def _meter_info(settings: MeterSettings) -> dict[str, str]:
    return {"where": settings.where()}


@cli.command()
@meter_options
@click.option(
    "--select",
    "-k",
    "select",
    multiple=True,
    metavar="PATTERN",
    help="Run only these tests or groups (shell patterns on the id: hdlc, 'services.get-*'). Repeatable.",
)
@click.option(
    "--exclude", multiple=True, metavar="PATTERN", help="Leave these tests or groups out. Repeatable."
)
@click.option(
    "--allow-writes", is_flag=True, help="Also run the tests that write or call methods (they restore)."
)
@click.option(
    "--tests",
    "plugins",
    multiple=True,
    metavar="MODULE|FILE.py",
    help="Import a module of your own tests (registered with dlmskit.conformance.conformance_test).",
)
@click.option(
    "--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), help="Write an HTML report."
)
@click.option(
    "--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path), help="Write JUnit XML."
)
@click.option(
    "--report-json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the JSON report to a file.",
)
@click.option(
    "--silence",
    type=float,
    default=1.0,
    show_default=True,
    help="Seconds to wait before concluding that the meter ignored a frame.",
)
@click.option("--list", "list_only", is_flag=True, help="List the tests and their requirements, run nothing.")
def conformance(
    settings: MeterSettings,
    trace: bool,
    as_json: bool,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    allow_writes: bool,
    plugins: tuple[str, ...],
    html_path: Path | None,
    junit_path: Path | None,
    json_path: Path | None,
    silence: float,
    list_only: bool,
) -> None:
    """Test a meter against IEC 62056 (HDLC, wrapper, association, services, security, COSEM objects)."""
    for plugin in plugins:
        _load_plugin(plugin)
    tests = REGISTRY.select(select, exclude=exclude)
    if list_only:
        table = Table("test", "safety", "requirement", box=None)
        for test in tests:
            table.add_row(test.id, test.safety.value, escape(str(test.requirement)))
        stdout.print(table)
        return
    meter = MeterUnderTest(settings, silence=silence)

    def show(result: TestResult) -> None:
        if as_json:
            return
        style = _STYLES[result.outcome.value]
        line = f"[{style}]{result.outcome.value:5}[/] {result.test.id}"
        if result.message and result.outcome is not Outcome.PASS:
            line += f"  [dim]{escape(result.message)}[/]"
        stdout.print(line)
        if trace:
            for frame in result.transcript:
                stdout.print(f"    {frame['direction']} {frame['hex']}", style="dim")

    results = run_tests(tests, meter, allow_writes=allow_writes, on_result=show)
    info = _meter_info(settings)
    if html_path is not None:
        write_html(results, html_path, meter=info)
    if junit_path is not None:
        junit_path.write_text(to_junit(results), encoding="utf-8")
    if json_path is not None:
        json_path.write_text(to_json(results, info), encoding="utf-8")
    counts = summary(results)
    if as_json:
        click.echo(to_json(results, info))
    else:
        _print_summary(results, counts)
    if counts["fail"] or counts["error"]:
        raise SystemExit(1)


def _print_summary(results: list[TestResult], counts: dict[str, int]) -> None:
    failed = [r for r in results if r.outcome is Outcome.FAIL]
    for result in failed:
        stdout.print(f"\n[bold red]{result.test.id}[/]  {escape(str(result.test.requirement))}")
        for finding in result.findings:
            stdout.print(f"  expected: {escape(finding.expected)}")
            stdout.print(f"  got:      {escape(finding.got)}")
            if finding.got_bytes:
                stdout.print(f"  bytes:    {finding.got_bytes.hex().upper()}", style="dim")
            lines = finding.decoded.splitlines()
            for line in lines[:_DECODED_LINES]:
                stdout.print(f"          {escape(line)}", style="dim")
            if len(lines) > _DECODED_LINES:
                stdout.print(
                    f"          ... ({len(lines) - _DECODED_LINES} more lines in the reports)", style="dim"
                )
            if finding.effect:
                stdout.print(f"  effect:   {escape(finding.effect)}", style="yellow")
    stdout.print("\n" + "  ".join(f"[{_STYLES[k]}]{k} {v}[/]" for k, v in counts.items()))
