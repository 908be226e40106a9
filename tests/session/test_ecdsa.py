"""HLS mechanism 7 (HIGH_ECDSA) with suites 1 and 2: client and server sessions wired in memory."""

from __future__ import annotations

import dataclasses
import datetime
import logging

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlmskit.apdu.common import CosemAttributeDescriptor
from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis
from dlmskit.errors import ConfigurationError, InvocationCounterError, ReplayError, SecurityError
from dlmskit.security.ecc import SignatureError, generate_private_key
from dlmskit.security.general import (
    AgreedKey,
    GeneralCiphering,
    GeneralSigning,
    KeyAgreementScheme,
    SignedApduGuard,
    sign_general,
    signing_date_time,
)
from dlmskit.security.hls import Mechanism
from dlmskit.security.invocation import MemoryInvocationCounterStore
from dlmskit.session.client import ClientSession, ClientSettings
from dlmskit.session.errors import AssociationRejected
from dlmskit.session.events import Associated, GetCompleted
from dlmskit.session.protection import SecurityPolicy, SecurityPolicyBits, SecuritySettings
from dlmskit.session.server import ServerAssociationSettings, ServerSession

from .conftest import CLIENT_TITLE, SERVER_TITLE, Pair, TinyMeter, secret

LDN = CosemAttributeDescriptor(1, Obis(0, 0, 42, 0, 0, 255), 2)
CLIENT_KEYS = {suite: generate_private_key(suite) for suite in (1, 2)}
SERVER_KEYS = {suite: generate_private_key(suite) for suite in (1, 2)}


def _security(
    suite: int,
    title: bytes,
    own: ec.EllipticCurvePrivateKey,
    peer: ec.EllipticCurvePublicKey,
    policy: SecurityPolicy,
) -> SecuritySettings:
    size = 16 if suite == 1 else 32
    return SecuritySettings(
        policy=policy,
        system_title=title,
        block_cipher_key=secret(bytes(range(size))),
        authentication_key=secret(bytes(range(0xD0, 0xD0 + size))),
        invocation_counters=MemoryInvocationCounterStore(),
        suite=suite,
        signing_key=own,
        peer_signing_key=peer,
    )


def _pair(
    suite: int,
    policy: SecurityPolicy = SecurityPolicy.AUTHENTICATED_ENCRYPTED,
    *,
    client_key: ec.EllipticCurvePrivateKey | None = None,
    server_public: ec.EllipticCurvePublicKey | None = None,
) -> Pair:
    meter = TinyMeter(
        associations={
            1: ServerAssociationSettings(
                mechanism=Mechanism.HIGH_ECDSA,
                security=_security(
                    suite, SERVER_TITLE, SERVER_KEYS[suite], CLIENT_KEYS[suite].public_key(), policy
                ),
            )
        }
    )
    meter.values[(1, "0.0.42.0.0.255", 2)] = axdr.OctetString(b"DLMSKIT000000001")
    client_security = _security(
        suite,
        CLIENT_TITLE,
        client_key or CLIENT_KEYS[suite],
        server_public or SERVER_KEYS[suite].public_key(),
        policy,
    )
    settings = ClientSettings(mechanism=Mechanism.HIGH_ECDSA, security=client_security)
    return Pair(
        ClientSession(settings, challenge=bytes(range(32))),
        ServerSession(meter, 1, challenge_factory=lambda: bytes(range(100, 132))),
    )


@pytest.mark.parametrize("suite", [1, 2])
@pytest.mark.parametrize("policy", [SecurityPolicy.NONE, SecurityPolicy.AUTHENTICATED_ENCRYPTED])
def test_hls_ecdsa_associates_and_reads(suite: int, policy: SecurityPolicy) -> None:
    pair = _pair(suite, policy)
    event = pair.run(pair.client.associate())
    assert isinstance(event, Associated)
    assert event.negotiated.mechanism == 7 and event.negotiated.server_system_title == SERVER_TITLE
    request = pair.client.get(LDN)
    if policy != SecurityPolicy.NONE:
        assert request[0] == 0xC8 and request[2] == 0x30 | suite  # glo-get-request, SC names the suite
    result = pair.run(request)
    assert isinstance(result, GetCompleted) and result.results[0].value == b"DLMSKIT000000001"


