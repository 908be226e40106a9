"""Ciphered APDUs: Green Book vectors, real trace frames, round trips, robustness."""

from __future__ import annotations

import contextlib
import os

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dlmskit.apdu import decode_apdu
from dlmskit.errors import ConfigurationError, DecodeError, EncodeError, SecurityError, TagVerificationError
from dlmskit.security.ciphering import (
    GENERAL_DED_CIPHERING,
    GENERAL_GLO_CIPHERING,
    CipheredApdu,
    CipheringKind,
    DecryptedApdu,
    ciphered_tag_for,
    decrypt_apdu,
    encrypt_apdu,
    is_ciphered_tag,
    plain_tag_for,
)
from dlmskit.security.suite0 import GcmCipher, SecurityControl

# DLMS UA Green Book example, as reproduced in shared/reference/dlms-facts.md section 3.
EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
SERVER_ST = bytes.fromhex("4D4D4D0000BC614E")
IC = 0x01234567
KEYS = GcmCipher(EK, AK)
GET_CLOCK = bytes.fromhex("C0010000080000010000FF0200")
GLO_GET = {
    0x10: bytes.fromhex("C81E1001234567C0010000080000010000FF020006725D910F9221D263877516"),
    0x20: bytes.fromhex("C8122001234567411312FF935A47566827C467BC"),
    0x30: bytes.fromhex("C81E3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B"),
}
INITIATE_REQUEST = bytes.fromhex("01011000112233445566778899AABBCCDDEEFF0000065F1F0400007E1F04B0")
GLO_INITIATE_REQUEST = bytes.fromhex(
    "21303001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE6841DB204D39EE6FDB8E356855"
)

# Real HDLC I-frames from the Gurux forum thread "Token Gateway Using Arduino Client"
# (shared/seeds/001_5ff6070f446e4372.txt), as logged: the APDU follows the LLC bytes E6 E6 00 / E6 E7 00
# and is followed by the FCS and the closing flag.
TRACE_TX_ACTION = (
    "7E A0 37 2 47 9 76 EC E1 E6 E6 0 CB 28 30 0 0 0 B D4 3E F4 49 2E A3 35 A6 41 68 A9 5 74 6D F7"
    " 98 43 B8 AD A5 DE 30 F5 C4 29 94 88 23 E6 80 F1 76 F8 C3 2E 2A 31 7E"
)
TRACE_RX_ACTION = (
    "7E A0 25 9 2 47 96 82 87 E6 E7 0 CF 16 30 0 0 9 60 3A B1 8D E8 6A 55 4 93 60 9F D3 E3 7E 8 6D 46"
    " 4C DE 38 7E"
)


def trace_apdu(line: str) -> bytes:
    frame = bytes(int(token, 16) for token in line.split())
    return frame[12:-3]


def test_green_book_glo_get_request() -> None:
    for sc, expected in GLO_GET.items():
        assert (
            encrypt_apdu(GET_CLOCK, kind="glo", sc=sc, system_title=SERVER_ST, ic=IC, keys=KEYS) == expected
        )
        decrypted = decrypt_apdu(expected, system_title=SERVER_ST, keys=KEYS)
        assert decrypted == DecryptedApdu(GET_CLOCK, SecurityControl(sc), IC, SERVER_ST, 0xC8)


def test_green_book_glo_initiate_request() -> None:
    ciphered = encrypt_apdu(INITIATE_REQUEST, kind="glo", sc=0x30, system_title=SERVER_ST, ic=IC, keys=KEYS)
    assert ciphered == GLO_INITIATE_REQUEST
    assert decrypt_apdu(GLO_INITIATE_REQUEST, system_title=SERVER_ST, keys=KEYS).plain == INITIATE_REQUEST


def test_decode_without_keys() -> None:
    apdu = CipheredApdu.decode(GLO_GET[0x30])
    assert apdu == CipheredApdu(
        tag=0xC8,
        security_control=SecurityControl(0x30),
        invocation_counter=IC,
        ciphertext_and_tag=GLO_GET[0x30][7:],
        system_title=None,
    )
    assert not apdu.is_general and not apdu.is_dedicated
    assert apdu.encode() == GLO_GET[0x30]
    assert decrypt_apdu(apdu, system_title=SERVER_ST, keys=KEYS).plain == GET_CLOCK


def test_decode_real_trace_frames() -> None:
    request = CipheredApdu.decode(trace_apdu(TRACE_TX_ACTION))
    assert (request.tag, request.security_control.value, request.invocation_counter) == (0xCB, 0x30, 11)
    assert plain_tag_for(request.tag) == 0xC3  # action-request
    assert len(request.ciphertext_and_tag) == 0x28 - 5
    response = CipheredApdu.decode(trace_apdu(TRACE_RX_ACTION))
    assert (response.tag, response.security_control.value, response.invocation_counter) == (0xCF, 0x30, 0x960)
    assert plain_tag_for(response.tag) == 0xC7  # action-response


