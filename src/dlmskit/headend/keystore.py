"""The key store: each meter's keys sealed at rest with AES-GCM under one master key, and every change recorded.

The master key (32 bytes) comes from the environment variable ``DLMSKIT_MASTER_KEY`` (64 hex digits) or
from a key file (64 hex digits; :func:`create_key_file` writes a new random one, readable by its owner only).
Each key is sealed with AES-256-GCM, a fresh 12-byte nonce from :mod:`secrets`, and the meter's name, the
key's name and its version as associated data: a sealed key copied to another meter or name does not open.
Keys come back as :class:`~dlmskit.security.SecretBytes`, which never shows its value in a ``repr``, a log or
an error message; the key store logs nothing but names and versions. ``key_changes`` records who changed
which key when (the action and the version, never a value or a fingerprint).

The master key can be changed (:meth:`KeyStore.rotate_master`, ``dlmskit headend keys rotate-master``):
every key is checked first (one that opens with neither the old nor the new master key stops the rotation,
nothing changed), then sealed again under the new one with a fresh nonce, 500 keys a transaction, each
recorded in ``key_changes`` as ``rotate-master``. A rotation stopped half-way is resumed by running it again:
each key is whole under one master key or the other, and AES-GCM tells which (a key opens with one only).
"""

from __future__ import annotations

import datetime as _dt
import os
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import Connection

from dlmskit.errors import ConfigurationError, SecurityError
from dlmskit.headend.store import Store, key_changes, keys, utc
from dlmskit.security.keys import SecretBytes, parse_key

__all__ = ["MASTER_KEY_ENV", "NEW_MASTER_KEY_ENV", "KeyStore", "create_key_file", "load_master_key"]

MASTER_KEY_ENV = "DLMSKIT_MASTER_KEY"
NEW_MASTER_KEY_ENV = "DLMSKIT_NEW_MASTER_KEY"
"""Where ``dlmskit headend keys rotate-master`` takes the new master key from without ``--new-key-file``."""
KEY_NAMES = (
    "block_cipher_key",
    "authentication_key",
    "password",
    "master_key",
    "push_dedicated_key",
    "broadcast_key",
)
"""The secrets a meter may have: the keys of :class:`~dlmskit.client.MeterSettings`, the KEK, the fixed
dedicated key some meters cipher their pushes with (ded-/general-ded-ciphered pushes), and the global
broadcast encryption key (glo-/general-glo pushes with the security control's key-set bit, general-ciphering
with identified key-id 1; its authentication key is the meter's ``authentication_key``). A template may give
the last two for all its meters, kept under ``template:NAME``."""


def _parse_master(text: str, where: str) -> SecretBytes:
    try:
        value = parse_key(text.strip(), name="master key", length=32)
    except Exception:
        raise ConfigurationError(f"the master key in {where} is not 64 hex digits") from None
    if len(value) != 32:
        raise ConfigurationError(
            f"the master key in {where} must be 32 bytes (64 hex digits), got {len(value)}"
        )
    return SecretBytes(value, label="master key")


def load_master_key(
    key_file: str | os.PathLike[str] | None = None, *, env: str | None = MASTER_KEY_ENV
) -> SecretBytes:
    """The master key: ``$DLMSKIT_MASTER_KEY`` (or the variable ``env``; None: none) if set, else the key
    file."""
    text = os.environ.get(env) if env else None
    if text:
        return _parse_master(text, f"${env}")
    if key_file is None:
        raise ConfigurationError(
            f"no master key: set {env or MASTER_KEY_ENV} (64 hex digits) or give a key file "
            "(dlmskit headend init creates one)"
        )
    path = Path(key_file)
    try:
        text = path.read_text(encoding="ascii")
    except OSError as error:
        raise ConfigurationError(
            f"cannot read the master key file {path}: {error.strerror or error}"
        ) from None
    return _parse_master(text, str(path))


def _opens(aead: AESGCM, row: Any, aad: bytes) -> bytes | None:
    """The plaintext of a sealed key row, or None when ``aead``'s key did not seal it."""
    try:
        return aead.decrypt(row.nonce, row.sealed, aad)
    except InvalidTag:
        return None


