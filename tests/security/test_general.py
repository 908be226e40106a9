"""general-ciphering (DD) and general-signing (DF): encoding, key information and the suites 1/2 keys."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmskit.errors import ConfigurationError, DecodeError, SecurityError, TagVerificationError
from dlmskit.security import agreement
from dlmskit.security.ecc import SecuritySuite, SignatureError, generate_private_key
from dlmskit.security.general import (
    AgreedKey,
    GeneralCiphering,
    GeneralSigning,
    IdentifiedKey,
    KeyAgreementScheme,
    WrappedKey,
    decipher_general,
    encipher_general,
    sign_general,
    verify_general,
)
from dlmskit.security.suite0 import GcmCipher

CLIENT, SERVER = bytes.fromhex("4D4D4D0000000001"), bytes.fromhex("4D4D4D0000BC614E")
GET = bytes.fromhex("C001C100080000010000FF0200")
SUITES = [SecuritySuite(1), SecuritySuite(2)]


def _ak(suite: SecuritySuite) -> bytes:
    return bytes(range(0xD0, 0xD0 + suite.parameters.key_length))


def test_encoding_layout() -> None:
    apdu = GeneralCiphering(
        b"\x01" * 8, CLIENT, SERVER, b"", b"", AgreedKey(b"\x02", b""), bytes.fromhex("3100000001AABB")
    )
    raw = apdu.encode()
    assert raw == (
        bytes.fromhex(
            "DD 08 0101010101010101 08 4D4D4D0000000001 08 4D4D4D0000BC614E 00 00 01 02 01 02 00 07"
        )
        + bytes.fromhex("3100000001AABB")
    )
    assert GeneralCiphering.decode(raw) == apdu
    assert apdu.security_control.suite_id == 1 and apdu.invocation_counter == 1


def test_signing_layout() -> None:
    apdu = GeneralSigning(b"\x02", CLIENT, b"", b"", b"", b"\xc0\x01", b"\x55" * 64)
    raw = apdu.encode()
    assert raw == bytes.fromhex("DF 01 02 08 4D4D4D0000000001 00 00 00 02 C001 40") + b"\x55" * 64
    assert GeneralSigning.decode(raw) == apdu
    assert apdu.signed_data() == raw[:-65]


_octets = st.binary(max_size=140)
_key_info = st.one_of(
    st.none(),
    st.builds(IdentifiedKey, st.integers(0, 1)),
    st.builds(WrappedKey, st.just(0), _octets),
    st.builds(AgreedKey, st.sampled_from([b"\x01", b"\x02"]), _octets),
)


@settings(max_examples=200, deadline=None)
@given(
    tid=_octets,
    orig=_octets,
    recip=_octets,
    dt=_octets,
    other=_octets,
    info=_key_info,
    content=st.binary(max_size=300),
)
def test_general_ciphering_round_trip(
    tid: bytes, orig: bytes, recip: bytes, dt: bytes, other: bytes, info: object, content: bytes
) -> None:
    apdu = GeneralCiphering(tid, orig, recip, dt, other, info, content)  # type: ignore[arg-type]
    assert GeneralCiphering.decode(apdu.encode()) == apdu


@settings(max_examples=200, deadline=None)
@given(tid=_octets, orig=_octets, recip=_octets, dt=_octets, other=_octets, content=_octets, sig=_octets)
def test_general_signing_round_trip(
    tid: bytes, orig: bytes, recip: bytes, dt: bytes, other: bytes, content: bytes, sig: bytes
) -> None:
    apdu = GeneralSigning(tid, orig, recip, dt, other, content, sig)
    assert GeneralSigning.decode(apdu.encode()) == apdu


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=80))
def test_decoders_raise_only_decode_error(data: bytes) -> None:
    for cls in (GeneralCiphering, GeneralSigning):
        for candidate in (data, bytes((0xDD,)) + data, bytes((0xDF,)) + data):
            with contextlib.suppress(DecodeError):
                cls.decode(candidate)


def test_truncated_and_trailing_bytes() -> None:
    raw = GeneralSigning(b"", CLIENT, b"", b"", b"", b"x", b"y").encode()
    for cut in range(len(raw)):
        with pytest.raises(DecodeError):
            GeneralSigning.decode(raw[:cut])
    with pytest.raises(DecodeError, match="bytes after the APDU"):
        GeneralSigning.decode(raw + b"\x00")
    with pytest.raises(DecodeError, match="key-info"):
        GeneralCiphering.decode(bytes.fromhex("DD 00 00 00 00 00 01 07 00"))


@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.parametrize("sc", [0x10, 0x20, 0x30])
def test_identified_key(suite: SecuritySuite, sc: int) -> None:
    key = bytes(range(suite.parameters.key_length))
    apdu = encipher_general(
        GET,
        suite=suite,
        security_control=sc,
        originator_system_title=CLIENT,
        recipient_system_title=SERVER,
        invocation_counter=7,
        authentication_key=_ak(suite),
        key_info=IdentifiedKey(0),
        key=key,
    )
    wire = apdu.encode()
    assert decipher_general(wire, suite=suite, authentication_key=_ak(suite), key=key) == (7, GET)
    if sc == 0x20:
        # Encryption only: the same GCM key stream as a suite 0-style glo APDU (no header in the AAD).
        assert apdu.ciphered_content == GcmCipher(key, _ak(suite)).encrypt(0x20 | suite, CLIENT, 7, GET)
        return
    tampered = bytearray(wire)
    tampered[3] ^= 1  # a transaction-id byte: the header is authenticated
    with pytest.raises(TagVerificationError, match="does not verify"):
        decipher_general(bytes(tampered), suite=suite, authentication_key=_ak(suite), key=key)


@pytest.mark.parametrize("suite", SUITES)
def test_wrapped_key(suite: SecuritySuite) -> None:
    master = bytes(range(suite.parameters.key_length))
    apdu = encipher_general(
        GET,
        suite=suite,
        security_control=0x30,
        originator_system_title=CLIENT,
        recipient_system_title=SERVER,
        invocation_counter=1,
        authentication_key=_ak(suite),
        key_info=WrappedKey(0, b""),
        master_key=master,
    )
    assert (
        isinstance(apdu.key_info, WrappedKey)
        and len(apdu.key_info.key_ciphered_data) == suite.parameters.key_length + 8
    )
    assert decipher_general(apdu.encode(), suite=suite, authentication_key=_ak(suite), master_key=master) == (
        1,
        GET,
    )
    with pytest.raises(SecurityError, match="unwrap"):
        decipher_general(apdu, suite=suite, authentication_key=_ak(suite), master_key=bytes(len(master)))


@pytest.mark.parametrize("suite", SUITES)
def test_one_pass_diffie_hellman(suite: SecuritySuite) -> None:
    server_key = generate_private_key(suite)
    apdu = encipher_general(
        GET,
        suite=suite,
        security_control=0x30,
        originator_system_title=CLIENT,
        recipient_system_title=SERVER,
        invocation_counter=2,
        authentication_key=_ak(suite),
        key_info=KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN,
        peer_public_key=server_key.public_key(),
    )
    assert (
        isinstance(apdu.key_info, AgreedKey)
        and apdu.key_info.scheme is KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN
    )
    assert len(apdu.key_info.key_ciphered_data) == 2 * suite.parameters.size
    out = decipher_general(
        apdu.encode(), suite=suite, authentication_key=_ak(suite), own_private_key=server_key
    )
    assert out == (2, GET)
    with pytest.raises(TagVerificationError):
        decipher_general(
            apdu, suite=suite, authentication_key=_ak(suite), own_private_key=generate_private_key(suite)
        )


@pytest.mark.parametrize("suite", SUITES)
def test_static_unified_model(suite: SecuritySuite) -> None:
    client_key, server_key = generate_private_key(suite), generate_private_key(suite)
    kwargs = {
        "suite": suite,
        "security_control": 0x30,
        "originator_system_title": CLIENT,
        "recipient_system_title": SERVER,
        "authentication_key": _ak(suite),
        "key_info": KeyAgreementScheme.STATIC_UNIFIED_MODEL,
        "own_private_key": client_key,
        "peer_public_key": server_key.public_key(),
    }
    first = encipher_general(GET, invocation_counter=3, **kwargs)  # type: ignore[arg-type]
    second = encipher_general(GET, invocation_counter=3, **kwargs)  # type: ignore[arg-type]
    # A fresh transaction-id gives each message its own key, even with the same counter.
    assert first.transaction_id != second.transaction_id
    assert first.ciphered_content != second.ciphered_content
    out = decipher_general(
        first.encode(),
        suite=suite,
        authentication_key=_ak(suite),
        own_private_key=server_key,
        peer_public_key=client_key.public_key(),
    )
    assert out == (3, GET)
    with pytest.raises(ConfigurationError, match="peer_public_key"):
        decipher_general(first, suite=suite, authentication_key=_ak(suite), own_private_key=server_key)


def test_ephemeral_unified_model_is_not_for_general_ciphering() -> None:
    key = generate_private_key(1)
    with pytest.raises(ConfigurationError, match="key_agreement"):
        encipher_general(
            GET,
            suite=1,
            security_control=0x30,
            originator_system_title=CLIENT,
            recipient_system_title=SERVER,
            invocation_counter=1,
            authentication_key=bytes(16),
            key_info=KeyAgreementScheme.EPHEMERAL_UNIFIED_MODEL,
            peer_public_key=key.public_key(),
        )


@pytest.mark.parametrize("suite", SUITES)
def test_general_signing(suite: SecuritySuite) -> None:
    key = generate_private_key(suite)
    apdu = sign_general(
        GET, suite=suite, private_key=key, originator_system_title=CLIENT, recipient_system_title=SERVER
    )
    assert len(apdu.signature) == 2 * suite.parameters.size
    assert verify_general(apdu.encode(), suite=suite, public_key=key.public_key()).content == GET
    tampered = bytearray(apdu.encode())
    tampered[-70] ^= 1
    with pytest.raises(SignatureError, match="does not verify"):
        verify_general(bytes(tampered), suite=suite, public_key=key.public_key())
    with pytest.raises(SignatureError):
        verify_general(apdu, suite=suite, public_key=generate_private_key(suite).public_key())


@pytest.mark.parametrize("suite", SUITES)
def test_ephemeral_unified_model(suite: SecuritySuite) -> None:
    client_signing, server_signing = generate_private_key(suite), generate_private_key(suite)
    ephemeral, request = agreement.start(suite, client_signing)
    assert len(request) == 4 * suite.parameters.size
    key, response = agreement.respond(
        suite,
        request,
        client_signing_key=client_signing.public_key(),
        server_signing_key=server_signing,
        client_system_title=CLIENT,
        server_system_title=SERVER,
    )
    finished = agreement.finish(
        suite,
        ephemeral,
        response,
        server_signing_key=server_signing.public_key(),
        client_system_title=CLIENT,
        server_system_title=SERVER,
    )
    assert finished == key and len(key) == suite.parameters.key_length
    # A man in the middle with his own ephemeral key cannot sign it as the client.
    _, forged = agreement.start(suite, generate_private_key(suite))
    with pytest.raises(SignatureError):
        agreement.respond(
            suite,
            forged,
            client_signing_key=client_signing.public_key(),
            server_signing_key=server_signing,
            client_system_title=CLIENT,
            server_system_title=SERVER,
        )


def test_public_general_signing_vector() -> None:
    """A general-signing APDU from a working DLMS application talking to a Sagemcom T-210D with suite 1,
    posted in the public Gurux forum thread 'GeneralSigning for pass 3 "Reply to HLS authentication" in
    Suite 1' (gurux.fi, June 2025): HLS pass 3 (an ACTION on 0.0.40.0.0.255 method 1 carrying the suite 1
    GMAC, SC 0x11) signed by the client. No public key is published, so only the layout is checked."""
    raw = bytes.fromhex(
        "DF 00 08 0F0E0D0C0B0A0908 08 5341476770067A23 00 00"
        "20 C301C1000F0000280000FF01010911 11000005927050C667AFCAE335FFE491EB"
        "40 E0DDC8E69B5AB6FCBEDD260B743F98405CEA8C5283C225C9576481DC3DE07363"
        "DAE8A6655AFBBFE7E9B0E5B19FC97A5CB4404858A85988091CD62DEB43AE4B0F"
    )
    apdu = GeneralSigning.decode(raw)
    assert apdu.transaction_id == b"" and apdu.date_time == b"" and apdu.other_information == b""
    assert apdu.originator_system_title == bytes.fromhex("0F0E0D0C0B0A0908")
    assert apdu.recipient_system_title == b"SAGgp\x06z#"  # Sagemcom's FLAG id SAG
    assert apdu.content[:15] == bytes.fromhex("C301C1000F0000280000FF01010911")  # action-request, pass 3
    assert apdu.content[15] == 0x11  # the GMAC's security control: authenticated, suite 1
    assert len(apdu.signature) == 64  # P-256 r || s
    assert apdu.encode() == raw
