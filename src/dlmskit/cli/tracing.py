"""``--trace``: every frame as hex and as decoded APDU, decrypted with the keys the user gave.

Secrets are redacted: an LLS password or HLS secret that appears in a frame (the AARQ's calling
authentication value) is shown as ``**``; keys never appear (only the decrypted APDUs, which the user asked
for by giving ``--trace``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape

from dlmskit.client.client import DlmsClient
from dlmskit.client.settings import MeterSettings
from dlmskit.deviations import DeviationWarning
from dlmskit.translator.live import LiveDecoder, redact

__all__ = ["FrameTracer", "open_client", "redact"]


class FrameTracer:
    """Prints frames (hex) and their decoded, decrypted APDUs as they pass."""

    def __init__(self, settings: MeterSettings, console: Console) -> None:
        self.console = console
        keys = None
        if settings.block_cipher_key is not None and settings.authentication_key is not None:
            keys = (settings.block_cipher_key.reveal(), settings.authentication_key.reveal())  # type: ignore[union-attr]
        client_title = settings.system_title if isinstance(settings.system_title, bytes) else None
        password = settings.password.reveal() if settings.password is not None else b""  # type: ignore[union-attr]
        self._decoder = LiveDecoder(keys, client_title=client_title, secrets=[password])
        self._count = 0

    def __call__(self, direction: str, frame: bytes, decoded: object = None) -> None:
        self._count += 1
        arrow = "TX →" if direction == "tx" else "RX ←"
        style = "cyan" if direction == "tx" else "magenta"
        shown, text = self._decoder.decode(direction, frame, self._count)
        self.console.print(f"[{style}]{arrow}[/] {shown}", soft_wrap=True, highlight=False)
        self.console.print(text, markup=False, highlight=False, style="dim")


@contextmanager
def open_client(settings: MeterSettings, *, trace: bool, console: Console) -> Iterator[DlmsClient]:
    """Connect, associate, and release/disconnect at the end (with frames traced when asked).

    Deviations the client accepts (docs/tolerance.md) are printed as one ``warning:`` line each (the trace
    shows them under their frame as well); ``--strict`` makes them errors.
    """
    tracer = FrameTracer(settings, console) if trace else None
    client = DlmsClient(settings, on_frame=tracer)
    if not trace:
        client.on_deviation(lambda deviation: console.print(f"[yellow]warning:[/] {escape(str(deviation))}"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeviationWarning)
        with client:
            yield client
