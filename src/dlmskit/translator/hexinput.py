"""Reading the hex that meter engineers paste: trace lines from logs, tools and forum posts.

Every non-empty line holds one message (an HDLC frame or a run of frames, a wrapper frame or an APDU),
written in any of the usual ways::

    7E A0 37 2 47 9 76 ...                  bytes without leading zeros (Gurux ANSI C traces)
    7EA0370247097676...                     one run of hex digits
    0x7E, 0xA0, 0x37                        C array syntax
    [DEBUG][TX] : 7E A0 2D 2 47 ...         a log line; the direction is kept
    RX: 7E A0 3A ...    <- 7E A0 ...        direction markers: TX, RX, ->, <-
    2021-06-15 10:22:31.123 TX 7E A0 ...    timestamps in front are skipped
    TX → 7E A0 ...                          dlmskit --trace output (the indented lines after it skipped)

In front of the hex, a line may carry timestamps (``10:22:31``, ``10:22:31.123``, ``2021-06-15``,
``15.06.2021``, ``2021-06-15T10:22:31Z``), bracketed tags (``[DEBUG]``, ``[TX]``), log levels, the
direction words ``TX``/``RX``/``SEND``/``RECV`` or arrows ``->``/``<-`` (``->`` and ``TX`` are what the
logging program sent, ``<-`` and ``RX`` what it received), each possibly followed by ``:``. Blank lines and
lines starting with ``#`` or ``//`` are ignored. Anything else that is not hex is refused with a
:class:`~dlmskit.errors.DecodeError` naming the line and the column (both counted from 1).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from dlmskit.errors import DecodeError

__all__ = ["Direction", "HexInputError", "TraceItem", "parse_hex_text"]


class Direction(enum.Enum):
    """Which way a message went, as the logging program saw it."""

    TX = "TX"
    """Sent by the program that wrote the trace (usually the client)."""
    RX = "RX"
    """Received by the program that wrote the trace (usually from the meter)."""


@dataclass(frozen=True, slots=True)
class TraceItem:
    """One message of a trace: its bytes, its direction when the trace says it, and where it came from.

    ``line`` is the line number in pasted text, or the packet number in a pcap file (both from 1).
    """

    direction: Direction | None
    data: bytes
    line: int


class HexInputError(DecodeError):
    """Pasted text that is not hex. ``line`` and ``column`` (from 1) locate the first bad character."""

    def __init__(self, message: str, *, line: int, column: int, found: str = "") -> None:
        text = f"line {line}, column {column}: {message}"
        super().__init__(text, offset=column - 1, found=found)
        self.args = (text,)  # the line and column say it all; no "at offset" suffix
        self.line = line
        self.column = column


_DIRECTION_WORDS = {
    "TX": Direction.TX,
    "SEND": Direction.TX,
    "SENT": Direction.TX,
    "->": Direction.TX,
    ">>": Direction.TX,
    "RX": Direction.RX,
    "RECV": Direction.RX,
    "RECEIVED": Direction.RX,
    "<-": Direction.RX,
    "<<": Direction.RX,
    "→": Direction.TX,
    "←": Direction.RX,
}
_LOG_WORDS = frozenset({"TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR", "NOTICE", "VERBOSE"})
_DATE = r"\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{2,4}"
_TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?"
# One item of the prefix in front of the hex: a timestamp, a bracketed tag, a word, an arrow, a separator.
_PREFIX_ITEM = re.compile(
    rf"""\s*(?:
        (?P<stamp>(?:{_DATE})(?:[T ](?:{_TIME}))?(?:Z|[+-]\d{{2}}:?\d{{2}})?|{_TIME})
      | \[(?P<tag>[^\]]*)\]
      | (?P<word>[A-Za-z]+)(?![0-9A-Za-z])
      | (?P<arrow>->|<-|>>|<<|→|←)
      | (?P<colon>:)
    )""",
    re.VERBOSE,
)
_SEPARATORS = frozenset(" \t,;{}")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def parse_hex_text(text: str) -> list[TraceItem]:
    """The messages in ``text``, one per line that holds hex (see the module documentation)."""
    items: list[TraceItem] = []
    traced = False  # after a "TX →" / "RX ←" line of dlmskit --trace, indented lines are its decoding
    seen_trace = False  # in --trace output, other lines that are not hex are the command's own output
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "//")):
            continue
        if traced and line[:1].isspace():
            continue
        direction, start = _read_prefix(line)
        arrow_line = any(arrow in line[:start] for arrow in ("→", "←"))
        try:
            data = _read_hex(line, start, number)
            if not data:
                raise HexInputError(
                    "no hex bytes after the prefix", line=number, column=len(line.rstrip()) + 1
                )
        except HexInputError:
            if seen_trace and not arrow_line:
                continue  # the command's own output between and after the traced frames
            raise
        traced = arrow_line
        seen_trace = seen_trace or arrow_line
        items.append(TraceItem(direction, data, number))
    return items


def _read_prefix(line: str) -> tuple[Direction | None, int]:
    """The direction named in front of the hex, and where the hex starts."""
    direction: Direction | None = None
    position = 0
    while True:
        match = _PREFIX_ITEM.match(line, position)
        if match is None:
            break
        tag, word, arrow = match.group("tag"), match.group("word"), match.group("arrow")
        if tag is not None:
            found = _DIRECTION_WORDS.get(tag.strip().upper())
            direction = found or direction
        elif word is not None:
            upper = word.upper()
            if upper in _DIRECTION_WORDS:
                direction = _DIRECTION_WORDS[upper]
            elif upper not in _LOG_WORDS:
                break  # a hex run such as "7EA0", or a word that has no place here
        elif arrow is not None:
            direction = _DIRECTION_WORDS[arrow]
        position = match.end()
    return direction, position


def _read_hex(line: str, start: int, number: int) -> bytes:
    """The bytes written from ``start`` on: groups of hex digits between separators.

    A group of one or two digits is one byte (``7`` is 0x07); a longer group must have an even number of
    digits and is read two digits a byte. A group may start with ``0x``.
    """
    out = bytearray()
    position = start
    length = len(line)
    while position < length:
        char = line[position]
        if char in _SEPARATORS:
            position += 1
            continue
        group_start = position
        if line.startswith(("0x", "0X"), position):
            position += 2
        digits_start = position
        while position < length and line[position] in _HEX_DIGITS:
            position += 1
        digits = line[digits_start:position]
        if position < length and line[position] not in _SEPARATORS:
            bad = line[position]
            raise HexInputError(
                f"{bad!r} is not a hex digit", line=number, column=position + 1, found=repr(bad)
            )
        if not digits:
            raise HexInputError("0x without hex digits", line=number, column=group_start + 1)
        if len(digits) <= 2:
            out.append(int(digits, 16))
        elif len(digits) % 2:
            raise HexInputError(
                f"odd number of hex digits ({len(digits)}) in {digits[:16]!r}: which byte has one digit?",
                line=number,
                column=group_start + 1,
            )
        else:
            out += bytes.fromhex(digits)
    return bytes(out)
