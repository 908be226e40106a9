"""What a push carries: the push object list of a meter's push setup (class 40) or of its template, and the
values of a push named by it.

A push setup object (class 40, e.g. ``0.0.25.9.0.255``) says in attribute 2, ``push_object_list``, which
attributes a data-notification carries, in order: an array of {class_id, logical_name, attribute_index,
data_index}. The head-end learns the list by reading it (a plan's ``push_setups``) or from the meter's
template (``push_objects = [...]``), keeps it in ``push_objects`` (owner ``meter:NAME`` or
``template:NAME``) and names the values of each push with it: ``{"0.0.42.0.0.255/2": ..., ...}``.

Each entry of a template's ``push_objects`` is a table ``{class_id = 1, logical_name = "0.0.42.0.0.255",
attribute_index = 2, data_index = 0}`` or the short text ``"1/0.0.42.0.0.255/2"`` (``/data_index``
optional).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dlmskit.codec import axdr
from dlmskit.codec.obis import obis
from dlmskit.errors import ConfigurationError, DlmsError
from dlmskit.headend.store import Store, push_objects, utc

__all__ = [
    "DEFAULT_PUSH_SETUP",
    "PushObject",
    "load_push_objects",
    "name_values",
    "parse_push_objects",
    "save_push_objects",
]

DEFAULT_PUSH_SETUP = "0.0.25.9.0.255"
"""The first push setup object of a logical device (0.x.25.9.0.255, x = 0..7)."""


@dataclass(frozen=True)
class PushObject:
    """One entry of a push object list: which attribute (and element: ``data_index``, 0 = all) a push holds."""

    class_id: int
    logical_name: str
    attribute_index: int
    data_index: int = 0

    @property
    def key(self) -> str:
        """How the pushed value is named: ``logical_name/attribute`` (``/data_index`` when it is not 0)."""
        base = f"{self.logical_name}/{self.attribute_index}"
        return f"{base}/{self.data_index}" if self.data_index else base

    def to_mapping(self) -> dict[str, Any]:
        """The entry as a TOML/JSON table."""
        return {
            "class_id": self.class_id,
            "logical_name": self.logical_name,
            "attribute_index": self.attribute_index,
            "data_index": self.data_index,
        }

    @classmethod
    def from_data(cls, value: axdr.Data) -> PushObject:
        """An entry as read from the meter: structure {long-unsigned, octet-string(6), integer, long-unsigned}."""
        if not isinstance(value, (list, tuple)) or len(value) != 4:
            raise ConfigurationError("a push_object_list entry is a structure of 4 elements")
        class_id, name, attribute, index = value
        if not isinstance(name, bytes) or len(name) != 6:
            raise ConfigurationError("the logical_name of a push_object_list entry is 6 bytes")
        return cls(int(class_id), str(obis(bytes(name))), int(attribute), int(index))


def parse_push_objects(entries: Any, where: str) -> list[PushObject]:
    """A template's ``push_objects`` (tables or ``"class/logical_name/attribute[/data_index]"`` texts)."""
    if not isinstance(entries, (list, tuple)):
        raise ConfigurationError(f"{where}: push_objects is a list")
    found = []
    for number, entry in enumerate(entries, start=1):
        try:
            if isinstance(entry, str):
                parts = entry.split("/")
                if len(parts) not in (3, 4):
                    raise ValueError("class/logical_name/attribute[/data_index]")
                values: Mapping[str, Any] = {
                    "class_id": parts[0],
                    "logical_name": parts[1],
                    "attribute_index": parts[2],
                    "data_index": parts[3] if len(parts) == 4 else 0,
                }
            elif isinstance(entry, Mapping):
                values = entry
            else:
                raise ValueError("a table or a text")
            found.append(
                PushObject(
                    int(values["class_id"]),
                    str(obis(str(values["logical_name"]))),
                    int(values["attribute_index"]),
                    int(values.get("data_index", 0)),
                )
            )
        except (KeyError, ValueError, TypeError, DlmsError) as error:
            raise ConfigurationError(f"{where}: push_objects entry {number}: {error}") from None
    return found


def save_push_objects(
    store: Store,
    owner: str,
    setup: str,
    objects: Sequence[PushObject],
    connection: Connection | None = None,
) -> None:
    """Keep the push object list of ``owner`` (``meter:NAME`` or ``template:NAME``) for the setup ``setup``
    (in ``connection``'s transaction when given, else in one of its own)."""
    values = {
        "objects": json.dumps([o.to_mapping() for o in objects]),
        "updated_at": utc(_dt.datetime.now(_dt.timezone.utc)),
    }
    statement = store.insert(push_objects).values(owner=owner, setup=setup, **values)
    statement = statement.on_conflict_do_update(
        index_elements=[push_objects.c.owner, push_objects.c.setup], set_=values
    )
    if connection is not None:
        connection.execute(statement)
        return
    with store.engine.begin() as own:
        own.execute(statement)


def load_push_objects(store: Store) -> dict[str, dict[str, list[PushObject]]]:
    """Every stored push object list: owner -> setup logical name -> entries."""
    found: dict[str, dict[str, list[PushObject]]] = {}
    with store.engine.connect() as connection:
        for row in connection.execute(sa.select(push_objects)):
            entries = [PushObject(**entry) for entry in json.loads(row.objects)]
            found.setdefault(str(row.owner), {})[str(row.setup)] = entries
    return found


def name_values(lists: Mapping[str, Sequence[PushObject]], body: axdr.Data) -> dict[str, Any] | None:
    """The values of a data-notification body by name, or None when no list describes it.

    A body is a structure with one element per entry. With several push setups, the one whose first entry is
    its own logical name (class 40, attribute 1, the usual first element: "which push this is") and whose
    value in the body is that name wins; otherwise the only list of the body's length."""
    if not isinstance(body, axdr.Structure):
        return None
    candidates = [entries for entries in lists.values() if len(entries) == len(body)]
    chosen = None
    for entries in candidates:
        first = entries[0]
        if first.class_id == 40 and first.attribute_index == 1 and isinstance(body[0], bytes):
            try:
                if str(obis(bytes(body[0]))) == first.logical_name:
                    chosen = entries
                    break
            except DlmsError:
                continue
    if chosen is None and len(candidates) == 1:
        chosen = candidates[0]
    if chosen is None:
        return None
    return {entry.key: value for entry, value in zip(chosen, body, strict=True)}
