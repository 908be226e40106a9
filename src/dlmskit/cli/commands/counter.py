"""``dlmskit counter show|set``: the client's stored invocation counters, as a meter engineer needs them.

A meter refuses an association whose invocation counter is not above the last one it accepted (from this
client system title and key). ``show`` lists what the counter file holds; ``set VALUE`` raises the stored
counter of this client's system title and key to VALUE (what the meter's frame counter object says, or
what its invocation-counter-error asked for). Counters never go back: that would send a GCM nonce twice.
"""

from __future__ import annotations

import json

import click
from rich.table import Table

from dlmskit.cli.main import cli, stdout
from dlmskit.cli.meter_options import meter_options
from dlmskit.client.settings import MeterSettings, default_counter_store_path, legacy_counter_store_path
from dlmskit.errors import ConfigurationError
from dlmskit.security.invocation import MAX_INVOCATION_COUNTER, FileInvocationCounterStore
from dlmskit.security.keys import SecretBytes, parse_system_title
from dlmskit.session.protection import counter_key_id

__all__ = ["counter"]


def _store(settings: MeterSettings) -> FileInvocationCounterStore:
    path = settings.counter_store_path
    inherit = legacy_counter_store_path() if path == default_counter_store_path() else None
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileInvocationCounterStore(path, inherit=inherit)


def _this_client(settings: MeterSettings) -> tuple[str, str | None]:
    """The system title (hex) and the key id of this client's counters (None without a block cipher key)."""
    title = parse_system_title(settings.system_title).hex().upper()
    key = settings.block_cipher_key
    return title, counter_key_id(key.reveal()) if isinstance(key, SecretBytes) else None


@cli.group()
def counter() -> None:
    """Show or raise the client's stored invocation counters.

    \b
    Examples:
      dlmskit counter show
      dlmskit counter set 1500 --key 000102... --auth-key D0D1D2...
    """


@counter.command()
@meter_options
def show(settings: MeterSettings, trace: bool, as_json: bool) -> None:
    """List the counter file: per system title and key, the next counter a client will use."""
    store = _store(settings)
    title, key_id = _this_client(settings)
    entries = sorted(store.stored().items())
    if as_json:
        payload = {
            "file": str(store.path),
            "counters": [
                {"system_title": t, "key_id": k, "next": value, "this_client": (t, k) == (title, key_id)}
                for (t, k), value in entries
            ],
        }
        click.echo(json.dumps(payload, indent=2))
        return
    stdout.print(f"invocation counters in {store.path}", markup=False)
    if not entries:
        stdout.print("(none yet: the first counter will be 1)")
        return
    table = Table()
    for column in ("system title", "key (hash of the key, never the key)", "next counter", ""):
        table.add_column(column)
    for (t, k), value in entries:
        table.add_row(t, k, str(value), "this client" if (t, k) == (title, key_id) else "")
    stdout.print(table)


@counter.command(name="set")
@click.argument("value", type=int)
@meter_options
def set_(value: int, settings: MeterSettings, trace: bool, as_json: bool) -> None:
    """Raise the next invocation counter of this client's system title and key to VALUE.

    VALUE is typically the meter's frame counter (0.0.43.1.x.255) plus one, or the counter its
    exception-response invocation-counter-error asked for. The counter never goes back.
    """
    title, key_id = _this_client(settings)
    if key_id is None:
        raise ConfigurationError("give the block cipher key (--key): counters are kept per key")
    if not 1 <= value <= MAX_INVOCATION_COUNTER:
        raise ConfigurationError(f"an invocation counter is 1..{MAX_INVOCATION_COUNTER}, not {value}")
    store = _store(settings)
    current = store.stored().get((title, key_id), 1)
    if value < current:
        raise ConfigurationError(
            f"the next counter of system title {title} is already {current}: counters never go back (a lower "
            "one would send a GCM nonce a second time); use a new system title or key to start again"
        )
    store.advance(bytes.fromhex(title), key_id, value)
    if as_json:
        click.echo(
            json.dumps({"file": str(store.path), "system_title": title, "key_id": key_id, "next": value})
        )
    else:
        stdout.print(f"next invocation counter of system title {title}: {value} ({store.path})", markup=False)
