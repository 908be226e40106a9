"""``dlmskit decode`` and ``dlmskit encode``: the trace translator on the command line.

::

    dlmskit decode 7E A0 2D 02 47 09 54 14 1B E6 E6 00 C8 1E 30 ...
    dlmskit decode --file trace.txt --format xml
    dlmskit decode --pcap capture.pcap --key 000102...0F --auth-key D0D1...DF
    pbpaste | dlmskit decode -
    dlmskit encode --xml request.xml

``decode`` exits with 0 when everything decoded, 1 when something could not be decoded (the rest is still
shown) and 2 for usage errors (bad hex, keys of the wrong length, a missing file).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO

import click

from dlmskit.cli.main import cli, stdout
from dlmskit.security.certificates import load_private_key, load_public_key
from dlmskit.security.keys import parse_key, parse_system_title
from dlmskit.translator import (
    Translation,
    encode_xml,
    parse_hex_text,
    read_pcap,
    to_json,
    to_text,
    to_xml,
    translate,
)

__all__ = ["decode", "encode"]

_FORMATS: dict[str, Callable[[Translation, str], str]] = {"text": to_text, "xml": to_xml, "json": to_json}


@cli.command()
@click.argument("hex_text", nargs=-1, metavar="[HEX...|-]")
@click.option(
    "--file",
    "-f",
    "file",
    type=click.File("r", encoding="utf-8", errors="replace"),
    help="Read the trace from a text file ('-' for standard input), one message per line.",
)
@click.option(
    "--pcap",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the messages to and from port 4059 in a pcap capture file.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(_FORMATS)),
    default="text",
    show_default=True,
    help="How to show the trace: indented text, Gurux translator XML, or JSON.",
)
@click.option("--key", help="Block cipher key (hex), to decipher ciphered APDUs.")
@click.option("--auth-key", help="Authentication key (hex), given with --key.")
@click.option("--client-title", help="Client system title (hex), when the trace has no AARQ carrying it.")
@click.option("--server-title", help="Server system title (hex), when the trace has no AARE carrying it.")
@click.option(
    "--private-key",
    "private_key_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Suites 1/2: a party's private key (PEM) to decipher general-ciphering with agreed keys (repeatable).",
)
@click.option(
    "--public-key",
    "public_key_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Suites 1/2: a party's certificate or public key (PEM) to verify general-signing (repeatable).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Deviations from the standard that are accepted with a warning (docs/tolerance.md) are errors.",
)
def decode(
    hex_text: tuple[str, ...],
    file: IO[str] | None,
    pcap: Path | None,
    output_format: str,
    key: str | None,
    auth_key: str | None,
    client_title: str | None,
    server_title: str | None,
    private_key_files: tuple[Path, ...],
    public_key_files: tuple[Path, ...],
    strict: bool,
) -> None:
    """Decode a DLMS/COSEM trace: HDLC frames, wrapper frames or APDUs, given as hex.

    HEX is one message (its bytes may be spread over several arguments). Use --file or '-' for several
    messages, one per line; log lines such as "[DEBUG][TX] : 7E A0 ..." or "RX: ..." are understood, and
    so is the output of --trace (its decoded lines are skipped).
    With --key and --auth-key, ciphered APDUs are deciphered and their authentication tag checked (the
    plaintext is shown because you asked for it). Exit code 1 when something did not decode.
    """
    sources = sum((bool(hex_text), file is not None, pcap is not None))
    if sources != 1:
        raise click.UsageError(
            "give the trace one way: as HEX arguments, with --file (or '-'), or with --pcap"
        )
    if (key is None) != (auth_key is None):
        raise click.UsageError("give --key and --auth-key together")
    keys = None
    if key is not None and auth_key is not None:
        keys = (parse_key(key, name="block cipher key"), parse_key(auth_key, name="authentication key"))
    unit = "line"
    if pcap is not None:
        items = read_pcap(pcap.read_bytes())
        unit = "packet"
    elif file is not None:
        items = parse_hex_text(file.read())
    elif hex_text == ("-",):
        items = parse_hex_text(sys.stdin.read())
    else:
        items = parse_hex_text(" ".join(hex_text))
    if not items:
        raise click.UsageError("no message found in the input")
    translation = translate(
        items,
        keys,
        client_title=None if client_title is None else parse_system_title(client_title),
        server_title=None if server_title is None else parse_system_title(server_title),
        private_keys=tuple(load_private_key(path) for path in private_key_files),
        public_keys=tuple(load_public_key(path) for path in public_key_files),
        strict=strict,
    )
    shown = _FORMATS[output_format](translation, unit)
    if output_format == "text":
        stdout.print(shown, markup=False, highlight=False, soft_wrap=True)
    else:
        click.echo(shown)
    if not translation.ok:
        raise SystemExit(1)


@cli.command()
@click.option(
    "--xml",
    "xml_file",
    type=click.File("r", encoding="utf-8"),
    required=True,
    help="Translator XML to encode ('-' for standard input).",
)
def encode(xml_file: IO[str]) -> None:
    """Encode translator XML (dlmskit's or the Gurux translator's) back to APDU hex, one APDU a line."""
    for apdu in encode_xml(xml_file.read()):
        click.echo(apdu.hex().upper())
