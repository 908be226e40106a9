"""COSEM objects (IEC 62056-6-2, Blue Book): the object list's consistency, and for every object of the
association view each attribute's access right and type against dlmskit's interface-class model."""

from __future__ import annotations

from collections import Counter

from dlmskit.codec import axdr
from dlmskit.conformance.framework import TestContext, conformance_test
from dlmskit.conformance.groups._common import BLUE_BOOK, IEC_62, req
from dlmskit.conformance.groups.services import CURRENT_ASSOCIATION, object_list
from dlmskit.cosem import encode_attribute_value, get_class, type_name
from dlmskit.errors import EncodeError

_BIG = {(7, 2), (15, 2)}
"""Attributes read elsewhere or too big to read whole (profile buffers, the object list itself)."""


@conformance_test(
    "cosem.object-list",
    requirement=req(
        BLUE_BOOK,
        "the object list names each object once, includes the current association "
        "0.0.40.0.0.255 (class 15), and its access rights name only attributes and methods "
        "the class version has",
        clause="class 15 object_list",
    ),
    effect="clients that build their menus from the object list show objects twice or offer what fails",
)
def object_list_consistency(t: TestContext) -> None:
    """The association's object list against itself and the class model."""
    association = t.meter.associate()
    association.open()
    entries = object_list(t, association)
    names = Counter(e.logical_name for e in entries)
    for name, count in names.items():
        t.check(count == 1, f"{name} listed once", f"{count} times")
    current = [e for e in entries if e.logical_name == CURRENT_ASSOCIATION]
    t.check(
        bool(current) and current[0].class_id == 15,
        "0.0.40.0.0.255 (class 15) in the list",
        "missing" if not current else f"class {current[0].class_id}",
    )
    for entry in entries:
        model = get_class(entry.class_id, entry.version)
        if model is None:
            continue  # a class (or version) dlmskit does not model: nothing to check it against
        attribute_count = len(model.attributes)
        for index in entry.attribute_access:
            t.check(
                1 <= index <= attribute_count,
                f"{entry.logical_name} ({model}): attributes 1..{attribute_count}",
                f"attribute {index}",
            )
        method_count = len(model.methods)
        for index in entry.method_access:
            t.check(
                1 <= index <= method_count,
                f"{entry.logical_name} ({model}): methods 1..{method_count}",
                f"method {index}",
            )


@conformance_test(
    "cosem.attributes",
    requirement=req(
        IEC_62,
        "every attribute the object list grants read access to can be read, has the "
        "type the interface class defines, and logical_name is the object's OBIS code; an "
        "attribute without read access is refused",
    ),
    effect="clients decoding by the class definition misread or reject the value",
)
def attributes(t: TestContext) -> None:
    """Each attribute of each object in the association view."""
    association = t.meter.associate()
    association.open()
    for entry in object_list(t, association):
        model = get_class(entry.class_id, entry.version)
        for index, access in sorted(entry.attribute_access.items()):
            if (entry.class_id, index) in _BIG:
                continue
            target = f"{entry.logical_name}:{index}"
            reply = association.get(entry.class_id, entry.logical_name, index, lenient=True)
            if reply.problem:
                t.finding(f"a well-formed answer for {target}", reply.problem, got_bytes=reply.raw)
                continue
            if not access.can_read:
                t.check(
                    reply.result is not None,
                    f"{target} (no read access) refused",
                    "read successfully",
                    got_bytes=reply.raw,
                    effect="the access rights the meter announces are not the ones it applies",
                )
                continue
            if reply.result is not None:
                t.finding(
                    f"{target} readable (the object list grants read access)",
                    f"data-access-result {reply.result}",
                    got_bytes=reply.raw,
                    effect="the access rights the meter announces are not the ones it applies",
                )
                continue
            if index == 1:
                t.check(
                    reply.value == axdr.OctetString(entry.logical_name.to_bytes()),
                    f"{target} is {entry.logical_name}",
                    repr(reply.value)[:60],
                    got_bytes=reply.raw,
                )
                continue
            if model is None or index > len(model.attributes) or reply.value is None:
                continue
            definition = model.attributes[index - 1]
            try:
                encode_attribute_value(model, definition, reply.value)
            except EncodeError as error:
                t.finding(
                    f"{target} ({model.name}.{definition.name}) of type {type_name(definition.type)}",
                    str(error),
                    got_bytes=reply.raw,
                )
