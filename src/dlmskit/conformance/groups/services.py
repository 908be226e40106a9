"""Data services with logical-name referencing (IEC 62056-5-3): GET normal, with-list, with blocks and
with selective access, SET and ACTION, and the error results."""

from __future__ import annotations

from dlmskit.apdu.action import ActionRequestNormal, ActionResponseNormal
from dlmskit.apdu.common import (
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    SelectiveAccessDescriptor,
)
from dlmskit.apdu.conformance import Conformance
from dlmskit.apdu.get import GetRequestWithList, GetResponseWithList
from dlmskit.apdu.results import DataAccessResult
from dlmskit.apdu.set import SetRequestNormal, SetResponseNormal
from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis
from dlmskit.conformance.framework import Safety, TestContext, conformance_test
from dlmskit.conformance.groups._common import BLUE_BOOK, IEC_53, req
from dlmskit.conformance.probe import Association
from dlmskit.cosem import ObjectListEntry, decode_object_list
from dlmskit.errors import DlmsError

LOGICAL_DEVICE_NAME = Obis(0, 0, 42, 0, 0, 255)
CLOCK = Obis(0, 0, 1, 0, 0, 255)
CURRENT_ASSOCIATION = Obis(0, 0, 40, 0, 0, 255)
ABSENT_OBJECT = Obis(0, 0, 96, 99, 98, 255)
"""An object no meter of ours has (checked against the object list when it can be read)."""


def _granted(association: Association, flag: Conformance) -> bool:
    return association.negotiated is not None and bool(association.negotiated.conformance & flag)


def object_list(t: TestContext, association: Association) -> list[ObjectListEntry]:
    """The association's object list, read once per test run and client, passing over bytes after the
    APDU (services.get-normal judges those: here the list is only the way to the objects)."""
    key = f"object-list/{association.settings.client_address}"
    cached = t.meter.cache.get(key)
    if cached is not None:
        return list(cached)
    reply = association.get(15, CURRENT_ASSOCIATION, 2, lenient=True)
    if reply.problem:
        t.fail("the object list (0.0.40.0.0.255:2) decodes", reply.problem, got_bytes=reply.raw)
    if reply.result is not None:
        t.skip(f"the association may not read its object list (result {reply.result})")
    try:
        entries = decode_object_list(reply.value)
    except DlmsError as error:
        t.fail("an object list of object_list_element structures", str(error), got_bytes=reply.raw)
    t.meter.cache[key] = entries
    return entries


@conformance_test(
    "services.get-normal",
    requirement=req(
        IEC_53,
        "GET-Request-Normal is answered by one GET-Response-Normal with the same "
        "invoke-id that holds exactly one Get-Data-Result, nothing after it",
    ),
    effect="strict clients reject the answer (dlmskit --strict: 'trailing bytes'); lenient ones (gurux; "
    "dlmskit by default, with a warning) read past the extra bytes",
)
def get_normal(t: TestContext) -> None:
    """The logical device name and the clock time."""
    association = t.meter.associate()
    association.open()
    name = association.get(1, LOGICAL_DEVICE_NAME, 2)
    if name.problem:
        t.finding("a well-formed answer for 0.0.42.0.0.255:2", name.problem, got_bytes=name.raw)
    elif name.result is None:
        t.check(
            isinstance(name.value, axdr.OctetString),
            "an octet-string (logical device name)",
            type(name.value).__name__,
            got_bytes=name.raw,
        )
    clock = association.get(8, CLOCK, 2)
    if clock.problem:
        t.finding(
            "a well-formed answer for 0.0.1.0.0.255:2 (clock time)",
            clock.problem,
            got_bytes=clock.raw,
            effect="strict clients reject the clock; gurux clients ignore the extra bytes",
        )
    elif clock.result is None:
        t.check(
            isinstance(clock.value, axdr.OctetString) and len(clock.value) == 12,
            "an octet-string of 12 bytes (date-time)",
            repr(clock.value)[:60],
            got_bytes=clock.raw,
        )