def test_dedicated_and_general_tags() -> None:
    ded = encrypt_apdu(GET_CLOCK, kind="ded", sc=0x30, system_title=SERVER_ST, ic=IC, keys=KEYS)
    assert ded[0] == 0xD0 and ded[2:] == GLO_GET[0x30][2:]
    assert CipheredApdu.decode(ded).is_dedicated
    general = encrypt_apdu(GET_CLOCK, kind="general-glo", sc=0x30, system_title=SERVER_ST, ic=IC, keys=KEYS)
    assert general == bytes((GENERAL_GLO_CIPHERING, 8)) + SERVER_ST + GLO_GET[0x30][1:]
    decoded = CipheredApdu.decode(general)
    assert decoded.system_title == SERVER_ST and decoded.is_general and not decoded.is_dedicated
    # The system title travels with the APDU: no need to know the sender.
    assert decrypt_apdu(general, keys=KEYS) == DecryptedApdu(
        GET_CLOCK, SecurityControl(0x30), IC, SERVER_ST, GENERAL_GLO_CIPHERING
    )
    general_ded = encrypt_apdu(
        GET_CLOCK, kind="general-ded", sc=0x30, system_title=SERVER_ST, ic=IC, keys=KEYS
    )
    assert general_ded[0] == GENERAL_DED_CIPHERING and CipheredApdu.decode(general_ded).is_dedicated


def test_general_ciphering_with_empty_system_title() -> None:
    apdu = CipheredApdu(GENERAL_GLO_CIPHERING, SecurityControl(0x30), IC, GLO_GET[0x30][7:], b"")
    encoded = apdu.encode()
    assert encoded[:3] == bytes((GENERAL_GLO_CIPHERING, 0, 0x1E))
    assert CipheredApdu.decode(encoded) == apdu
    with pytest.raises(ConfigurationError, match="pass system_title"):
        decrypt_apdu(encoded, keys=KEYS)
    assert decrypt_apdu(encoded, system_title=SERVER_ST, keys=KEYS).plain == GET_CLOCK


def test_general_ciphering_from_another_sender() -> None:
    general = encrypt_apdu(GET_CLOCK, kind="general-glo", sc=0x30, system_title=SERVER_ST, ic=IC, keys=KEYS)
    with pytest.raises(SecurityError, match="4D4D4D0000BC614E, not from the expected 4D4D4D0000000001"):
        decrypt_apdu(general, system_title=bytes.fromhex("4D4D4D0000000001"), keys=KEYS)


def test_service_specific_needs_sender_system_title() -> None:
    with pytest.raises(ConfigurationError, match="0xC8 does not carry the sender's system title"):
        decrypt_apdu(GLO_GET[0x30], keys=KEYS)


@pytest.mark.parametrize("index", [7, 20, len(GLO_GET[0x30]) - 1])
def test_tampered_apdu_names_sender_and_counter(index: int) -> None:
    tampered = bytearray(GLO_GET[0x30])
    tampered[index] ^= 0x80
    with pytest.raises(
        TagVerificationError, match=r"4D4D4D0000BC614E, invocation counter 19088743 \(0x01234567\)"
    ):
        decrypt_apdu(bytes(tampered), system_title=SERVER_ST, keys=KEYS)


def test_wrong_keys_or_system_title() -> None:
    with pytest.raises(TagVerificationError):
        decrypt_apdu(GLO_GET[0x30], system_title=SERVER_ST, keys=GcmCipher(EK, bytes(16)))
    with pytest.raises(TagVerificationError):
        decrypt_apdu(GLO_GET[0x30], system_title=bytes.fromhex("4D4D4D0000BC614F"), keys=KEYS)


def test_decrypted_apdu_repr_hides_plaintext() -> None:
    decrypted = decrypt_apdu(GLO_GET[0x30], system_title=SERVER_ST, keys=KEYS)
    assert "plain" not in repr(decrypted)
    assert GET_CLOCK.hex() not in repr(decrypted).lower() and repr(GET_CLOCK) not in repr(decrypted)


