"""Client and server sessions wired together in memory: association, GET/SET/ACTION, blocks, ciphering."""

from __future__ import annotations

import pytest

from dlmskit.apdu.common import (
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    CosemMethodDescriptor,
    SelectiveAccessDescriptor,
)
from dlmskit.apdu.conformance import Conformance
from dlmskit.apdu.results import ActionResult, DataAccessResult
from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis
from dlmskit.errors import ConfigurationError, ProtocolError
from dlmskit.security.hls import Mechanism
from dlmskit.security.invocation import MemoryInvocationCounterStore
from dlmskit.session.client import ClientSession, ClientSettings, SessionState
from dlmskit.session.errors import AssociationRejected, ExceptionResponseReceived
from dlmskit.session.events import (
    ActionCompleted,
    Associated,
    GetCompleted,
    Negotiated,
    Released,
    SetCompleted,
)
from dlmskit.session.protection import SecurityPolicy, SecuritySettings
from dlmskit.session.server import ServerAssociationSettings, ServerSession

from .conftest import AK, CLIENT_TITLE, EK, SERVER_TITLE, Pair, TinyMeter, secret

LDN = CosemAttributeDescriptor(1, Obis(0, 0, 42, 0, 0, 255), 2)
PROFILE = CosemAttributeDescriptor(7, Obis(1, 0, 99, 1, 0, 255), 2)
DISCONNECT = CosemMethodDescriptor(70, Obis(0, 0, 96, 3, 10, 255), 1)
CHALLENGE = bytes.fromhex("4B35366956616759")  # Green Book CtoS (facts sheet section 4)
STOC = bytes.fromhex("503677524A323146")  # Green Book StoC


def _server_security(policy: SecurityPolicy = SecurityPolicy.AUTHENTICATED_ENCRYPTED) -> SecuritySettings:
    return SecuritySettings(
        policy=policy,
        system_title=SERVER_TITLE,
        block_cipher_key=secret(EK),
        authentication_key=secret(AK),
        invocation_counters=MemoryInvocationCounterStore(),
    )


def _client_security(
    policy: SecurityPolicy = SecurityPolicy.AUTHENTICATED_ENCRYPTED, ek: bytes = EK
) -> SecuritySettings:
    return SecuritySettings(
        policy=policy,
        system_title=CLIENT_TITLE,
        block_cipher_key=secret(ek),
        authentication_key=secret(AK),
        invocation_counters=MemoryInvocationCounterStore(),
    )


def _meter(max_pdu: int = 0x400) -> TinyMeter:
    meter = TinyMeter(
        associations={
            16: ServerAssociationSettings(max_receive_pdu_size=max_pdu),
            32: ServerAssociationSettings(
                mechanism=Mechanism.LOW, secret=b"12345678", max_receive_pdu_size=max_pdu
            ),
            1: ServerAssociationSettings(
                mechanism=Mechanism.HIGH_GMAC, security=_server_security(), max_receive_pdu_size=max_pdu
            ),
            2: ServerAssociationSettings(
                mechanism=Mechanism.HIGH_MD5, secret=b"hls-secret", max_receive_pdu_size=max_pdu
            ),
            3: ServerAssociationSettings(
                mechanism=Mechanism.HIGH_SHA1, secret=b"hls-secret", max_receive_pdu_size=max_pdu
            ),
            4: ServerAssociationSettings(
                mechanism=Mechanism.HIGH, secret=bytes(range(16)), max_receive_pdu_size=max_pdu
            ),
            5: ServerAssociationSettings(
                mechanism=Mechanism.HIGH_SHA256,
                secret=b"hls-secret",
                security=_server_security(SecurityPolicy.NONE),
                ciphered_context=True,
                max_receive_pdu_size=max_pdu,
            ),
        }
    )
    meter.values[(1, "0.0.42.0.0.255", 2)] = axdr.OctetString(b"DLMSKIT000000001")
    meter.values[(3, "1.0.1.8.0.255", 2)] = axdr.DoubleLongUnsigned(123456)
    meter.values[(3, "1.0.1.8.0.255", 3)] = axdr.Structure([axdr.Integer(0), axdr.Enum(30)])
    return meter