def test_pass3_signature_has_curve_size() -> None:
    pair = _pair(2)
    pair.run(pair.client.associate())
    # The last request was pass 3 (glo-action-request); the meter accepted a 96-byte P-384 signature.
    assert pair.client.negotiated is not None and pair.exchanges == 2


@pytest.mark.parametrize("suite", [1, 2])
def test_wrong_client_key_is_refused_by_the_meter(suite: int) -> None:
    pair = _pair(suite, client_key=generate_private_key(suite))
    with pytest.raises(AssociationRejected, match=r"refused our HLS answer.*ECDSA key pair"):
        pair.run(pair.client.associate())


@pytest.mark.parametrize("suite", [1, 2])
def test_wrong_meter_certificate_is_refused_by_the_client(suite: int) -> None:
    pair = _pair(suite, server_public=generate_private_key(suite).public_key())
    with pytest.raises(AssociationRejected, match="ECDSA signature does not verify"):
        pair.run(pair.client.associate())


def test_replayed_counter_is_refused() -> None:
    pair = _pair(1)
    pair.run(pair.client.associate())
    request = pair.client.get(LDN)
    replies = pair.server.receive(request)
    assert isinstance(pair.client.receive(replies[0]), GetCompleted)
    # The meter refuses the same glo-get-request again: exception-response (D8), not an answer.
    again = pair.server.receive(request)
    assert len(again) == 1 and again[0][0] == 0xD8
    # The client refuses a replayed response before deciphering it.
    with pytest.raises(InvocationCounterError):
        pair.client.protection.unwrap(replies[0])


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="suite 1"):
        ClientSettings(mechanism=Mechanism.HIGH_ECDSA)
    security = SecuritySettings(system_title=CLIENT_TITLE, suite=1, signing_key=CLIENT_KEYS[1])
    with pytest.raises(ConfigurationError, match="public key or certificate"):
        ClientSettings(mechanism=Mechanism.HIGH_ECDSA, security=security)
    with pytest.raises(ConfigurationError, match="not suite 0"):
        SecuritySettings(signing_key=CLIENT_KEYS[1])


# -- key agreement through general-ciphering, general-signing --------------------------------------------------


def _agreed_pair(
    suite: int,
    scheme: KeyAgreementScheme | None,
    sign: bool,
    policy: SecurityPolicy = SecurityPolicy.AUTHENTICATED_ENCRYPTED,
) -> Pair:
    pair = _pair(suite, policy)
    security = dataclasses.replace(pair.client.settings.security, key_agreement=scheme, sign_apdus=sign)
    settings = dataclasses.replace(pair.client.settings, security=security)
    return Pair(ClientSession(settings, challenge=bytes(range(32))), pair.server)


@pytest.mark.parametrize("suite", [1, 2])
@pytest.mark.parametrize(
    "scheme", [KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN, KeyAgreementScheme.STATIC_UNIFIED_MODEL]
)
@pytest.mark.parametrize("sign", [False, True])
def test_key_agreement_schemes_signed_and_ciphered(
    suite: int, scheme: KeyAgreementScheme, sign: bool
) -> None:
    pair = _agreed_pair(suite, scheme, sign)
    assert isinstance(pair.run(pair.client.associate()), Associated)
    request = pair.client.get(LDN)
    outer = GeneralSigning.decode(request).content if sign else request
    assert request[0] == (0xDF if sign else 0xDD)
    ciphered = GeneralCiphering.decode(outer)
    assert isinstance(ciphered.key_info, AgreedKey) and ciphered.key_info.scheme == scheme
    assert ciphered.security_control.suite_id == suite and ciphered.recipient_system_title == SERVER_TITLE
    replies = pair.server.receive(request)
    # The meter answers in kind: the same scheme, signed when the request was.
    assert replies[0][0] == (0xDF if sign else 0xDD)
    result = pair.client.receive(replies[0])
    assert isinstance(result, GetCompleted) and result.results[0].value == b"DLMSKIT000000001"
    # The same request again: its counter is refused.
    again = pair.server.receive(request)
    assert again[0][0] == 0xD8
    # Signed outside: the repeated transaction-id is seen first; ciphered only: the repeated counter.
    with pytest.raises(ReplayError if sign else InvocationCounterError):
        pair.client.protection.unwrap(replies[0])


