"""``dlmskit web``: the web console, served on 127.0.0.1 by default.

::

    dlmskit web                       # http://127.0.0.1:8059, reaching `dlmskit simulate` by default
    dlmskit web --meter site-a        # connect form preset from a named meter profile
    DLMSKIT_WEB_TOKEN=... dlmskit web --bind 0.0.0.0   # another address needs a login token
    dlmskit web --db sqlite:///fleet.sqlite            # head-end dashboard over this head-end database
"""

from __future__ import annotations

from pathlib import Path

import click

from dlmskit.cli.main import cli, stderr
from dlmskit.cli.meter_options import build_settings
from dlmskit.errors import ConfigurationError

__all__ = ["web"]


@cli.command()
@click.option("--bind", "bind", default="127.0.0.1", show_default=True, help="Address to serve on.")
@click.option("--web-port", default=8059, show_default=True, type=int, help="Port to serve on.")
@click.option(
    "--token",
    envvar="DLMSKIT_WEB_TOKEN",
    help="Login token, required to bind beyond loopback (env DLMSKIT_WEB_TOKEN).",
)
@click.option("--meter", "meter_name", metavar="NAME", help="Preset the connect form from a meter profile.")
@click.option(
    "--meters-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The meters file (default: $XDG_CONFIG_HOME/dlmskit/meters.toml).",
)
@click.option("--host", help="Meter host preset in the connect form.  [default: 127.0.0.1]")
@click.option("--port", type=int, help="Meter TCP port preset in the connect form.  [default: 4059]")
@click.option(
    "--db",
    metavar="URL",
    help="Head-end database for the dashboard (default: the head-end's default SQLite file, if it exists).",
)
def web(
    bind: str,
    web_port: int,
    token: str | None,
    meter_name: str | None,
    meters_file: Path | None,
    host: str | None,
    port: int | None,
    db: str | None,
) -> None:
    """Serve the web console: meter explorer, profiles, live trace, translator, head-end dashboard."""
    try:
        import uvicorn

        from dlmskit.web import WebConfig, check_bind, create_app, is_loopback
        from dlmskit.web.headend import open_headend
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ConfigurationError(
            f"the web console needs its extra: pip install 'dlmskit[web]' ({exc})"
        ) from None
    check_bind(bind, token)
    settings = build_settings(meter_name, meters_file, {"host": host, "port": port})
    hosts = (
        None if not is_loopback(bind) else ("127.0.0.1", "localhost", "::1", bind)
    )  # a token guards the rest
    dashboard, said = open_headend(db)
    stderr.print(said)
    app = create_app(
        WebConfig(
            default=settings, meters_file=meters_file, token=token, allowed_hosts=hosts, headend=dashboard
        )
    )
    shown = f"[{bind}]" if ":" in bind else bind
    stderr.print(f"dlmskit web on http://{shown}:{web_port}/ (Ctrl-C stops it)")
    uvicorn.run(app, host=bind, port=web_port, log_level="warning", access_log=False)
