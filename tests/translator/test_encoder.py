"""Translator XML back to APDU bytes: every APDU kind round trips, the forum's XML encodes."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.strategies import axdr_data
from tests.translator.corpus import CORPUS, VALUES

from dlmskit.apdu.common import GetDataResult, InvokeIdAndPriority
from dlmskit.apdu.get import GetResponseNormal
from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import CosemDateTime
from dlmskit.errors import DecodeError, EncodeError
from dlmskit.translator import Translator, encode_xml, nodes_to_xml, parse_xml, to_xml, translate
from dlmskit.translator.data import data_node, data_value
from dlmskit.translator.hexinput import TraceItem

SEED_XML = Path(__file__).parent / "data" / "seed_001_action.xml"
TOKEN = bytes.fromhex("0005070108080504050900010907020101020401")


def xml_of(apdu: bytes) -> str:
    return nodes_to_xml([Translator().apdu_node(apdu)])


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_apdu_kind_round_trips_through_xml(name: str) -> None:
    apdu = CORPUS[name]
    assert encode_xml(xml_of(apdu)) == [apdu]


@pytest.mark.parametrize("name", sorted(VALUES))
def test_every_data_type_round_trips_through_its_element(name: str) -> None:
    value = VALUES[name]
    assert axdr.encode(data_value(data_node(value))) == axdr.encode(value)


def test_seed_xml_encodes_to_the_token_gateway_action() -> None:
    # GXDLMSDirector XML from the Gurux forum thread (shared/seeds/001), "#" comment lines included.
    (apdu,) = encode_xml(SEED_XML.read_text())
    assert apdu == bytes.fromhex("C30181 0073 0000132800FF 01 01 0914") + TOKEN
    ours = parse_xml(xml_of(apdu))
    theirs = parse_xml(SEED_XML.read_text())
    assert [n.name for n in ours[0].walk()] == [n.name for n in theirs[0].walk()]
    assert [n.attributes for n in ours[0].walk()] == [n.attributes for n in theirs[0].walk()]


def test_messages_root_gives_one_apdu_per_child_and_frames_give_their_pdu() -> None:
    items = [TraceItem(None, CORPUS["get_normal"], 1), TraceItem(None, CORPUS["get_response_date_time"], 2)]
    assert encode_xml(to_xml(translate(items))) == [CORPUS["get_normal"], CORPUS["get_response_date_time"]]
    frame = bytes.fromhex("7EA01A02232110E670E6E600C001C100080000010000FF0200601A7E")
    assert encode_xml(to_xml(translate([TraceItem(None, frame, 1)]))) == [
        bytes.fromhex("C001C100080000010000FF0200")
    ]


def test_deciphered_content_is_ignored_when_encoding() -> None:
    keys = (
        bytes.fromhex("000102030405060708090A0B0C0D0E0F"),
        bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"),
    )
    apdu = CORPUS["glo_get_authenticated_encrypted"]
    translator = Translator(keys, client_title=bytes.fromhex("4D4D4D0000BC614E"))
    node = translator.apdu_node(apdu)
    assert node.children
    assert encode_xml(nodes_to_xml([node])) == [apdu]


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        ("<Nonsense />", "<Nonsense> is not an APDU element the encoder knows (line 1)"),
        (
            "<GetRequest>\n<GetRequestNormal>\n</GetRequestNormal>\n</GetRequest>",
            "<GetRequestNormal> needs a <InvokeIdAndPriority>",
        ),
        ("<GetRequest><GetRequestOdd /></GetRequest>", "<GetRequestOdd> is not a GetRequest variant"),
        (
            '<GetResponse><GetResponseNormal><InvokeIdAndPriority Value="C1" /><Result><Data><UInt8 Value="XY" /></Data></Result></GetResponseNormal></GetResponse>',
            "is not hex",
        ),
        (
            '<GetResponse><GetResponseNormal><InvokeIdAndPriority Value="C1" /><Result><Data><Int128 Value="00" /></Data></Result></GetResponseNormal></GetResponse>',
            "<Int128> is not a data type element",
        ),
        (
            '<SetResponse><SetResponseNormal><InvokeIdAndPriority Value="C1" /><Result Value="Maybe" /></SetResponseNormal></SetResponse>',
            "'Maybe' is not a Data-Access-Result",
        ),
        (
            '<ExceptionResponse><StateError Value="Fine" /><ServiceError Value="01" /></ExceptionResponse>',
            "not a exception-response state-error",
        ),
        ("", "holds no element"),
    ],
)
def test_encoding_mistakes_are_named(xml: str, message: str) -> None:
    with pytest.raises(EncodeError) as caught:
        encode_xml(xml)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (
            "<GetRequest>\n  <GetRequestNormal>\n</GetRequest>",
            "line 3, column 3: malformed XML (mismatched tag)",
        ),
        ("<GetRequest>text</GetRequest>", "unexpected text 'text' in <GetRequest>"),
        ('<!DOCTYPE x [<!ENTITY a "b">]><x/>', "declarations are not accepted"),
        ("<Array>" * 300 + "</Array>" * 300, "nested deeper than 200 levels"),
    ],
)
def test_malformed_xml_is_a_decode_error(xml: str, message: str) -> None:
    with pytest.raises(DecodeError) as caught:
        encode_xml(xml)
    assert message in str(caught.value)


def _floats(width: int) -> st.SearchStrategy[axdr.Data]:
    cls = axdr.Float32 if width == 32 else axdr.Float64
    return st.floats(width=width, allow_nan=False).map(cls)


_EXTRA = st.one_of(
    _floats(32),
    _floats(64),
    st.text(string.printable, max_size=12).map(axdr.VisibleString),
    st.text(max_size=8).map(axdr.Utf8String),
    st.text("01", max_size=20).map(axdr.BitString),
    st.binary(min_size=12, max_size=12).map(CosemDateTime.from_bytes),
    st.integers(0, 255).map(axdr.Bcd),
    st.just(axdr.DONT_CARE),
)


@settings(max_examples=150, deadline=None)
@given(st.one_of(axdr_data(), _EXTRA))
def test_any_value_round_trips_through_a_get_response(value: axdr.Data) -> None:
    apdu = GetResponseNormal(InvokeIdAndPriority(1), GetDataResult(value)).encode()
    assert encode_xml(xml_of(apdu)) == [apdu]


def test_short_name_raw_form_still_encodes() -> None:
    # Before the SN APDUs were decoded, the translator wrote them as the hex after the tag.
    assert encode_xml('<ReadRequest Value="0102FA08" />') == [bytes.fromhex("050102FA08")]
    assert encode_xml('<WriteResponse Value="0100" />') == [bytes.fromhex("0D0100")]


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        ('<ReadRequest Qty="01"><Foo Value="01" /></ReadRequest>', "not a variable access"),
        ('<ReadResponse Qty="01"><Foo /></ReadResponse>', "not a ReadResponse result"),
        ('<WriteResponse Qty="01"><Data /></WriteResponse>', "not a WriteResponse result"),
        ("<WriteRequest><ListOfData /></WriteRequest>", "ListOfVariableAccessSpecification"),
        ('<ReadRequest><VariableName Value="123456" /></ReadRequest>', "2 bytes"),
    ],
)
def test_short_name_mistakes(xml: str, message: str) -> None:
    with pytest.raises(EncodeError, match=message):
        encode_xml(xml)
