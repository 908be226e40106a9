"""The master key rotated in slices: more keys than a batch, each slice its own transaction and never more than
a batch read at a time; a rotation stopped after its first batch and run again ends with every key under the
new master key only, each rotation recorded once; in between every key opens with one master key or the
other. Real databases (an SQLite file and the throw-away PostgreSQL of conftest.py), the CLI through click's
runner.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import dlmskit.cli.commands  # noqa: F401  (registers the commands)
from dlmskit.cli.main import cli
from dlmskit.errors import ConfigurationError, SecurityError
from dlmskit.headend import KeyStore, Store
from dlmskit.headend.store import keys
from dlmskit.security.keys import SecretBytes

OLD = SecretBytes(bytes(range(32)), label="master key")
NEW = SecretBytes(bytes(range(100, 132)), label="master key")
NAMES = ("block_cipher_key", "authentication_key", "password")
METERS = 9  # 27 keys: more than three batches of 8


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    found = Store(database_url)
    yield found
    found.close()


def _value(meter: int, name: str) -> bytes:
    return b"pw-%03d" % meter if name == "password" else bytes([meter, NAMES.index(name)]) * 8


def _fill(store: Store) -> KeyStore:
    old = KeyStore(store, OLD)
    with store.engine.begin() as connection:
        old.put_many(connection, [(f"m{i:03d}", n, _value(i, n)) for i in range(METERS) for n in NAMES])
    old.put("m004", "password", b"pw-004")  # a version 2: its version stays, the associated data with it
    return old


def _every_key_opens_with(store: Store, master: SecretBytes, **extra: Any) -> None:
    opened = KeyStore(store, master, **extra).all_for_many([f"m{i:03d}" for i in range(METERS)])
    for i in range(METERS):
        found = opened[f"m{i:03d}"]
        assert not isinstance(found, SecurityError), found
        assert {n: v.reveal() for n, v in found.items()} == {n: _value(i, n) for n in NAMES}


def _opening_with(store: Store, master: SecretBytes) -> int:
    opened = KeyStore(store, master).all_for_many([f"m{i:03d}" for i in range(METERS)])
    return sum(1 for found in opened.values() if not isinstance(found, SecurityError))


def test_more_keys_than_a_batch_are_rotated_a_batch_a_transaction(store: Store) -> None:
    old = _fill(store)
    before = len(old.changes())
    fetched: list[str] = []

    def watch(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM KEYS" in statement.upper():
            fetched.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", watch)
    try:
        assert old.rotate_master(NEW, batch=8) == 3 * METERS
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", watch)
    # Every read of the keys is a slice (LIMIT): the check and the rotation, four slices each.
    assert len(fetched) == 2 * 4 and all("LIMIT" in s.upper() for s in fetched)
    _every_key_opens_with(store, NEW)
    assert _opening_with(store, OLD) == 0
    rotated = old.changes()[before:]
    assert len(rotated) == 3 * METERS and {c["action"] for c in rotated} == {"rotate-master"}
    assert {(c["meter"], c["name"]) for c in rotated} == {
        (f"m{i:03d}", n) for i in range(METERS) for n in NAMES
    }
    assert {c["version"] for c in rotated if (c["meter"], c["name"]) == ("m004", "password")} == {2}
    assert old.get("m004", "password").reveal() == b"pw-004"  # type: ignore[union-attr]  (now under NEW)
    with pytest.raises(ConfigurationError, match="at least 1 key"):
        old.rotate_master(OLD, batch=0)


def test_a_rotation_stopped_after_its_first_batch_resumes_and_ends_under_the_new_key_only(
    store: Store, tmp_path: Path
) -> None:
    old = _fill(store)
    before = len(old.changes())
    updates = 0

    def crash(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        nonlocal updates
        if statement.lstrip().upper().startswith("UPDATE KEYS"):
            updates += 1
            if updates == 2:
                raise RuntimeError("power cut")

    sa.event.listen(store.engine, "before_cursor_execute", crash)
    try:
        with pytest.raises(RuntimeError, match="power cut"):
            old.rotate_master(NEW, batch=8)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", crash)
    # The first batch is done and recorded; every key opens with one master key or the other, never none.
    assert len(old.changes()) == before + 8
    with store.engine.connect() as connection:
        first = connection.execute(sa.select(keys.c.meter, keys.c.name).order_by(keys.c.meter, keys.c.name))
        order = [(str(m), str(n)) for m, n in first]
    _every_key_opens_with(store, NEW, previous=[OLD])
    for meter, name in order[:8]:
        assert KeyStore(store, NEW).get(meter, name) is not None
    for meter, name in order[8:]:
        with pytest.raises(SecurityError):
            KeyStore(store, NEW).get(meter, name)
        assert old.get(meter, name) is not None  # the old key store still opens the rest

    # Resumed with the same two keys: the rest is sealed again, the first batch left as it is.
    assert KeyStore(store, OLD).rotate_master(NEW, batch=8) == 3 * METERS - 8
    _every_key_opens_with(store, NEW)
    assert _opening_with(store, OLD) == 0
    rotated = old.changes()[before:]
    assert sorted((c["meter"], c["name"]) for c in rotated) == sorted(order)  # each key recorded once

    # The CLI resumes too: a stopped rotation under a third key, then the same command run again.
    third = SecretBytes(bytes(range(200, 232)), label="master key")
    updates = 0
    sa.event.listen(store.engine, "before_cursor_execute", crash)
    try:
        with pytest.raises(RuntimeError, match="power cut"):
            KeyStore(store, NEW).rotate_master(third, batch=5)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", crash)
    new_file = tmp_path / "third.key"
    new_file.write_text(third.reveal().hex() + "\n", encoding="ascii")
    command = ["headend", "--db", store.url, "keys", "rotate-master", "--new-key-file", str(new_file)]
    done = CliRunner().invoke(cli, [*command, "--batch", "5"], env={"DLMSKIT_MASTER_KEY": NEW.reveal().hex()})
    assert done.exit_code == 0, done.output
    assert f"{3 * METERS - 5} key(s) sealed again" in done.output
    assert NEW.reveal().hex() not in done.output and third.reveal().hex() not in done.output
    _every_key_opens_with(store, third)
    assert _opening_with(store, NEW) == 0 and _opening_with(store, OLD) == 0