def _pair(
    meter: TinyMeter, client_sap: int, settings: ClientSettings, *, challenge: bytes | None = CHALLENGE
) -> Pair:
    return Pair(
        ClientSession(settings, challenge=challenge),
        ServerSession(meter, client_sap, challenge_factory=lambda: STOC),
    )


def _associate(pair: Pair) -> Associated:
    event = pair.run(pair.client.associate())
    assert isinstance(event, Associated)
    return event


# -- association -------------------------------------------------------------------------------------------


def test_public_association_and_get() -> None:
    pair = _pair(_meter(), 16, ClientSettings())
    associated = _associate(pair)
    assert associated.negotiated.conformance & Conformance.GET
    event = pair.run(pair.client.get(LDN))
    assert isinstance(event, GetCompleted)
    assert event.results[0].value == b"DLMSKIT000000001"
    released = pair.run(pair.client.release())
    assert isinstance(released, Released)
    assert pair.client.state == SessionState.IDLE


def test_lls_association_and_wrong_password() -> None:
    pair = _pair(_meter(), 32, ClientSettings(mechanism=Mechanism.LOW, secret=b"12345678"))
    _associate(pair)
    bad = _pair(_meter(), 32, ClientSettings(mechanism=Mechanism.LOW, secret=b"00000000"))
    with pytest.raises(AssociationRejected, match="authentication-failure") as info:
        bad.run(bad.client.associate())
    assert info.value.diagnostic == 13


def test_wrong_mechanism_is_named() -> None:
    pair = _pair(_meter(), 32, ClientSettings())
    with pytest.raises(AssociationRejected, match="needs authentication"):
        pair.run(pair.client.associate())


def test_hls_gmac_authenticated_encrypted() -> None:
    settings = ClientSettings(mechanism=Mechanism.HIGH_GMAC, security=_client_security())
    pair = _pair(_meter(), 1, settings)
    event = _associate(pair)
    assert event.negotiated.server_system_title == SERVER_TITLE
    get = pair.client.get(LDN)
    assert get[0] == 0xC8  # glo-get-request
    result = pair.run(get)
    assert isinstance(result, GetCompleted) and result.results[0].value == b"DLMSKIT000000001"
    action = pair.run(pair.client.action(DISCONNECT, axdr.Integer(0)))
    assert isinstance(action, ActionCompleted) and action.results[0].result == ActionResult.SUCCESS
    assert pair.server.application.calls[-1] == (70, "0.0.96.3.10.255", 1, 0)  # type: ignore[attr-defined]
    assert isinstance(pair.run(pair.client.release()), Released)


def test_hls_gmac_wrong_keys_fail_with_words() -> None:
    settings = ClientSettings(mechanism=Mechanism.HIGH_GMAC, security=_client_security(ek=b"F" * 16))
    pair = _pair(_meter(), 1, settings)
    # The meter cannot decipher our glo-initiateRequest: it rejects the association.
    with pytest.raises(AssociationRejected):
        pair.run(pair.client.associate())


@pytest.mark.parametrize(
    ("sap", "mechanism", "hls_secret"),
    [
        (2, Mechanism.HIGH_MD5, b"hls-secret"),
        (3, Mechanism.HIGH_SHA1, b"hls-secret"),
        (4, Mechanism.HIGH, bytes(range(16))),
    ],
)
def test_other_hls_mechanisms(sap: int, mechanism: Mechanism, hls_secret: bytes) -> None:
    pair = _pair(_meter(), sap, ClientSettings(mechanism=mechanism, secret=hls_secret))
    _associate(pair)
    wrong = _pair(_meter(), sap, ClientSettings(mechanism=mechanism, secret=b"wrong-secret-123"))
    with pytest.raises(AssociationRejected, match="refused our HLS answer"):
        wrong.run(wrong.client.associate())


def test_hls_sha256() -> None:
    settings = ClientSettings(
        mechanism=Mechanism.HIGH_SHA256,
        secret=b"hls-secret",
        security=_client_security(SecurityPolicy.NONE),
        ciphered_context=True,
    )
    _associate(_pair(_meter(), 5, settings))


