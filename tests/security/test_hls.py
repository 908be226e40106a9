"""HLS mechanisms: mechanism names, f(challenge) for each mechanism, verification, challenges."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmskit.errors import ConfigurationError, DecodeError, KeyFormatError
from dlmskit.security.hls import (
    Mechanism,
    aes128_ecb_response,
    gmac_response,
    md5_response,
    new_challenge,
    sha1_response,
    sha256_response,
    verify_aes128_ecb_response,
    verify_gmac_response,
    verify_md5_response,
    verify_sha1_response,
    verify_sha256_response,
)
from dlmskit.security.suite0 import GcmCipher

# HLS-GMAC example (Green Book), as reproduced in shared/reference/dlms-facts.md section 4.
CIPHER = GcmCipher(
    bytes.fromhex("000102030405060708090A0B0C0D0E0F"), bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
)
CLIENT_ST = bytes.fromhex("4D4D4D0000000001")
SERVER_ST = bytes.fromhex("4D4D4D0000BC614E")
STOC = bytes.fromhex("503677524A323146")
CTOS = bytes.fromhex("4B35366956616759")
F_STOC = bytes.fromhex("10000000011A52FE7DD3E72748973C1E28")
F_CTOS = bytes.fromhex("1001234567FE1466AFB3DBCD4F9389E2B7")
SECRET = b"0123456789ABCDEF"


def test_mechanism_names() -> None:
    # AARQ example of dlms-facts.md section 4: mechanism name "8B 07 60 85 74 05 08 02 05".
    assert Mechanism.HIGH_GMAC.oid == bytes.fromhex("60857405080205")
    for mechanism in Mechanism:
        assert Mechanism.from_oid(mechanism.oid) is mechanism
        assert mechanism.oid[-1] == mechanism.value
    assert [m.name for m in Mechanism] == [
        "NONE",
        "LOW",
        "HIGH",
        "HIGH_MD5",
        "HIGH_SHA1",
        "HIGH_GMAC",
        "HIGH_SHA256",
        "HIGH_ECDSA",
    ]


@pytest.mark.parametrize(
    ("oid", "reason"),
    [
        ("60857405080108", "not a DLMS authentication mechanism name"),  # an application context name
        ("608574050802", "not a DLMS authentication mechanism name"),
        ("6085740508020500", "not a DLMS authentication mechanism name"),
        ("", "not a DLMS authentication mechanism name"),
        ("60857405080208", "unknown authentication mechanism"),
    ],
)
def test_bad_mechanism_names(oid: str, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        Mechanism.from_oid(bytes.fromhex(oid))


def test_gmac_green_book_vectors() -> None:
    assert gmac_response(STOC, cipher=CIPHER, system_title=CLIENT_ST, invocation_counter=1) == F_STOC
    assert gmac_response(CTOS, cipher=CIPHER, system_title=SERVER_ST, invocation_counter=0x01234567) == F_CTOS
    # The server checks the client's f(StoC); the client checks the server's f(CtoS).
    assert verify_gmac_response(F_STOC, STOC, cipher=CIPHER, system_title=CLIENT_ST)
    assert verify_gmac_response(F_CTOS, CTOS, cipher=CIPHER, system_title=SERVER_ST)


def test_gmac_verification_failures() -> None:
    assert not verify_gmac_response(F_CTOS, STOC, cipher=CIPHER, system_title=SERVER_ST)  # other challenge
    assert not verify_gmac_response(F_CTOS, CTOS, cipher=CIPHER, system_title=CLIENT_ST)  # other sender
    assert not verify_gmac_response(F_CTOS[:-1], CTOS, cipher=CIPHER, system_title=SERVER_ST)  # short
    assert not verify_gmac_response(b"\x30" + F_CTOS[1:], CTOS, cipher=CIPHER, system_title=SERVER_ST)  # SC
    for index in range(1, len(F_CTOS)):  # counter or tag changed
        changed = bytearray(F_CTOS)
        changed[index] ^= 0x04
        assert not verify_gmac_response(bytes(changed), CTOS, cipher=CIPHER, system_title=SERVER_ST)


def test_md5_and_sha1() -> None:
    # Checked against hashlib, an implementation independent of the one under test.
    assert md5_response(STOC, SECRET) == hashlib.md5(STOC + SECRET).digest()
    assert sha1_response(STOC, SECRET) == hashlib.sha1(STOC + SECRET).digest()
    assert verify_md5_response(md5_response(CTOS, SECRET), CTOS, SECRET)
    assert verify_sha1_response(sha1_response(CTOS, SECRET), CTOS, SECRET)
    assert not verify_md5_response(md5_response(CTOS, SECRET), CTOS, SECRET[:-1])
    assert not verify_sha1_response(sha1_response(CTOS, SECRET), STOC, SECRET)


def test_sha256_both_directions() -> None:
    # Green Book order: f(StoC) = SHA-256(secret || ST-C || ST-S || StoC || CtoS) by the client,
    # f(CtoS) = SHA-256(secret || ST-S || ST-C || CtoS || StoC) by the server.
    f_stoc = sha256_response(
        STOC,
        secret=SECRET,
        responder_system_title=CLIENT_ST,
        challenger_system_title=SERVER_ST,
        responder_challenge=CTOS,
    )
    assert f_stoc == hashlib.sha256(SECRET + CLIENT_ST + SERVER_ST + STOC + CTOS).digest()
    f_ctos = sha256_response(
        CTOS,
        secret=SECRET,
        responder_system_title=SERVER_ST,
        challenger_system_title=CLIENT_ST,
        responder_challenge=STOC,
    )
    assert f_ctos == hashlib.sha256(SECRET + SERVER_ST + CLIENT_ST + CTOS + STOC).digest()
    # The client checks the server's answer to its CtoS.
    assert verify_sha256_response(
        f_ctos,
        CTOS,
        secret=SECRET,
        responder_system_title=SERVER_ST,
        challenger_system_title=CLIENT_ST,
        responder_challenge=STOC,
    )
    assert not verify_sha256_response(
        f_stoc,
        CTOS,
        secret=SECRET,
        responder_system_title=SERVER_ST,
        challenger_system_title=CLIENT_ST,
        responder_challenge=STOC,
    )


def test_aes128_ecb_fips197_vector() -> None:
    # FIPS-197 appendix C.1: AES-128 of 00112233...EEFF with key 00010203...0F.
    key = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
    challenge = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
    expected = bytes.fromhex("69C4E0D86A7B0430D8CDB78070B4C55A")
    assert aes128_ecb_response(challenge, key) == expected
    assert verify_aes128_ecb_response(expected, challenge, key)
    assert not verify_aes128_ecb_response(expected, challenge[::-1], key)


def test_aes128_ecb_padding() -> None:
    eight = aes128_ecb_response(STOC, SECRET)
    assert len(eight) == 16
    assert eight == aes128_ecb_response(STOC + bytes(8), SECRET)
    twenty = aes128_ecb_response(bytes(20), SECRET)
    assert len(twenty) == 32 and twenty[:16] == twenty[16:]  # ECB: equal blocks, equal output
    with pytest.raises(KeyFormatError, match="16 bytes, got 8"):
        aes128_ecb_response(STOC, b"12345678")


def test_new_challenge() -> None:
    assert len(new_challenge()) == 16
    assert len(new_challenge(8)) == 8 and len(new_challenge(64)) == 64
    assert new_challenge() != new_challenge()
    for length in (7, 65, 0):
        with pytest.raises(ConfigurationError, match="8 to 64 bytes"):
            new_challenge(length)


@settings(max_examples=100)
@given(challenge=st.binary(min_size=8, max_size=64), counter=st.integers(0, 0xFFFFFFFF))
def test_gmac_round_trip(challenge: bytes, counter: int) -> None:
    response = gmac_response(challenge, cipher=CIPHER, system_title=SERVER_ST, invocation_counter=counter)
    assert len(response) == 17 and response[0] == 0x10
    assert int.from_bytes(response[1:5], "big") == counter
    assert verify_gmac_response(response, challenge, cipher=CIPHER, system_title=SERVER_ST)