def test_signed_plain_apdus_and_refusals() -> None:
    pair = _agreed_pair(1, None, True, SecurityPolicy.NONE)
    assert isinstance(pair.run(pair.client.associate()), Associated)
    request = pair.client.get(LDN)
    message = GeneralSigning.decode(request)
    assert message.content[0] == 0xC0  # a plain get-request inside
    assert isinstance(pair.run(request), GetCompleted)
    # A tampered signature: the meter refuses the APDU (deciphering-error exception response).
    tampered = bytearray(request)
    tampered[-1] ^= 1
    assert pair.server.receive(bytes(tampered))[0][0] == 0xD8
    # An unsigned APDU where signatures are required is refused on both sides.
    with pytest.raises(SecurityError, match="not signed"):
        pair.client.protection.unwrap(bytes.fromhex("C401C100090101"))
    # A signature by another key is refused with the standard's words.
    other = sign_general(
        bytes.fromhex("C401C100090101"),
        suite=1,
        private_key=generate_private_key(1),
        originator_system_title=SERVER_TITLE,
    )
    with pytest.raises(SignatureError, match="does not verify"):
        pair.client.protection.unwrap(other.encode())


def test_ephemeral_unified_model_is_not_a_per_apdu_scheme() -> None:
    with pytest.raises(ConfigurationError, match="key_agreement"):
        SecuritySettings(
            suite=1,
            signing_key=CLIENT_KEYS[1],
            peer_signing_key=SERVER_KEYS[1].public_key(),
            key_agreement=KeyAgreementScheme.EPHEMERAL_UNIFIED_MODEL,
        )


