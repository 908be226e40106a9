"""Our XML next to the real Gurux translator's (gurux-dlms, a test-only dependency).

For every APDU of the corpus both translators write XML; after dropping comments and whitespace the
element names, attributes and values must be the same, and Gurux's XML must encode back to the same bytes
with our encoder. Where gurux-dlms misbehaves the APDU is listed in ``GURUX_ODDITIES`` with what it does;
ours is not bent to match.
"""

from __future__ import annotations

import contextlib
import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from tests.translator.corpus import CORPUS

from dlmskit.translator import Translator, encode_xml, nodes_to_xml, parse_hex_text, translate

gurux_translator = pytest.importorskip("gurux_dlms.GXDLMSTranslator")
gurux_buffer = pytest.importorskip("gurux_dlms.GXByteBuffer")
gurux_message = pytest.importorskip("gurux_dlms.GXDLMSTranslatorMessage")

SEED = Path(__file__).parent / "data" / "seed_001_trace.txt"

GURUX_ODDITIES = {
    # gurux-dlms 1.0.x raises inside pduToXml for these:
    "get_response_date": "AttributeError: 'GXByteBuffer' object has no attribute 'integerToHex'",
    "set_list_first_block": "TypeError: can only concatenate str (not 'NoneType') to str",
    "set_response_last_block_list": "TypeError: can only concatenate str (not 'NoneType') to str",
    "action_next": "ValueError: get",
    "action_list": "ValueError: 512 is not a valid ObjectType",
    "action_list_first_block": "ValueError: 256 is not a valid ObjectType",
    "action_block": "ValueError: 256 is not a valid ObjectType",
    "action_response_block": "TypeError: can only concatenate str (not 'NoneType') to str",
    "action_response_list": "ValueError: Invalid Command.",
    "exception_response_counter": "ValueError: 6",
    "aarq_all_elements": "ValueError: Invalid tag.",
    "aare_provider": "AttributeError: 'GXDLMSSettings' object has no attribute 'getUserId'",
    # ...or writes something that is not what the APDU holds:
    "action_first_block": "an empty <ActionRequest />",
    "get_list": "drops the AccessSelection of the second attribute",
    "get_response_list": "drops the second Get-Data-Result (the DataAccessError)",
    "get_response_dont_care": "an empty <Data> for dont-care (ours: <DontCare />)",
    "get_response_compact_array": "<ArrayContents>1</ArrayContents> as element text, not the values",
    "glo_initiate_request": 'invalid XML <Data="21..." /> for a glo-initiateRequest outside an AARQ',
    "glo_get_authenticated": "does not show the readable plaintext of an authenticated-only APDU",
    "rlre": "closes <NegotiatedConformance> with a <ProposedConformance> start tag",
    "general_ded_ciphering_no_title": "calls a general-ded-ciphering APDU (DC) GeneralGloCiphering",
    "set_with_access": "ignores the access selection of a SET and misreads the rest as the value",
    "read_request_sn_data_block": "leaves the raw-data of a read-data-block-access out",
    "read_request_sn_write_block": "AttributeError: 'NoneType' object has no attribute 'set'",
    "read_response_sn_block": "AttributeError: 'GXByteBuffer' object has no attribute 'strip'",
    "read_response_sn_block_number": "ValueError: Invalid Block number. It is 4 and it should be 1.",
    "write_response_sn_block_number": "shows a WriteResponse block-number as <DataAccessError Value=Success>",
    "unconfirmed_write_sn": 'invalid XML <Data="16..." /> for an unconfirmed-write request',
    "information_report_sn_time": "reads current-time as a length byte, not the A-XDR OPTIONAL marker 01",
    "access_request": "decodes the access request (ours shows it raw)",
}

# Gurux's XML parser: what its own writer produces but our encoder reads differently.
GURUX_XML_ODDITIES = {
    "get_response_utf8_string": "writes utf8-string as spaced hex, which its own xmlToPdu reads as text",
}


