"""Pushes ciphered with the global broadcast key: the security control's key-set bit (glo-, general-glo-) or
general-ciphering with identified key-id 1, deciphered with the meter's (or its template's) ``broadcast_key``
and its one authentication key, under a counter of their own (key kind ``global-broadcast``).

A broadcast push is stored; its replay is refused, after a restart too; a push under a wrong broadcast key, or
the unicast key with the key-set bit, fails its tag; no broadcast key: quarantined saying so; the same counter
under the unicast and the broadcast key is stored twice. The key comes from CSV and TOML imports (a
template's too), is sealed, rotated with the master key, and never shown by an export, the CLI or the web
console. Every APDU here is built with dlmskit's own encoders (``encrypt_apdu``, ``encipher_general``, the
notification APDUs), not captured from a meter. SQLite and PostgreSQL (``database_url``).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import dlmskit.cli.commands  # noqa: F401  (registers the commands)
from dlmskit.apdu.common import CosemAttributeDescriptor, LongInvokeIdAndPriority
from dlmskit.apdu.notification import DataNotification, EventNotificationRequest
from dlmskit.cli.main import cli
from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import CosemDateTime
from dlmskit.codec.obis import Obis
from dlmskit.errors import ConfigurationError
from dlmskit.headend import Inventory, KeyStore, Meter, Store
from dlmskit.headend.export import export_csv
from dlmskit.headend.keystore import KEY_NAMES
from dlmskit.headend.push import Arrival, PushReceiver, key_fingerprint
from dlmskit.headend.store import key_changes, push_counters, pushes, quarantine
from dlmskit.security.ciphering import encrypt_apdu
from dlmskit.security.general import IdentifiedKey, encipher_general, signing_date_time
from dlmskit.security.keys import SecretBytes
from dlmskit.security.suite0 import GcmCipher

STAMP = CosemDateTime.from_bytes(bytes.fromhex("07EA0101040C0000FF000000"))
MASTER_OF_STORE = SecretBytes(bytes(range(32)))
TITLE = bytes.fromhex("4D4D4D0000000B01")
HEADEND = bytes.fromhex("4448450000000001")
EK, AK = bytes(range(16)), bytes(range(16, 32))
BROADCAST = bytes(range(96, 112))
TEMPLATE_BROADCAST = bytes(range(112, 128))
DEDICATED = bytes(range(48, 64))
UNICAST_SC, BROADCAST_SC = 0x30, 0x70  # suite 0, authenticated and encrypted; 0x40: the key-set bit


def _plain(counter: int) -> bytes:
    body = axdr.Structure([axdr.DoubleLongUnsigned(counter), axdr.OctetString(b"tariff")])
    return DataNotification(LongInvokeIdAndPriority(counter & 0xFFFFFF), STAMP, body).encode()


def _broadcast(
    counter: int, key: bytes = BROADCAST, *, sc: int = BROADCAST_SC, title: bytes = TITLE
) -> bytes:
    """A general-glo-ciphered data-notification, by default with the key-set bit and the broadcast key."""
    return encrypt_apdu(
        _plain(counter), kind="general-glo", sc=sc, system_title=title, ic=counter, keys=GcmCipher(key, AK)
    )


def _unicast(counter: int) -> bytes:
    return _broadcast(counter, EK, sc=UNICAST_SC)


def _open(store: Store) -> PushReceiver:
    """A receiver as a new process makes it: nothing in memory."""
    keystore = KeyStore(store, MASTER_OF_STORE)
    return PushReceiver(store, Inventory(store, keystore), keystore)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    found = Store(database_url)
    keystore = KeyStore(found, MASTER_OF_STORE)
    Inventory(found, keystore).put_meter(Meter("B1", meter_system_title=TITLE.hex(), push_source_address=11))
    keystore.put("B1", "block_cipher_key", EK)
    keystore.put("B1", "authentication_key", AK)
    keystore.put("B1", "broadcast_key", BROADCAST)
    keystore.put("B1", "push_dedicated_key", DEDICATED)
    yield found
    found.close()


def _outcomes(receiver: PushReceiver, *apdus: bytes | Arrival) -> list[str]:
    items = [apdu if isinstance(apdu, Arrival) else Arrival(apdu, "test") for apdu in apdus]
    return [r.outcome for r in receiver.receive_many(items)]


def _stored(store: Store) -> list[tuple[str, str, int]]:
    with store.engine.connect() as connection:
        rows = connection.execute(sa.select(pushes.c.meter, pushes.c.key_kind, pushes.c.invocation_counter))
        return sorted((str(r.meter), str(r.key_kind), int(r.invocation_counter)) for r in rows)


def _counters(store: Store) -> dict[tuple[str, str, str], int]:
    with store.engine.connect() as connection:
        return {
            (str(r.meter), str(r.key_kind), str(r.key_id)): int(r.last)
            for r in connection.execute(sa.select(push_counters))
        }


def _reasons(store: Store) -> list[str]:
    with store.engine.connect() as connection:
        query = sa.select(quarantine.c.reason).order_by(quarantine.c.id)
        return [str(r) for r in connection.execute(query).scalars()]


def test_a_broadcast_push_is_stored_and_its_replay_refused_after_a_restart_too(store: Store) -> None:
    receiver = _open(store)
    assert _outcomes(receiver, _broadcast(7)) == ["stored"]
    assert _stored(store) == [("B1", "global-broadcast", 7)]
    assert _counters(store) == {("B1", "global-broadcast", key_fingerprint("global-broadcast", BROADCAST)): 7}
    assert _outcomes(receiver, _broadcast(7), _broadcast(6)) == ["quarantined", "quarantined"]
    again = _open(store)  # a new process: the counter comes from the database
    assert _outcomes(again, _broadcast(7), _broadcast(8)) == ["quarantined", "stored"]
    assert _reasons(store) == [
        "replayed: counter 7 not above 7 (global-broadcast key)",
        "replayed: counter 6 not above 7 (global-broadcast key)",
        "replayed: counter 7 not above 7 (global-broadcast key)",
    ]
    with store.engine.connect() as connection:
        named = connection.execute(sa.select(pushes.c.kind, pushes.c.body)).all()
    assert {str(kind) for kind, _ in named} == {"data-notification"}


def test_the_same_counter_under_the_unicast_and_the_broadcast_key_is_stored_under_each(store: Store) -> None:
    receiver = _open(store)
    assert _outcomes(receiver, _unicast(5), _broadcast(5)) == ["stored", "stored"]
    assert _stored(store) == [("B1", "global-broadcast", 5), ("B1", "global-unicast", 5)]
    # Each key's counter moves alone.
    assert _outcomes(receiver, _broadcast(9), _unicast(6), _unicast(5), _broadcast(8)) == [
        "stored",
        "stored",
        "quarantined",
        "quarantined",
    ]
    assert _counters(store) == {
        ("B1", "global-unicast", key_fingerprint("global-unicast", EK)): 6,
        ("B1", "global-broadcast", key_fingerprint("global-broadcast", BROADCAST)): 9,
    }


def test_a_wrong_key_fails_the_tag_and_moves_no_counter(store: Store) -> None:
    receiver = _open(store)
    wrong = _broadcast(20, bytes(16))  # another broadcast key than the meter's
    unicast_with_the_bit = _broadcast(21, EK)  # the unicast key, the key-set bit set
    flipped = bytearray(_unicast(22))
    flipped[1 + 1 + 8 + 1] |= (
        0x40  # the security control (after tag, title length, title, length): key-set bit
    )
    assert _outcomes(receiver, wrong, unicast_with_the_bit, bytes(flipped)) == ["quarantined"] * 3
    assert _reasons(store) == ["the tag does not verify with the meter's keys"] * 3
    assert _counters(store) == {}
    assert _outcomes(receiver, _broadcast(1)) == ["stored"]  # nothing above was taken as a counter


def test_no_broadcast_key_is_quarantined_saying_so(store: Store) -> None:
    KeyStore(store, MASTER_OF_STORE).delete("B1", "broadcast_key")
    ded = encrypt_apdu(
        _plain(4),
        kind="general-ded",
        sc=BROADCAST_SC,
        system_title=TITLE,
        ic=4,
        keys=GcmCipher(DEDICATED, AK),
    )
    assert _outcomes(_open(store), _broadcast(3), ded, _unicast(3)) == [
        "quarantined",
        "quarantined",
        "stored",
    ]
    assert _reasons(store) == [
        "ciphered with the broadcast key (key-set bit), and no broadcast_key for this meter or its template "
        "in the key store",
        "a dedicated-key ciphered push with the key-set bit (broadcast key) set: the broadcast key is a "
        "global key",
    ]
    assert set(_counters(store)) == {("B1", "global-unicast", key_fingerprint("global-unicast", EK))}


def test_a_glo_event_notification_and_general_ciphering_key_id_1_under_the_broadcast_key(
    store: Store,
) -> None:
    descriptor = CosemAttributeDescriptor(1, Obis.parse("0.0.96.11.0.255"), 2)
    event = EventNotificationRequest(descriptor, axdr.LongUnsigned(42), STAMP).encode()
    glo = encrypt_apdu(
        event, kind="glo", sc=BROADCAST_SC, system_title=TITLE, ic=30, keys=GcmCipher(BROADCAST, AK)
    )
    assert glo[0] == 0xCA  # glo-event-notification-request: no system title, found by the source address

    def general(counter: int, key: bytes) -> bytes:
        return encipher_general(
            _plain(counter),
            suite=1,
            security_control=0x31,
            originator_system_title=TITLE,
            recipient_system_title=HEADEND,
            invocation_counter=counter,
            authentication_key=AK,
            key_info=IdentifiedKey(1),
            key=key,
            date_time=signing_date_time(),
        ).encode()

    receiver = _open(store)
    assert _outcomes(
        receiver,
        Arrival(glo, "udp 10.0.0.11:4059", ("wrapper", 11)),
        general(31, BROADCAST),
        general(31, BROADCAST),
        general(32, EK),
    ) == ["stored", "stored", "quarantined", "quarantined"]
    assert _stored(store) == [("B1", "global-broadcast", 30), ("B1", "global-broadcast", 31)]
    assert _reasons(store) == [
        "replayed: counter 31 not above 31 (global-broadcast key)",
        "the tag does not verify with the meter's keys",
    ]


def test_the_broadcast_key_from_csv_and_toml_a_templates_too_sealed_recorded_and_rotated(
    database_url: str, tmp_path: Path
) -> None:
    assert "broadcast_key" in KEY_NAMES
    store = Store(database_url)
    keystore = KeyStore(store, MASTER_OF_STORE)
    inventory = Inventory(store, keystore)
    csv_file = tmp_path / "meters.csv"
    csv_file.write_text(
        "name,meter_system_title,block_cipher_key,authentication_key,broadcast_key\n"
        f"C1,{TITLE.hex()},{EK.hex()},{AK.hex()},{BROADCAST.hex()}\n"
    )
    assert inventory.import_file(csv_file).keys == 3
    other, third = bytes.fromhex("4D4D4D0000000B02"), bytes.fromhex("4D4D4D0000000B03")
    toml_file = tmp_path / "fleet.toml"
    toml_file.write_text(
        "[template.tariff]\n"
        'host = "127.0.0.1"\n'
        f'broadcast_key = "{TEMPLATE_BROADCAST.hex().upper()}"\n\n'
        "[[meter]]\n"
        'name = "T1"\n'
        'template = "tariff"\n'
        f'meter_system_title = "{other.hex()}"\n'
        f'block_cipher_key = "{EK.hex()}"\n'
        f'authentication_key = "{AK.hex()}"\n\n'
        "[[meter]]\n"
        'name = "T2"\n'
        'template = "tariff"\n'
        f'meter_system_title = "{third.hex()}"\n'
        f'authentication_key = "{AK.hex()}"\n'
    )
    inventory.import_file(toml_file)
    assert keystore.get("template:tariff", "broadcast_key") == SecretBytes(TEMPLATE_BROADCAST)
    assert "broadcast_key" not in inventory.templates()["tariff"]  # sealed in the key store, not the template
    assert "broadcast_key" not in inventory.settings_of(inventory.meter("C1"))  # not a session setting
    with store.engine.connect() as connection:
        raw = b"".join(bytes(r.sealed) for r in connection.execute(sa.text("SELECT sealed FROM keys")))
        changes = {
            (str(r.meter), str(r.action))
            for r in connection.execute(sa.select(key_changes).where(key_changes.c.name == "broadcast_key"))
        }
    assert BROADCAST not in raw and TEMPLATE_BROADCAST not in raw  # encrypted at rest
    assert changes == {("C1", "import"), ("template:tariff", "import")}
    assert _outcomes(_open(store), _broadcast(2), _broadcast(2, TEMPLATE_BROADCAST, title=other)) == [
        "stored",
        "stored",
    ]
    assert _stored(store) == [("C1", "global-broadcast", 2), ("T1", "global-broadcast", 2)]
    # One broadcast key for a template's meters still binds a push to its sender (its system title is in the
    # IV): T1's push given T2's system title fails its tag; T2's own push is stored under T2's counter.
    forged = _broadcast(3, TEMPLATE_BROADCAST, title=other).replace(other, third)
    assert _outcomes(_open(store), forged, _broadcast(2, TEMPLATE_BROADCAST, title=third)) == [
        "quarantined",
        "stored",
    ]
    assert _reasons(store) == ["the tag does not verify with the meter's keys"]
    # The master-key rotation seals the broadcast keys again too, each recorded.
    new_master = SecretBytes(bytes(range(200, 232)))
    assert (
        keystore.rotate_master(new_master) == 7
    )  # C1's 3 keys, T1's 2, T2's 1, the template's broadcast key
    rotated = KeyStore(store, new_master)
    assert rotated.get("C1", "broadcast_key") == SecretBytes(BROADCAST)
    assert rotated.get("template:tariff", "broadcast_key") == SecretBytes(TEMPLATE_BROADCAST)
    with store.engine.connect() as connection:
        rotations = {
            str(r.meter)
            for r in connection.execute(
                sa.select(key_changes).where(
                    key_changes.c.name == "broadcast_key", key_changes.c.action == "rotate-master"
                )
            )
        }
    assert rotations == {"C1", "template:tariff"}
    # A wrong broadcast key in a file names the key, never the value, and imports nothing.
    bad = tmp_path / "bad.csv"
    bad.write_text(f"name,broadcast_key\nX1,{BROADCAST.hex()[:-2]}\n")
    with pytest.raises(ConfigurationError, match="broadcast_key") as error:
        inventory.import_file(bad)
    assert BROADCAST.hex()[:-2].upper() not in str(error.value).upper()
    store.close()


def test_the_broadcast_key_is_never_shown_by_an_export_the_cli_or_the_web_console(
    store: Store, tmp_path: Path
) -> None:
    assert _outcomes(_open(store), _broadcast(12), _unicast(12)) == ["stored", "stored"]
    inventory = Inventory(store, KeyStore(store, MASTER_OF_STORE))
    keystore = KeyStore(store, MASTER_OF_STORE)
    keystore.put("template:t", "broadcast_key", TEMPLATE_BROADCAST)
    out = io.StringIO()
    assert export_csv(store, "pushes", out) == 2
    shown = [out.getvalue(), inventory.export_csv(), inventory.export_toml(), repr(_counters(store))]
    shown.append(repr(keystore.get("B1", "broadcast_key")))
    base = ["headend", "--db", store.url, "--key-file", str(tmp_path / "key")]
    env = {"COLUMNS": "200", "DLMSKIT_MASTER_KEY": MASTER_OF_STORE.reveal().hex()}
    for arguments in (
        ["counters", "--push"],
        ["meters"],
        ["templates"],
        ["export", "inventory", "--format", "toml"],
        ["export", "inventory"],
        ["export", "pushes"],
        ["status"],
    ):
        result = CliRunner().invoke(cli, [*base, *arguments], env=env)
        assert result.exit_code == 0, result.output
        shown.append(result.output)
    assert "global-broadcast" in shown[-7]  # the counters list the key kind and its fingerprint
    assert key_fingerprint("global-broadcast", BROADCAST) in shown[-7]
    starlette = pytest.importorskip("starlette.testclient", reason="the web console's extra is not installed")
    from dlmskit.web import WebConfig, create_app
    from dlmskit.web.headend import StoreHeadEnd

    queries = StoreHeadEnd(store.url)
    try:
        with starlette.TestClient(
            create_app(WebConfig(headend=queries)), base_url="http://localhost:8059"
        ) as client:
            page = client.get("/headend")
        assert page.status_code == 200
        shown.append(page.text)
    finally:
        queries.close()
    text = "\n".join(shown).upper()
    for secret in (BROADCAST, TEMPLATE_BROADCAST):
        assert secret.hex().upper() not in text
        assert " ".join(f"{b:02X}" for b in secret) not in text