def test_hls_needs_a_challenge() -> None:
    pair = _pair(_meter(), 2, ClientSettings(mechanism=Mechanism.HIGH_MD5, secret=b"x"), challenge=None)
    with pytest.raises(ConfigurationError, match="challenge"):
        pair.client.associate()


def test_unknown_client_address_is_rejected() -> None:
    pair = _pair(_meter(), 99, ClientSettings())
    with pytest.raises(AssociationRejected):
        pair.run(pair.client.associate())


def test_requests_before_association_are_refused_locally() -> None:
    client = ClientSession(ClientSettings())
    with pytest.raises(ProtocolError, match="associated"):
        client.get(LDN)


# -- services and blocks ---------------------------------------------------------------------------------------


def test_get_with_list_and_set() -> None:
    pair = _pair(
        _meter(),
        16,
        ClientSettings(conformance=Conformance.default_ln_client() | Conformance.MULTIPLE_REFERENCES),
    )
    _associate(pair)
    energy = CosemAttributeDescriptor(3, Obis(1, 0, 1, 8, 0, 255), 2)
    scaler = CosemAttributeDescriptor(3, Obis(1, 0, 1, 8, 0, 255), 3)
    missing = CosemAttributeDescriptor(3, Obis(1, 0, 2, 8, 0, 255), 2)
    event = pair.run(
        pair.client.get_with_list(
            [CosemAttributeDescriptorWithSelection(a) for a in (energy, scaler, missing)]
        )
    )
    assert isinstance(event, GetCompleted)
    assert [r.value for r in event.results[:2]] == [123456, (0, 30)]
    assert event.results[2].error == DataAccessResult.OBJECT_UNDEFINED
    written = pair.run(pair.client.set(energy, axdr.DoubleLongUnsigned(7)))
    assert isinstance(written, SetCompleted) and written.results == (DataAccessResult.SUCCESS,)
    assert pair.server.application.values[(3, "1.0.1.8.0.255", 2)] == 7  # type: ignore[attr-defined]


def _profile(rows: int) -> axdr.Array:
    return axdr.Array(
        axdr.Structure(
            [
                axdr.OctetString(bytes(12)),
                axdr.DoubleLongUnsigned(i),
                axdr.DoubleLongUnsigned(i * 2),
                axdr.Long(-1),
            ]
        )
        for i in range(rows)
    )


@pytest.mark.parametrize("ciphered", [False, True])
def test_get_with_ten_thousand_blocks(ciphered: bool) -> None:
    meter = _meter()
    profile = _profile(12_000)
    meter.values[(7, "1.0.99.1.0.255", 2)] = profile
    if ciphered:
        settings = ClientSettings(
            mechanism=Mechanism.HIGH_GMAC, security=_client_security(), max_receive_pdu_size=64
        )
        pair = _pair(meter, 1, settings)
    else:
        pair = _pair(meter, 16, ClientSettings(max_receive_pdu_size=48))
    _associate(pair)
    event = pair.run(pair.client.get(PROFILE))
    assert isinstance(event, GetCompleted)
    assert event.blocks >= 10_000
    assert event.results[0].value == profile


def test_get_by_entry() -> None:
    meter = _meter()
    meter.values[(7, "1.0.99.1.0.255", 2)] = _profile(100)
    pair = _pair(meter, 16, ClientSettings())
    _associate(pair)
    event = pair.run(pair.client.get(PROFILE, SelectiveAccessDescriptor.entry_descriptor(3, 5)))
    assert isinstance(event, GetCompleted)
    assert [row[1] for row in event.results[0].value] == [2, 3, 4]