def gurux_xml(apdu: bytes) -> str | None:
    translator = gurux_translator.GXDLMSTranslator()
    with contextlib.redirect_stdout(io.StringIO()):  # gurux prints "Encryption is applied." etc.
        try:
            text: str = translator.pduToXml(gurux_buffer.GXByteBuffer(apdu))
        except Exception:
            return None
    return text


def normalised(text: str) -> ET.Element:
    without_comments = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    element = ET.fromstring(without_comments)
    for node in element.iter():
        node.text = node.tail = None
        if "Qty" in node.attrib:  # Gurux writes Qty="2" and Qty="02"
            node.attrib["Qty"] = str(int(node.attrib["Qty"], 16))
    return element


def differences(ours: ET.Element, theirs: ET.Element, path: str = "") -> str | None:
    here = f"{path}/{ours.tag}"
    if ours.tag != theirs.tag:
        return f"{path}: <{ours.tag}> against <{theirs.tag}>"
    if ours.attrib != theirs.attrib:
        return f"{here}: {ours.attrib} against {theirs.attrib}"
    if len(ours) != len(theirs):
        return f"{here}: {[c.tag for c in ours]} against {[c.tag for c in theirs]}"
    for mine, other in zip(ours, theirs, strict=True):
        found = differences(mine, other, here)
        if found:
            return found
    return None


COMPARED = sorted(name for name in CORPUS if name not in GURUX_ODDITIES)


def test_the_comparison_covers_at_least_fifty_apdus() -> None:
    assert len(COMPARED) >= 50
    kinds = {CORPUS[name][0] for name in COMPARED}
    assert {
        0xC0,
        0xC1,
        0xC3,
        0xC4,
        0xC5,
        0xC7,
        0xC2,
        0x0F,
        0xD8,
        0x0E,
        0xE0,
        0x60,
        0x61,
        0x62,
        0x63,
        0xC8,
        0xDB,
    } <= kinds


@pytest.mark.parametrize("name", COMPARED)
def test_same_elements_and_values_as_gurux(name: str) -> None:
    apdu = CORPUS[name]
    theirs = gurux_xml(apdu)
    assert theirs is not None
    ours = nodes_to_xml([Translator().apdu_node(apdu)])
    assert differences(normalised(ours), normalised(theirs)) is None


@pytest.mark.parametrize("name", [name for name in COMPARED if name not in GURUX_XML_ODDITIES])
def test_gurux_xml_encodes_back_to_the_same_bytes(name: str) -> None:
    theirs = gurux_xml(CORPUS[name])
    assert theirs is not None
    assert encode_xml(theirs) == [CORPUS[name]]


@pytest.mark.parametrize("name", sorted(GURUX_ODDITIES))
def test_gurux_oddities_are_still_odd(name: str) -> None:
    # When a gurux-dlms release fixes one of these, move it to the compared APDUs.
    theirs = gurux_xml(CORPUS[name])
    if theirs is None:
        return
    ours = nodes_to_xml([Translator().apdu_node(CORPUS[name])])
    with contextlib.suppress(ET.ParseError):  # some of Gurux's XML does not even parse
        assert differences(normalised(ours), normalised(theirs)) is not None


def test_seed_frames_match_gurux_message_to_xml() -> None:
    # Gurux writes the HDLC len attribute as something else than the frame length; the rest matches.
    for item, translated in zip(
        parse_hex_text(SEED.read_text()), translate(parse_hex_text(SEED.read_text())).items, strict=True
    ):
        message = gurux_message.GXDLMSTranslatorMessage()
        message.message = gurux_buffer.GXByteBuffer(item.data)
        with contextlib.redirect_stdout(io.StringIO()):
            gurux_translator.GXDLMSTranslator().messageToXml(message)
        theirs = normalised(message.xml)
        ours = normalised(nodes_to_xml(translated.nodes))
        assert ours.tag == theirs.tag == "HDLC"
        theirs.attrib.clear()
        ours.attrib.clear()
        assert differences(ours, theirs) is None
