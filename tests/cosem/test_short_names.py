"""Short-name referencing in the COSEM model: base names, the Association SN lists, ShortNameMap
(dlmskit.cosem.short_names)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis
from dlmskit.cosem import ShortNameAccess, ShortNameEntry, ShortNameMap, ShortNameTarget
from dlmskit.cosem.short_names import (
    ASSOCIATION_SN_BASE_NAME,
    FIRST_METHOD_OFFSETS,
    attribute_variable,
    decode_access_rights_list,
    decode_sn_object_list,
    first_method_offset,
    method_variable,
)
from dlmskit.cosem.values import AttributeAccess, AttributeAccessMode, MethodAccess, MethodAccessMode
from dlmskit.errors import ConfigurationError, DecodeError, EncodeError

# Object list elements of a real short-name meter, as its ReadResponse to 05 01 02 FA08 carried them
# (public trace https://pastebin.com/Vvs6PqXK): {base_name long, class_id, version, logical_name}.
TRACE_ELEMENTS = [
    "02 04 10 0010 12 2716 11 03 09 06 0000F00D00FF",
    "02 04 10 00E8 12 2712 11 07 09 06 0000F00000FF",
    "02 04 10 0410 12 0003 11 00 09 06 0000616100FF",
    "02 04 10 48A0 12 0003 11 00 09 06 000060F00CFF",
    "02 04 10 2BC0 12 0008 11 00 09 06 0000010000FF",
    "02 04 10 C738 12 0014 11 00 09 06 00000D0000FF",
    "02 04 10 C800 12 000B 11 00 09 06 00000B0000FF",
]


def trace_object_list() -> axdr.Data:
    return axdr.decode(bytes.fromhex("01 07" + "".join(TRACE_ELEMENTS)))


def test_object_list_of_a_real_meter() -> None:
    entries = decode_sn_object_list(trace_object_list())
    assert entries[0] == ShortNameEntry(0x0010, 10006, 3, Obis(0, 0, 240, 13, 0, 255))
    assert entries[4] == ShortNameEntry(0x2BC0, 8, 0, Obis(0, 0, 1, 0, 0, 255))
    # long C738 is -14536: kept as the 16 bits the SN APDUs carry.
    assert entries[5].base_name == 0xC738
    assert [axdr.encode(entry.encode()).hex().upper() for entry in entries] == [
        text.replace(" ", "") for text in TRACE_ELEMENTS
    ]


def test_map_of_a_real_meter() -> None:
    names = ShortNameMap.from_object_list(trace_object_list())
    assert len(names) == 7 and "0.0.1.0.0.255" in names and "1.0.1.8.0.255" not in names
    assert names.attribute("0.0.1.0.0.255", 1) == 0x2BC0
    assert names.attribute("0.0.1.0.0.255", 2) == 0x2BC8  # clock time
    assert names.attribute(Obis(0, 0, 97, 97, 0, 255), 2) == 0x0418  # register value
    assert names.method("0.0.1.0.0.255", 6) == 0x2BC0 + 0x60 + 5 * 8  # shift_time
    assert names.method("0.0.13.0.0.255", 1) == 0xC788  # activate_passive_calendar
    assert names.method("0.0.11.0.0.255", 2) == 0xC818  # special days delete
    assert names.resolve(0x2BC8) == ShortNameTarget(names.entry("0.0.1.0.0.255"), "attribute", 2)
    assert names.resolve(0xC788) == ShortNameTarget(names.entry("0.0.13.0.0.255"), "method", 1)
    register = names.entry("0.0.97.97.0.255")
    assert names.resolve(0x0420) == ShortNameTarget(register, "attribute", 3)  # scaler_unit
    assert names.resolve(0x0438) == ShortNameTarget(register, "method", 1)  # reset at +0x28
    assert names.resolve(0x2BC4) is None  # not a multiple of 8
    assert names.resolve(0x0008) is None  # before the first base name
    assert names.resolve(0x0428) is None  # register: past scaler_unit, before reset (+0x28)
    assert names.resolve(0x0440) is None  # register: past its only method
    assert names.resolve(0x0010 + 0x400) is not None  # manufacturer class: not bounded
    assert [entry.base_name for entry in names] == sorted(entry.base_name for entry in names)


def test_unknown_objects_and_classes() -> None:
    names = ShortNameMap.from_object_list(trace_object_list())
    with pytest.raises(ConfigurationError, match="not in the object list"):
        names.attribute("1.0.1.8.0.255", 2)
    with pytest.raises(ConfigurationError, match="method_offsets"):
        names.method("0.0.240.13.0.255", 1)  # class 10006
    with_offsets = ShortNameMap.from_object_list(trace_object_list(), method_offsets={10006: 0x30})
    assert with_offsets.method("0.0.240.13.0.255", 2) == 0x0010 + 0x30 + 8
    with pytest.raises(ConfigurationError, match="given to both"):
        ShortNameMap(
            [
                ShortNameEntry(0x100, 1, 0, Obis(0, 0, 96, 1, 0, 255)),
                ShortNameEntry(0x100, 1, 0, Obis(0, 0, 96, 1, 1, 255)),
            ]
        )


def test_offsets_of_the_standard() -> None:
    # Attribute n at base + 8 (n - 1); methods from the class's first-method offset (Blue Book SN tables,
    # sources named in dlmskit.cosem.short_names.FIRST_METHOD_OFFSETS).
    assert attribute_variable(0xFA00, 2) == 0xFA08 == ASSOCIATION_SN_BASE_NAME + 8
    assert method_variable(0xFA00, 12, 3) == 0xFA30  # read_by_logicalname (Connexo: 0x30)
    assert method_variable(0xFA00, 12, 8) == 0xFA58  # reply_to_HLS_authentication (Connexo: 0x58)
    assert method_variable(0x4000, 70, 1) == 0x4020  # remote_disconnect (gurux-dlms SN client)
    assert method_variable(0x4000, 70, 2) == 0x4028  # remote_reconnect
    assert method_variable(0x1000, 72, 1, version=0) == 0x1060  # M-Bus client v0 (Connexo)
    assert method_variable(0x1000, 72, 1, version=1) == 0x1070  # M-Bus client v1 (Connexo)
    assert first_method_offset(1) is None  # data: no method
    assert first_method_offset(8, overrides={8: 0x70}) == 0x70
    assert all(offset % 8 == 0 for offset in FIRST_METHOD_OFFSETS.values())
    with pytest.raises(EncodeError, match="start at 1"):
        attribute_variable(0x100, 0)
    with pytest.raises(EncodeError, match="start at 1"):
        method_variable(0x100, 70, 0)
    with pytest.raises(EncodeError, match="16 bits"):
        attribute_variable(0xFFF8, 3)
    with pytest.raises(ConfigurationError, match="class 1"):
        method_variable(0x100, 1, 1)


# The gurux-dlms Python client's SN method table (GXDLMS.getActionInfo) collapses several classes into one
# branch: for the clock it answers 0x38 (the extended register's) and for profile generic 0x28 (the
# register table's), where its own .NET stack and the Blue Book say 0x60 and 0x58.
GURUX_PYTHON_ODDITIES = {8: 0x38, 7: 0x28}


def test_method_offsets_match_the_gurux_client() -> None:
    objects = pytest.importorskip("gurux_dlms.objects")
    gurux = pytest.importorskip("gurux_dlms")
    client = gurux.GXDLMSClient(False)
    classes = {
        8: objects.GXDLMSClock,
        7: objects.GXDLMSProfileGeneric,
        18: objects.GXDLMSImageTransfer,
        20: objects.GXDLMSActivityCalendar,
        12: objects.GXDLMSAssociationShortName,
        9: objects.GXDLMSScriptTable,
        11: objects.GXDLMSSpecialDaysTable,
        64: objects.GXDLMSSecuritySetup,
        70: objects.GXDLMSDisconnectControl,
        40: objects.GXDLMSPushSetup,
        42: objects.GXDLMSIp4Setup,
        15: objects.GXDLMSAssociationLogicalName,
    }
    for class_id, cls in classes.items():
        target = cls()
        target.shortName = 0x1000
        frame = bytes(client.method(target, 1, 0, 15)[0])
        apdu = frame[frame.index(b"\xe6\xe6\x00") + 3 :]
        assert apdu[:3] == bytes.fromhex("060102")  # WriteRequest, one variable-name
        sent = int.from_bytes(apdu[3:5], "big")
        expected = 0x1000 + GURUX_PYTHON_ODDITIES.get(class_id, FIRST_METHOD_OFFSETS[class_id])
        assert sent == expected, class_id
    for class_id, offset in GURUX_PYTHON_ODDITIES.items():
        assert FIRST_METHOD_OFFSETS[class_id] != offset


def test_access_rights_list() -> None:
    value = axdr.decode(
        bytes.fromhex(
            "01 01 02 03 10 FA00"  # base name FA00 (long -1536)
            "01 02 02 03 0F 01 16 01 00 02 03 0F 02 16 03 01 01 0F 01"  # attr 1 read-only; 2 rw, selector 1
            "01 02 02 02 0F 03 16 01 02 02 0F 08 03 00"  # method 3 access; method 8 boolean false
        )
    )
    (rights,) = decode_access_rights_list(value)
    assert rights.base_name == 0xFA00
    assert rights.attribute_access[1] == AttributeAccess(1, AttributeAccessMode.READ_ONLY)
    assert rights.attribute_access[2].access_selectors == (1,)
    assert rights.attribute_access[2].can_write
    assert rights.method_access[3] == MethodAccess(3, MethodAccessMode.ACCESS)
    assert rights.method_access[8] == MethodAccess(8, MethodAccessMode.NO_ACCESS)
    assert ShortNameAccess.decode(rights.encode()).attribute_access == rights.attribute_access
    names = ShortNameMap(
        [ShortNameEntry(0xFA00, 12, 2, Obis(0, 0, 40, 0, 0, 255))], [rights], method_offsets=None
    )
    assert names.access("0.0.40.0.0.255") == rights


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (axdr.Structure([]), "an array"),
        ([(1, 2, 3)], "structure of 4"),
        ([(1, 2, 3, b"\x00")], "logical_name"),
        ([(True, 2, 3, bytes(6))], "integer"),
    ],
)
def test_malformed_object_lists(value: axdr.Data, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode_sn_object_list(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "an array"),
        ([(1, [], [], 4)], "structure of 3"),
        ([(1, [(1, 1)], [])], "structure of 3"),
        ([(1, [], [(1, 1, 1)])], "structure of 2"),
        ([(1, [(1, 1, 7)], [])], "access_selectors"),
    ],
)
def test_malformed_access_rights_lists(value: axdr.Data, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode_access_rights_list(value)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.integers(0, 0x1FFF).map(lambda n: n * 8),
        st.tuples(
            st.sampled_from([1, 3, 7, 8, 12, 70, 64, 9999]),
            st.integers(0, 3),
            st.binary(min_size=6, max_size=6).map(Obis.from_bytes),
        ),
        max_size=12,
    )
)
def test_names_resolve_back(objects: dict[int, tuple[int, int, Obis]]) -> None:
    # Objects 0x100 apart so that no object's variables reach the next base name.
    entries = [
        ShortNameEntry(base * 0x20 & 0xFF00, class_id, version, name)
        for base, (class_id, version, name) in objects.items()
    ]
    unique = {entry.base_name: entry for entry in entries}
    names = ShortNameMap(unique.values())
    again = ShortNameMap(decode_sn_object_list([entry.encode() for entry in unique.values()]))
    assert list(again) == list(names)
    for entry in unique.values():
        if names.entry(entry.logical_name) != entry:
            continue  # a logical name listed twice: the first one wins
        variable = names.attribute(entry.logical_name, 2)
        assert names.resolve(variable) == ShortNameTarget(entry, "attribute", 2)
        if first_method_offset(entry.class_id, entry.version) is not None:
            variable = names.method(entry.logical_name, 1)
            assert names.resolve(variable) == ShortNameTarget(entry, "method", 1)
