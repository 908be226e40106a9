"""AES key wrap (RFC 3394) for global_key_transfer."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmskit.errors import KeyFormatError, SecurityError
from dlmskit.security.keys import SecretBytes
from dlmskit.security.keywrap import KeyId, unwrap_key, wrap_key

# RFC 3394 section 4.1: wrap 128 bits of key data with a 128-bit KEK.
KEK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
KEY = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
WRAPPED = bytes.fromhex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")


def test_rfc3394_section_4_1() -> None:
    assert wrap_key(KEK, KEY) == WRAPPED
    assert unwrap_key(KEK, WRAPPED) == KEY


def test_rfc3394_section_4_6() -> None:
    # RFC 3394 section 4.6: wrap 256 bits of key data with a 256-bit KEK.
    kek = bytes.fromhex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
    key = bytes.fromhex("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F")
    wrapped = bytes.fromhex(
        "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"
    )
    assert wrap_key(kek, key) == wrapped
    assert unwrap_key(kek, wrapped) == key


def test_secret_bytes_accepted() -> None:
    assert wrap_key(SecretBytes(KEK), SecretBytes(KEY)) == WRAPPED
    assert unwrap_key(SecretBytes(KEK), WRAPPED) == KEY


def test_wrong_master_key_or_damage() -> None:
    with pytest.raises(SecurityError, match="wrong master key"):
        unwrap_key(bytes(16), WRAPPED)
    damaged = bytearray(WRAPPED)
    damaged[-1] ^= 1
    with pytest.raises(SecurityError, match="damaged wrapped key"):
        unwrap_key(KEK, bytes(damaged))


def test_length_errors() -> None:
    with pytest.raises(KeyFormatError, match=r"master key \(KEK\) must be 16, 24 or 32 bytes, got 15"):
        wrap_key(KEK[:15], KEY)
    with pytest.raises(KeyFormatError, match="at least 16, got 8"):
        wrap_key(KEK, KEY[:8])
    with pytest.raises(KeyFormatError, match="multiple of 8 bytes, at least 16, got 17"):
        wrap_key(KEK, KEY + b"\x00")
    with pytest.raises(KeyFormatError, match="at least 24, got 16"):
        unwrap_key(KEK, WRAPPED[:16])
    with pytest.raises(KeyFormatError, match="got 23"):
        unwrap_key(KEK, WRAPPED[:23])


def test_key_ids() -> None:
    # Security setup (class 64) method 2 key_id, shared/reference/dlms-facts.md section 7.
    assert [(k.name, k.value) for k in KeyId] == [
        ("GLOBAL_UNICAST_ENCRYPTION_KEY", 0),
        ("GLOBAL_BROADCAST_ENCRYPTION_KEY", 1),
        ("AUTHENTICATION_KEY", 2),
        ("MASTER_KEY", 3),
    ]


@settings(max_examples=50)
@given(kek=st.binary(min_size=16, max_size=16), key=st.binary(min_size=2, max_size=8).map(lambda b: b * 8))
def test_round_trip(kek: bytes, key: bytes) -> None:
    wrapped = wrap_key(kek, key)
    assert len(wrapped) == len(key) + 8
    assert unwrap_key(kek, wrapped) == key
