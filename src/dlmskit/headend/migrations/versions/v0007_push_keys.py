"""push keys: push counters and pushes per meter and key (key kind and a fingerprint of the key)

Revision ID: 0007

Up: each meter's one counter becomes the counter of its global unicast key, and its pushes are marked as
ciphered with that key: ``key_kind`` ``global-unicast``, ``key_id`` ``v<N>`` where N is the version of the
meter's ``block_cipher_key`` in the key store at the migration (``v0``: none). A migration has no master key
and cannot fingerprint a key; the push receiver gives such a counter the fingerprint of the meter's global
unicast key when that key still has version N (a key changed since: the counter belonged to the old key and
refuses nothing any more).

Down: one counter per meter again, the highest of its keys (a replay stays refused; pushes under the key with
the lower counter may be refused until the meter's counter passes it, as before 0007), and one push per meter
and counter (the one under a global unicast key kept first, then the earliest received).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_PUSH_COLUMNS = "meter, invocation_counter, received_at, date_time, body, kind, named"


def _set_aside(table: str) -> str:
    """Rename ``table`` to ``<table>_old`` (and, on PostgreSQL, its primary key constraint, whose name the
    new table takes); returns the new name."""
    old = f"{table}_old"
    bind = op.get_bind()
    pkey = sa.inspect(bind).get_pk_constraint(table).get("name")
    op.rename_table(table, old)
    if bind.dialect.name == "postgresql" and pkey:
        op.execute(f'ALTER TABLE {old} RENAME CONSTRAINT "{pkey}" TO {old}_pkey')
    return old


def upgrade() -> None:
    old = _set_aside("push_counters")
    op.create_table(
        "push_counters",
        sa.Column("meter", sa.String(100), primary_key=True),
        sa.Column("key_kind", sa.String(30), primary_key=True),
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("last", sa.BigInteger, nullable=False),
    )
    version = (
        "'v' || CAST(COALESCE((SELECT k.version FROM keys k WHERE k.meter = o.meter "
        "AND k.name = 'block_cipher_key'), 0) AS VARCHAR(20))"
    )
    op.execute(
        f"INSERT INTO push_counters (meter, key_kind, key_id, last) "  # noqa: S608
        f"SELECT o.meter, 'global-unicast', {version}, o.last FROM {old} o"
    )
    op.drop_table(old)

    old = _set_aside("pushes")
    op.create_table(
        "pushes",
        sa.Column("meter", sa.String(100), primary_key=True),
        sa.Column("invocation_counter", sa.BigInteger, primary_key=True),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("date_time", sa.String(40), nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("kind", sa.String(30), nullable=True),
        sa.Column("named", sa.Text, nullable=True),
        sa.Column("key_kind", sa.String(30), primary_key=True),
        sa.Column("key_id", sa.String(64), primary_key=True),
    )
    op.execute(
        f"INSERT INTO pushes ({_PUSH_COLUMNS}, key_kind, key_id) "  # noqa: S608
        f"SELECT {', '.join('o.' + c for c in _PUSH_COLUMNS.split(', '))}, 'global-unicast', {version} "
        f"FROM {old} o"
    )
    op.drop_table(old)


def downgrade() -> None:
    old = _set_aside("push_counters")
    op.create_table(
        "push_counters",
        sa.Column("meter", sa.String(100), primary_key=True),
        sa.Column("last", sa.BigInteger, nullable=False),
    )
    op.execute(
        f"INSERT INTO push_counters (meter, last) SELECT meter, MAX(last) FROM {old} GROUP BY meter"  # noqa: S608
    )
    op.drop_table(old)

    old = _set_aside("pushes")
    op.create_table(
        "pushes",
        sa.Column("meter", sa.String(100), primary_key=True),
        sa.Column("invocation_counter", sa.BigInteger, primary_key=True),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("date_time", sa.String(40), nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("kind", sa.String(30), nullable=True),
        sa.Column("named", sa.Text, nullable=True),
    )
    op.execute(
        f"INSERT INTO pushes ({_PUSH_COLUMNS}) SELECT {_PUSH_COLUMNS} FROM {old} "  # noqa: S608
        "ORDER BY CASE key_kind WHEN 'global-unicast' THEN 0 ELSE 1 END, received_at "
        "ON CONFLICT DO NOTHING"
    )
    op.drop_table(old)
