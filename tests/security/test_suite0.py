"""Security suite 0 (AES-GCM-128): vectors, tag verification, round trips."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dlmskit.errors import DecodeError, EncodeError, KeyFormatError, SecurityError, TagVerificationError
from dlmskit.security.keys import SecretBytes
from dlmskit.security.suite0 import GcmCipher, SecurityControl, protect, unprotect

# DLMS UA Green Book example, as reproduced in shared/reference/dlms-facts.md section 3.
EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
SERVER_ST = bytes.fromhex("4D4D4D0000BC614E")
IC = 0x01234567
GET_CLOCK = bytes.fromhex("C0010000080000010000FF0200")
# The vectors are glo-get-request APDUs "C8 len" followed by SC || IC || C || T.
VECTORS = {
    0x10: bytes.fromhex("C81E1001234567C0010000080000010000FF020006725D910F9221D263877516")[2:],
    0x20: bytes.fromhex("C8122001234567411312FF935A47566827C467BC")[2:],
    0x30: bytes.fromhex("C81E3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B")[2:],
}
CIPHER = GcmCipher(EK, AK)
# Every security control byte a 16-byte key accepts: suites 0 and 1, A and/or E, either key set.
VALID_CONTROLS = [
    suite | mode | broadcast for suite in (0, 1) for mode in (0x10, 0x20, 0x30) for broadcast in (0, 0x40)
]


@pytest.mark.parametrize("sc", sorted(VECTORS))
def test_green_book_vectors(sc: int) -> None:
    assert protect(sc, SERVER_ST, IC, GET_CLOCK, block_cipher_key=EK, authentication_key=AK) == VECTORS[sc]
    assert CIPHER.encrypt(sc, SERVER_ST, IC, GET_CLOCK) == VECTORS[sc]
    control, counter, plaintext = unprotect(
        VECTORS[sc], system_title=SERVER_ST, block_cipher_key=EK, authentication_key=AK
    )
    assert (control, counter, plaintext) == (SecurityControl(sc), IC, GET_CLOCK)
    assert CIPHER.decrypt(sc, SERVER_ST, IC, VECTORS[sc][5:]) == GET_CLOCK


def test_secret_bytes_keys_and_security_control_argument() -> None:
    cipher = GcmCipher(SecretBytes(EK), SecretBytes(AK))
    assert cipher.encrypt(SecurityControl(0x30), SERVER_ST, IC, GET_CLOCK) == VECTORS[0x30]
    assert cipher.decrypt(SecurityControl(0x30), SERVER_ST, IC, VECTORS[0x30][5:]) == GET_CLOCK
    assert repr(cipher) == "<GcmCipher keys redacted>"


def test_security_control_fields() -> None:
    sc = SecurityControl.from_flags(suite_id=1, authenticated=True, encrypted=True, broadcast_key=True)
    assert sc == SecurityControl(0x71)
    assert int(sc) == 0x71
    assert (sc.suite_id, sc.authenticated, sc.encrypted, sc.broadcast_key, sc.compressed) == (
        1,
        True,
        True,
        True,
        False,
    )
    assert repr(sc) == "SecurityControl(0x71: suite 1, authenticated, encrypted, broadcast key)"
    assert SecurityControl.from_byte(0x30) is SecurityControl.from_byte(0x30)
    assert SecurityControl.from_flags(compressed=True).value == 0x80
    for value in range(256):
        control = SecurityControl.from_byte(value)
        rebuilt = SecurityControl.from_flags(
            suite_id=control.suite_id,
            authenticated=control.authenticated,
            encrypted=control.encrypted,
            broadcast_key=control.broadcast_key,
            compressed=control.compressed,
        )
        assert rebuilt == control


@pytest.mark.parametrize("bad", [-1, 256])
def test_security_control_range(bad: int) -> None:
    with pytest.raises(EncodeError):
        SecurityControl(bad)
    with pytest.raises(EncodeError):
        CIPHER.encrypt(bad, SERVER_ST, IC, GET_CLOCK)


def test_security_control_suite_range() -> None:
    with pytest.raises(EncodeError):
        SecurityControl.from_flags(suite_id=16)


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes((data[index] ^ 0x01,)) + data[index + 1 :]


@pytest.mark.parametrize("sc", [0x10, 0x30])
@pytest.mark.parametrize("index", [0, 5, 12, 13, 24])  # first and middle byte of C or P, first and last of T
def test_flipped_bit_raises(sc: int, index: int) -> None:
    body = VECTORS[sc][5:]
    with pytest.raises(TagVerificationError) as caught:
        CIPHER.decrypt(sc, SERVER_ST, IC, _flip(body, index))
    message = str(caught.value)
    assert "4D4D4D0000BC614E" in message
    assert "0x01234567" in message
    assert EK.hex() not in message.lower() and AK.hex() not in message.lower()


@pytest.mark.parametrize("sc", [0x10, 0x30])
def test_wrong_key_system_title_counter_or_control_raises(sc: int) -> None:
    body = VECTORS[sc][5:]
    wrong = [
        (GcmCipher(EK, _flip(AK, 15)), sc, SERVER_ST, IC),
        (GcmCipher(_flip(EK, 0), AK), sc, SERVER_ST, IC),
        (CIPHER, sc, _flip(SERVER_ST, 7), IC),
        (CIPHER, sc, SERVER_ST, IC + 1),
        (CIPHER, sc | 0x40, SERVER_ST, IC),  # the key set bit is authenticated too
    ]
    for cipher, control, title, counter in wrong:
        with pytest.raises(TagVerificationError):
            cipher.decrypt(control, title, counter, body)


def test_short_ciphered_information() -> None:
    with pytest.raises(DecodeError, match="shorter than the authentication tag"):
        CIPHER.decrypt(0x30, SERVER_ST, IC, bytes(11))
    with pytest.raises(DecodeError, match="security header truncated"):
        unprotect(bytes(4), system_title=SERVER_ST, block_cipher_key=EK, authentication_key=AK)


def test_unsupported_security_controls() -> None:
    for value in range(256):
        if value in VALID_CONTROLS:
            continue
        with pytest.raises(SecurityError):
            CIPHER.encrypt(value, SERVER_ST, IC, GET_CLOCK)
        with pytest.raises(SecurityError):
            CIPHER.decrypt(value, SERVER_ST, IC, bytes(20))


def test_argument_checks() -> None:
    with pytest.raises(KeyFormatError, match="system title must be 8 bytes"):
        CIPHER.encrypt(0x30, SERVER_ST[:7], IC, GET_CLOCK)
    with pytest.raises(KeyFormatError, match="system title must be 8 bytes"):
        CIPHER.decrypt(0x30, SERVER_ST + b"\x00", IC, bytes(20))
    for counter in (-1, 0x1_0000_0000):
        with pytest.raises(EncodeError, match="invocation counter"):
            CIPHER.encrypt(0x30, SERVER_ST, counter, GET_CLOCK)
        with pytest.raises(DecodeError, match="invocation counter"):
            CIPHER.decrypt(0x30, SERVER_ST, counter, bytes(20))
    with pytest.raises(KeyFormatError, match="block cipher key must be 16 bytes"):
        GcmCipher(bytes(24), bytes(24))
    with pytest.raises(KeyFormatError, match="authentication key must be 16 bytes"):
        GcmCipher(EK, bytes(8))
    with pytest.raises(EncodeError, match="GMAC needs authentication without encryption"):
        CIPHER.authentication_tag(0x30, SERVER_ST, IC, b"")


def test_suite_2_uses_32_byte_keys() -> None:
    cipher = GcmCipher(bytes(range(32)), bytes(range(32, 64)))
    protected = cipher.encrypt(0x32, SERVER_ST, 7, GET_CLOCK)
    assert cipher.decrypt(0x32, SERVER_ST, 7, protected[5:]) == GET_CLOCK
    with pytest.raises(SecurityError, match="suite 0"):
        cipher.encrypt(0x30, SERVER_ST, 7, GET_CLOCK)
    with pytest.raises(SecurityError, match="suite 2"):
        CIPHER.encrypt(0x32, SERVER_ST, 7, GET_CLOCK)


def test_authentication_tag_is_gmac() -> None:
    # HLS-GMAC f(StoC) example, shared/reference/dlms-facts.md section 4: the tag part of f(StoC).
    tag = CIPHER.authentication_tag(
        0x10, bytes.fromhex("4D4D4D0000000001"), 1, bytes.fromhex("503677524A323146")
    )
    assert tag == bytes.fromhex("1A52FE7DD3E72748973C1E28")


@settings(max_examples=150)
@example(sc=0x30, title=bytes(8), counter=0xFFFFFFFF, plaintext=bytes(3000))
@given(
    sc=st.sampled_from(VALID_CONTROLS),
    title=st.binary(min_size=8, max_size=8),
    counter=st.integers(0, 0xFFFFFFFF),
    plaintext=st.binary(max_size=3000),
)
def test_round_trip(sc: int, title: bytes, counter: int, plaintext: bytes) -> None:
    protected = CIPHER.encrypt(sc, title, counter, plaintext)
    assert protected[0] == sc
    assert int.from_bytes(protected[1:5], "big") == counter
    assert len(protected) == 5 + len(plaintext) + (12 if sc & 0x10 else 0)
    if sc & 0x20:
        assert plaintext not in protected[5:] or len(plaintext) < 8
    control, received_counter, received = unprotect(
        protected, system_title=title, block_cipher_key=EK, authentication_key=AK
    )
    assert (control.value, received_counter, received) == (sc, counter, plaintext)


def _reference_decrypt(sc: int, title: bytes, counter: int, body: bytes) -> bytes | None:
    """Independent check with the cryptography GCM decryptor and a 12-byte minimum tag length."""
    decryptor = Cipher(
        algorithms.AES(EK), modes.GCM(title + counter.to_bytes(4, "big"), body[-12:], min_tag_length=12)
    ).decryptor()
    decryptor.authenticate_additional_data(bytes((sc,)) + AK)
    plaintext = decryptor.update(body[:-12])
    try:
        decryptor.finalize()
    except InvalidTag:
        return None
    return plaintext


@settings(max_examples=100)
@given(
    title=st.binary(min_size=8, max_size=8),
    counter=st.integers(0, 0xFFFFFFFF),
    plaintext=st.binary(max_size=600),
    tamper=st.one_of(st.none(), st.integers(0, 10_000)),
)
def test_decrypt_agrees_with_gcm_decryptor(
    title: bytes, counter: int, plaintext: bytes, tamper: int | None
) -> None:
    body = CIPHER.encrypt(0x30, title, counter, plaintext)[5:]
    if tamper is not None:
        body = _flip(body, tamper % len(body))
    expected = _reference_decrypt(0x30, title, counter, body)
    if expected is None:
        with pytest.raises(TagVerificationError):
            CIPHER.decrypt(0x30, title, counter, body)
    else:
        assert CIPHER.decrypt(0x30, title, counter, body) == expected == plaintext


def test_memoryview_input() -> None:
    body = memoryview(VECTORS[0x30])[5:]
    assert CIPHER.decrypt(0x30, SERVER_ST, IC, body) == GET_CLOCK
    assert CIPHER.encrypt(0x10, SERVER_ST, IC, memoryview(GET_CLOCK)) == VECTORS[0x10]
