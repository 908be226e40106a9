"""Push invocation counters per meter and key: a meter keeps one counter per key (its global unicast key, its
dedicated push key, a key wrapped with its master key), and a new key starts its counter again.

Two pushes with the same counter under two keys are both stored; a replay under each key is refused, after a
restart too, and when two receivers share one database; a key change starts a new counter (the old key's
pushes no longer verify), while the same key given again keeps its counter. Revision 0007 keeps the counters
and pushes of a database at 0006 as the meters' global unicast key's. SQLite and PostgreSQL (``database_url``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import dlmskit.cli.commands  # noqa: F401  (registers the commands)
from dlmskit.apdu.common import LongInvokeIdAndPriority
from dlmskit.apdu.notification import DataNotification
from dlmskit.cli.main import cli
from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import CosemDateTime
from dlmskit.headend import Inventory, KeyStore, Meter, Store
from dlmskit.headend.push import PushReceiver, key_fingerprint
from dlmskit.headend.store import push_counters, pushes, quarantine
from dlmskit.security.ciphering import encrypt_apdu
from dlmskit.security.general import WrappedKey, encipher_general, signing_date_time
from dlmskit.security.keys import SecretBytes
from dlmskit.security.suite0 import GcmCipher

STAMP = CosemDateTime.from_bytes(bytes.fromhex("07EA0101040C0000FF000000"))
MASTER_OF_STORE = SecretBytes(bytes(range(32)))
TITLE = bytes.fromhex("4D4D4D0000000201")
HEADEND = bytes.fromhex("4448450000000001")
EK, AK = bytes(range(16)), bytes(range(16, 32))
NEW_EK = bytes(range(32, 48))
DEDICATED = bytes(range(48, 64))
KEK = bytes(range(64, 80))


def _plain(counter: int) -> bytes:
    body = axdr.Structure([axdr.DoubleLongUnsigned(counter), axdr.OctetString(b"keys")])
    return DataNotification(LongInvokeIdAndPriority(counter & 0xFFFFFF), STAMP, body).encode()


def _glo(counter: int, ek: bytes = EK, *, title: bytes = TITLE) -> bytes:
    return encrypt_apdu(
        _plain(counter), kind="general-glo", sc=0x30, system_title=title, ic=counter, keys=GcmCipher(ek, AK)
    )


def _ded(counter: int) -> bytes:
    return encrypt_apdu(
        _plain(counter),
        kind="general-ded",
        sc=0x30,
        system_title=TITLE,
        ic=counter,
        keys=GcmCipher(DEDICATED, AK),
    )


def _wrapped(counter: int) -> bytes:
    return encipher_general(
        _plain(counter),
        suite=1,
        security_control=0x30,
        originator_system_title=TITLE,
        recipient_system_title=HEADEND,
        invocation_counter=counter,
        authentication_key=AK,
        key_info=WrappedKey(0, b""),
        date_time=signing_date_time(),
        master_key=KEK,
    ).encode()


def _open(store: Store) -> PushReceiver:
    """A receiver as a new process makes it: nothing in memory."""
    keystore = KeyStore(store, MASTER_OF_STORE)
    return PushReceiver(store, Inventory(store, keystore), keystore)


def _setup(store: Store) -> None:
    keystore = KeyStore(store, MASTER_OF_STORE)
    Inventory(store, keystore).put_meter(
        Meter("K1", settings={"security_suite": 1}, meter_system_title=TITLE.hex())
    )
    keystore.put("K1", "block_cipher_key", EK)
    keystore.put("K1", "authentication_key", AK)
    keystore.put("K1", "push_dedicated_key", DEDICATED)
    keystore.put("K1", "master_key", KEK)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    found = Store(database_url)
    _setup(found)
    yield found
    found.close()


def _outcomes(receiver: PushReceiver, *apdus: bytes) -> list[str]:
    return [r.outcome for r in receiver.receive_many([(apdu, "test") for apdu in apdus])]


def _stored(store: Store) -> list[tuple[str, int]]:
    with store.engine.connect() as connection:
        rows = connection.execute(sa.select(pushes.c.key_kind, pushes.c.invocation_counter)).all()
    return sorted((str(r.key_kind), int(r.invocation_counter)) for r in rows)


def _counters(store: Store) -> dict[tuple[str, str], int]:
    with store.engine.connect() as connection:
        return {
            (str(r.key_kind), str(r.key_id)): int(r.last)
            for r in connection.execute(sa.select(push_counters))
        }


def _reasons(store: Store) -> list[str]:
    with store.engine.connect() as connection:
        return [
            str(r)
            for r in connection.execute(sa.select(quarantine.c.reason).order_by(quarantine.c.id)).scalars()
        ]


def test_the_same_counter_under_each_key_is_stored_once_per_key(store: Store) -> None:
    receiver = _open(store)
    assert _outcomes(receiver, _glo(5), _ded(5), _wrapped(5)) == ["stored"] * 3
    assert _stored(store) == [("dedicated", 5), ("global-unicast", 5), ("kek", 5)]
    assert _counters(store) == {
        ("global-unicast", key_fingerprint("global-unicast", EK)): 5,
        ("dedicated", key_fingerprint("dedicated", DEDICATED)): 5,
        ("kek", key_fingerprint("kek", KEK)): 5,
    }
    # A replay under each key is refused, by that key's counter; a higher counter under one key moves only it.
    assert _outcomes(receiver, _glo(5), _ded(4), _wrapped(5), _ded(9), _glo(6)) == [
        "quarantined",
        "quarantined",
        "quarantined",
        "stored",
        "stored",
    ]
    assert _reasons(store) == [
        "replayed: counter 5 not above 5 (global-unicast key)",
        "replayed: counter 4 not above 5 (dedicated key)",
        "replayed: counter 5 not above 5 (kek key)",
    ]
    assert _outcomes(receiver, _ded(8), _ded(10)) == ["quarantined", "stored"]


def test_per_key_counters_survive_a_restart(store: Store) -> None:
    assert _outcomes(_open(store), _glo(20), _ded(3), _wrapped(7)) == ["stored"] * 3
    again = _open(store)  # a new process: the counters come from the database
    assert _outcomes(again, _glo(20), _ded(3), _wrapped(7)) == ["quarantined"] * 3
    assert _outcomes(again, _glo(21), _ded(4), _wrapped(8)) == ["stored"] * 3
    assert len(_stored(store)) == 6


def test_a_key_change_starts_a_new_counter_and_the_old_key_no_longer_verifies(store: Store) -> None:
    receiver = _open(store)
    assert _outcomes(receiver, _glo(100)) == ["stored"]
    keystore = KeyStore(store, MASTER_OF_STORE)
    keystore.put(
        "K1", "block_cipher_key", NEW_EK
    )  # the meter's unicast key changed: its counter starts again
    receiver.refresh()
    assert _outcomes(receiver, _glo(1, NEW_EK), _glo(1, NEW_EK), _glo(100), _glo(101)) == [
        "stored",
        "quarantined",  # replayed under the new key
        "quarantined",  # an old push: the tag does not verify with the new key
        "quarantined",
    ]
    assert _reasons(store) == [
        "replayed: counter 1 not above 1 (global-unicast key)",
        "the tag does not verify with the meter's keys",
        "the tag does not verify with the meter's keys",
    ]
    assert _counters(store)[("global-unicast", key_fingerprint("global-unicast", NEW_EK))] == 1
    # The same key given again (an inventory imported once more) is the same key: its counter goes on.
    keystore.put("K1", "block_cipher_key", NEW_EK)
    receiver.refresh()
    assert _outcomes(receiver, _glo(1, NEW_EK), _glo(2, NEW_EK)) == ["quarantined", "stored"]
    # Back to the old key (a restore): its counter was kept, so its old pushes are still replays.
    keystore.put("K1", "block_cipher_key", EK)
    assert _outcomes(_open(store), _glo(100), _glo(102)) == ["quarantined", "stored"]


def test_two_receivers_on_one_database_never_both_accept_a_counter(store: Store) -> None:
    first, second = _open(store), _open(store)
    assert _outcomes(first, _ded(1)) == ["stored"]
    assert _outcomes(second, _ded(2)) == ["stored"]  # second loads its counters now: 1
    assert _outcomes(first, _glo(7)) == ["stored"]
    # second's memory has no unicast counter yet: the one in the database, read under a lock, refuses.
    assert _outcomes(second, _glo(7), _glo(6)) == ["quarantined", "quarantined"]
    assert sorted(_reasons(store)[-2:]) == [
        "replayed: counter 6 not above 7 (global-unicast key)",
        "replayed: counter 7 not above 7 (global-unicast key)",
    ]
    assert _outcomes(second, _glo(7)) == ["quarantined"]  # and now it knows
    # Both at once, the same pushes: each stored once, each accepted by one receiver only.
    apdus = [_glo(counter) for counter in range(10, 40)]
    outcomes: dict[int, list[str]] = {}
    start = threading.Barrier(2)

    def run(number: int, receiver: PushReceiver) -> None:
        start.wait()
        outcomes[number] = [o for apdu in apdus for o in _outcomes(receiver, apdu)]

    threads = [threading.Thread(target=run, args=(n, r)) for n, r in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    accepted = [a == "stored" or b == "stored" for a, b in zip(outcomes[0], outcomes[1], strict=True)]
    both = [a == b == "stored" for a, b in zip(outcomes[0], outcomes[1], strict=True)]
    assert not any(both)
    assert sum(accepted) >= 1 and outcomes[0].count("stored") + outcomes[1].count("stored") == sum(accepted)
    stored = [c for kind, c in _stored(store) if kind == "global-unicast"]
    assert stored == sorted(set(stored))  # each counter once
    assert len(stored) == 1 + sum(accepted)


def _at_0006(database_url: str) -> Store:
    """A database at revision 0006 with push counters and pushes of three meters, before keys per counter:
    K1 (its unicast key at version 1), K2 (no keys), K3 (its key changed after the migration)."""
    store = Store(database_url, migrate=False)
    store.migrate(to="0006")
    _setup(store)
    keystore = KeyStore(store, MASTER_OF_STORE)
    keystore.put("K3", "block_cipher_key", EK)
    with store.engine.begin() as connection:
        for meter, last in (("K1", 50), ("K2", 7), ("K3", 9)):
            connection.exec_driver_sql(f"INSERT INTO push_counters (meter, last) VALUES ('{meter}', {last})")
            connection.exec_driver_sql(
                "INSERT INTO pushes (meter, invocation_counter, received_at, date_time, body, kind) "
                f"VALUES ('{meter}', {last}, '2026-01-01T00:00:00Z', NULL, '[]', 'data-notification')"
            )
    return store


def test_revision_0007_keeps_counters_and_pushes_as_the_global_unicast_keys(database_url: str) -> None:
    store = _at_0006(database_url)
    store.migrate()
    with store.engine.connect() as connection:
        counters = {
            (str(r.meter), str(r.key_kind), str(r.key_id)): int(r.last)
            for r in connection.execute(sa.select(push_counters))
        }
        stored = sorted(
            (str(r.meter), str(r.key_kind), str(r.key_id), int(r.invocation_counter), str(r.kind))
            for r in connection.execute(sa.select(pushes))
        )
    assert counters == {
        ("K1", "global-unicast", "v1"): 50,
        ("K2", "global-unicast", "v0"): 7,
        ("K3", "global-unicast", "v1"): 9,
    }
    assert stored == [
        ("K1", "global-unicast", "v1", 50, "data-notification"),
        ("K2", "global-unicast", "v0", 7, "data-notification"),
        ("K3", "global-unicast", "v1", 9, "data-notification"),
    ]
    # K1's key is still version 1: the migrated counter is its unicast key's, a replay stays refused, and
    # the next push stores the counter under the key's fingerprint.
    assert _outcomes(_open(store), _glo(50), _glo(49), _ded(1), _glo(51)) == [
        "quarantined",
        "quarantined",
        "stored",
        "stored",
    ]
    assert _reasons(store) == [
        "replayed: counter 50 not above 50 (global-unicast key)",
        "replayed: counter 49 not above 50 (global-unicast key)",
    ]
    found = _counters(store)
    assert found[("global-unicast", key_fingerprint("global-unicast", EK))] == 51
    assert ("global-unicast", "v1") in found  # K3's
    assert _outcomes(_open(store), _glo(51)) == ["quarantined"]  # after a restart too
    store.close()


def test_a_key_changed_after_revision_0007_does_not_take_the_migrated_counter(database_url: str) -> None:
    store = _at_0006(database_url)
    store.migrate()
    title = bytes.fromhex("4D4D4D0000000203")
    keystore = KeyStore(store, MASTER_OF_STORE)
    Inventory(store, keystore).put_meter(Meter("K3", meter_system_title=title.hex()))
    keystore.put("K3", "authentication_key", AK)
    receiver = _open(store)
    assert _outcomes(receiver, _glo(9, title=title)) == ["quarantined"]  # key version 1: the migrated counter
    keystore.put("K3", "block_cipher_key", NEW_EK)  # version 2: a new key, a new counter
    receiver.refresh()
    assert _outcomes(receiver, _glo(1, NEW_EK, title=title), _glo(1, NEW_EK, title=title)) == [
        "stored",
        "quarantined",
    ]
    store.close()


def test_revision_0007_goes_down_to_one_counter_and_one_push_per_meter_and_counter(database_url: str) -> None:
    store = _at_0006(database_url)
    store.migrate()
    assert _outcomes(_open(store), _glo(51), _ded(51), _ded(60)) == ["stored"] * 3
    store.migrate(to="0006")
    with store.engine.connect() as connection:
        counters = dict(connection.exec_driver_sql("SELECT meter, last FROM push_counters").all())
        stored = sorted(
            connection.exec_driver_sql("SELECT meter, invocation_counter, body FROM pushes").all()
        )
    assert counters == {"K1": 60, "K2": 7, "K3": 9}  # the highest of each meter's keys
    assert [(m, c) for m, c, _ in stored] == [("K1", 50), ("K1", 51), ("K1", 60), ("K2", 7), ("K3", 9)]
    store.migrate()
    with store.engine.connect() as connection:
        again = connection.execute(
            sa.select(push_counters.c.meter, push_counters.c.key_id, push_counters.c.last)
        )
        assert sorted(tuple(r) for r in again) == [("K1", "v1", 60), ("K2", "v0", 7), ("K3", "v1", 9)]
    store.close()


def test_what_reads_pushes_shows_the_key_and_never_the_key_itself(store: Store) -> None:
    import io

    from dlmskit.headend import queries
    from dlmskit.headend.export import export_csv

    assert _outcomes(_open(store), _glo(3), _ded(3)) == ["stored", "stored"]
    out = io.StringIO()
    assert export_csv(store, "pushes", out) == 2
    header, *lines = out.getvalue().splitlines()
    assert header.split(",")[-2:] == ["key_kind", "key_id"]
    assert {line.split(",")[-2] for line in lines} == {"global-unicast", "dedicated"}
    assert {row["key_kind"] for row in queries.recent_pushes(store)} == {"global-unicast", "dedicated"}
    text = out.getvalue().upper() + repr(_counters(store)).upper()
    for secret in (EK, AK, DEDICATED, KEK):
        assert secret.hex().upper() not in text


def test_the_cli_lists_push_counters_per_key(store: Store, tmp_path: Path) -> None:
    assert _outcomes(_open(store), _glo(12), _ded(4)) == ["stored", "stored"]
    base = ["headend", "--db", store.url, "--key-file", str(tmp_path / "key")]
    listed = CliRunner().invoke(cli, [*base, "counters", "--push", "--meter", "K1"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "global-unicast" in listed.output and "dedicated" in listed.output
    assert key_fingerprint("dedicated", DEDICATED) in listed.output and "12" in listed.output
    assert EK.hex().upper() not in listed.output.upper()
    refused = CliRunner().invoke(cli, [*base, "counters", "--push", "--advance", "5"])
    assert refused.exit_code == 2 and "Traceback" not in refused.output


def test_a_push_ciphered_with_the_broadcast_key_is_quarantined_and_moves_no_counter(store: Store) -> None:
    broadcast = encrypt_apdu(
        _plain(30), kind="general-glo", sc=0x70, system_title=TITLE, ic=30, keys=GcmCipher(EK, AK)
    )
    assert _outcomes(_open(store), broadcast, _glo(1)) == ["quarantined", "stored"]
    assert "broadcast key" in _reasons(store)[0]
    assert _counters(store) == {("global-unicast", key_fingerprint("global-unicast", EK)): 1}
