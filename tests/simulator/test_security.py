"""Security: frame counters, global key transfer, security_activate, counters that survive a restart."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import pytest
from tests.simulator.simclient import (
    CLIENT_COUNTERS,
    CLIENT_TITLE,
    EK,
    KEK,
    SERVER_TITLE,
    Client,
    PinnedTime,
    client_settings,
    connect,
)

from dlmskit.apdu import acse
from dlmskit.apdu.results import ActionResult
from dlmskit.codec import axdr
from dlmskit.security.ciphering import CipheredApdu
from dlmskit.security.invocation import MemoryInvocationCounterStore
from dlmskit.security.keywrap import KeyId, wrap_key
from dlmskit.session.client import ClientSession
from dlmskit.session.errors import AssociationRejected
from dlmskit.session.events import Associated
from dlmskit.session.protection import counter_key_id
from dlmskit.session.server import ServerSession
from dlmskit.simulator import SimulatedMeter
from dlmskit.simulator.meter import COUNTER_FILE

SETUP = "0.0.43.0.0.255"
FRAME_COUNTER = "0.0.43.1.1.255"
NEW_EK = bytes(range(0x10, 0x20))
NEW_AK = bytes(range(0x20, 0x30))


def _counter_of(apdu: bytes) -> int:
    return CipheredApdu.decode(apdu).invocation_counter


def test_frame_counter_object_shows_the_counter_the_meter_expects_next(meter: SimulatedMeter) -> None:
    # Blue Book "Invocation counter" 0-b:43.1.e.255; held as the Gurux C server does (the counter expected
    # next from client e), so that a client reading it through the public client continues above it.
    public = connect(meter, 16)
    assert public.value(FRAME_COUNTER) == 0  # client 1 has sent nothing yet
    management = connect(meter, 1)
    expected = management.value(FRAME_COUNTER)
    assert CLIENT_COUNTERS.next(CLIENT_TITLE, counter_key_id(EK)) == expected  # one above the GET's counter
    assert public.value(FRAME_COUNTER) == expected
    assert connect(meter, 32).value("0.0.40.0.0.255", 1) == bytes.fromhex("0000280000FF")


def test_a_replayed_aarq_is_refused_with_the_reason_and_logged(
    meter: SimulatedMeter, caplog: pytest.LogCaptureFixture
) -> None:
    connect(meter, 1).value("0.0.42.0.0.255")
    expected = connect(meter, 16).value(FRAME_COUNTER)
    behind = MemoryInvocationCounterStore()  # a second tool with the same system title and key ...
    behind.advance(CLIENT_TITLE, counter_key_id(EK), expected - 1)  # ... sends the last counter seen again
    settings = client_settings(1)
    settings = dataclasses.replace(
        settings, security=dataclasses.replace(settings.security, invocation_counters=behind)
    )
    server = ServerSession(meter, 1)
    session = ClientSession(settings, challenge=bytes(16))
    with caplog.at_level(logging.WARNING, logger="dlmskit.session.server"):
        (reply,) = server.receive(session.associate())
    # The standard leaves only the AARE for the AARQ: rejected, with a plain confirmed-service-error
    # initiateError application-reference deciphering-error in the user-information.
    aare = acse.AARE.decode(reply)
    assert aare.result == 1 and aare.user_information == bytes.fromhex("0E010006")
    with pytest.raises(AssociationRejected, match="initiateError, application-reference deciphering-error"):
        session.receive(reply)
    assert (
        f"AARQ invocation counter {expected - 1} is not above the last accepted {expected - 1}" in caplog.text
    )
    assert EK.hex() not in caplog.text.lower()
    behind.advance(CLIENT_TITLE, counter_key_id(EK), expected + 1)  # as after reading the frame counter
    assert isinstance(Client(meter, 1, settings).associated, Associated)


def test_counter_key_id_matches_the_session_layer(meter: SimulatedMeter, tmp_path: Path) -> None:
    connect(meter, 1)
    document = json.loads((tmp_path / COUNTER_FILE).read_text())
    assert counter_key_id(EK) in document["counters"][SERVER_TITLE.hex().upper()]


def test_invocation_counters_survive_a_restart(clock: PinnedTime, tmp_path: Path) -> None:
    first = SimulatedMeter(now=clock, state_dir=tmp_path)
    client = connect(first, 1)
    client.value("0.0.42.0.0.255")
    used = [_counter_of(reply) for reply in client.replies if reply[0] in (0xCC, 0xCF, 0xC4)]
    assert (tmp_path / COUNTER_FILE).exists()
    second = SimulatedMeter(now=clock, state_dir=tmp_path)
    again = connect(second, 1)
    again.value("0.0.42.0.0.255")
    later = [_counter_of(reply) for reply in again.replies if reply[0] in (0xCC, 0xCF, 0xC4)]
    assert min(later) > max(used)


def test_global_key_transfer_changes_the_keys_of_new_associations(meter: SimulatedMeter) -> None:
    management = connect(meter, 1)
    keys = axdr.Array(
        [
            axdr.Structure(
                [axdr.Enum(KeyId.GLOBAL_UNICAST_ENCRYPTION_KEY), axdr.OctetString(wrap_key(KEK, NEW_EK))]
            ),
            axdr.Structure([axdr.Enum(KeyId.AUTHENTICATION_KEY), axdr.OctetString(wrap_key(KEK, NEW_AK))]),
        ]
    )
    assert management.action(SETUP, 2, keys).result == ActionResult.SUCCESS
    assert management.value("0.0.42.0.0.255") == b"MMM0000012345678"  # this association keeps its keys
    with pytest.raises(AssociationRejected):
        Client(meter, 1)  # the old keys no longer work
    renewed = connect(meter, 1, client_settings(1, ek=NEW_EK, ak=NEW_AK))
    assert renewed.value("0.0.42.0.0.255") == b"MMM0000012345678"
    assert _counter_of(renewed.replies[-1]) < 5  # a new key starts its counters again


def test_key_transfer_with_a_wrong_master_key_changes_nothing(meter: SimulatedMeter) -> None:
    management = connect(meter, 1)
    wrong = axdr.Array([axdr.Structure([axdr.Enum(0), axdr.OctetString(wrap_key(bytes(16), NEW_EK))])])
    assert management.action(SETUP, 2, wrong).result == ActionResult.OTHER_REASON
    assert management.action(SETUP, 2, axdr.Integer(0)).result == ActionResult.TYPE_UNMATCHED
    assert connect(meter, 1).value("0.0.42.0.0.255") == b"MMM0000012345678"


def test_security_setup_attributes_and_activate(meter: SimulatedMeter) -> None:
    management = connect(meter, 1)
    assert management.value(SETUP, 2) == 3 and management.value(SETUP, 3) == 0
    assert management.value(SETUP, 4) == bytes.fromhex("4D4D4D0000000001")
    assert management.value(SETUP, 5) == SERVER_TITLE
    assert connect(meter, 32).value(SETUP, 4) == b""
    assert management.action(SETUP, 1, axdr.Enum(1)).result == ActionResult.OTHER_REASON  # never weaker
    assert management.action(SETUP, 1, axdr.Enum(3)).result == ActionResult.SUCCESS


def test_a_request_replayed_into_a_new_association_is_refused() -> None:
    """The meter remembers the client's last invocation counter across associations."""
    from dlmskit.apdu.common import CosemAttributeDescriptor
    from dlmskit.codec.obis import Obis
    from dlmskit.security.hls import Mechanism
    from dlmskit.security.invocation import MemoryInvocationCounterStore
    from dlmskit.security.keys import SecretBytes
    from dlmskit.session.client import ClientSession, ClientSettings
    from dlmskit.session.events import SendApdu
    from dlmskit.session.protection import SecurityPolicy, SecuritySettings
    from dlmskit.session.server import ServerSession

    meter = SimulatedMeter()
    store = MemoryInvocationCounterStore()

    def associate() -> tuple[ClientSession, ServerSession]:
        security = SecuritySettings(
            policy=SecurityPolicy.AUTHENTICATED_ENCRYPTED,
            system_title=bytes.fromhex("4D4D4D0000000001"),
            block_cipher_key=SecretBytes(EK),
            authentication_key=SecretBytes(bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")),
            invocation_counters=store,
        )
        client = ClientSession(
            ClientSettings(mechanism=Mechanism.HIGH_GMAC, security=security), challenge=bytes(16)
        )
        server = ServerSession(meter, 1)
        event = client.receive(server.receive(client.associate())[0])
        while isinstance(event, SendApdu):
            event = client.receive(server.receive(event.apdu)[0])
        return client, server

    client, server = associate()
    request = client.get(CosemAttributeDescriptor(1, Obis(0, 0, 42, 0, 0, 255), 2))
    assert server.receive(request)[0][0] == 0xCC  # answered (glo-get-response)
    _, server = associate()
    (reply,) = server.receive(request)  # the same ciphered APDU, replayed into the next association
    assert reply[:3].hex() == "d80106"  # exception-response: invocation-counter-error
