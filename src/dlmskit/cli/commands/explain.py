"""``dlmskit explain CODE``: what a result code, an exception, or a number from another DLMS library means."""

from __future__ import annotations

import json

import click
from rich.panel import Panel
from rich.text import Text

from dlmskit.apdu.results import explain as explain_code
from dlmskit.cli.main import cli, stdout


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("code", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the readings as JSON.")
def explain(code: tuple[str, ...], as_json: bool) -> None:
    """Explain CODE: a result code or name, exception-response bytes, or a number printed by other DLMS
    libraries (for example 258, -2147483645 or 12 from the Gurux clients).

    \b
    Examples:
      dlmskit explain 12
      dlmskit explain -2147483645
      dlmskit explain type-unmatched
      dlmskit explain D8 01 03
    """
    text = " ".join(code)
    readings = explain_code(text)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {"title": r.title, "meaning": r.meaning, "likely_causes": list(r.likely_causes)}
                    for r in readings
                ],
                indent=2,
            )
        )
    elif not readings:
        stdout.print(
            f"No reading for {text!r}. Try a number (12, 0x80000003), a name (type-unmatched) or APDU hex (D8 01 03)."
        )
    else:
        for index, reading in enumerate(readings):
            body = Text(reading.meaning)
            for cause in reading.likely_causes:
                body.append(f"\n  • {cause}")
            style = "bold green" if index == 0 else "cyan"
            stdout.print(Panel(body, title=reading.title, title_align="left", border_style=style))
    if not readings:
        raise SystemExit(1)
