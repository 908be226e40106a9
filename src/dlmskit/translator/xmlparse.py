"""Reading translator XML (ours, or the Gurux translator's) back into elements.

The text is parsed with expat into :class:`~dlmskit.translator.tree.Node` trees that remember their line.
Comments are dropped, so both ``<!-- -->`` comments and the ``# ...`` comment lines that appear when such
XML is pasted through a forum or a log are accepted (lines whose first non-blank character is ``#``
are skipped). Document type declarations are refused (no entity tricks), and so is nesting deeper than
:data:`MAX_DEPTH`. Malformed XML raises
:class:`~dlmskit.errors.DecodeError` naming the line and column.
"""

from __future__ import annotations

import xml.parsers.expat

from dlmskit.errors import DecodeError
from dlmskit.translator.tree import Node

__all__ = ["MAX_DEPTH", "parse_xml"]

MAX_DEPTH = 200
"""Deepest element nesting accepted (A-XDR data itself is limited to 64 levels)."""


def parse_xml(text: str) -> list[Node]:
    """The top-level elements of ``text`` (a ``<Messages>`` root gives its children)."""
    upper = text.upper()
    if "<!DOCTYPE" in upper or "<!ENTITY" in upper:
        raise DecodeError("document type and entity declarations are not accepted in translator XML")
    kept = ["" if line.lstrip().startswith("#") else line for line in text.splitlines()]
    # A fragment may hold several top-level elements: parse it inside a wrapper element of our own.
    source = "<_>\n" + "\n".join(kept) + "\n</_>"
    parser = xml.parsers.expat.ParserCreate()
    top = Node("")
    stack = [top]

    def start(name: str, attributes: dict[str, str]) -> None:
        if len(stack) > MAX_DEPTH:
            raise DecodeError(
                f"line {parser.CurrentLineNumber - 1}: elements nested deeper than {MAX_DEPTH} levels",
                offset=parser.CurrentColumnNumber,
            )
        node = Node(name, dict(attributes), line=parser.CurrentLineNumber - 1)
        stack[-1].add(node)
        stack.append(node)

    def end(name: str) -> None:
        stack.pop()

    def text_data(data: str) -> None:
        if data.strip():
            raise DecodeError(
                f"line {parser.CurrentLineNumber - 1}: unexpected text {data.strip()[:20]!r} in <{stack[-1].name}>; "
                "values go in Value attributes",
                offset=parser.CurrentColumnNumber,
            )

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text_data
    try:
        parser.Parse(source, True)
    except xml.parsers.expat.ExpatError as exc:
        line = max(exc.lineno - 1, 1)
        raise DecodeError(
            f"line {line}, column {exc.offset + 1}: malformed XML ({xml.parsers.expat.errors.messages[exc.code]})",
            offset=exc.offset,
        ) from None
    roots = top.children[0].children
    if len(roots) == 1 and roots[0].name == "Messages":
        return roots[0].children
    return roots
