"""Deviations: what a meter sent that the standard does not allow, but that dlmskit accepted.

Real meters are sloppier than the standard: a value followed by stray bytes, a padding byte after the AARE,
release answers whose BER lengths do not add up, block transfers the association never granted. Where the
bytes are unambiguous and nothing security-relevant rests on them, dlmskit decodes them anyway and records a
:class:`Deviation` (see docs/tolerance.md for the policy and the public source of each case). In strict mode
(``strict=True`` in the settings, ``--strict`` on the command line) every deviation is an error instead:
:class:`DeviationError`.

Deviations are collected per request (``client.deviations`` after each call), passed to the trace and the
translator, logged on the ``dlmskit.deviations`` logger and issued as a :class:`DeviationWarning` through
:mod:`warnings` (Python shows each distinct warning once by default).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from dlmskit.errors import DecodeError

__all__ = [
    "CODES",
    "Deviation",
    "DeviationError",
    "DeviationHook",
    "DeviationWarning",
    "emit",
]

_LOG = logging.getLogger("dlmskit.deviations")
_LOG.addHandler(logging.NullHandler())  # shown where the application configures logging; warnings.warn too

CODES: Final[dict[str, str]] = {
    "trailing-bytes": "bytes after a complete APDU or value (ignored)",
    "padding-after-aare": "bytes after a complete AARE inside the link frame (ignored)",
    "rlre-lengths": "the RLRE's BER lengths do not add up (the release is done; the RLRE's content is not used)",
    "ungranted-block-transfer": "a block transfer the negotiated conformance does not grant",
}
"""The deviations dlmskit accepts, by code, in words (docs/tolerance.md gives the source of each)."""


@dataclass(frozen=True, slots=True)
class Deviation:
    """One accepted deviation: ``code`` (a key of :data:`CODES`), the byte ``offset`` in the APDU where it
    starts, ``text`` for people and ``source``: where this behaviour of real meters is documented."""

    code: str
    offset: int
    text: str
    source: str = ""

    def __str__(self) -> str:
        where = f" at offset {self.offset}" if self.offset >= 0 else ""
        return f"deviation {self.code}{where}: {self.text}"


class DeviationWarning(UserWarning):
    """A meter deviated from the standard in a way dlmskit accepted (see :class:`Deviation`)."""

    def __init__(self, deviation: Deviation) -> None:
        super().__init__(str(deviation))
        self.deviation = deviation


class DeviationError(DecodeError):
    """A deviation met in strict mode: the same bytes that lenient mode accepts with a warning."""

    def __init__(self, deviation: Deviation) -> None:
        super().__init__(
            f"strict mode: {deviation.text} ({deviation.code})",
            offset=max(deviation.offset, 0),
        )
        self.deviation = deviation


DeviationHook = Callable[[Deviation], None]
"""Called with every deviation as it is accepted (the trace, the translator)."""


def emit(deviation: Deviation) -> None:
    """Log ``deviation`` and issue it as a :class:`DeviationWarning`."""
    _LOG.warning("%s", deviation)
    warnings.warn(DeviationWarning(deviation), stacklevel=3)