def test_set_and_action_with_blocks() -> None:
    meter = _meter(max_pdu=64)
    meter.values[(7, "1.0.99.1.0.255", 2)] = axdr.Array()
    pair = _pair(meter, 16, ClientSettings())
    _associate(pair)
    big = _profile(50)
    written = pair.run(pair.client.set(PROFILE, big))
    assert isinstance(written, SetCompleted) and written.results == (DataAccessResult.SUCCESS,)
    assert meter.values[(7, "1.0.99.1.0.255", 2)] == big
    assert pair.exchanges > 20
    image_block = CosemMethodDescriptor(18, Obis(0, 0, 44, 0, 0, 255), 2)
    payload = axdr.Structure([axdr.DoubleLongUnsigned(0), axdr.OctetString(bytes(range(256)) * 4)])
    done = pair.run(pair.client.action(image_block, payload))
    assert isinstance(done, ActionCompleted) and done.results[0].result == ActionResult.SUCCESS
    assert meter.calls[-1][3] == payload


def test_action_response_with_pblocks() -> None:
    meter = _meter()
    method = CosemMethodDescriptor(15, Obis(0, 0, 40, 0, 1, 255), 3)
    meter.method_results[(15, "0.0.40.0.1.255", 3)] = axdr.OctetString(bytes(5000))
    pair = _pair(meter, 16, ClientSettings(max_receive_pdu_size=256))
    _associate(pair)
    done = pair.run(pair.client.action(method, axdr.Integer(0)))
    assert isinstance(done, ActionCompleted)
    assert done.results[0].return_parameters is not None
    assert done.results[0].return_parameters.value == bytes(5000)


def test_too_large_without_block_conformance_is_refused_locally() -> None:
    meter = _meter(max_pdu=64)
    meter.values[(7, "1.0.99.1.0.255", 2)] = axdr.Array()
    settings = ClientSettings(conformance=Conformance.GET | Conformance.SET | Conformance.ACTION)
    pair = _pair(meter, 16, settings)
    _associate(pair)
    with pytest.raises(ProtocolError, match="block-transfer-with-set"):
        pair.client.set(PROFILE, _profile(20))


# -- security failures -------------------------------------------------------------------------------------------


def _gmac_pair() -> Pair:
    pair = _pair(_meter(), 1, ClientSettings(mechanism=Mechanism.HIGH_GMAC, security=_client_security()))
    _associate(pair)
    return pair


def test_replayed_apdu_gets_invocation_counter_error() -> None:
    pair = _gmac_pair()
    request = pair.client.get(LDN)
    pair.run(request)
    (reply,) = pair.server.receive(request)  # the same ciphered APDU again: a replay
    assert reply[0] == 0xD8 and reply[2] == 6  # exception-response, invocation-counter-error
    assert int.from_bytes(reply[3:7], "big") > int.from_bytes(request[3:7], "big")


def test_tampered_apdu_gets_deciphering_error() -> None:
    pair = _gmac_pair()
    request = bytearray(pair.client.get(LDN))
    request[-1] ^= 1
    (reply,) = pair.server.receive(bytes(request))
    assert reply.hex() == "d80105"
    with pytest.raises(ExceptionResponseReceived, match="deciphering-error"):
        pair.client.receive(reply)


def test_plain_apdu_in_ciphered_association_is_refused() -> None:
    pair = _gmac_pair()
    plain = bytes.fromhex("C001C1000100002A0000FF0200")
    (reply,) = pair.server.receive(plain)
    assert reply.hex() == "d80105"


def test_server_replay_is_detected_by_the_client() -> None:
    pair = _gmac_pair()
    request = pair.client.get(LDN)
    (reply,) = pair.server.receive(request)
    pair.client.receive(reply)
    pair.client.get(LDN)
    from dlmskit.errors import InvocationCounterError

    with pytest.raises(InvocationCounterError):
        pair.client.receive(reply)


def test_garbage_never_crashes_the_server() -> None:
    meter = _meter()
    server = ServerSession(meter, 16)
    for junk in (b"", b"\x00", b"\xc0\x01", b"\x60\x05\xa1", bytes(range(256)), b"\xdb\x08" + bytes(30)):
        replies = server.receive(junk)
        assert all(isinstance(r, bytes) for r in replies)


