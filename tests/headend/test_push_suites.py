"""Pushes from meters in security suites 1 and 2: general-glo ciphering with suite 1 (AES-GCM-128) and suite 2
(AES-GCM-256, 32-byte keys); general-ciphering (DD) with the unicast key or a key wrapped with the meter's master
key (KEK); general-signing (DF) verified with the meter's certificate, over ciphered content.

The APDUs are built with dlmskit's own encoders (security.general, whose layouts are checked against
gurux-dlms and published layouts in tests/security): these tests are round trips of the receiver's rules, not
an independent check of the encodings. Every bad or replayed push is quarantined with its reason.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec

from dlmskit.apdu.common import LongInvokeIdAndPriority
from dlmskit.apdu.notification import DataNotification
from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import CosemDateTime
from dlmskit.headend import Inventory, KeyStore, Meter, Store
from dlmskit.headend.push import PushReceiver
from dlmskit.headend.store import push_counters, pushes, quarantine
from dlmskit.security.certificates import public_key_pem
from dlmskit.security.ciphering import encrypt_apdu
from dlmskit.security.general import (
    AgreedKey,
    GeneralCiphering,
    GeneralSigning,
    IdentifiedKey,
    KeyAgreementScheme,
    WrappedKey,
    encipher_general,
    sign_general,
    signing_date_time,
)
from dlmskit.security.keys import SecretBytes
from dlmskit.security.suite0 import GcmCipher

STAMP = CosemDateTime.from_bytes(bytes.fromhex("07EA0101040C0000FF000000"))
HEADEND = bytes.fromhex("4448450000000001")
TITLES = {
    "P1": bytes.fromhex("4D4D4D0000000101"),  # suite 1
    "P2": bytes.fromhex("4D4D4D0000000102"),  # suite 2
    "P3": bytes.fromhex("4D4D4D0000000103"),  # suite 1, pushes with wrapped keys
    "P4": bytes.fromhex("4D4D4D0000000104"),  # suite 1, no certificate in the inventory
}
KEYS = {
    "P1": (bytes(range(16)), bytes(range(16, 32))),
    "P2": (bytes(range(32)), bytes(range(32, 64))),
    "P3": (bytes(range(100, 116)), bytes(range(116, 132))),
    "P4": (bytes(range(50, 66)), bytes(range(66, 82))),
}
MASTER = bytes(range(200, 216))
SIGNING = {
    "P1": ec.generate_private_key(ec.SECP256R1()),
    "P2": ec.generate_private_key(ec.SECP384R1()),
    "P3": ec.generate_private_key(ec.SECP256R1()),
    "P4": ec.generate_private_key(ec.SECP256R1()),
}
SUITE = {"P1": 1, "P2": 2, "P3": 1, "P4": 1}


def _notification(counter: int) -> bytes:
    body = axdr.Structure([axdr.DoubleLongUnsigned(counter * 10), axdr.OctetString(b"suite")])
    return DataNotification(LongInvokeIdAndPriority(counter & 0xFFFFFF), STAMP, body).encode()


def _general_glo(meter: str, counter: int, *, title: bytes | None = None) -> bytes:
    ek, ak = KEYS[meter]
    return encrypt_apdu(
        _notification(counter),
        kind="general-glo",
        sc=0x30 | SUITE[meter],
        system_title=title if title is not None else TITLES[meter],
        ic=counter,
        keys=GcmCipher(ek, ak),
    )


def _general_ciphering(meter: str, counter: int, info: object | None = None) -> bytes:
    ek, ak = KEYS[meter]
    if info is None:
        info = IdentifiedKey(0)
    extra: dict[str, object] = {}
    if isinstance(info, IdentifiedKey):
        extra["key"] = ek
    elif isinstance(info, WrappedKey):
        extra["master_key"] = MASTER
    else:
        extra["peer_public_key"] = ec.generate_private_key(ec.SECP256R1()).public_key()
    message = encipher_general(
        _notification(counter),
        suite=SUITE[meter],
        security_control=0x30,
        originator_system_title=TITLES[meter],
        recipient_system_title=HEADEND,
        invocation_counter=counter,
        authentication_key=ak,
        key_info=info,  # type: ignore[arg-type]
        date_time=signing_date_time(),
        **extra,  # type: ignore[arg-type]
    )
    return message.encode()


def _signed(meter: str, content: bytes, *, key: ec.EllipticCurvePrivateKey | None = None) -> bytes:
    return sign_general(
        content,
        suite=SUITE[meter],
        private_key=key or SIGNING[meter],
        originator_system_title=TITLES[meter],
        recipient_system_title=HEADEND,
        date_time=signing_date_time(),
    ).encode()


def _open(store: Store) -> PushReceiver:
    keystore = KeyStore(store, SecretBytes(bytes(range(32))))
    return PushReceiver(store, Inventory(store, keystore), keystore)


@pytest.fixture
def receiver(database_url: str) -> Iterator[PushReceiver]:
    store = Store(database_url)
    keystore = KeyStore(store, SecretBytes(bytes(range(32))))
    inventory = Inventory(store, keystore)
    inventory.put_template("suite1", {"link": "wrapper", "security_suite": 1})
    for name, title in TITLES.items():
        settings: dict[str, object] = {}
        if name != "P4":
            settings["meter_certificate"] = public_key_pem(SIGNING[name].public_key()).decode()
        inventory.put_meter(
            Meter(
                name,
                template="suite1" if name != "P2" else None,
                settings=settings,
                meter_system_title=title.hex(),
            )
        )
        ek, ak = KEYS[name]
        keystore.put(name, "block_cipher_key", ek)
        keystore.put(name, "authentication_key", ak)
    keystore.put("P3", "master_key", MASTER)
    yield PushReceiver(store, inventory, keystore)
    store.close()


def _stored(store: Store) -> list[tuple[str, int]]:
    with store.engine.connect() as connection:
        rows = connection.execute(sa.select(pushes.c.meter, pushes.c.invocation_counter)).all()
    return sorted((str(r.meter), int(r.invocation_counter)) for r in rows)


def _reasons(store: Store) -> list[str]:
    with store.engine.connect() as connection:
        return [
            str(r)
            for r in connection.execute(sa.select(quarantine.c.reason).order_by(quarantine.c.id)).scalars()
        ]


def test_general_glo_pushes_in_suites_1_and_2_are_stored(receiver: PushReceiver) -> None:
    results = receiver.receive_many(
        [
            (_general_glo("P1", 5), "test"),
            (_general_glo("P2", 5), "test"),
            (_general_glo("P2", 5), "test"),  # replayed
            (_general_glo("P2", 6, title=TITLES["P1"]), "test"),  # P2's keys under P1's title
        ]
    )
    assert [r.outcome for r in results] == ["stored", "stored", "quarantined", "quarantined"]
    assert _stored(receiver.store) == [("P1", 5), ("P2", 5)]
    assert _reasons(receiver.store) == [
        "replayed: counter 5 not above 5 (global-unicast key)",
        "the tag does not verify with the meter's keys",
    ]


def test_general_ciphering_pushes_with_the_unicast_or_a_wrapped_key(receiver: PushReceiver) -> None:
    agreed = AgreedKey(bytes((int(KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN),)), bytes(64))
    damaged = bytearray(_general_ciphering("P1", 30))
    damaged[-3] ^= 0x01  # inside the GCM tag
    items = [
        _general_ciphering("P1", 10),  # no key-info given: identified-key 0
        _general_ciphering("P2", 10),  # suite 2, 32-byte key
        _general_ciphering("P3", 10, WrappedKey(0, b"")),  # a fresh key wrapped with P3's master key
        _general_ciphering("P1", 10),  # replayed
        _general_ciphering("P1", 11, IdentifiedKey(1)),  # the broadcast key
        _general_ciphering("P2", 12, WrappedKey(0, b"")),  # P2 has no master key
        GeneralCiphering(
            b"t",
            TITLES["P1"],
            HEADEND,
            b"",
            b"",
            agreed,
            GeneralCiphering.decode(_general_ciphering("P1", 13)).ciphered_content,
        ).encode(),
        bytes(damaged),
        _general_ciphering("P1", 31)[:-40],  # cut short
    ]
    results = receiver.receive_many([(apdu, "test") for apdu in items])
    assert [r.outcome for r in results] == ["stored"] * 3 + ["quarantined"] * 6
    assert _stored(receiver.store) == [("P1", 10), ("P2", 10), ("P3", 10)]
    reasons = _reasons(receiver.store)
    assert reasons[0] == "replayed: counter 10 not above 10 (global-unicast key)"
    assert "broadcast key" in reasons[1]
    assert "no master_key" in reasons[2]
    assert "agreed key" in reasons[3]
    assert reasons[4] == "the tag does not verify with the meter's keys"
    assert reasons[5].startswith("malformed general-ciphering APDU")


def test_signed_pushes_are_verified_with_the_meters_certificate(receiver: PushReceiver) -> None:
    good = _signed("P1", _general_glo("P1", 40))
    forged = bytearray(_signed("P1", _general_glo("P1", 41)))
    forged[-1] ^= 0x01  # the signature's last byte
    items = [
        good,
        _signed("P2", _general_ciphering("P2", 40)),  # suite 2: a P-384 signature over general-ciphering
        good,  # replayed whole
        bytes(forged),
        _signed("P1", _general_glo("P1", 42), key=SIGNING["P3"]),  # signed with another meter's key
        _signed("P1", _notification(43)),  # signed, not ciphered
        _signed("P4", _general_glo("P4", 44)),  # no certificate for P4
        _signed("P1", _general_glo("P3", 45)),  # P1 signs P3's ciphered push
        _signed("P1", _general_glo("P1", 46)),  # fresh: stored
    ]
    results = receiver.receive_many([(apdu, "test") for apdu in items])
    assert [r.outcome for r in results] == ["stored", "stored"] + ["quarantined"] * 6 + ["stored"]
    assert _stored(receiver.store) == [("P1", 40), ("P1", 46), ("P2", 40)]
    reasons = _reasons(receiver.store)
    assert "replayed signed APDU" in reasons[0]
    assert reasons[1] == reasons[2] == "the signature does not verify with the meter's certificate"
    assert reasons[3].startswith("signed but not ciphered")
    assert "no meter_certificate" in reasons[4]
    assert reasons[5] == "signed by P1, and its ciphered content comes from P3"
    assert GeneralSigning.decode(good).originator_system_title == TITLES["P1"]


def test_a_signed_push_replayed_after_a_restart_is_refused_by_its_counter(receiver: PushReceiver) -> None:
    first = _signed("P1", _general_glo("P1", 60))
    assert [r.outcome for r in receiver.receive_many([(first, "test")])] == ["stored"]
    with receiver.store.engine.connect() as connection:
        assert (
            connection.execute(sa.select(push_counters.c.last).where(push_counters.c.meter == "P1")).scalar()
            == 60
        )
    again = _open(receiver.store)  # a new process: nothing in memory
    results = again.receive_many([(first, "test")])
    assert [r.outcome for r in results] == ["quarantined"]
    assert _reasons(receiver.store) == ["replayed: counter 60 not above 60 (global-unicast key)"]
