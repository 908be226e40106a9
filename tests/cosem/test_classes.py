"""The class catalogue: every class is consistent, and every attribute and method parameter type encodes."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from dlmskit.codec import axdr
from dlmskit.codec.axdr import DataType as T
from dlmskit.cosem import (
    ControlMode,
    ControlState,
    Trigger,
    all_classes,
    class_for,
    class_name,
    get_class,
    next_control_state,
    token_to_octets,
)
from dlmskit.cosem.classes.association import object_list_element
from dlmskit.cosem.model import (
    ANY,
    LOGICAL_NAME_ATTRIBUTE,
    AnyData,
    ArraySpec,
    Choice,
    InterfaceClass,
    OctetForm,
    OctetStringSpec,
    StructureSpec,
    TypeSpec,
    encode_attribute_value,
    encode_method_parameter,
    type_name,
)
from dlmskit.errors import EncodeError

CLASSES = all_classes()
SNAKE_CASE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*")

_EXAMPLE_INTS = {
    T.INTEGER: -5,
    T.LONG: -300,
    T.DOUBLE_LONG: -70000,
    T.LONG64: -(2**40),
    T.UNSIGNED: 200,
    T.LONG_UNSIGNED: 60000,
    T.DOUBLE_LONG_UNSIGNED: 4_000_000_000,
    T.LONG64_UNSIGNED: 2**63,
    T.ENUM: 2,
    T.BCD: 0x12,
}
_EXAMPLE_FORMS = {
    OctetForm.LOGICAL_NAME: "1-0:1.8.0*255",
    OctetForm.DATE_TIME: dt.datetime(2024, 3, 31, 2, 30, 15),
    OctetForm.DATE: dt.date(2024, 12, 25),
    OctetForm.TIME: dt.time(22, 0),
    OctetForm.TOKEN: token_to_octets("0571 8854 5901 9721 1241"),
}
_EXAMPLE_OTHERS: dict[T, Any] = {
    T.NULL_DATA: None,
    T.BOOLEAN: True,
    T.BIT_STRING: "10110",
    T.OCTET_STRING: b"\x01\x02\x03",
    T.VISIBLE_STRING: "meter 1",
    T.UTF8_STRING: "Zähler",
    T.FLOAT32: 0.25,
    T.FLOAT64: -1.5,
}


def example(spec: TypeSpec) -> Any:
    """A plain Python value that fits ``spec``."""
    if isinstance(spec, T):
        return _EXAMPLE_INTS.get(spec, _EXAMPLE_OTHERS.get(spec))
    if isinstance(spec, OctetStringSpec):
        return _EXAMPLE_FORMS[spec.form]
    if isinstance(spec, StructureSpec):
        return tuple(example(member) for _, member in spec.members)
    if isinstance(spec, ArraySpec):
        return [example(spec.element), example(spec.element)]
    if isinstance(spec, Choice):
        return example(spec.alternatives[-1])
    assert isinstance(spec, AnyData)
    return axdr.Structure([axdr.DoubleLong(-1), axdr.OctetString(b"x")])


def _every_spec(spec: TypeSpec) -> list[TypeSpec]:
    found = [spec]
    if isinstance(spec, StructureSpec):
        for _, member in spec.members:
            found += _every_spec(member)
    elif isinstance(spec, ArraySpec):
        found += _every_spec(spec.element)
    elif isinstance(spec, Choice):
        for alternative in spec.alternatives:
            found += _every_spec(alternative)
    return found


def _round_trip(typed: Any) -> tuple[bytes, Any]:
    raw = axdr.encode(typed)
    return raw, axdr.decode(raw)


ATTRIBUTES = [(cls, a.index) for cls in CLASSES for a in cls.attributes]
METHODS = [(cls, m.index) for cls in CLASSES for m in cls.methods]


def _ids(items: list[tuple[InterfaceClass, int]]) -> list[str]:
    return [f"{c.class_id}v{c.version}-{i}" for c, i in items]


@pytest.mark.parametrize("cls", CLASSES, ids=[f"{c.class_id}v{c.version}" for c in CLASSES])
def test_class_is_consistent(cls: InterfaceClass) -> None:
    assert cls.attributes[0] == LOGICAL_NAME_ATTRIBUTE
    indexes = [a.index for a in cls.attributes]
    assert indexes == sorted(set(indexes)) and indexes[0] == 1
    method_indexes = [m.index for m in cls.methods]
    assert method_indexes == sorted(set(method_indexes)) and all(i > 0 for i in method_indexes)
    names = [a.name for a in cls.attributes] + [m.name for m in cls.methods]
    assert all(SNAKE_CASE.fullmatch(name) for name in names), names
    assert len({n.lower() for n in [a.name for a in cls.attributes]}) == len(cls.attributes)
    assert all(a.min_version <= cls.version for a in cls.attributes)
    assert all(m.min_version <= cls.version for m in cls.methods)
    assert all(a.description for a in cls.attributes) and all(m.description for m in cls.methods)
    for attribute in cls.attributes:
        if attribute.enum_names:
            assert attribute.type == T.ENUM
            assert all(SNAKE_CASE.fullmatch(name) for name in attribute.enum_names.values())
    for method in cls.methods:
        if method.default_parameter is not None:
            assert method.parameter is not None
            assert (
                encode_method_parameter(cls, method.index, method.default_parameter)
                is method.default_parameter
            )
    assert get_class(cls.class_id, cls.version) is cls
    assert class_name(cls.class_id) == cls.name


@pytest.mark.parametrize(("cls", "index"), ATTRIBUTES, ids=_ids(ATTRIBUTES))
def test_every_attribute_type_encodes_and_decodes(cls: InterfaceClass, index: int) -> None:
    attribute = cls.attribute(index)
    assert attribute is not None
    raw, decoded = _round_trip(encode_attribute_value(cls, index, example(attribute.type)))
    # What a meter sends back passes the model's check unchanged.
    assert axdr.encode(encode_attribute_value(cls, index, decoded)) == raw
    assert type_name(attribute.type)


@pytest.mark.parametrize(("cls", "index"), METHODS, ids=_ids(METHODS))
def test_every_method_parameter_encodes_and_decodes(cls: InterfaceClass, index: int) -> None:
    method = cls.method(index)
    assert method is not None
    if method.parameter is None:
        assert encode_method_parameter(cls, index) is None
        return
    raw, decoded = _round_trip(encode_method_parameter(cls, index, example(method.parameter)))
    assert axdr.encode(encode_method_parameter(cls, index, decoded)) == raw
    if method.returns is not None:
        for spec in _every_spec(method.returns):
            assert type_name(spec)


def test_registry() -> None:
    assert [c.version for c in CLASSES if c.class_id == 15] == [0, 1, 2, 3]
    latest = get_class(15)
    assert latest is not None and latest.version == 3
    assert get_class(15, 9) is None and get_class(4242) is None
    fallback = class_for(27, 1)
    assert fallback.generic and fallback.name == "Modem configuration" and fallback.version == 1
    assert class_for(70, 0) is get_class(70)
    assert class_name(4242) == "Class 4242"
    assert len({(c.class_id, c.version) for c in CLASSES}) == len(CLASSES)
    wanted = {
        1,
        3,
        4,
        5,
        6,
        7,
        8,
        9,
        10,
        11,
        12,
        15,
        17,
        18,
        19,
        20,
        21,
        22,
        23,
        40,
        41,
        42,
        45,
        64,
        70,
        71,
        72,
    }
    assert wanted | {111, 112, 113, 115} == {c.class_id for c in CLASSES}


def _names(cls: InterfaceClass | None) -> tuple[list[str], list[str]]:
    assert cls is not None
    return [a.name for a in cls.attributes], [m.name for m in cls.methods]


def test_facts_sheet_classes() -> None:
    """The attribute and method lists of dlms-facts.md section 7."""
    assert _names(get_class(70)) == (
        ["logical_name", "output_state", "control_state", "control_mode"],
        ["remote_disconnect", "remote_reconnect"],
    )
    assert _names(get_class(115)) == (
        ["logical_name", "token", "token_time", "token_description", "token_delivery_method", "token_status"],
        ["enter"],
    )
    attributes, methods = _names(get_class(15))
    assert attributes[1:] == [
        "object_list",
        "associated_partners_id",
        "application_context_name",
        "xDLMS_context_info",
        "authentication_mechanism_name",
        "secret",
        "association_status",
        "security_setup_reference",
        "user_list",
        "current_user",
    ]
    assert methods[:4] == ["reply_to_HLS_authentication", "change_HLS_secret", "add_object", "remove_object"]
    assert _names(get_class(8))[1] == [
        "adjust_to_quarter",
        "adjust_to_measuring_period",
        "adjust_to_minute",
        "adjust_to_preset_time",
        "preset_adjusting_time",
        "shift_time",
    ]
    assert _names(get_class(7)) == (
        [
            "logical_name",
            "buffer",
            "capture_objects",
            "capture_period",
            "sort_method",
            "sort_object",
            "entries_in_use",
            "profile_entries",
        ],
        ["reset", "capture"],
    )
    assert _names(get_class(64, 0)) == (
        ["logical_name", "security_policy", "security_suite", "client_system_title", "server_system_title"],
        ["security_activate", "global_key_transfer"],
    )
    attributes, methods = _names(get_class(64, 1))
    assert attributes[-1] == "certificates" and len(methods) == 8 and methods[1] == "key_transfer"


def test_versions_of_association_ln_and_mbus_client() -> None:
    counts = [len(c.attributes) for c in CLASSES if c.class_id == 15]
    assert counts == [8, 9, 11, 11]
    v0 = get_class(15, 0)
    assert v0 is not None and v0.attribute("object_list") is not None
    assert object_list_element(0) != object_list_element(1)
    assert len(_names(get_class(72, 0))[0]) == 12 and len(_names(get_class(72, 1))[0]) == 14
    assert _names(get_class(12, 3))[1][-2:] == ["add_user", "remove_user"]
    assert "add_user" not in _names(get_class(12, 2))[1]


def test_disconnect_control_remote_disconnect_parameter() -> None:
    """dlms-facts.md section 7: the request C301C10046000060030AFF01010F00 ends with data integer(0), 0F00."""
    disconnect_control = get_class(70)
    assert disconnect_control is not None
    parameter = encode_method_parameter(disconnect_control, "remote_disconnect", None)
    assert parameter == axdr.Integer(0) and type(parameter) is axdr.Integer
    assert axdr.encode(parameter).hex().upper() == "0F00"
    assert bytes.fromhex("C301C10046000060030AFF01010F00").endswith(axdr.encode(parameter))
    assert (
        axdr.encode(encode_attribute_value(disconnect_control, "control_state", "connected")) == b"\x16\x01"
    )
    mode = disconnect_control.attribute("control_mode")
    assert mode is not None and mode.enum_names is not None and sorted(mode.enum_names) == list(range(7))


def test_token_gateway_enter() -> None:
    token_gateway = get_class(115)
    assert token_gateway is not None
    token = token_to_octets("0571 8854 5901 9721 1241")
    parameter = encode_method_parameter(token_gateway, "enter", token)
    assert axdr.encode(parameter).hex() == "0914" + "3035373138383534353930313937323131323431"
    # The seed forum thread: a visible-string gets type-unmatched from the meter; refused here first.
    with pytest.raises(EncodeError) as error:
        encode_method_parameter(token_gateway, "enter", axdr.VisibleString("48643202781314010686"))
    assert "Token gateway.enter expects octet-string" in str(error.value)
    assert "visible-string" in str(error.value)
    with pytest.raises(EncodeError, match="token_to_octets"):
        encode_method_parameter(token_gateway, "enter", "48643202781314010686")
    with pytest.raises(EncodeError, match="needs a parameter"):
        encode_method_parameter(token_gateway, "enter")


def test_register_scaler_unit_vector() -> None:
    """dlms-facts.md section 7: scaler_unit is 02 02 0F ss 16 uu (here -3, 27 W)."""
    register = get_class(3)
    assert register is not None
    assert axdr.encode(encode_attribute_value(register, 3, (-3, 27))).hex().upper() == "02020FFD161B"
    assert encode_method_parameter(register, "reset") == axdr.Integer(0)


# dlms-facts.md section 7: allowed transitions per control mode (disconnections / reconnections).
_FACTS_ALLOWED = {
    0: "",
    1: "bcfgde",
    2: "bcfgae",
    3: "bcgde",
    4: "bcgae",
    5: "bcfgdeh",
    6: "bcgdeh",
}
_S = ControlState
_FACTS_TRANSITIONS = {
    "a": (Trigger.REMOTE_RECONNECT, _S.DISCONNECTED, _S.CONNECTED),
    "b": (Trigger.REMOTE_DISCONNECT, _S.CONNECTED, _S.DISCONNECTED),
    "c": (Trigger.REMOTE_DISCONNECT, _S.READY_FOR_RECONNECTION, _S.DISCONNECTED),
    "d": (Trigger.REMOTE_RECONNECT, _S.DISCONNECTED, _S.READY_FOR_RECONNECTION),
    "e": (Trigger.MANUAL_RECONNECT, _S.READY_FOR_RECONNECTION, _S.CONNECTED),
    "f": (Trigger.MANUAL_DISCONNECT, _S.CONNECTED, _S.READY_FOR_RECONNECTION),
    "g": (Trigger.LOCAL_DISCONNECT, _S.CONNECTED, _S.READY_FOR_RECONNECTION),
    "h": (Trigger.LOCAL_RECONNECT, _S.READY_FOR_RECONNECTION, _S.CONNECTED),
}


@pytest.mark.parametrize("mode", list(ControlMode))
def test_control_state_machine(mode: ControlMode) -> None:
    expected: dict[tuple[Trigger, ControlState], ControlState] = {}
    for letter in _FACTS_ALLOWED[mode]:
        trigger, before, after = _FACTS_TRANSITIONS[letter]
        expected[(trigger, before)] = after
    for trigger in Trigger:
        for state in ControlState:
            assert next_control_state(mode, state, trigger) == expected.get((trigger, state))
    assert next_control_state(9, ControlState.CONNECTED, Trigger.REMOTE_DISCONNECT) is None


def test_every_type_spec_has_a_name() -> None:
    for cls in CLASSES:
        for attribute in cls.attributes:
            for spec in _every_spec(attribute.type):
                assert type_name(spec)
    assert type_name(ANY) == "any data"
