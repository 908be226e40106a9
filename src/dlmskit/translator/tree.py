"""The neutral tree a translated message becomes, before it is shown as text, XML or JSON.

A :class:`Node` is one element: its name (the element names of the widely used Gurux translator XML, so
traces compare side by side), its attributes (``Value`` for most leaves, ``Qty`` for lists), an optional
comment for people (``0.0.19.40.0.255 Token gateway``), its children, and notes: problems found while
decoding it (a tag that does not verify, bytes that do not decode). Notes are what the translator could
not do; comments are explanations. Elements read back from XML remember their ``line`` for error messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["Node"]


@dataclass(slots=True)
class Node:
    """One element of a translated message."""

    name: str
    attributes: dict[str, str] = field(default_factory=dict)
    comment: str | None = None
    children: list[Node] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    deviations: list[str] = field(default_factory=list, compare=False)
    """Deviations from the standard that were accepted (docs/tolerance.md): warnings, not errors."""
    line: int = field(default=0, compare=False)
    """Where the element starts in the XML it was read from (0 for elements the translator built)."""

    @classmethod
    def leaf(cls, name: str, value: str, comment: str | None = None) -> Node:
        """An element with only a ``Value`` attribute."""
        return cls(name, {"Value": value}, comment)

    @property
    def value(self) -> str | None:
        """The ``Value`` attribute, if any."""
        return self.attributes.get("Value")

    def add(self, child: Node) -> Node:
        """Append ``child`` and return it."""
        self.children.append(child)
        return child

    def find(self, name: str) -> Node | None:
        """The first child called ``name``."""
        return next((child for child in self.children if child.name == name), None)

    def walk(self) -> Iterator[Node]:
        """This node and all nodes below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def has_notes(self) -> bool:
        """True when this node or one below it carries a note (something could not be decoded)."""
        return any(node.notes for node in self.walk())
