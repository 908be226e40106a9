"""The head-end's schema migrations: Alembic, its environment and revisions shipped in this package.

Nothing to configure: :func:`migrate` runs ``alembic upgrade`` (or ``downgrade``) programmatically on a
connection its caller already holds in a transaction under the migration lock (:meth:`Store.migrate`), with
``script_location`` pointing here; no ``alembic.ini`` is read.

Revisions are ``versions/vNNNN_what.py`` with the revision id ``"NNNN"`` (four digits, each revising the one
before): the number is also the schema version that :meth:`Store.version` reports. A database made by the
runner that came before Alembic (a ``schema_version`` table holding its version N) is recognised, stamped at
revision N (the revisions 0001-0003 are its steps 1-3, unchanged) and then upgraded; its ``schema_version``
table is dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dlmskit.errors import ConfigurationError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "HEAD",
    "LEGACY_LAST",
    "LEGACY_TABLE",
    "current_revision",
    "legacy_version",
    "migrate",
    "revisions",
]

HEAD = "0007"
"""The newest revision of this dlmskit (a test checks it against ``versions/``)."""

LEGACY_TABLE = "schema_version"
"""The table of the runner before Alembic: one row, the number of its last step."""

LEGACY_LAST = 3
"""The last step of the runner before Alembic: its steps 1-3 are revisions 0001-0003. A higher number in
``schema_version`` came from an unreleased branch; its step is not known here, so it is refused rather than
stamped as whatever revision has that number."""

_HERE = Path(__file__).resolve().parent


def current_revision(connection: Connection) -> str | None:
    """The database's Alembic revision (None: not under Alembic yet), read without importing Alembic."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    found = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(found) > 1:
        raise ConfigurationError(f"the database has several Alembic heads ({', '.join(found)}); merge them")
    return str(found[0]) if found else None


def legacy_version(connection: Connection) -> int | None:
    """The version recorded by the runner before Alembic (None: no such table)."""
    if not sa.inspect(connection).has_table(LEGACY_TABLE):
        return None
    found = connection.execute(sa.text(f"SELECT max(version) FROM {LEGACY_TABLE}")).scalar()  # noqa: S608
    return int(found or 0)


def _config(connection: Connection, applied: list[tuple[str, str, str]]) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.attributes["connection"] = connection
    config.attributes["applied"] = applied
    return config


def revisions() -> list[tuple[str, str]]:
    """Every revision of this dlmskit, oldest first: (id, what it does)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(_HERE))
    found = [(str(r.revision), (r.doc or "").strip()) for r in script.walk_revisions()]
    return list(reversed(found))


def _number(revision: str, what: str) -> int:
    try:
        return int(revision)
    except ValueError:
        raise ConfigurationError(
            f"{what} {revision!r} is not a revision of dlmskit (0001, 0002, ...)"
        ) from None


def migrate(connection: Connection, to: str = "head") -> list[tuple[str, str, str]]:
    """Bring the database on ``connection`` to revision ``to`` (``head``: the newest), up or down; returns the
    steps done as (``stamp``/``upgrade``/``downgrade``, revision, what it does). The caller holds the
    connection in a transaction that excludes other migrating processes and commits it."""
    from alembic import command
    from alembic.util import CommandError

    applied: list[tuple[str, str, str]] = []
    config = _config(connection, applied)
    known = {revision for revision, _ in revisions()}
    target = HEAD if to == "head" else to
    if target != "base" and target not in known:
        raise ConfigurationError(f"no revision {to!r}; the revisions: {', '.join(sorted(known))}")
    current = current_revision(connection)
    if current is not None and current not in known:
        raise ConfigurationError(
            f"the database is at revision {current}, newer than this dlmskit ({HEAD}): upgrade dlmskit"
        )
    legacy = legacy_version(connection)
    if current is None and legacy is not None:
        if legacy > 0:
            stamped = f"{legacy:04d}"
            if legacy > LEGACY_LAST or stamped not in known:
                raise ConfigurationError(
                    f"the database has schema version {legacy} of the runner before Alembic, which knew "
                    f"versions 1 to {LEGACY_LAST}: not a database this dlmskit can migrate"
                )
            command.stamp(config, stamped)
            current = stamped
        connection.execute(sa.text(f"DROP TABLE {LEGACY_TABLE}"))
    try:
        if target == "base" or (current is not None and _number(target, "revision") < _number(current, "")):
            command.downgrade(config, target)
        elif target != current:
            command.upgrade(config, target)
    except CommandError as error:
        raise ConfigurationError(f"migration to {to} failed: {error}") from error
    return applied
