"""``dlmskit demo``: the main job, end to end, against a simulated meter the command starts itself.

The story of the two forum threads in one run: a meter in a tamper state with its relay open; LLS cannot
operate the relay; an HLS-GMAC association (keys given as hex) reads identity, clock and energy, is refused
reconnection while the tamper state lasts, enters the tamper token as an octet-string of 20 ASCII digits, sees
the relay close, disconnects and reconnects it; and the decoded, decrypted trace of the token exchange. Then
the head-end's job in small: a simulated fleet (one meter unreachable, one with other keys) read once with a
read plan, its outcomes in words, stored readings and sessions per second (:mod:`dlmskit.cli.demo_fleet`).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import click
from rich.panel import Panel
from rich.rule import Rule

from dlmskit.cli.demo_fleet import FLEET_SIZE, DemoFleet, read_fleet
from dlmskit.cli.main import cli, stdout
from dlmskit.client.client import DlmsClient
from dlmskit.client.errors import MeterRefused
from dlmskit.client.settings import MeterSettings
from dlmskit.codec.obis import Obis, describe
from dlmskit.simulator.meter import SimulatedMeter
from dlmskit.simulator.runner import SimulatorThread
from dlmskit.simulator.server import LinkKind
from dlmskit.translator import Translator, nodes_to_xml
from dlmskit.translator.ciphered import Role

__all__ = ["demo"]

_EK = "000102030405060708090A0B0C0D0E0F"
_AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
_CLIENT_TITLE = bytes.fromhex("4D4D4D0000000001")


def _step(title: str) -> None:
    stdout.print(Rule(f"[bold]{title}", align="left", style="blue"))


def _ok(text: str) -> None:
    stdout.print(f"  [green]✔[/] {text}")


def _refused(action: Callable[[], Any], expectation: str) -> None:
    """Run ``action`` that the meter is expected to refuse and show its error in words."""
    try:
        action()
    except MeterRefused as exc:
        _ok(f"{expectation}:")
        stdout.print(f"    [yellow]{exc}[/]", markup=True, highlight=False)
    else:
        raise click.ClickException(f"the meter did not refuse: {expectation}")


@cli.command()
@click.option(
    "--transport", "link", type=click.Choice(["hdlc", "wrapper"]), default="hdlc", show_default=True
)
def demo(link: str) -> None:
    """Run the main job end to end against a built-in simulated meter (no hardware, no options).

    It starts a meter in a tamper state on a free loopback port, shows that LLS cannot operate the relay,
    associates with HLS-GMAC (authenticated and encrypted), reads identity, clock and energy, enters the
    token that clears the tamper state, switches the relay, and prints the decrypted trace of the token
    exchange. Then a head-end reads a small simulated fleet once and shows the outcomes and the throughput.
    """
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as directory:
        fleet = DemoFleet(Path(directory), link)  # starts now: it is up by the time step 8 needs it
        try:
            _single_meter(link)
            _step(
                f"8. The head-end: {FLEET_SIZE} simulated meters ({link.upper()}, one process) read with one plan"
            )
            read_fleet(stdout, fleet, Path(directory), _ok)
        finally:
            fleet.stop()
    stdout.print(
        Panel(
            f"Done in {time.perf_counter() - started:.2f} s. Try it against the simulator yourself:\n"
            "  dlmskit simulate --tamper        (in one terminal)\n"
            f"  dlmskit relay --auth gmac --key {_EK} --auth-key {_AK}\n"
            "  dlmskit decode --help           (decode and decrypt traces)\n"
            "  dlmskit simulate --fleet 50 --port 0 --inventory fleet.toml, then dlmskit headend --help",
            title="dlmskit demo",
            border_style="green",
        )
    )


def _single_meter(link: str) -> None:
    """Steps 1 to 7: one simulated meter in a tamper state, LLS, HLS-GMAC, the token, the relay, the trace."""
    meter = SimulatedMeter(tamper=True)
    tamper_token = next(t.token for t in meter.model.tokens if t.clear_tamper)
    server_title = meter.settings.system_title
    with SimulatorThread(meter, cast(LinkKind, link)) as simulator, tempfile.TemporaryDirectory() as state:
        _step(
            f"1. A simulated meter on 127.0.0.1:{simulator.port} ({link.upper()}), started in a tamper state"
        )
        _ok(
            f"server address logical {meter.settings.hdlc_logical_address} / "
            f"physical {meter.settings.hdlc_physical_address}, system title {server_title.hex().upper()}"
        )
        common: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": simulator.port,
            "link": link,
            "invocation_counter_path": f"{state}/counters.json",
        }

        _step("2. Low level security (LLS, client 32) cannot operate the relay")
        lls_password = "12345678"  # noqa: S105 - the documented password of the simulator's LLS client
        with DlmsClient.connect(
            client_address=32, authentication="low", password=lls_password, **common
        ) as lls:
            _refused(lls.remote_disconnect, "remote_disconnect over LLS is refused, and the error says why")

        _step("3. HLS-GMAC management association (client 1), authenticated and encrypted, keys in hex")
        apdus: list[tuple[str, bytes]] = []
        settings = MeterSettings(
            client_address=1,
            authentication="gmac",
            security_policy="auth-enc",
            block_cipher_key=_EK,
            authentication_key=_AK,
            system_title=_CLIENT_TITLE,
            **common,
        )
        with DlmsClient(settings, on_apdu=lambda direction, apdu: apdus.append((direction, apdu))) as client:
            negotiated = client.negotiated
            assert negotiated is not None
            _ok(
                f"associated: server max PDU {negotiated.server_max_receive_pdu_size}, "
                f"conformance {', '.join(negotiated.conformance.names()[:6])}, ..."
            )
            identity = client.read("0.0.42.0.0.255")
            _ok(f"logical device name: {bytes(identity).decode('ascii', 'replace')}")
            _ok(f"meter clock: {client.clock().isoformat(sep=' ')}")
            for code in ("1.0.1.8.0.255", "1.0.2.8.0.255"):
                quantity = client.register(code)
                _ok(f"{describe(Obis.parse(code))}: {quantity.format(prefix=True)}")
            _ok(f"relay: {client.relay_state()}")

            _step("4. Reconnection is refused while the meter is in its tamper state")
            _refused(client.remote_reconnect, "remote_reconnect is refused")

            _step("5. Enter the tamper token as an octet-string of 20 ASCII digits")
            before = len(apdus)
            result = client.token_enter(tamper_token)
            token_apdus = apdus[before : before + 2]
            _ok(f"token {tamper_token}: {result.name} ({result.status_code}): {result.description}")
            _ok(f"relay: {client.relay_state()}")

            _step("6. Disconnect and reconnect the relay")
            _ok(f"after remote_disconnect: {client.remote_disconnect()}")
            _ok(f"after remote_reconnect: {client.remote_reconnect()}")
            _ok(f"token status: {client.token_status()}")

        _step("7. The token exchange as it went over the wire, decrypted with the demo keys")
        translator = Translator(
            (bytes.fromhex(_EK), bytes.fromhex(_AK)), client_title=_CLIENT_TITLE, server_title=server_title
        )
        for direction, apdu in token_apdus:
            role = Role.CLIENT if direction == "tx" else Role.SERVER
            stdout.print(
                f"[cyan]{'client → meter' if role is Role.CLIENT else 'meter → client'}[/] {apdu.hex().upper()}",
                soft_wrap=True,
            )
            stdout.print(nodes_to_xml([translator.apdu_node(apdu, role)]), markup=False, highlight=False)