@conformance_test(
    "services.get-undefined",
    requirement=req(
        IEC_53,
        "a GET of an object the logical device does not have is answered with "
        "data-access-result object-undefined (4)",
    ),
    effect="clients tell the user 'access denied' (read-write-denied) where the object does not exist",
)
def get_undefined(t: TestContext) -> None:
    """GET of 0.0.96.99.98.255, an object the meter does not have."""
    association = t.meter.associate()
    association.open()
    reply = association.get(1, ABSENT_OBJECT, 2)
    if reply.problem:
        t.fail("a well-formed GET-Response", reply.problem, got_bytes=reply.raw)
    if reply.result is None:
        t.skip("the meter has an object 0.0.96.99.98.255")
    t.check(
        reply.result == DataAccessResult.OBJECT_UNDEFINED,
        "object-undefined (4)",
        _result_name(reply.result),
        got_bytes=reply.raw,
    )


@conformance_test(
    "services.get-with-list",
    requirement=req(
        IEC_53,
        "GET-Request-With-List is answered by GET-Response-With-List with one result per attribute, in order",
    ),
    effect="clients reading several values at once get them mixed up",
)
def get_with_list(t: TestContext) -> None:
    """The logical name and value of the logical device name in one request."""
    association = t.meter.associate()
    association.open()
    if not _granted(association, Conformance.MULTIPLE_REFERENCES):
        t.skip("multiple-references is not in the negotiated conformance")
    items = tuple(
        CosemAttributeDescriptorWithSelection(CosemAttributeDescriptor(1, LOGICAL_DEVICE_NAME, index))
        for index in (1, 2)
    )
    reply = association.request(GetRequestWithList(association.next_invoke(), items).encode())
    if reply.error is not None or not isinstance(reply.decoded, GetResponseWithList):
        t.fail(
            "a GET-Response-With-List", str(reply.error or type(reply.decoded).__name__), got_bytes=reply.raw
        )
    results = reply.decoded.results
    t.check(len(results) == 2, "2 results", f"{len(results)} results", got_bytes=reply.raw)
    if results and results[0].error is None:
        t.check(
            results[0].value == axdr.OctetString(LOGICAL_DEVICE_NAME.to_bytes()),
            "the first result is the logical name 0.0.42.0.0.255",
            repr(results[0].value)[:60],
            got_bytes=reply.raw,
        )


@conformance_test(
    "services.get-blocks",
    requirement=req(
        IEC_53,
        "a long answer comes in GET-Response-With-Datablock blocks numbered from 1, the "
        "last one marked, only when block-transfer-with-get was negotiated; the joined raw "
        "data is exactly one value",
    ),
    effect="clients that did not negotiate block transfer cannot read the answer",
)
def get_blocks(t: TestContext) -> None:
    """The object list with a max receive PDU size of 256 bytes, in blocks when it needs them."""
    association = t.meter.associate(max_pdu_size=256)
    association.open()
    reply = association.get(15, CURRENT_ASSOCIATION, 2)
    if reply.blocks and not _granted(association, Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ):
        t.finding(
            "no block transfer without block-transfer-with-get in the conformance",
            f"{reply.blocks} GET-Response-With-Datablock blocks",
            got_bytes=reply.replies[0].raw,
        )
    if reply.problem:
        t.fail("the object list decodes", reply.problem, got_bytes=reply.raw)
    if reply.result is not None:
        t.skip(f"the association may not read its object list (result {_result_name(reply.result)})")
    if not reply.blocks:
        t.skip("the object list came in one APDU (no blocks to check)")


@conformance_test(
    "services.get-selective-access",
    requirement=req(
        BLUE_BOOK,
        "profile generic buffer by entry (selector 2): the rows asked for, as one array, nothing after it",
        clause="class 7 buffer",
    ),
    effect="clients reading load profiles by entry reject the answer (dlmskit --strict) or show garbage",
)
def get_selective_access(t: TestContext) -> None:
    """The first row of the first profile generic whose buffer the association may read."""
    association = t.meter.associate()
    association.open()
    if not _granted(association, Conformance.SELECTIVE_ACCESS):
        t.skip("selective-access is not in the negotiated conformance")
    profiles = [
        e
        for e in object_list(t, association)
        if e.class_id == 7
        and (a := e.attribute_access.get(2)) is not None
        and a.can_read
        and a.access_selectors
        and 2 in a.access_selectors
    ]
    if not profiles:
        t.skip("no profile generic whose buffer may be read by entry")
    entry = profiles[0]
    reply = association.get(7, entry.logical_name, 2, SelectiveAccessDescriptor.entry_descriptor(1, 1))
    if reply.problem:
        t.fail(f"a well-formed buffer of {entry.logical_name} by entry", reply.problem, got_bytes=reply.raw)
    if reply.result is not None:
        t.fail("the rows", _result_name(reply.result), got_bytes=reply.raw)
    t.check(
        isinstance(reply.value, axdr.Array) and len(reply.value) <= 1,
        "an array of at most 1 row",
        repr(reply.value)[:80],
        got_bytes=reply.raw,
    )