def test_tag_tables() -> None:
    # shared/reference/dlms-facts.md section 2, and the xDLMS-APDU CHOICE for the SN/initiate ded- tags.
    pairs = {
        0xC0: (0xC8, 0xD0),
        0xC4: (0xCC, 0xD4),
        0xC1: (0xC9, 0xD1),
        0xC5: (0xCD, 0xD5),
        0xC2: (0xCA, 0xD2),
        0xC3: (0xCB, 0xD3),
        0xC7: (0xCF, 0xD7),
        0x01: (0x21, 0x41),
        0x08: (0x28, 0x48),
        0x0E: (0x2E, 0x4E),
        0x05: (0x25, 0x45),
        0x06: (0x26, 0x46),
        0x0C: (0x2C, 0x4C),
        0x0D: (0x2D, 0x4D),
        0x16: (0x36, 0x56),
        0x18: (0x38, 0x58),
    }
    for plain, (glo, ded) in pairs.items():
        assert ciphered_tag_for(plain, "glo") == glo and ciphered_tag_for(plain, "ded") == ded
        assert plain_tag_for(glo) == plain and plain_tag_for(ded) == plain
        assert is_ciphered_tag(glo) and is_ciphered_tag(ded) and not is_ciphered_tag(plain)
    ciphered = {tag for pair in pairs.values() for tag in pair} | {0xDB, 0xDC}
    assert {tag for tag in range(256) if is_ciphered_tag(tag)} == ciphered
    for tag in (0xDB, 0xDC, 0xDD, 0x0F, 0x60):
        with pytest.raises(DecodeError):
            plain_tag_for(tag)


def test_encode_errors() -> None:
    # data-notification has no service-specific ciphered form.
    with pytest.raises(EncodeError, match="use general-glo-ciphering"):
        encrypt_apdu(b"\x0f\x00", kind="glo", sc=0x30, system_title=SERVER_ST, ic=IC, keys=KEYS)
    with pytest.raises(EncodeError, match="empty APDU"):
        encrypt_apdu(b"", kind="ded", sc=0x30, system_title=SERVER_ST, ic=IC, keys=KEYS)
    with pytest.raises(EncodeError, match="unknown ciphering kind"):
        encrypt_apdu(GET_CLOCK, kind="gen", sc=0x30, system_title=SERVER_ST, ic=IC, keys=KEYS)  # type: ignore[arg-type]
    sc = SecurityControl(0x30)
    with pytest.raises(EncodeError, match="needs a system title"):
        CipheredApdu(GENERAL_GLO_CIPHERING, sc, 1, b"").encode()
    with pytest.raises(EncodeError, match="carries no system title"):
        CipheredApdu(0xC8, sc, 1, b"", SERVER_ST).encode()
    with pytest.raises(EncodeError, match="not a ciphered APDU tag"):
        CipheredApdu(0xC0, sc, 1, b"").encode()
    with pytest.raises(EncodeError, match="invocation counter"):
        CipheredApdu(0xC8, sc, 1 << 32, b"").encode()


