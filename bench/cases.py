"""The benchmark cases and what a library module provides for each of them.

A library module (``bench/lib_*.py``) has ``implementations(work) -> dict[case id, Runnable |
NotAvailable]``. A :class:`Runnable` is a function that does the whole operation once on the workload
(timed) and a check of its result against the reference (not timed, done once before timing): a library
whose output differs is reported as such, not timed. Case ids missing from a module are reported as
"not implemented".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["CASES", "LIBRARIES", "Case", "Check", "NotAvailable", "Runnable", "expect"]

Check = Callable[[object], str | None]
"""Returns None when the result is right, else what is wrong with it."""


@dataclass(frozen=True)
class Runnable:
    """One operation, timed as a whole; ``note`` says how the library was called where that matters."""

    run: Callable[[], object]
    check: Check
    note: str = ""


@dataclass(frozen=True)
class NotAvailable:
    """The library cannot do the case; ``reason`` says why."""

    reason: str


@dataclass(frozen=True)
class Case:
    """A case: ``units(rows)`` units (rows, APDUs...) per call, an optional target in seconds per unit."""

    id: str
    group: str
    title: str
    unit: str
    units: Callable[[int], int] = field(default=lambda rows: 1)
    target: float | None = None
    libraries: tuple[str, ...] = ("dlmskit", "gurux-dlms", "dlms-cosem")
    """The report columns that apply (the others stay empty)."""


def expect(expected: object, normalize: Callable[[object], object] = lambda value: value) -> Check:
    """A check that ``normalize(result) == expected`` (and says where they first differ)."""

    def check(result: object) -> str | None:
        got = normalize(result)
        if got == expected:
            return None
        if isinstance(got, list) and isinstance(expected, list):
            if len(got) != len(expected):
                return f"{len(got)} items instead of {len(expected)}"
            index = next(i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b)
            return f"item {index} is {got[index]!r}, expected {expected[index]!r}"
        return f"got {_short(got)}, expected {_short(expected)}"

    return check


def _short(value: object) -> str:
    text = value.hex() if isinstance(value, (bytes, bytearray)) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


LIBRARIES = ("dlmskit", "gurux-dlms", "dlms-cosem", "AESGCM")
"""Columns of the report; ``AESGCM`` is ``cryptography``'s AES-GCM called directly (ciphering baseline)."""

_ROWS: Callable[[int], int] = lambda rows: rows  # noqa: E731
_CIPHERING = ("dlmskit", "gurux-dlms", "dlms-cosem", "AESGCM")

CASES = (
    Case("decode-raw", "1 decode", "GET response, profile buffer: raw values", "row", _ROWS, 0.5e-6),
    Case("decode-datetime", "1 decode", "... and rows with datetime timestamps", "row", _ROWS, 1.5e-6),
    Case(
        "decode-typed",
        "1 decode",
        "... raw values keeping their A-XDR types",
        "row",
        _ROWS,
        None,
        ("dlmskit",),
    ),
    Case("encode", "2 encode", "encode the profile buffer (A-XDR)", "row", _ROWS),
    Case(
        "encrypt-request",
        "3 ciphering",
        "encrypt 13-byte GET request (SC 0x30)",
        "APDU",
        target=3e-6,
        libraries=_CIPHERING,
    ),
    Case(
        "decrypt-request",
        "3 ciphering",
        "decrypt 13-byte GET request",
        "APDU",
        target=3e-6,
        libraries=_CIPHERING,
    ),
    Case("encrypt-response", "3 ciphering", "encrypt 1 KiB GET response", "APDU", libraries=_CIPHERING),
    Case("decrypt-response", "3 ciphering", "decrypt 1 KiB GET response", "APDU", libraries=_CIPHERING),
    Case("hdlc-frame-128", "4 HDLC", "frame 64 KiB APDU, 128-byte fields", "APDU"),
    Case("hdlc-deframe-128", "4 HDLC", "deframe 64 KiB APDU, 128-byte fields", "APDU"),
    Case("hdlc-link-128", "4 HDLC", "link pump both stations, 128 / window 1", "APDU"),
    Case("hdlc-frame-2030", "4 HDLC", "frame 64 KiB APDU, 2030-byte fields", "APDU"),
    Case("hdlc-deframe-2030", "4 HDLC", "deframe 64 KiB APDU, 2030-byte fields", "APDU"),
    Case("hdlc-link-2030", "4 HDLC", "link pump both stations, 2030 / window 7", "APDU"),
)
"""The in-process cases (1 to 4); the session cases (5 and 6) are in :mod:`bench.sessions`."""