def test_signed_and_agreed_apdus_fit_the_negotiated_pdu_size() -> None:
    pair = _agreed_pair(2, KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN, True)
    settings = dataclasses.replace(pair.client.settings, max_receive_pdu_size=512)
    pair = Pair(ClientSession(settings, challenge=bytes(range(32))), pair.server)
    pair.server.application.values[(1, "0.0.42.0.0.255", 2)] = axdr.OctetString(bytes(1500))  # type: ignore[attr-defined]
    assert isinstance(pair.run(pair.client.associate()), Associated)
    request = pair.client.get(LDN)
    sizes = []
    while True:
        reply = pair.server.receive(request)[0]
        sizes.append(len(reply))
        event = pair.client.receive(reply)
        if not hasattr(event, "apdu"):
            break
        request = event.apdu  # type: ignore[attr-defined]
    assert isinstance(event, GetCompleted) and event.results[0].value == bytes(1500)
    assert len(sizes) > 3 and max(sizes) <= 512


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=200), tag=st.sampled_from([0xDD, 0xDF]))
def test_garbage_general_apdus_get_exception_responses(
    body: bytes, tag: int, caplog: pytest.LogCaptureFixture
) -> None:
    pair = _agreed_pair(1, KeyAgreementScheme.STATIC_UNIFIED_MODEL, True)
    pair.run(pair.client.associate())
    with caplog.at_level(logging.ERROR):
        replies = pair.server.receive(bytes((tag,)) + body)
    assert len(replies) == 1 and replies[0][0] == 0xD8
    assert not caplog.records  # refused as bad input, never as a failure of the meter


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    scheme=st.sampled_from(
        [KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN, KeyAgreementScheme.STATIC_UNIFIED_MODEL]
    ),
    sign=st.booleans(),
    position=st.integers(min_value=0),
    flip=st.integers(1, 255),
    cut=st.booleans(),
)
def test_damaged_general_apdus_get_exception_responses(
    scheme: KeyAgreementScheme,
    sign: bool,
    position: int,
    flip: int,
    cut: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pair = _agreed_pair(1, scheme, sign)
    pair.run(pair.client.associate())
    request = bytearray(pair.client.get(LDN))
    index = 1 + position % (len(request) - 1)  # the tag stays: another tag is another service
    if cut:
        del request[index:]
    else:
        request[index] ^= flip
    with caplog.at_level(logging.ERROR):
        replies = pair.server.receive(bytes(request))
    assert len(replies) == 1 and replies[0][0] == 0xD8
    assert not caplog.records


@pytest.mark.parametrize("suite", [1, 2])
def test_hls_gmac_with_suite_1_and_2_keys(suite: int) -> None:
    size = 16 if suite == 1 else 32

    def security(title: bytes) -> SecuritySettings:
        return SecuritySettings(
            policy=SecurityPolicy.AUTHENTICATED_ENCRYPTED,
            system_title=title,
            block_cipher_key=secret(bytes(range(size))),
            authentication_key=secret(bytes(range(0xD0, 0xD0 + size))),
            invocation_counters=MemoryInvocationCounterStore(),
            suite=suite,
        )

    meter = TinyMeter(
        associations={
            1: ServerAssociationSettings(mechanism=Mechanism.HIGH_GMAC, security=security(SERVER_TITLE))
        }
    )
    meter.values[(1, "0.0.42.0.0.255", 2)] = axdr.OctetString(b"DLMSKIT000000001")
    client = ClientSession(
        ClientSettings(mechanism=Mechanism.HIGH_GMAC, security=security(CLIENT_TITLE)), challenge=bytes(16)
    )
    pair = Pair(client, ServerSession(meter, 1, challenge_factory=lambda: bytes(range(16))))
    assert isinstance(pair.run(pair.client.associate()), Associated)
    request = pair.client.get(LDN)
    assert request[2] == 0x30 | suite
    assert isinstance(pair.run(request), GetCompleted)


@pytest.mark.parametrize("scheme", [None, KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN])
def test_signed_then_ciphered(scheme: KeyAgreementScheme | None) -> None:
    """Sign first, then cipher (general-glo-ciphering, or general-ciphering with an agreed key), as the
    Sagemcom trace of the public Gurux forum shows; the meter answers in the same order."""
    pair = _agreed_pair(1, scheme, True)
    security = dataclasses.replace(pair.client.settings.security, sign_before_ciphering=True)
    settings = dataclasses.replace(pair.client.settings, security=security)
    pair = Pair(ClientSession(settings, challenge=bytes(range(32))), pair.server)
    assert isinstance(pair.run(pair.client.associate()), Associated)
    request = pair.client.get(LDN)
    outer = 0xDD if scheme else 0xDB
    assert request[0] == outer
    reply = pair.server.receive(request)[0]
    assert reply[0] == outer
    event = pair.client.receive(reply)
    assert isinstance(event, GetCompleted) and event.results[0].value == b"DLMSKIT000000001"
    # Deciphered, the content is a general-signing APDU whose signature was checked.
    assert pair.client.protection.signing
    with pytest.raises(InvocationCounterError):  # and a replayed answer is refused
        pair.client.protection.unwrap(reply)


def test_signed_then_ciphered_with_a_wrong_signature_is_refused() -> None:
    pair = _agreed_pair(1, None, False)
    assert isinstance(pair.run(pair.client.associate()), Associated)
    forged = sign_general(
        bytes.fromhex("C001C100080000010000FF0200"),
        suite=1,
        private_key=generate_private_key(1),
        originator_system_title=CLIENT_TITLE,
    ).encode()
    ciphered = pair.client.protection.wrap(forged, kind="general-glo")
    assert pair.server.receive(ciphered)[0][0] == 0xD8  # deciphering-error: the signature does not verify


# -- replays of signed APDUs that are not ciphered (no invocation counter to tell them by) --------------------


def test_replayed_signed_plain_apdus_are_refused_in_both_roles(caplog: pytest.LogCaptureFixture) -> None:
    pair = _agreed_pair(1, None, True, SecurityPolicy.NONE)
    assert isinstance(pair.run(pair.client.associate()), Associated)
    request = pair.client.get(LDN)
    assert GeneralSigning.decode(request).date_time[:2] != b"\xff\xff"  # our signed APDUs carry a date-time
    reply = pair.server.receive(request)[0]
    assert isinstance(pair.client.receive(reply), GetCompleted)
    # The meter refuses the same signed request again, with an exception-response, and says why in its log.
    with caplog.at_level(logging.WARNING):
        assert pair.server.receive(request)[0][0] == 0xD8
    assert "replayed signed APDU" in caplog.text
    # The client refuses the meter's signed response again.
    with pytest.raises(ReplayError, match="replayed signed APDU"):
        pair.client.protection.unwrap(reply)


def test_old_signed_apdus_and_ones_without_transaction_id_are_refused() -> None:
    pair = _agreed_pair(1, None, True, SecurityPolicy.NONE)
    assert isinstance(pair.run(pair.client.associate()), Associated)
    server_key = SERVER_KEYS[1]

    def signed(tid: bytes, when: datetime.datetime) -> bytes:
        return sign_general(
            bytes.fromhex("C401C100090101"),
            suite=1,
            private_key=server_key,
            originator_system_title=SERVER_TITLE,
            recipient_system_title=CLIENT_TITLE,
            transaction_id=tid,
            date_time=signing_date_time(when),
        ).encode()

    now = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
        hours=1
    )  # after the association's APDUs
    pair.client.protection.unwrap(signed(b"\x01" * 8, now))
    with pytest.raises(ReplayError, match="older than the newest"):
        pair.client.protection.unwrap(signed(b"\x02" * 8, now - datetime.timedelta(seconds=1)))
    with pytest.raises(ReplayError, match="no transaction-id"):
        pair.client.protection.unwrap(signed(b"", now + datetime.timedelta(seconds=1)))
    pair.client.protection.unwrap(signed(b"\x03" * 8, now))  # the same moment, another transaction: fine


