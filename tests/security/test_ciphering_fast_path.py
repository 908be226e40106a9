"""The ciphering fast path agrees with an independent construction, the published vectors and the slow path.

``decrypt_apdu`` on bytes and ``ApduProtection.unwrap`` read SC, IC and ``C || T`` where they are
(``ciphered_envelope`` + ``GcmCipher.decrypt_at``); ``encrypt_apdu`` builds a glo-/ded- APDU in one go
(``GcmCipher.encrypt_enveloped``). These properties hold them to: the Green Book vectors
(shared/reference/dlms-facts.md section 3), a reference built here with ``cryptography`` alone (AES-GCM with
the 12-byte tag checked by ``modes.GCM(..., min_tag_length=12)``, not by our double-encryption trick), the
old path through ``CipheredApdu.decode`` (same result, same error and message), a tag that is always
verified (one flipped bit anywhere fails with our typed error), and no byte read past the APDU.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import example, given, settings
from hypothesis import strategies as st

# DLMS UA Green Book example (dlms-facts.md section 3): the vectors of test_ciphering.py.
from tests.security.test_ciphering import (
    AK,
    EK,
    GET_CLOCK,
    GLO_GET,
    GLO_INITIATE_REQUEST,
    IC,
    INITIATE_REQUEST,
    KEYS,
    SERVER_ST,
)

from dlmskit.errors import DecodeError, DlmsError, SecurityError, TagVerificationError
from dlmskit.security.ciphering import (
    CipheredApdu,
    CipheringKind,
    DecryptedApdu,
    ciphered_envelope,
    decrypt_apdu,
    encrypt_apdu,
)
from dlmskit.security.invocation import MemoryInvocationCounterStore
from dlmskit.security.keys import SecretBytes
from dlmskit.session.protection import ApduProtection, SecurityPolicy, SecuritySettings

CLIENT_ST = bytes.fromhex("4D4D4D0000000001")
GLO_TAG = {0xC0: 0xC8, 0xC4: 0xCC, 0xC1: 0xC9, 0xC3: 0xCB, 0xC5: 0xCD, 0xC7: 0xCF}
DED_TAG = {plain: glo + 0x08 for plain, glo in GLO_TAG.items()}


# -- a reference made with cryptography alone ---------------------------------------------------------------


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes((size,))
    octets = (size.bit_length() + 7) // 8
    return bytes((0x80 | octets,)) + size.to_bytes(octets, "big")


def reference_protect(sc: int, title: bytes, counter: int, plain: bytes) -> bytes:
    """``SC || IC || C || T`` as the Green Book defines it."""
    header = bytes((sc,)) + counter.to_bytes(4, "big")
    nonce = title + header[1:]
    aead = AESGCM(EK)
    mode = sc & 0x30
    if mode == 0x30:
        return header + aead.encrypt(nonce, plain, bytes((sc,)) + AK)[:-4]
    if mode == 0x20:
        return header + aead.encrypt(nonce, plain, None)[:-16]
    return header + plain + aead.encrypt(nonce, b"", bytes((sc,)) + AK + plain)[:12]


def reference_apdu(kind: CipheringKind, sc: int, title: bytes, counter: int, plain: bytes) -> bytes:
    body = reference_protect(sc, title, counter, plain)
    if kind == "general-glo":
        return b"\xdb" + _length(len(title)) + title + _length(len(body)) + body
    if kind == "general-ded":
        return b"\xdc" + _length(len(title)) + title + _length(len(body)) + body
    tag = (GLO_TAG if kind == "glo" else DED_TAG)[plain[0]]
    return bytes((tag,)) + _length(len(body)) + body


def reference_unprotect(sc: int, title: bytes, counter: int, data: bytes) -> bytes | None:
    """The plaintext of ``C || T``, or None when the 12-byte tag does not verify (``modes.GCM`` checks it)."""
    nonce = title + counter.to_bytes(4, "big")
    mode = sc & 0x30
    if mode == 0x20:
        return AESGCM(EK).encrypt(nonce, data, None)[: len(data)]
    body, tag = data[:-12], data[-12:]
    decryptor = Cipher(algorithms.AES(EK), modes.GCM(nonce, tag, min_tag_length=12)).decryptor()
    if mode == 0x30:
        decryptor.authenticate_additional_data(bytes((sc,)) + AK)
        plain = decryptor.update(body)
    else:
        decryptor.authenticate_additional_data(bytes((sc,)) + AK + body)
        plain = body
    try:
        decryptor.finalize()
    except InvalidTag:
        return None
    return plain


@dataclass(frozen=True)
class Failed:
    """What ``decrypt_apdu`` raised: the type and the message."""

    kind: type[DlmsError]
    message: str


def slow_path(apdu: bytes, title: bytes | None) -> DecryptedApdu | Failed:
    """What ``decrypt_apdu`` returns (or raises) through ``CipheredApdu.decode``."""
    try:
        return decrypt_apdu(CipheredApdu.decode(apdu), system_title=title, keys=KEYS)
    except DlmsError as error:
        return Failed(type(error), str(error))


def fast_path(apdu: bytes | bytearray | memoryview, title: bytes | None) -> DecryptedApdu | Failed:
    try:
        return decrypt_apdu(apdu, system_title=title, keys=KEYS)
    except DlmsError as error:
        return Failed(type(error), str(error))


# -- published vectors ---------------------------------------------------------------------------------------


def test_green_book_vectors_through_the_fast_path() -> None:
    for sc, expected in GLO_GET.items():
        assert (
            encrypt_apdu(GET_CLOCK, kind="glo", sc=sc, system_title=SERVER_ST, ic=IC, keys=KEYS) == expected
        )
        assert KEYS.encrypt_enveloped(0xC8, sc, SERVER_ST, IC, GET_CLOCK) == expected
        assert ciphered_envelope(expected) == (0xC8, None, 2)
        assert KEYS.decrypt_at(expected, 2, SERVER_ST) == (GET_CLOCK, sc, IC)
        decrypted = decrypt_apdu(expected, system_title=SERVER_ST, keys=KEYS)
        assert decrypted == slow_path(expected, SERVER_ST)
        assert decrypted.plain == GET_CLOCK and int(decrypted.security_control) == sc
        assert reference_apdu("glo", sc, SERVER_ST, IC, GET_CLOCK) == expected
    assert (
        encrypt_apdu(INITIATE_REQUEST, kind="glo", sc=0x30, system_title=SERVER_ST, ic=IC, keys=KEYS)
        == GLO_INITIATE_REQUEST
    )
    assert decrypt_apdu(GLO_INITIATE_REQUEST, system_title=SERVER_ST, keys=KEYS).plain == INITIATE_REQUEST


# -- equivalence --------------------------------------------------------------------------------------------

KINDS: tuple[CipheringKind, ...] = ("glo", "ded", "general-glo", "general-ded")
plains = st.builds(
    lambda tag, rest: bytes((tag,)) + rest, st.sampled_from(sorted(GLO_TAG)), st.binary(max_size=300)
)
controls = st.sampled_from([0x10, 0x20, 0x30, 0x11, 0x31])  # suites 0 and 1 take 16-byte keys
titles = st.binary(min_size=8, max_size=8)
counters = st.integers(0, 0xFFFFFFFF)


@settings(max_examples=300, deadline=None)
@given(plain=plains, kind=st.sampled_from(KINDS), sc=controls, title=titles, counter=counters)
@example(plain=GET_CLOCK, kind="glo", sc=0x30, title=SERVER_ST, counter=IC)
@example(plain=b"\xc4" + bytes(110), kind="glo", sc=0x30, title=SERVER_ST, counter=0)  # length 0x80
@example(plain=b"\xc4" + bytes(109), kind="glo", sc=0x30, title=SERVER_ST, counter=0xFFFFFFFF)  # 0x7F
def test_fast_path_agrees_with_the_reference_and_the_slow_path(
    plain: bytes, kind: CipheringKind, sc: int, title: bytes, counter: int
) -> None:
    apdu = encrypt_apdu(plain, kind=kind, sc=sc, system_title=title, ic=counter, keys=KEYS)
    assert apdu == reference_apdu(kind, sc, title, counter, plain)
    decrypted = decrypt_apdu(apdu, system_title=title, keys=KEYS)
    assert decrypted == slow_path(apdu, title)
    assert (decrypted.plain, int(decrypted.security_control), decrypted.invocation_counter) == (
        plain,
        sc,
        counter,
    )
    assert decrypted.system_title == title and decrypted.tag == apdu[0]
    assert (
        reference_unprotect(sc, title, counter, apdu[-(len(apdu) - ciphered_envelope(apdu)[2] - 5) :])
        == plain
    )
    # bytearray and memoryview give the same, as bytes.
    for view in (bytearray(apdu), memoryview(apdu)):
        again = decrypt_apdu(view, system_title=title, keys=KEYS)
        assert again == decrypted and type(again.plain) is bytes and type(again.system_title) is bytes


# -- the tag is always verified ------------------------------------------------------------------------------


def _flips(data: bytes, start: int) -> list[tuple[int, bytes]]:
    return [
        (index, data[:index] + bytes((data[index] ^ (1 << bit),)) + data[index + 1 :])
        for index in range(start, len(data))
        for bit in range(8)
    ]


@settings(max_examples=40, deadline=None)
@given(plain=plains, kind=st.sampled_from(KINDS), sc=st.sampled_from([0x10, 0x30]), counter=counters)
@example(plain=GET_CLOCK, kind="glo", sc=0x30, counter=IC)
def test_every_flipped_bit_fails_with_a_typed_error(
    plain: bytes, kind: CipheringKind, sc: int, counter: int
) -> None:
    apdu = encrypt_apdu(plain, kind=kind, sc=sc, system_title=SERVER_ST, ic=counter, keys=KEYS)
    _tag, _title, offset = ciphered_envelope(apdu)
    # Every bit after the APDU tag: lengths, system title (general), SC, IC, C and T.
    for index, tampered in _flips(apdu, 1):
        fast = fast_path(tampered, None if kind.startswith("general") else SERVER_ST)
        assert fast == slow_path(tampered, None if kind.startswith("general") else SERVER_ST), index
        if index == offset and not tampered[index] & 0x10:
            # The SC byte now says "not authenticated": there is no tag to verify, and the policy of the
            # association refuses the downgrade (below); decrypt_apdu reports what it found (or refuses an
            # SC with neither authentication nor encryption).
            assert isinstance(fast, Failed) or not fast.security_control.authenticated
            continue
        assert isinstance(fast, Failed), f"bit flip at byte {index} was accepted"
        assert issubclass(fast.kind, DecodeError | SecurityError), fast
        if offset < index:  # IC, C, T: the tag does not verify
            assert fast.kind is TagVerificationError
    # The wrong sender system title, one bit at a time.
    if not kind.startswith("general"):
        for _index, title in _flips(SERVER_ST, 0):
            error = fast_path(apdu, title)
            assert isinstance(error, Failed) and error.kind is TagVerificationError
            assert error == slow_path(apdu, title)


def _protection() -> ApduProtection:
    protection = ApduProtection(
        SecuritySettings(
            policy=SecurityPolicy.AUTHENTICATED_ENCRYPTED,
            system_title=CLIENT_ST,
            block_cipher_key=SecretBytes(EK),
            authentication_key=SecretBytes(AK),
            invocation_counters=MemoryInvocationCounterStore(),
        )
    )
    protection.peer_system_title = SERVER_ST
    return protection


@settings(max_examples=25, deadline=None)
@given(plain=plains, counter=st.integers(1, 0xFFFFFFFF))
@example(plain=GET_CLOCK, counter=IC)
def test_the_session_refuses_every_flipped_bit(plain: bytes, counter: int) -> None:
    apdu = encrypt_apdu(plain, kind="glo", sc=0x30, system_title=SERVER_ST, ic=counter, keys=KEYS)
    protection = _protection()
    for index, tampered in _flips(apdu, 1):
        with pytest.raises(DlmsError):
            protection.unwrap(tampered)
        assert protection.last_received_counter() is None, f"bit flip at byte {index} moved the counter"
    assert protection.unwrap(apdu) == (plain, "glo")
    assert protection.last_received_counter() == counter
    with pytest.raises(DlmsError, match="not above the last accepted"):
        protection.unwrap(apdu)  # a replay


# -- nothing read past the data -------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(plain=plains, sc=controls, junk=st.binary(min_size=1, max_size=40), before=st.binary(max_size=20))
def test_decrypt_reads_only_the_apdu(plain: bytes, sc: int, junk: bytes, before: bytes) -> None:
    apdu = encrypt_apdu(plain, kind="glo", sc=sc, system_title=SERVER_ST, ic=IC, keys=KEYS)
    buffer = before + apdu + junk
    view = memoryview(buffer)[len(before) : len(before) + len(apdu)]
    assert decrypt_apdu(view, system_title=SERVER_ST, keys=KEYS).plain == plain
    # The same bytes followed by more: refused (the length says where the APDU ends), never read as C || T.
    longer = fast_path(memoryview(buffer)[len(before) :], SERVER_ST)
    assert isinstance(longer, Failed) and longer.kind is DecodeError and "bytes after" in longer.message
    # Every truncation: a typed error, never a plaintext.
    for end in range(len(apdu)):
        cut = fast_path(apdu[:end], SERVER_ST)
        assert isinstance(cut, Failed) and issubclass(cut.kind, DecodeError | SecurityError), end
        assert cut == slow_path(apdu[:end], SERVER_ST)


def test_decrypt_at_refuses_a_header_past_the_end() -> None:
    with pytest.raises(DecodeError, match="security header truncated"):
        KEYS.decrypt_at(GLO_GET[0x30], len(GLO_GET[0x30]) - 4, SERVER_ST)
    with pytest.raises(DecodeError, match="security header truncated"):
        KEYS.decrypt_at(GLO_GET[0x30], -1, SERVER_ST)
