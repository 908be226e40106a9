"""Reading a meter model file: TOML parsing, and the line of a table or key for error messages.

TOML parse errors already carry their line and column. Semantic errors (an unknown OBIS code, a key of the
wrong type) are found after parsing, when the parser has forgotten where things were, so
:class:`SourceMap` finds the line again in the text: the line of the n-th ``[[object]]`` header, or of a
key inside it. Every message then reads ``meter.toml line 42: ...``.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any

from dlmskit.errors import ConfigurationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = ["SourceMap", "parse_toml"]

_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.-]+)\s*\]\]")
_TABLE_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\"'-]+)\s*\]")


def parse_toml(text: str, name: str) -> dict[str, Any]:
    """The TOML document in ``text``; a syntax error becomes a ``ConfigurationError`` naming ``name``."""
    try:
        document: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(f"{name}: not valid TOML: {error}") from None
    return document


@dataclass(frozen=True)
class SourceMap:
    """Finds where tables and keys of a parsed TOML document are written in its text."""

    name: str
    text: str

    def _lines(self) -> list[str]:
        return self.text.splitlines()

    def table_line(self, table: str, index: int | None = None) -> int | None:
        """The 1-based line of ``[table]``, or of the ``index``-th ``[[table]]`` header (0-based)."""
        count = 0
        for number, line in enumerate(self._lines(), start=1):
            if index is None:
                match = _TABLE_HEADER.match(line)
                if match and not line.lstrip().startswith("[[") and match.group(1) == table:
                    return number
                continue
            array = _ARRAY_HEADER.match(line)
            if array and array.group(1) == table:
                if count == index:
                    return number
                count += 1
        return None

    def key_line(self, table: str, index: int | None, key: str) -> int | None:
        """The line where ``key`` is written inside ``[table]`` / the ``index``-th ``[[table]]``.

        Sub-tables of the entry (``[object.attributes]``) and inline tables count as inside it. Falls back
        to the table's own line when the key is not found.
        """
        start = self.table_line(table, index)
        if start is None:
            return None
        pattern = re.compile(rf"(^|[\s{{,.]){re.escape(key)}\s*=")
        lines = self._lines()
        for number in range(start, len(lines)):
            line = lines[number]
            if _ARRAY_HEADER.match(line):
                break
            header = _TABLE_HEADER.match(line)
            if header and header.group(1) != table and not header.group(1).startswith(f"{table}."):
                break
            if pattern.search(line.split("#", 1)[0]):
                return number + 1
        return start

    def where(self, table: str, index: int | None = None, key: str | None = None) -> str:
        """``"name line N"`` for a table or key (just ``name`` when the line cannot be found)."""
        line = self.key_line(table, index, key) if key is not None else self.table_line(table, index)
        return f"{self.name} line {line}" if line is not None else self.name

    def error(self, table: str, index: int | None, key: str | None, message: str) -> ConfigurationError:
        """A ``ConfigurationError`` that says where: ``meter.toml line 42: [[object]] 1.0.1.8.0.255: ...``."""
        return ConfigurationError(f"{self.where(table, index, key)}: {message}")