def test_a_shared_guard_refuses_a_replay_into_a_new_association() -> None:
    first = _agreed_pair(1, None, True, SecurityPolicy.NONE)
    meter = first.server.application
    assert isinstance(meter, TinyMeter)
    settings = meter.associations[1]
    meter.associations[1] = dataclasses.replace(
        settings, security=dataclasses.replace(settings.security, signed_apdu_guard=SignedApduGuard())
    )
    assert isinstance(first.run(first.client.associate()), Associated)
    request = first.client.get(LDN)
    assert isinstance(first.run(request), GetCompleted)
    # A new association of the same client (as a meter keeps one guard per client): the old request is refused.
    second = _agreed_pair(1, None, True, SecurityPolicy.NONE)
    second = Pair(second.client, ServerSession(meter, 1, challenge_factory=lambda: bytes(range(100, 132))))
    assert isinstance(second.run(second.client.associate()), Associated)
    assert second.server.receive(request)[0][0] == 0xD8
    assert isinstance(second.run(second.client.get(LDN)), GetCompleted)


def test_guard_forgets_transaction_ids_but_keeps_a_floor() -> None:
    guard = SignedApduGuard(remember=2)
    start = datetime.datetime(2026, 12, 7, 5, 0, tzinfo=datetime.timezone.utc)

    def message(n: int) -> GeneralSigning:
        return GeneralSigning(
            bytes((n,)) * 8,
            CLIENT_TITLE,
            SERVER_TITLE,
            signing_date_time(start + datetime.timedelta(seconds=n)),
            b"",
            b"",
        )

    for n in range(4):
        guard.accept(message(n))
    with pytest.raises(ReplayError, match="no longer remembered"):
        guard.check(message(0))  # its transaction-id is forgotten, its date-time is not after the floor
    with pytest.raises(ReplayError, match="already accepted"):
        guard.check(message(3))
    undated = GeneralSigning(b"\x09" * 8, CLIENT_TITLE, SERVER_TITLE, b"", b"", b"")
    guard.accept(undated)
    with pytest.raises(ReplayError, match="already accepted"):
        guard.check(undated)


# -- Security setup version 1 policy: each direction as its bits say ------------------------------------------