@conformance_test(
    "services.set-read-only",
    requirement=req(IEC_53, "SET of a read-only attribute (logical_name) is refused, the value unchanged"),
    effect="anyone can rename the meter's objects",
    safety=Safety.WRITES,
)
def set_read_only(t: TestContext) -> None:
    """SET of the logical device name's logical_name, to its own value."""
    association = t.meter.associate()
    association.open()
    descriptor = CosemAttributeDescriptor(1, LOGICAL_DEVICE_NAME, 1)
    value = axdr.OctetString(LOGICAL_DEVICE_NAME.to_bytes())
    reply = association.request(SetRequestNormal(association.next_invoke(), descriptor, value).encode())
    if reply.error is not None or not isinstance(reply.decoded, SetResponseNormal):
        t.fail("a SET-Response-Normal", str(reply.error or type(reply.decoded).__name__), got_bytes=reply.raw)
    t.check(
        reply.decoded.result != DataAccessResult.SUCCESS,
        "a refusal (read-write-denied)",
        "success",
        got_bytes=reply.raw,
    )


@conformance_test(
    "services.set-same-value",
    requirement=req(
        IEC_53, "SET of a writable attribute to the value it has succeeds, and reads back the same"
    ),
    effect="clients cannot configure the meter",
    safety=Safety.WRITES,
)
def set_same_value(t: TestContext) -> None:
    """The first writable and readable attribute (not logical_name), written with its own value."""
    association = t.meter.associate()
    association.open()
    for entry in object_list(t, association):
        for index, access in sorted(entry.attribute_access.items()):
            if index == 1 or not (access.can_read and access.can_write) or entry.class_id in (7, 15, 18):
                continue
            before = association.get(entry.class_id, entry.logical_name, index, lenient=True)
            if not before.ok:
                continue
            descriptor = CosemAttributeDescriptor(entry.class_id, entry.logical_name, index)
            reply = association.request(
                SetRequestNormal(association.next_invoke(), descriptor, before.value).encode()
            )
            target = f"{entry.logical_name}:{index}"
            if reply.error is not None or not isinstance(reply.decoded, SetResponseNormal):
                t.fail(
                    f"a SET-Response-Normal for {target}",
                    str(reply.error or type(reply.decoded).__name__),
                    got_bytes=reply.raw,
                )
            t.check(
                reply.decoded.result == DataAccessResult.SUCCESS,
                f"success writing {target}",
                _result_name(int(reply.decoded.result)),
                got_bytes=reply.raw,
            )
            after = association.get(entry.class_id, entry.logical_name, index, lenient=True)
            t.check(
                after.ok and after.value == before.value,
                f"{target} reads back as written",
                repr(after.value)[:60] if after.ok else after.problem or str(after.result),
                got_bytes=after.raw,
            )
            return
    t.skip("no attribute that this association may both read and write")


@conformance_test(
    "services.action-undefined",
    requirement=req(
        IEC_53,
        "ACTION on a method the class does not have is refused (object-undefined or "
        "another error result), never success",
    ),
    effect="clients believe a command was carried out",
    safety=Safety.WRITES,
)
def action_undefined(t: TestContext) -> None:
    """ACTION method 1 of the logical device name (class 1 has no methods)."""
    association = t.meter.associate()
    association.open()
    request = ActionRequestNormal(
        association.next_invoke(), association.method(1, LOGICAL_DEVICE_NAME, 1), axdr.Integer(0)
    )
    reply = association.request(request.encode())
    if reply.error is not None:
        t.fail("a well-formed answer", str(reply.error), got_bytes=reply.raw)
    if isinstance(reply.decoded, ActionResponseNormal):
        t.check(int(reply.decoded.result) != 0, "an error result", "success", got_bytes=reply.raw)


def _result_name(value: int | None) -> str:
    if value is None:
        return "success"
    try:
        return f"{DataAccessResult(value).standard_name} ({value})"
    except ValueError:
        return str(value)