def test_server_block_sequence_errors() -> None:
    from dlmskit.apdu.common import DataBlockSA, InvokeIdAndPriority
    from dlmskit.apdu.set import SetRequestWithDatablock, SetRequestWithFirstDatablock

    pair = _pair(_meter(), 16, ClientSettings())
    _associate(pair)
    invoke = InvokeIdAndPriority(5)
    # A continuation block with no transfer in progress.
    (reply,) = pair.server.receive(SetRequestWithDatablock(invoke, DataBlockSA(False, 2, b"\x00")).encode())
    assert reply.hex() == "c501c512"  # SET-response normal, no-long-set-in-progress (18)
    # A transfer whose second block skips a number.
    first = SetRequestWithFirstDatablock(invoke, LDN, DataBlockSA(False, 1, b"\x09\x02"))
    (reply,) = pair.server.receive(first.encode())
    assert reply.hex() == "c502c500000001"  # SET-response datablock, block 1 acknowledged
    (reply,) = pair.server.receive(SetRequestWithDatablock(invoke, DataBlockSA(True, 3, b"AB")).encode())
    assert reply.hex() == "c503c51300000003"  # last-datablock: data-block-number-invalid (19)


def test_weaker_protection_than_the_policy_is_refused() -> None:
    # The meter's policy is authenticated-encrypted: authenticated-only APDUs are a downgrade.
    weaker = ClientSettings(
        mechanism=Mechanism.HIGH_GMAC, security=_client_security(SecurityPolicy.AUTHENTICATED)
    )
    pair = _pair(_meter(), 1, weaker)
    with pytest.raises(AssociationRejected):
        pair.run(pair.client.associate())
    # Inside an association, one authenticated-only APDU gets deciphering-error.
    pair = _gmac_pair()
    pair.client.protection.policy = SecurityPolicy.AUTHENTICATED
    (reply,) = pair.server.receive(pair.client.get(LDN))
    assert reply.hex() == "d80105"


@pytest.mark.parametrize("ciphered", [False, True])
def test_general_block_transfer_when_agreed(ciphered: bool) -> None:
    meter = _meter()
    meter.associations[16] = ServerAssociationSettings(
        conformance=Conformance.default_ln_client() | Conformance.GENERAL_BLOCK_TRANSFER
    )
    meter.associations[1] = ServerAssociationSettings(
        mechanism=Mechanism.HIGH_GMAC,
        security=_server_security(),
        conformance=Conformance.default_ln_client() | Conformance.GENERAL_BLOCK_TRANSFER,
    )
    profile = _profile(300)
    meter.values[(7, "1.0.99.1.0.255", 2)] = profile
    conformance = Conformance.default_ln_client() | Conformance.GENERAL_BLOCK_TRANSFER
    if ciphered:
        settings = ClientSettings(
            mechanism=Mechanism.HIGH_GMAC,
            security=_client_security(),
            conformance=conformance,
            max_receive_pdu_size=128,
        )
        pair = _pair(meter, 1, settings)
    else:
        pair = _pair(meter, 16, ClientSettings(conformance=conformance, max_receive_pdu_size=128))
    _associate(pair)
    event = pair.run(pair.client.get(PROFILE))
    assert isinstance(event, GetCompleted) and event.results[0].value == profile
    assert pair.exchanges > 50
    assert pair.last_request[0] == 0xE0  # the last thing the client sent was a GBT acknowledgement


def test_pre_established_association_and_release_without_rlrq() -> None:
    meter = _meter()
    meter.associations[16] = ServerAssociationSettings(pre_established=True)
    client = ClientSession(ClientSettings())
    server = ServerSession(meter, 16)
    negotiated = Negotiated(
        conformance=Conformance.default_ln_client(),
        server_max_receive_pdu_size=0x400,
        client_max_receive_pdu_size=0xFFFF,
        dlms_version=6,
        vaa_name=0x0007,
        server_system_title=None,
        mechanism=0,
    )
    client.assume_associated(negotiated)  # no AARQ: the association exists already
    (reply,) = server.receive(client.get(LDN))
    event = client.receive(reply)
    assert isinstance(event, GetCompleted) and event.results[0].value == b"DLMSKIT000000001"
    assert isinstance(client.released_without_rlrq(), Released)
    assert client.state == SessionState.IDLE and client.negotiated is None
    with pytest.raises(ProtocolError):
        client.get(LDN)
