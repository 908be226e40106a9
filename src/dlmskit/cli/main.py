"""The ``dlmskit`` command.

Every user mistake ends in one clear line on stderr and a non-zero exit code, never a traceback:
:class:`dlmskit.errors.DlmsError` (and the few OS errors a user can cause, such as a missing file) are
caught at the top and printed in words. ``DLMSKIT_DEBUG=1`` shows the traceback for bug reports.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape

from dlmskit import __version__
from dlmskit.errors import DlmsError

F = TypeVar("F", bound=Callable[..., Any])

stdout = Console(highlight=False)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


class DlmskitGroup(click.Group):
    """A click group that turns dlmskit errors into one readable line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except DlmsError as exc:
            _fail(exc)
        except (OSError, ValueError) as exc:
            _fail(exc)
        except KeyboardInterrupt:
            stderr.print("[yellow]interrupted[/]")
            raise SystemExit(130) from None
        return None  # pragma: no cover


def _fail(exc: BaseException) -> None:
    if os.environ.get("DLMSKIT_DEBUG"):
        raise exc
    kind = type(exc).__name__.rstrip("_")
    stderr.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True)
    stderr.print(f"[dim]({kind}; set DLMSKIT_DEBUG=1 for details)[/]")
    raise SystemExit(2)


@click.group(cls=DlmskitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dlmskit")
def cli() -> None:
    """dlmskit: talk to DLMS/COSEM (IEC 62056) meters, simulate one, and read their traces."""


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    import dlmskit.cli.commands  # noqa: F401  (registers the commands)

    cli.main(args=argv, prog_name="dlmskit")


if __name__ == "__main__":  # pragma: no cover
    # Run through the imported module so that commands register on the same ``cli`` object.
    from dlmskit.cli.main import main as _main

    _main(sys.argv[1:])
