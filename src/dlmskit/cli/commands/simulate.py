"""``dlmskit simulate``: run the meter simulator and say how to connect to it."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import click
from rich.table import Table

from dlmskit.cli.main import cli, stdout
from dlmskit.client.settings import default_counter_store_path
from dlmskit.security.hls import Mechanism
from dlmskit.session.server import QUIRKS
from dlmskit.simulator import SimulatedMeter, default_model, default_state_dir, load_model, serve
from dlmskit.simulator.fleet import Fleet
from dlmskit.simulator.model import MECHANISMS, MeterModel
from dlmskit.transport.eventloop import LOOP_CHOICES
from dlmskit.transport.eventloop import run as run_loop

_MECHANISM_NAMES = {mechanism: name for name, mechanism in MECHANISMS.items()}


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (TCP).")
@click.option("--port", default=4059, show_default=True, type=int, help="TCP port (0: any free port).")
@click.option(
    "--transport",
    "link",
    type=click.Choice(["hdlc", "wrapper"]),
    default="hdlc",
    show_default=True,
    help="Data link: HDLC (IEC 62056-46) or the wrapper (IEC 62056-47).",
)
@click.option("--udp", is_flag=True, help="With --transport wrapper: serve UDP datagrams instead of TCP.")
@click.option("--serial", "device", metavar="DEVICE", help="Serve on a serial line instead of TCP.")
@click.option("--baud", "baudrate", default=9600, show_default=True, type=int, help="Serial baud rate.")
@click.option(
    "--model",
    "model_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A meter model file (TOML, see docs/simulator.md); default: the built-in meter.",
)
@click.option("--tamper", is_flag=True, help="Start in the tamper state: relay open until the tamper token.")
@click.option("--seed", type=int, help="Seed of the simulated measurements (default: the model's).")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the meter keeps its invocation counters (default: $XDG_STATE_HOME/dlmskit/simulator).",
)
@click.option(
    "--quirk",
    "quirks",
    multiple=True,
    type=click.Choice(sorted(QUIRKS)),
    help="Behave like a real meter that deviates from the standard (repeatable; docs/tolerance.md).",
)
@click.option(
    "--hdlc-window",
    type=click.IntRange(1, 7),
    help="HDLC window (both ways) of the meter's IEC HDLC setup object; 1 like most real meters.",
)
@click.option(
    "--hdlc-max-info",
    type=click.IntRange(1, 2030),
    help="HDLC maximum information field length (both ways) of the IEC HDLC setup object; 128: the default.",
)
@click.option(
    "--referencing",
    type=click.Choice(["ln", "sn"]),
    help="Logical-name or short-name referencing (default: the model's, ln); docs/short-names.md.",
)
@click.option("--print-model", is_flag=True, help="Print the model file (to copy and edit) and exit.")
@click.option(
    "--fleet", "fleet_size", type=int, help="Serve N distinct meters, one TCP port each (--port: the first)."
)
@click.option(
    "--inventory",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --fleet: write the head-end inventory (TOML) here.",
)
@click.option("--delay", default=0.0, show_default=True, help="With --fleet: seconds before each answer.")
@click.option("--jitter", default=0.0, show_default=True, help="With --fleet: up to this many seconds more.")
@click.option(
    "--unreachable", default=0.0, show_default=True, help="With --fleet: share of unreachable meters."
)
@click.option(
    "--slow", default=0.0, show_default=True, help="With --fleet: share of meters slower than a timeout."
)
@click.option(
    "--faulty", default=0.0, show_default=True, help="With --fleet: share of meters with other keys."
)
@click.option(
    "--time-speed", type=float, help="With --fleet: the meters' clocks run this many times as fast."
)
@click.option(
    "--max-connections",
    type=click.IntRange(1),
    help="Concurrent connections a meter serves at most (with --fleet: each meter); more are closed at once.",
)
@click.option(
    "--max-total-connections",
    type=click.IntRange(1),
    help="With --fleet: concurrent connections the whole fleet serves at most; more are closed at once.",
)
@click.option(
    "--push", "push_to", metavar="HOST:PORT", help="With --fleet: the meters push (wrapper/UDP) to here."
)
@click.option("--push-every", default=60.0, show_default=True, help="With --push: seconds between pushes.")
@click.option(
    "--push-kind",
    type=click.Choice(["data", "event", "both"]),
    default="data",
    show_default=True,
    help="With --push: data-notifications, event-notifications (the last event code), or both in turn.",
)
@click.option(
    "--push-gbt",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="With --push: cut each push into general-block-transfer blocks of this many bytes (0: off).",
)
@click.option(
    "--push-link",
    type=click.Choice(["wrapper", "hdlc"]),
    default="wrapper",
    show_default=True,
    help="With --push: wrapper/UDP, or HDLC UI frames over one TCP connection to HOST:PORT.",
)
@click.option(
    "--inbound",
    "inbound_to",
    metavar="HOST:PORT",
    help="With --fleet: the meters call the head-end here (TCP) and serve DLMS on that connection.",
)
@click.option(
    "--inbound-every",
    default=60.0,
    show_default=True,
    help="With --inbound: seconds between a meter's calls.",
)
@click.option(
    "--loop",
    type=click.Choice(LOOP_CHOICES),
    default="auto",
    show_default=True,
    envvar="DLMSKIT_LOOP",
    show_envvar=True,
    help="The event loop: uvloop (pip install dlmskit[fast]) spends less CPU a session; auto takes it when "
    "installed.",
)
def simulate(
    host: str,
    port: int,
    link: str,
    udp: bool,
    device: str | None,
    baudrate: int,
    model_file: Path | None,
    tamper: bool,
    seed: int | None,
    state_dir: Path | None,
    quirks: tuple[str, ...],
    hdlc_window: int | None,
    hdlc_max_info: int | None,
    referencing: str | None,
    print_model: bool,
    fleet_size: int | None,
    inventory: Path | None,
    delay: float,
    jitter: float,
    unreachable: float,
    slow: float,
    faulty: float,
    time_speed: float | None,
    max_connections: int | None,
    max_total_connections: int | None,
    push_to: str | None,
    push_every: float,
    push_kind: str,
    push_gbt: int,
    push_link: str,
    inbound_to: str | None,
    inbound_every: float,
    loop: str,
) -> None:
    """Run a simulated meter until Ctrl-C.

    \b
    Examples:
      dlmskit simulate
      dlmskit simulate --tamper --transport wrapper
      dlmskit simulate --print-model > meter.toml   # edit it, then:
      dlmskit simulate --model meter.toml
      dlmskit simulate --quirk trailing-bytes --quirk profile-empty-last-block   # a Gurux-like meter
      dlmskit simulate --hdlc-window 1 --hdlc-max-info 128   # HDLC like most real meters
      dlmskit simulate --fleet 500 --port 0 --inventory fleet.toml --delay 0.3 --jitter 1.2 --unreachable 0.02
      dlmskit simulate --referencing sn   # a short-name meter (READ/WRITE by base name)
      dlmskit simulate --fleet 50 --transport wrapper --inventory fleet.toml --inbound 127.0.0.1:4060
    """
    model = load_model(model_file) if model_file is not None else default_model()
    if fleet_size is not None:
        fleet = Fleet(
            fleet_size,
            seed=seed if seed is not None else 1,
            model=model,
            link="wrapper" if link == "wrapper" else "hdlc",
            delay=delay,
            jitter=jitter,
            unreachable=unreachable,
            slow=slow,
            faulty=faulty,
            time_speed=time_speed,
            max_connections=max_connections,
            max_total_connections=max_total_connections,
        )
        with contextlib.suppress(KeyboardInterrupt):
            run_loop(
                _serve_fleet(
                    fleet,
                    host,
                    port,
                    inventory,
                    push_to,
                    push_every,
                    inbound_to,
                    inbound_every,
                    push_kind=push_kind,
                    push_gbt=push_gbt,
                    push_link=push_link,
                ),
                loop=loop,
            )
        stdout.print("simulator stopped")
        return
    if print_model:
        click.echo(model.text, nl=False)
        return
    meter = SimulatedMeter(
        model,
        state_dir=state_dir or default_state_dir(),
        seed=seed,
        tamper=True if tamper else None,
        quirks=quirks or None,
        referencing=referencing,
    )
    if hdlc_window is not None or hdlc_max_info is not None:
        meter.set_hdlc_limits(window=hdlc_window, max_info_length=hdlc_max_info)

    def ready(where: str) -> None:
        _describe(meter, model, where, link, tcp=device is None)

    with contextlib.suppress(KeyboardInterrupt):
        run_loop(
            serve(
                meter,
                link="wrapper" if link == "wrapper" else "hdlc",
                host=host,
                port=port,
                serial=device,
                baudrate=baudrate,
                udp=udp,
                ready=ready,
                max_connections=max_connections,
            ),
            loop=loop,
        )
    stdout.print("simulator stopped")


def _host_port(text: str, option: str) -> tuple[str, int]:
    where, _, number = text.rpartition(":")
    if not where or not number.isdigit():
        raise click.BadParameter("HOST:PORT, e.g. 127.0.0.1:4059", param_hint=option)
    return where.strip("[]"), int(number)


async def _serve_fleet(
    fleet: Fleet,
    host: str,
    port: int,
    inventory: Path | None,
    push_to: str | None,
    push_every: float,
    inbound_to: str | None = None,
    inbound_every: float = 60.0,
    *,
    push_kind: str = "data",
    push_gbt: int = 0,
    push_link: str = "wrapper",
) -> None:
    await fleet.start(host, port)
    try:
        ports = [m.port for m in fleet.meters]
        stdout.print(
            f"[bold green]dlmskit fleet simulator[/]: {len(fleet.meters)} meters on {host}, "
            f"ports {min(ports)}..{max(ports)}"
        )
        if inventory is not None:
            fleet.write_inventory(inventory)
            stdout.print(f"inventory written to {inventory}: dlmskit headend import {inventory}")
        stdout.print("Press Ctrl-C to stop.")
        if inbound_to is not None:
            inbound_host, inbound_port = _host_port(inbound_to, "--inbound")
            stdout.print(f"calling the head-end at {inbound_to} (TCP) every {inbound_every:g} s")
            calls = asyncio.ensure_future(fleet.call_in_forever(inbound_host, inbound_port, inbound_every))
        if push_to is not None:
            push_host, _, push_port = push_to.rpartition(":")
            if not push_host or not push_port.isdigit():
                raise click.BadParameter("HOST:PORT, e.g. 127.0.0.1:4059", param_hint="--push")
            how = "HDLC UI frames over TCP" if push_link == "hdlc" else "wrapper/UDP"
            blocks = f", general-block-transfer blocks of {push_gbt} bytes" if push_gbt else ""
            stdout.print(
                f"pushing {push_kind} notifications to {push_to} ({how}{blocks}) every {push_every:g} s"
            )
            await fleet.push_forever(
                push_host, int(push_port), push_every, kind=push_kind, gbt=push_gbt, link=push_link
            )
        await (calls if inbound_to is not None else asyncio.Event().wait())
    finally:
        await fleet.close()


def _describe(meter: SimulatedMeter, model: MeterModel, where: str, link: str, *, tcp: bool) -> None:
    """How to connect: addresses, clients and their secrets (demo values), tokens, example commands."""
    settings = meter.settings
    stdout.print(f"[bold green]dlmskit meter simulator[/] listening on [bold]{where}[/] ({link})")
    stdout.print(
        f"meter {settings.manufacturer} serial {settings.serial_number}, logical device name "
        f"{settings.logical_device_name}, system title {settings.system_title.hex().upper()}"
    )
    if settings.quirks:
        stdout.print(f"[yellow]quirks[/] (docs/tolerance.md): {', '.join(sorted(settings.quirks))}")
    if meter.short_names is not None:
        stdout.print(
            f"[yellow]short-name referencing[/] (SN): {len(meter.short_names)} base names, Association SN at "
            "FA00; connect with --referencing sn (or auto)"
        )
    if link == "hdlc":
        stdout.print(
            f"HDLC server address: logical {settings.hdlc_logical_address}, physical {settings.hdlc_physical_address}"
        )
        limits = meter.hdlc_limits
        stdout.print(
            f"HDLC setup: window {limits.window_tx}/{limits.window_rx}, "
            f"max information field {limits.max_info_tx}/{limits.max_info_rx} bytes (transmit/receive)"
        )
    else:
        stdout.print(f"wrapper: server wPort {settings.wrapper_port}, client wPort = client address")
    if meter.tamper:
        stdout.print(
            "[bold yellow]tamper state:[/] relay open, remote reconnection refused until the tamper token"
        )
    clients = Table(title="Clients (demo credentials)", title_justify="left")
    for column in ("address", "name", "authentication", "password / keys", "security"):
        clients.add_column(column)
    for association in model.associations:
        credentials = []
        if association.mechanism == Mechanism.LOW and association.secret:
            credentials.append(f"password {association.secret.decode('utf-8', 'replace')}")
        elif association.secret:
            credentials.append(f"secret {association.secret.hex().upper()}")
        if association.block_cipher_key and association.authentication_key:
            credentials.append(f"EK {association.block_cipher_key.hex().upper()}")
            credentials.append(f"AK {association.authentication_key.hex().upper()}")
            credentials.append(f"server title {association.server_system_title.hex().upper()}")
        if association.master_key:
            credentials.append(f"master key {association.master_key.hex().upper()}")
        if association.security_suite:
            signed = ", signed APDUs" if association.signed_apdus else ""
            credentials.append(f"suite {association.security_suite} (key pairs from the model{signed})")
        clients.add_row(
            str(association.client_sap),
            association.name,
            _MECHANISM_NAMES[association.mechanism],
            "\n".join(credentials) or "-",
            association.policy.name.lower().replace("_", "-"),
        )
    stdout.print(clients)
    if model.tokens:
        stdout.print("Tokens for the token gateway 0.0.19.40.0.255 (method 1 enter, 20 ASCII digits):")
        tokens = Table()
        tokens.add_column("token")
        tokens.add_column("effect")
        for token in model.tokens:
            digits = " ".join(token.token[i : i + 4] for i in range(0, 20, 4))
            tokens.add_row(digits, token.description or "-")
        stdout.print(tokens)
    port = where.rpartition(":")[2]
    target = f" --port {port}" if tcp and port != "4059" else ""
    target += " --transport wrapper" if link == "wrapper" else ""
    stdout.print("Try, in another terminal:")
    stdout.print(f"  dlmskit read{target} 0.0.1.0.0.255", markup=False)
    stdout.print(
        f"  dlmskit read{target} --client 32 --auth low --password 12345678 1.0.1.8.0.255", markup=False
    )
    management = model.association(1)
    if management is not None and management.block_cipher_key and management.authentication_key:
        stdout.print(
            f"  dlmskit read{target} --client 1 --auth gmac --security auth-enc "
            f"--key {management.block_cipher_key.hex().upper()} "
            f"--auth-key {management.authentication_key.hex().upper()} --system-title 4D4D4D0000000001 "
            "0.0.96.3.10.255",
            markup=False,
        )
    if meter.counter_file is not None:
        stdout.print(
            f"The meter's invocation counters: {meter.counter_file}; a client's: "
            f"{default_counter_store_path()} (dlmskit counter show). The public client may read the frame "
            "counter 0.0.43.1.1.255 (--read-frame-counter).",
            markup=False,
        )
    stdout.print("Press Ctrl-C to stop.")
