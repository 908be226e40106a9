"""The frames of a live session as a person reads them: hex with the secrets blotted out, and their decoding.

The CLI's ``--trace`` and the web console's trace view show the same thing; both use :class:`LiveDecoder`.
"""

from __future__ import annotations

from collections.abc import Sequence

from dlmskit.errors import DlmsError
from dlmskit.translator.hexinput import Direction, TraceItem
from dlmskit.translator.render import to_text
from dlmskit.translator.translate import Translation, Translator

__all__ = ["LiveDecoder", "redact"]


def redact(data: bytes, secrets: Sequence[bytes]) -> str:
    """Hex of ``data`` with every occurrence of a secret replaced by ``**`` per byte."""
    shown = [f"{b:02X}" for b in data]
    for secret in secrets:
        start = data.find(secret) if secret else -1
        while start >= 0:
            for index in range(start, start + len(secret)):
                shown[index] = "**"
            start = data.find(secret, start + 1)
    return " ".join(shown)


class LiveDecoder:
    """Decodes the frames of one session in order (deciphered with ``keys`` when given); ``secrets`` (an LLS
    password) never appear, neither in the hex nor in the decoding."""

    def __init__(
        self,
        keys: tuple[bytes, bytes] | None = None,
        *,
        client_title: bytes | None = None,
        secrets: Sequence[bytes] = (),
    ) -> None:
        self._translator = Translator(keys, client_title=client_title)
        self._secrets = [secret for secret in secrets if secret]

    def decode(self, direction: str, frame: bytes, number: int) -> tuple[str, str]:
        """(hex, decoded text) of frame ``number`` sent in ``direction`` ("tx" or "rx")."""
        item = TraceItem(Direction.TX if direction == "tx" else Direction.RX, bytes(frame), number)
        try:
            text = to_text(Translation([self._translator.translate_item(item)], []))
            lines = text.splitlines()[1:]  # the first line repeats the hex
        except DlmsError as error:  # the translator reports problems in its output; this is a last resort
            lines = [f"(not decoded: {error})"]
        for secret in self._secrets:
            lines = [line.replace(secret.hex().upper(), "**") for line in lines]
        return redact(bytes(frame), self._secrets), "\n".join(lines)
