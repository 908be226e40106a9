"""Translating traces: the seed trace, the Green Book ciphering vectors, frames, segments and rubbish."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.translator.corpus import (
    CORPUS,
    GREEN_BOOK_AK,
    GREEN_BOOK_EK,
    GREEN_BOOK_GLO_GET,
    GREEN_BOOK_GLO_INITIATE,
    GREEN_BOOK_PLAIN_GET,
    GREEN_BOOK_TITLE,
)

from dlmskit.apdu.acse import AARQ
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_frame import Control, FrameType, HdlcFrame
from dlmskit.link.hdlc_parameters import HdlcParameters
from dlmskit.link.wrapper import WrapperFrame
from dlmskit.security.ciphering import encrypt_apdu
from dlmskit.security.suite0 import GcmCipher
from dlmskit.translator import (
    Direction,
    Node,
    TraceItem,
    Translation,
    Translator,
    parse_hex_text,
    parse_xml,
    to_json,
    to_text,
    to_xml,
    translate,
)

SEED = Path(__file__).parent / "data" / "seed_001_trace.txt"
SERVER = HdlcAddress(1, 35, 2)
CLIENT = HdlcAddress(16)
METER = HdlcAddress(1, 17, 2)
KEYS = (GREEN_BOOK_EK, GREEN_BOOK_AK)
DEDICATED_KEY = bytes.fromhex("00112233445566778899AABBCCDDEEFF")  # inside the Green Book glo-initiateRequest


def seed() -> Translation:
    return translate(parse_hex_text(SEED.read_text()))


def apdu_of(frame: Node) -> Node:
    pdu = frame.find("PDU")
    assert pdu is not None
    return pdu.children[0]


def notes(translation: Translation) -> list[str]:
    return [
        note for item in translation.items for node in item.nodes for n in node.walk() for note in n.notes
    ]


# -- the seed trace (Gurux forum, shared/seeds/001) --------------------------------------------------------


def test_seed_trace_decodes_without_keys() -> None:
    translation = seed()
    assert translation.ok
    assert len(translation.items) == 10
    first = translation.items[0].nodes
    assert len(first) == 1
    frame = first[0]
    assert frame.attributes == {"len": "37"}
    assert frame.find("TargetAddress") == Node.leaf(
        "TargetAddress", "A3", "logical device 1, physical device 35 (2 bytes)"
    )
    assert frame.find("SourceAddress") == Node.leaf("SourceAddress", "4", "address 4 (1 byte)")
    frame_type = frame.find("FrameType")
    assert frame_type is not None and frame_type.value == "76"
    assert frame_type.comment == "I-frame N(S)=3 N(R)=3, poll/final"
    action = apdu_of(frame)
    assert action.name == "glo_ActionRequest"
    assert action.value is not None and action.value.startswith("300000000B")
    assert action.comment is not None
    assert "security control 30: suite 0, authenticated, encrypted" in action.comment
    assert "invocation counter 11 (0000000B)" in action.comment
    assert "ciphertext 23 bytes + tag 12" in action.comment
    answer = translation.items[1].nodes[0]
    assert answer.find("TargetAddress") == Node.leaf("TargetAddress", "4", "address 4 (1 byte)")
    assert apdu_of(answer).name == "glo_ActionResponse"
    assert [apdu_of(item.nodes[0]).name for item in translation.items[2:6]] == [
        "glo_GetRequest",
        "glo_GetResponse",
        "glo_GetRequest",
        "glo_GetResponse",
    ]


def test_seed_frame_with_7e_inside_is_one_frame() -> None:
    # Line 9 of the seed carries the byte 7E inside its information field: there is no byte stuffing.
    item = seed().items[8]
    assert len(item.nodes) == 1
    assert apdu_of(item.nodes[0]).name == "glo_ActionRequest"


def test_seed_trace_warns_about_nonce_reuse_and_counters_going_down() -> None:
    translation = seed()
    reuse = [w for w in translation.warnings if w.startswith("nonce reuse")]
    # The client used invocation counter 2 for a glo-GET (line 6) and glo-ACTIONs (lines 10 and 12).
    assert len(reuse) == 2
    assert "the client used invocation counter 2" in reuse[0]
    assert "(lines 6 and 10)" in reuse[0]
    assert "(lines 6 and 12)" in reuse[1]
    down = [w for w in translation.warnings if w.startswith("invocation counter went down")]
    assert any("the client (global key) used 14 on line 8, then 2 on line 10" in w for w in down)


def test_seed_with_wrong_keys_reports_tags_and_goes_on() -> None:
    items = parse_hex_text(SEED.read_text())
    wrong = (bytes(16), bytes(16))
    translation = translate(items, wrong, client_title=b"ABCDEFGH", server_title=b"MMM00001")
    assert not translation.ok
    assert len(translation.items) == 10
    found = notes(translation)
    assert len(found) == 10
    assert all(note.startswith("tag does not verify: authentication tag does not verify") for note in found)
    assert "4142434445464748" in found[0]  # the client system title is named
    assert len(translation.warnings) == len(seed().warnings)


def test_seed_with_keys_but_no_titles_says_which_option_is_missing() -> None:
    translation = translate(parse_hex_text(SEED.read_text()), (bytes(16), bytes(16)))
    found = notes(translation)
    assert "give it with --client-title" in found[0]
    assert "give it with --server-title" in found[1]


# -- Green Book vectors (shared/reference/dlms-facts.md section 3) ------------------------------------------


@pytest.mark.parametrize("security_control", [0x10, 0x20, 0x30])
def test_green_book_glo_get_deciphers_to_the_plain_get(security_control: int) -> None:
    translator = Translator(KEYS, client_title=GREEN_BOOK_TITLE)
    node = translator.apdu_node(GREEN_BOOK_GLO_GET[security_control])
    assert node.name == "glo_GetRequest"
    assert not node.has_notes()
    (plain,) = node.children
    assert plain.name == "GetRequest"
    assert plain.children == Translator().apdu_node(GREEN_BOOK_PLAIN_GET).children
    assert plain.comment is not None and plain.comment.startswith("deciphered with the given keys")
    xml = to_xml(
        translate(
            [TraceItem(None, GREEN_BOOK_GLO_GET[security_control], 1)], KEYS, client_title=GREEN_BOOK_TITLE
        )
    )
    assert "<glo_GetRequest Value=" in xml
    assert '<InstanceId Value="0000010000FF" />' in xml
    assert "<GetRequestNormal>" in xml


def test_green_book_sc30_plain_is_the_plain_get_exactly() -> None:
    deciphered = (
        Translator(KEYS, client_title=GREEN_BOOK_TITLE).apdu_node(GREEN_BOOK_GLO_GET[0x30]).children[0]
    )
    plain = Translator().apdu_node(GREEN_BOOK_PLAIN_GET)
    assert deciphered.children == plain.children


def test_authenticated_only_apdu_is_readable_without_keys() -> None:
    node = Translator().apdu_node(GREEN_BOOK_GLO_GET[0x10])
    (plain,) = node.children
    assert plain.name == "GetRequest"
    assert plain.comment is not None and "not verified" in plain.comment
    assert not Translator().apdu_node(GREEN_BOOK_GLO_GET[0x30]).children


def test_wrong_key_on_green_book_vector_is_a_note() -> None:
    node = Translator((GREEN_BOOK_AK, GREEN_BOOK_EK), client_title=GREEN_BOOK_TITLE).apdu_node(
        GREEN_BOOK_GLO_GET[0x30]
    )
    assert node.children == []
    assert node.notes[0].startswith("tag does not verify")


def test_titles_and_dedicated_key_are_learnt_from_the_association() -> None:
    aarq = AARQ(
        application_context_name=3,
        calling_ap_title=GREEN_BOOK_TITLE,
        sender_acse_requirements=True,
        mechanism_name=5,
        calling_authentication_value=b"K56iVagY",
        user_information=GREEN_BOOK_GLO_INITIATE,
    ).encode()
    dedicated = GcmCipher(DEDICATED_KEY, GREEN_BOOK_AK)
    ded_get = encrypt_apdu(
        GREEN_BOOK_PLAIN_GET, kind="ded", sc=0x30, system_title=GREEN_BOOK_TITLE, ic=5, keys=dedicated
    )
    items = [TraceItem(Direction.TX, aarq, 1), TraceItem(Direction.TX, ded_get, 2)]
    translation = translate(items, KEYS)
    assert translation.ok
    initiate = translation.items[0].nodes[0].find("glo_InitiateRequest")
    assert initiate is not None and initiate.children[0].name == "InitiateRequest"
    assert initiate.children[0].find("DedicatedKey") == Node.leaf("DedicatedKey", DEDICATED_KEY.hex().upper())
    ded = translation.items[1].nodes[0]
    assert ded.name == "ded_GetRequest"
    assert ded.children[0].name == "GetRequest"
    # Without the AARQ the dedicated key is unknown.
    alone = translate(items[1:], KEYS, client_title=GREEN_BOOK_TITLE)
    assert notes(alone) == ["cannot decipher: no dedicated key known (it travels in a deciphered AARQ)"]


def test_general_glo_ciphering_carries_its_system_title() -> None:
    node = Translator(KEYS).apdu_node(CORPUS["general_glo_ciphering"])
    assert node.name == "GeneralGloCiphering"
    assert node.find("SystemTitle") == Node.leaf(
        "SystemTitle", "4D4D4D0000BC614E", "manufacturer MMM, serial part 0000BC614E"
    )
    assert node.children[-1].name == "GetRequest"


def test_nonce_reuse_across_the_green_book_vectors() -> None:
    # The SC 0x10 and 0x30 vectors protect the same plaintext with the same counter: different bytes.
    items = [TraceItem(None, GREEN_BOOK_GLO_GET[0x30], 1), TraceItem(None, GREEN_BOOK_GLO_GET[0x10], 2)]
    assert translate(items).warnings[0].startswith("nonce reuse: the client used invocation counter 19088743")
    same_twice = [TraceItem(None, GREEN_BOOK_GLO_GET[0x30], 1), TraceItem(None, GREEN_BOOK_GLO_GET[0x30], 2)]
    assert translate(same_twice).warnings == []


# -- frames ---------------------------------------------------------------------------------------------


def test_segmented_i_frames_are_reassembled() -> None:
    value = bytes(range(200))
    apdu = bytes.fromhex("C401C100") + b"\x09\x81\xc8" + value
    information = b"\xe6\xe7\x00" + apdu
    first = HdlcFrame(
        CLIENT, METER, Control(FrameType.I, False, ns=0, nr=1), information[:128], segmented=True
    )
    ack = HdlcFrame(METER, CLIENT, Control(FrameType.RR, True, nr=1))
    last = HdlcFrame(CLIENT, METER, Control(FrameType.I, True, ns=1, nr=1), information[128:])
    text = f"RX: {first.encode().hex()}\nTX: {ack.encode().hex()}\nRX: {last.encode().hex()}"
    translation = translate(parse_hex_text(text))
    assert translation.ok
    segment = translation.items[0].nodes[0].find("NextFrame")
    assert segment is not None and segment.value == information[:128].hex().upper()
    assert translation.items[1].nodes[0].find("PDU") is None
    pdu = translation.items[2].nodes[0].find("PDU")
    assert pdu is not None and pdu.comment is not None
    assert pdu.comment.startswith("reassembled from 2 frames (lines 1 to 3)")
    assert "LLC E6 E7 00: server to client" in pdu.comment
    octets = [n for n in pdu.walk() if n.name == "OctetString"]
    assert octets[0].value == value.hex().upper()


def test_trace_ending_inside_a_segmented_apdu_is_a_note() -> None:
    first = HdlcFrame(CLIENT, METER, Control(FrameType.I, False), b"\xe6\xe7\x00\xc4\x01", segmented=True)
    translation = translate([TraceItem(None, first.encode(), 1)])
    assert not translation.ok
    assert "ends inside a segmented APDU" in notes(translation)[0]


def test_several_frames_in_one_item_and_link_frames() -> None:
    snrm = HdlcFrame(METER, CLIENT, Control(FrameType.SNRM, True), HdlcParameters(256, 512, 1, 1).encode())
    ua = HdlcFrame(CLIENT, METER, Control(FrameType.UA, True), HdlcParameters().encode())
    disc = HdlcFrame(METER, CLIENT, Control(FrameType.DISC, True))
    dm = HdlcFrame(CLIENT, METER, Control(FrameType.DM, True))
    item = TraceItem(None, snrm.encode() + ua.encode()[1:] + disc.encode() + dm.encode(), 1)
    (translated,) = translate([item]).items
    assert [node.name for node in translated.nodes] == ["HDLC"] * 4
    pdu = translated.nodes[0].find("PDU")
    assert pdu is not None
    assert pdu.children[0].name == "Snrm"
    assert pdu.children[0].find("MaxInfoTX") == Node.leaf(
        "MaxInfoTX", "256", "maximum information field length transmitted"
    )
    assert translated.nodes[2].children[-1] == Node("DisconnectRequest")
    assert translated.nodes[3].children[-1] == Node("DisconnectMode")
    assert translated.nodes[0].find("TargetAddress") == Node.leaf(
        "TargetAddress", "91", "logical device 1, physical device 17 (2 bytes)"
    )


def test_damaged_and_incomplete_frames_are_notes() -> None:
    good = HdlcFrame(
        METER, CLIENT, Control(FrameType.I, True), b"\xe6\xe6\x00" + GREEN_BOOK_PLAIN_GET
    ).encode()
    damaged = good[:-3] + bytes([good[-3] ^ 0xFF]) + good[-2:]
    translation = translate(
        [TraceItem(None, damaged, 1), TraceItem(None, good[:-4], 2), TraceItem(None, good, 3)]
    )
    assert not translation.ok
    assert notes(translation)[0].startswith("damaged HDLC frame: HDLC FCS mismatch")
    assert notes(translation)[1].startswith("incomplete HDLC frame at the end")
    assert translation.items[2].ok


def test_wrapper_frames() -> None:
    request = WrapperFrame(0x10, 0x01, GREEN_BOOK_PLAIN_GET).encode()
    translation = translate([TraceItem(Direction.TX, request + request[:10], 1)])
    first, rest = translation.items[0].nodes
    assert first.name == "WRAPPER"
    assert first.attributes == {"len": "15"}
    assert first.find("SourceAddress") == Node.leaf("SourceAddress", "10", "source wPort 16")
    assert apdu_of(first).name == "GetRequest"
    assert rest.notes == ["incomplete wrapper frame: 10 bytes, the header announces more"]


def test_unknown_first_byte_and_bad_apdu_are_notes() -> None:
    translation = translate([TraceItem(None, b"\x99\x01", 1), TraceItem(None, b"\xc0\x01\xc1", 2)])
    assert notes(translation)[0] == (
        "not an HDLC frame (7E), a wrapper frame (00 01) or a known APDU tag: first byte 0x99"
    )
    assert notes(translation)[1].startswith("cannot decode this APDU: truncated class-id")
    assert translation.items[1].nodes[0] == Node(
        "Apdu", {"Value": "C001C1"}, notes=translation.items[1].nodes[0].notes
    )


# -- rendering ------------------------------------------------------------------------------------------


def test_text_xml_and_json_of_the_seed() -> None:
    translation = seed()
    text = to_text(translation)
    assert text.startswith("line 4 TX: 7E A0 37 02 47 09 76")
    assert "    TargetAddress = A3  # logical device 1, physical device 35 (2 bytes)" in text
    assert "warning: nonce reuse" in text
    xml = to_xml(translation)
    assert xml.startswith('<Messages>\n  <!-- line 4 TX -->\n  <HDLC len="37">')
    assert [node.name for node in parse_xml(xml)] == ["HDLC"] * 10
    document = json.loads(to_json(translation))
    assert document["ok"] is True
    assert document["items"][0]["line"] == 4
    assert document["items"][0]["direction"] == "TX"
    assert document["items"][0]["elements"][0]["name"] == "HDLC"
    assert len(document["warnings"]) == len(translation.warnings)


def test_text_of_the_token_gateway_action_names_the_object() -> None:
    action = bytes.fromhex("C3018100730000132800FF01010914") + bytes.fromhex(
        "0005070108080504050900010907020101020401"
    )
    text = to_text(translate([TraceItem(None, action, 1)]))
    assert "# 0.0.19.40.0.255 Token gateway" in text
    assert "InvokeIdAndPriority = 81  # Priority: High, ServiceClass: Unconfirmed, Invoke ID: 1" in text


def test_notes_show_in_every_format() -> None:
    translation = translate([TraceItem(None, b"\xc0\x01", 1)])
    assert "  ! cannot decode this APDU" in to_text(translation)
    assert "<!-- note: cannot decode this APDU" in to_xml(translation)
    assert json.loads(to_json(translation))["items"][0]["elements"][0]["notes"]


# -- robustness -----------------------------------------------------------------------------------------

_PREFIXES = [
    b"",
    b"\x7e\xa0",
    b"\x00\x01\x00\x10\x00\x01",
    b"\xc0\x01",
    b"\xc4\x01\xc1\x00",
    b"\xc8",
    b"\xdb",
    b"\x60",
]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(_PREFIXES), st.binary(max_size=60))
def test_random_bytes_never_raise(prefix: bytes, data: bytes) -> None:
    for keys in (None, KEYS):
        translator = Translator(keys, client_title=GREEN_BOOK_TITLE, server_title=GREEN_BOOK_TITLE)
        translated = translator.translate_item(TraceItem(Direction.RX, prefix + data, 1))
        assert translated.nodes
        to_xml(Translation([translated]))


def test_every_truncation_of_the_corpus_never_raises() -> None:
    translator = Translator(KEYS, client_title=GREEN_BOOK_TITLE)
    for apdu in CORPUS.values():
        for end in range(1, len(apdu)):
            node = translator.apdu_node(apdu[:end])
            assert node.name