def create_key_file(path: str | os.PathLike[str]) -> Path:
    """Write a new random master key to ``path`` (mode 0600); an existing file is left alone."""
    file = Path(path)
    if file.exists():
        return file
    file.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32).upper() + "\n")
    return file


class KeyStore:
    """Sealed keys in the head-end database."""

    def __init__(
        self, store: Store, master_key: SecretBytes, *, previous: Sequence[SecretBytes] = ()
    ) -> None:
        self._store = store
        self._aead = AESGCM(master_key.reveal())
        # Older master keys still opening keys (a rotation not finished yet); keys are sealed with
        # master_key only.
        self._previous = [AESGCM(key.reveal()) for key in previous]

    def __repr__(self) -> str:
        return f"<KeyStore {self._store.dialect}>"

    @staticmethod
    def _aad(meter: str, name: str, version: int) -> bytes:
        return f"dlmskit-headend-key\x00{meter}\x00{name}\x00{version}".encode()

    @staticmethod
    def check(name: str, value: SecretBytes | bytes | str) -> bytes:
        """The bytes :meth:`put` would seal for ``value`` under ``name`` (a key in hex, a password as text), or
        the :class:`ConfigurationError` of an unknown name or a malformed key (without its value)."""
        if name not in KEY_NAMES:
            raise ConfigurationError(f"unknown key name {name!r}; use one of: {', '.join(KEY_NAMES)}")
        if isinstance(value, SecretBytes):
            return value.reveal()
        if isinstance(value, str):
            return value.encode("utf-8") if name == "password" else parse_key(value, name=name)
        return bytes(value)

    def put(self, meter: str, name: str, value: SecretBytes | bytes | str, *, action: str = "set") -> int:
        """Store (or replace) a key; returns its new version. The change is recorded, the value never."""
        plain = self.check(name, value)
        with self._store.engine.begin() as connection:
            return self.put_many(connection, [(meter, name, plain)], action=action)[0]

    def put_many(
        self, connection: Connection, entries: Sequence[tuple[str, str, bytes]], *, action: str = "set"
    ) -> list[int]:
        """Store (or replace) many keys, each (meter, name, the bytes of :meth:`check`), in ``connection``'s
        transaction, 500 a statement; returns each key's new version. A (meter, name) given twice keeps the
        last value (one new version)."""
        latest: dict[tuple[str, str], bytes] = {}
        for meter, name, plain in entries:
            if name not in KEY_NAMES:
                raise ConfigurationError(f"unknown key name {name!r}; use one of: {', '.join(KEY_NAMES)}")
            latest[(meter, name)] = plain
        now = utc(_dt.datetime.now(_dt.timezone.utc))
        wanted = list(latest)
        current: dict[tuple[str, str], int] = {}
        owners = sorted({meter for meter, _ in wanted})
        for start in range(0, len(owners), 500):
            found = connection.execute(
                sa.select(keys.c.meter, keys.c.name, keys.c.version).where(
                    keys.c.meter.in_(owners[start : start + 500])
                )
            )
            current.update({(str(m), str(n)): int(v) for m, n, v in found})
        versions: dict[tuple[str, str], int] = {}
        rows = []
        for meter, name in wanted:
            version = versions[(meter, name)] = current.get((meter, name), 0) + 1
            nonce = secrets.token_bytes(12)
            sealed = self._aead.encrypt(nonce, latest[(meter, name)], self._aad(meter, name, version))
            rows.append(
                {
                    "meter": meter,
                    "name": name,
                    "version": version,
                    "nonce": nonce,
                    "sealed": sealed,
                    "changed_at": now,
                }
            )
        statement = self._store.insert(keys)
        statement = statement.on_conflict_do_update(
            index_elements=[keys.c.meter, keys.c.name],
            set_={c: statement.excluded[c] for c in ("version", "nonce", "sealed", "changed_at")},
        )
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            connection.execute(statement, chunk)
            connection.execute(
                sa.insert(key_changes),
                [
                    {
                        "meter": r["meter"],
                        "name": r["name"],
                        "version": r["version"],
                        "action": action,
                        "at": now,
                    }
                    for r in chunk
                ],
            )
        return [versions[(meter, name)] for meter, name, _ in entries]

    def rotate_master(self, new_master: SecretBytes, *, batch: int = 500) -> int:
        """Seal every stored key again under ``new_master``, ``batch`` keys a transaction; returns how many
        keys this call sealed again.

        First every key is checked, ``batch`` at a time: each must open with the current master key or
        already with ``new_master`` (a key that opens with neither: a :class:`SecurityError` names the first
        ones, meter and key name, and nothing changes). Then, ``batch`` keys a transaction in (meter, name)
        order, each key still under the current master key is opened and sealed under ``new_master`` with a
        fresh nonce, keeping its version, and recorded in ``key_changes`` as ``rotate-master`` (never a
        value). No more than one batch is ever in memory.

        A rotation stopped half-way (a crash, a lost connection) leaves each key whole, sealed under one
        master key or the other (AES-GCM tells which: a key opens with one only); run it again with the same
        two master keys and it seals the rest (the keys already under the new one are left, not recorded
        twice). Meanwhile a :class:`KeyStore` given both (``previous``) opens every key. Then this key store
        opens keys with ``new_master`` only. Stop the head-end's processes first: one still running with the
        old master key would seal a key it changes under the old one, and could open none."""
        if batch < 1:
            raise ConfigurationError(f"a rotation batch is at least 1 key, not {batch}")
        fresh = new_master.reveal()
        if len(fresh) != 32:
            raise ConfigurationError(f"the new master key must be 32 bytes, got {len(fresh)}")
        new = AESGCM(fresh)
        refused: list[str] = []
        count = 0
        for rows in self._slices(batch):
            for row in rows:
                meter, name, version = str(row.meter), str(row.name), int(row.version)
                aad = self._aad(meter, name, version)
                if _opens(new, row, aad) is None and _opens(self._aead, row, aad) is None:
                    count += 1
                    if len(refused) < 5:
                        refused.append(f"{meter}/{name}")
        if count:
            shown = ", ".join(refused) + (f" and {count - 5} more" if count > 5 else "")
            raise SecurityError(
                f"{count} key(s) open with neither the current nor the new master key ({shown}): the rotation "
                "is refused and nothing changed (is the current master key the right one?)"
            )
        resealed = 0
        last: tuple[str, str] | None = None
        while True:
            with self._store.engine.begin() as connection:
                query = self._slice(last, batch)
                if self._store.dialect == "postgresql":
                    query = query.with_for_update()  # no key of the slice changes under us until the commit
                rows = list(connection.execute(query).all())
                if rows:
                    last = (str(rows[-1].meter), str(rows[-1].name))
                    resealed += self._reseal(connection, rows, new, done=resealed)
            if len(rows) < batch:
                break
        self._aead = new
        self._previous = []
        return resealed

    def _reseal(self, connection: Connection, rows: Sequence[Any], new: AESGCM, *, done: int) -> int:
        """Seal the keys of ``rows`` still under the current master key under ``new``, in ``connection``'s
        transaction, each recorded; returns how many."""
        now = utc(_dt.datetime.now(_dt.timezone.utc))
        changed = []
        for row in rows:
            meter, name, version = str(row.meter), str(row.name), int(row.version)
            aad = self._aad(meter, name, version)
            if _opens(new, row, aad) is not None:
                continue  # sealed again by an earlier, interrupted rotation
            plain = _opens(self._aead, row, aad)
            if plain is None:  # changed since the check, under yet another master key
                raise SecurityError(
                    f"the {name} of meter {meter} no longer opens with the current master key: the rotation "
                    f"stopped after {done} key(s) sealed again (each key opens with one master key or the other)"
                )
            nonce = secrets.token_bytes(12)
            changed.append(
                {
                    "b_meter": meter,
                    "b_name": name,
                    "b_version": version,
                    "b_nonce": nonce,
                    "b_sealed": new.encrypt(nonce, plain, aad),
                }
            )
        if changed:
            # The version in the WHERE: a key replaced meanwhile (a new version) is not overwritten.
            connection.execute(
                sa.update(keys)
                .where(
                    keys.c.meter == sa.bindparam("b_meter"),
                    keys.c.name == sa.bindparam("b_name"),
                    keys.c.version == sa.bindparam("b_version"),
                )
                .values(nonce=sa.bindparam("b_nonce"), sealed=sa.bindparam("b_sealed")),
                changed,
            )
            connection.execute(
                sa.insert(key_changes),
                [
                    {
                        "meter": c["b_meter"],
                        "name": c["b_name"],
                        "version": c["b_version"],
                        "action": "rotate-master",
                        "at": now,
                    }
                    for c in changed
                ],
            )
        return len(changed)

    def _slices(self, batch: int) -> Iterator[list[Any]]:
        """The sealed keys, ``batch`` at a time in (meter, name) order, each slice read on a connection of its
        own (none open while the caller looks at it)."""
        last: tuple[str, str] | None = None
        while True:
            with self._store.engine.connect() as connection:
                rows = list(connection.execute(self._slice(last, batch)).all())
            if rows:
                last = (str(rows[-1].meter), str(rows[-1].name))
                yield rows
            if len(rows) < batch:
                return

    @staticmethod
    def _slice(after: tuple[str, str] | None, batch: int) -> sa.Select[Any]:
        """The next ``batch`` sealed keys after (meter, name) ``after``, in that order (the primary key's)."""
        query = sa.select(keys.c.meter, keys.c.name, keys.c.version, keys.c.nonce, keys.c.sealed)
        if after is not None:
            query = query.where(sa.tuple_(keys.c.meter, keys.c.name) > sa.tuple_(*after))
        return query.order_by(keys.c.meter, keys.c.name).limit(batch)

    def get(self, meter: str, name: str) -> SecretBytes | None:
        """A meter's key, or None when it has none of that name."""
        return self._open(meter, name=name).get(name)

    def all_for(self, meter: str) -> dict[str, SecretBytes]:
        """Every key of a meter, by name (one query)."""
        return self._open(meter)

    def all_for_many(self, meters: Sequence[str]) -> dict[str, dict[str, SecretBytes] | SecurityError]:
        """Every key of each of ``meters`` (one query for them all): by meter, the keys by name, or the
        :class:`SecurityError` of a key that does not open (that meter's only)."""
        query = sa.select(keys.c.meter, keys.c.name, keys.c.version, keys.c.nonce, keys.c.sealed).where(
            keys.c.meter.in_(list(meters))
        )
        with self._store.engine.connect() as connection:
            rows = connection.execute(query).all()
        found: dict[str, dict[str, SecretBytes] | SecurityError] = {meter: {} for meter in meters}
        for row in rows:
            meter = str(row.meter)
            opened = found[meter]
            if isinstance(opened, SecurityError):
                continue
            try:
                opened[str(row.name)] = self._unseal(meter, row)
            except SecurityError as error:
                found[meter] = error
        return found

    def _open(self, meter: str, *, name: str | None = None) -> dict[str, SecretBytes]:
        query = sa.select(keys.c.name, keys.c.version, keys.c.nonce, keys.c.sealed).where(
            keys.c.meter == meter
        )
        if name is not None:
            query = query.where(keys.c.name == name)
        with self._store.engine.connect() as connection:
            rows = connection.execute(query).all()
        return {str(row.name): self._unseal(meter, row) for row in rows}

    def _unseal(self, meter: str, row: Any) -> SecretBytes:
        aad = self._aad(meter, row.name, int(row.version))
        for aead in (self._aead, *self._previous):
            plain = _opens(aead, row, aad)
            if plain is not None:
                break
        else:
            raise SecurityError(
                f"the {row.name} of meter {meter} does not open with this master key "
                "(a different master key, or the database was altered)"
            )
        return SecretBytes(plain, label=str(row.name).replace("_", " "))

    def delete(self, meter: str, name: str) -> None:
        """Remove a key (recorded as a change)."""
        now = utc(_dt.datetime.now(_dt.timezone.utc))
        with self._store.engine.begin() as connection:
            version = connection.execute(
                sa.select(keys.c.version).where(keys.c.meter == meter, keys.c.name == name)
            ).scalar()
            if version is None:
                return
            connection.execute(sa.delete(keys).where(keys.c.meter == meter, keys.c.name == name))
            connection.execute(
                sa.insert(key_changes).values(
                    meter=meter, name=name, version=int(version), action="delete", at=now
                )
            )

    def changes(self, meter: str | None = None) -> list[dict[str, object]]:
        """The recorded key changes (meter, name, version, action, at), oldest first."""
        query = sa.select(key_changes).order_by(key_changes.c.id)
        if meter is not None:
            query = query.where(key_changes.c.meter == meter)
        with self._store.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]
