"""Showing translated traces: readable text, XML (the Gurux translator layout) and JSON.

Text is for reading in a terminal::

    line 151 TX
    HDLC len=2D  # segmented...
      TargetAddress = A3  # logical device 1, physical device 35 (2 bytes)
      ...
          glo_GetRequest = 3000000002E9F1...  # security control 30: suite 0, authenticated, encrypted; ...

XML is the Gurux translator layout: ``Value`` and ``Qty`` attributes, comments as ``<!-- -->`` before the
element they explain, notes as ``<!-- note: ... -->``. One message is written as it is; several are
wrapped in ``<Messages>``, each preceded by a comment naming its line and direction (so is one item that
holds several frames). JSON keeps every
element as ``{"name", "attributes", "comment", "notes", "children"}`` (empty fields left out), per item
with its line, direction and hex, and the trace warnings.
"""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from dlmskit.translator.translate import TranslatedItem, Translation
from dlmskit.translator.tree import Node

__all__ = ["item_title", "node_to_dict", "nodes_to_xml", "to_json", "to_text", "to_xml"]

_INDENT = "  "


def item_title(item: TranslatedItem, unit: str = "line") -> str:
    """``line 151 TX``; ``unit`` is ``packet`` for items read from a capture."""
    direction = f" {item.item.direction.value}" if item.item.direction is not None else ""
    return f"{unit} {item.item.line}{direction}"


# -- XML --------------------------------------------------------------------------------------------------


def _comment_text(text: str) -> str:
    # "--" may not appear inside an XML comment, nor may it end with "-".
    cleaned = " ".join(text.split()).replace("--", "- -")
    return cleaned + " " if cleaned.endswith("-") else cleaned


def _xml_lines(node: Node, depth: int, out: list[str]) -> None:
    pad = _INDENT * depth
    if node.comment:
        out.append(f"{pad}<!-- {_comment_text(node.comment)} -->")
    for note in node.notes:
        out.append(f"{pad}<!-- note: {_comment_text(note)} -->")
    for deviation in node.deviations:
        out.append(f"{pad}<!-- warning: {_comment_text(deviation)} -->")
    attributes = "".join(f" {name}={quoteattr(value)}" for name, value in node.attributes.items())
    if not node.children:
        out.append(f"{pad}<{node.name}{attributes} />")
        return
    out.append(f"{pad}<{node.name}{attributes}>")
    for child in node.children:
        _xml_lines(child, depth + 1, out)
    out.append(f"{pad}</{node.name}>")


def nodes_to_xml(nodes: list[Node], depth: int = 0) -> str:
    """The XML of a list of elements."""
    out: list[str] = []
    for node in nodes:
        _xml_lines(node, depth, out)
    return "\n".join(out)


def to_xml(translation: Translation, unit: str = "line") -> str:
    """The whole translation as XML (``<Messages>`` around several items, each named by its ``unit``)."""
    out: list[str] = []
    if len(translation.items) == 1 and len(translation.items[0].nodes) == 1:
        _xml_lines(translation.items[0].nodes[0], 0, out)
    else:
        out.append("<Messages>")
        for item in translation.items:
            out.append(f"{_INDENT}<!-- {_comment_text(item_title(item, unit))} -->")
            for node in item.nodes:
                _xml_lines(node, 1, out)
        out.append("</Messages>")
    for warning in translation.warnings:
        out.append(f"<!-- warning: {_comment_text(warning)} -->")
    return "\n".join(out)


# -- text -------------------------------------------------------------------------------------------------


def _text_lines(node: Node, depth: int, out: list[str]) -> None:
    pad = _INDENT * depth
    attributes = dict(node.attributes)
    value = attributes.pop("Value", None)
    line = pad + node.name
    if attributes:
        line += " " + " ".join(f"{name}={escape(text)}" for name, text in attributes.items())
    if value is not None:
        line += f" = {value}" if value else " = (empty)"
    if node.comment:
        line += f"  # {node.comment}"
    out.append(line)
    for note in node.notes:
        out.append(f"{pad}! {note}")
    for deviation in node.deviations:
        out.append(f"{pad}warning: {deviation}")
    for child in node.children:
        _text_lines(child, depth + 1, out)


def to_text(translation: Translation, unit: str = "line") -> str:
    """The whole translation as indented text, one block per item, warnings at the end."""
    out: list[str] = []
    for item in translation.items:
        if out:
            out.append("")
        out.append(f"{item_title(item, unit)}: {item.item.data.hex(' ').upper()}")
        for node in item.nodes:
            _text_lines(node, 1, out)
    for warning in translation.warnings:
        out.append("")
        out.append(f"warning: {warning}")
    return "\n".join(out)


# -- JSON -------------------------------------------------------------------------------------------------


def node_to_dict(node: Node) -> dict[str, Any]:
    """One element as a JSON-ready dict (empty fields left out)."""
    result: dict[str, Any] = {"name": node.name}
    if node.attributes:
        result["attributes"] = dict(node.attributes)
    if node.comment:
        result["comment"] = node.comment
    if node.notes:
        result["notes"] = list(node.notes)
    if node.deviations:
        result["deviations"] = list(node.deviations)
    if node.children:
        result["children"] = [node_to_dict(child) for child in node.children]
    return result


def to_json(translation: Translation, unit: str = "line") -> str:
    """The whole translation as JSON: ``{"ok", "items": [...], "warnings": [...]}``; each item names its
    ``unit`` (``line`` or ``packet``) and number."""
    document = {
        "ok": translation.ok,
        "items": [
            {
                unit: item.item.line,
                "direction": None if item.item.direction is None else item.item.direction.value,
                "hex": item.item.data.hex().upper(),
                "ok": item.ok,
                "elements": [node_to_dict(node) for node in item.nodes],
            }
            for item in translation.items
        ],
        "warnings": list(translation.warnings),
    }
    return json.dumps(document, indent=2)