def _bits_pair(bits: int, *, client_bits: int | None = None) -> Pair:
    pair = _pair(1, SecurityPolicy.NONE)
    meter = pair.server.application
    assert isinstance(meter, TinyMeter)
    settings = meter.associations[1]
    meter.associations[1] = dataclasses.replace(
        settings,
        security=dataclasses.replace(settings.security, policy_bits=SecurityPolicyBits(bits)),
    )
    chosen = SecurityPolicyBits(bits if client_bits is None else client_bits)
    security = dataclasses.replace(pair.client.settings.security, policy_bits=chosen)
    client = ClientSession(
        dataclasses.replace(pair.client.settings, security=security), challenge=bytes(range(32))
    )
    return Pair(client, pair.server)


@pytest.mark.parametrize(
    ("bits", "request_tag", "request_sc", "response_tag", "response_sc"),
    [
        (0x0C, 0xC8, 0x31, 0xC4, None),  # requests authenticated and encrypted, responses plain
        (0x60, 0xC0, None, 0xCC, 0x31),  # requests plain, responses authenticated and encrypted
        (0x24, 0xC8, 0x11, 0xCC, 0x11),  # both authenticated only
        (0x48, 0xC8, 0x21, 0xCC, 0x21),  # both encrypted only
        (0x2C, 0xC8, 0x31, 0xCC, 0x11),  # requests authenticated and encrypted, responses authenticated
        (0x10 | 0x60, 0xDF, None, 0xCC, 0x31),  # requests signed only, responses ciphered only
        (0xFC, 0xDF, 0x31, 0xDF, 0x31),  # everything both ways (signed over the ciphered APDU)
    ],
)
def test_policy_bits_protect_each_direction_as_they_say(
    bits: int, request_tag: int, request_sc: int | None, response_tag: int, response_sc: int | None
) -> None:
    pair = _bits_pair(bits)
    assert isinstance(pair.run(pair.client.associate()), Associated)
    request = pair.client.get(LDN)
    replies = pair.server.receive(request)
    for apdu, tag, sc in ((request, request_tag, request_sc), (replies[0], response_tag, response_sc)):
        assert apdu[0] == tag
        inner = GeneralSigning.decode(apdu).content if tag == 0xDF else apdu
        if sc is None:
            assert inner[0] in (0xC0, 0xC4)  # plain get-request / get-response
        else:
            assert inner[0] in (0xC8, 0xCC) and inner[2] == sc  # glo-get-request / -response, SC byte
    result = pair.client.receive(replies[0])
    assert isinstance(result, GetCompleted) and result.results[0].value == b"DLMSKIT000000001"


def test_policy_bits_refuse_a_direction_less_protected_than_they_say() -> None:
    # The meter wants ciphered requests, a plain one comes: exception-response.
    meter_pair = _bits_pair(0x0C)
    assert isinstance(meter_pair.run(meter_pair.client.associate()), Associated)
    assert meter_pair.server.receive(bytes.fromhex("C001C100010000280000FF0200"))[0][0] == 0xD8
    # The client wants ciphered responses, the meter answers plain: refused with the policy's words.
    client_pair = _bits_pair(0x0C, client_bits=0x0C | 0x60)
    with pytest.raises(SecurityError, match="requires responses"):
        client_pair.run(client_pair.client.associate())
    # Signed requests wanted, unsigned ones sent.
    signed_pair = _bits_pair(0x10)
    assert isinstance(signed_pair.run(signed_pair.client.associate()), Associated)
    assert signed_pair.server.receive(bytes.fromhex("C001C100010000280000FF0200"))[0][0] == 0xD8


def test_policy_bits_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="bits 0 and 1"):
        SecuritySettings(policy_bits=SecurityPolicyBits(0x01))
    with pytest.raises(ConfigurationError, match="does not match"):
        SecuritySettings(
            policy=SecurityPolicy.ENCRYPTED,
            policy_bits=SecurityPolicyBits(0x24),
            block_cipher_key=secret(bytes(16)),
            authentication_key=secret(bytes(16)),
        )
    assert (
        SecuritySettings(policy_bits=SecurityPolicyBits(0x0C)).policy
        == SecurityPolicy.AUTHENTICATED_ENCRYPTED
    )
    assert SecurityPolicyBits.from_policy(SecurityPolicy.AUTHENTICATED_ENCRYPTED, signed=True) == 0xFC