@pytest.mark.parametrize(
    ("size", "length_bytes"),
    [(0, "05"), (122, "7F"), (123, "8180"), (250, "81FF"), (251, "820100"), (70_000, "83011175")],
)
def test_axdr_lengths(size: int, length_bytes: str) -> None:
    apdu = CipheredApdu(0xCC, SecurityControl(0x30), 9, bytes(size))
    encoded = apdu.encode()
    assert encoded[1 : 1 + len(length_bytes) // 2] == bytes.fromhex(length_bytes)
    assert CipheredApdu.decode(encoded) == apdu


def test_four_byte_and_non_minimal_lengths_decode() -> None:
    body = bytes.fromhex("3001234567") + bytes(3)
    assert CipheredApdu.decode(b"\xc8\x84\x00\x00\x00\x08" + body).invocation_counter == IC
    assert CipheredApdu.decode(b"\xc8\x81\x08" + body).ciphertext_and_tag == bytes(3)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty ciphered APDU"),
        (b"\xc0\x05\x30\x00\x00\x00\x01", "not a ciphered APDU"),
        (b"\xc8", "ciphered content length missing"),
        (b"\xc8\x80", "ciphered content length"),
        (b"\xc8\x85\x00\x00\x00\x00\x05", "ciphered content length"),
        (b"\xc8\x82\x00", "length truncated"),
        (b"\xc8\x06\x30\x00\x00\x00\x01", "longer than the data"),
        (b"\xc8\x04\x30\x00\x00\x00", "security header truncated"),
        (b"\xc8\x05\x30\x00\x00\x00\x01\x00", "bytes after the ciphered content"),
        (b"\xdb\x08\x4d\x4d", "system title longer than the data"),
        (b"\xdb", "system title length missing"),
    ],
)
def test_decode_errors(data: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        CipheredApdu.decode(data)


def test_every_truncation_raises_decode_error() -> None:
    general = encrypt_apdu(
        os.urandom(300), kind="general-ded", sc=0x30, system_title=SERVER_ST, ic=5, keys=KEYS
    )
    for valid in (*GLO_GET.values(), GLO_INITIATE_REQUEST, general, trace_apdu(TRACE_TX_ACTION)):
        CipheredApdu.decode(valid)
        for end in range(len(valid)):
            with pytest.raises(DecodeError):
                CipheredApdu.decode(valid[:end])


@settings(max_examples=200)
@given(st.binary(max_size=64))
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    try:
        apdu = CipheredApdu.decode(data)
    except DecodeError:
        return
    assert CipheredApdu.decode(apdu.encode()) == apdu  # non-minimal lengths decode, then encode minimally


@settings(max_examples=200)
@given(
    tag=st.sampled_from([0xC8, 0xD4, 0x21, 0xDB, 0xDC]),
    body=st.binary(max_size=400),
    title_length=st.integers(0, 9),
)
def test_random_bodies_after_valid_tags(tag: int, body: bytes, title_length: int) -> None:
    prefix = bytes((tag,))
    if tag in (0xDB, 0xDC):
        prefix += bytes((title_length,)) + b"T" * title_length
    for data in (prefix + body, prefix + bytes((len(body),)) + body):
        with contextlib.suppress(DecodeError):
            CipheredApdu.decode(data)


PLAIN_APDUS = st.builds(
    lambda tag, rest: bytes((tag,)) + rest,
    st.sampled_from([0xC0, 0xC1, 0xC3, 0xC4, 0xC5, 0xC7, 0x01, 0x08, 0x0E]),
    st.binary(max_size=3000),
)


@settings(max_examples=150)
@example(plain=b"\xc4" + bytes(121), kind="glo", sc=0x30, title=bytes(8), counter=1)  # length 0x80
@example(plain=b"\xc4" + bytes(300), kind="ded", sc=0x10, title=bytes(8), counter=2)  # 0x82 length
@example(plain=b"\x08" + bytes(4000), kind="general-glo", sc=0x20, title=bytes(8), counter=3)
@given(
    plain=PLAIN_APDUS,
    kind=st.sampled_from(["glo", "ded", "general-glo", "general-ded"]),
    sc=st.sampled_from([0x10, 0x20, 0x30, 0x50, 0x60, 0x70, 0x11, 0x31]),
    title=st.binary(min_size=8, max_size=8),
    counter=st.integers(0, 0xFFFFFFFF),
)
def test_round_trip(plain: bytes, kind: CipheringKind, sc: int, title: bytes, counter: int) -> None:
    ciphered = encrypt_apdu(plain, kind=kind, sc=sc, system_title=title, ic=counter, keys=KEYS)
    decoded = CipheredApdu.decode(ciphered)
    assert decoded.encode() == ciphered
    assert (decoded.security_control.value, decoded.invocation_counter) == (sc, counter)
    assert decoded.is_dedicated == (kind in ("ded", "general-ded"))
    if kind in ("glo", "ded"):
        assert plain_tag_for(decoded.tag) == plain[0]
    sender = None if kind.startswith("general") else title
    decrypted = decrypt_apdu(ciphered, system_title=sender, keys=KEYS)
    assert decrypted == DecryptedApdu(plain, SecurityControl(sc), counter, title, ciphered[0])


@pytest.mark.parametrize(
    ("plain", "glo", "ded"),
    [
        # The glo- tags [37] [38] [44] [45] from the xDLMS ASN.1 published in OpenMUC jDLMS
        # (asn1/cosem/cosem.asn); all of them, [46] [54] [56] and the ded- tags [65]..[88], from the
        # COSEMpdu CHOICE of Green Book 8.3 as transcribed in youserj/COSEMpdu_project (src/COSEMpdu/apdu.py).
        ("05 01 02 FA08", 0x25, 0x45),  # readRequest 37 / 69
        ("06 01 02 3008 01 12 0005", 0x26, 0x46),  # writeRequest 38 / 70
        ("0C 01 00 06 00000007", 0x2C, 0x4C),  # readResponse 44 / 76
        ("0D 01 00", 0x2D, 0x4D),  # writeResponse 45 / 77
        ("0E 05 05 01", 0x2E, 0x4E),  # confirmedServiceError 46 / 78
        ("16 01 02 3008 01 1601", 0x36, 0x56),  # unconfirmedWriteRequest 54 / 86
        ("18 00 01 02 2008 01 06 00000007", 0x38, 0x58),  # informationReportRequest 56 / 88
    ],
)
def test_short_name_apdus_cipher_with_their_own_tags(plain: str, glo: int, ded: int) -> None:
    apdu = bytes.fromhex(plain)
    kinds: tuple[tuple[CipheringKind, int], ...] = (("glo", glo), ("ded", ded))
    for kind, tag in kinds:
        ciphered = encrypt_apdu(apdu, kind=kind, sc=0x30, system_title=SERVER_ST, ic=IC, keys=KEYS)
        assert ciphered[0] == tag
        envelope = CipheredApdu.decode(ciphered)
        assert envelope.is_dedicated == (kind == "ded")
        decrypted = decrypt_apdu(ciphered, system_title=SERVER_ST, keys=KEYS)
        assert decrypted.plain == apdu and decrypted.tag == tag
        assert decode_apdu(decrypted.plain).encode() == apdu
