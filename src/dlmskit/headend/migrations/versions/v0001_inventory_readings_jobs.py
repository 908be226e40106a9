"""inventory, keys, counters, leases, readings, profiles, events, commands, jobs

Revision ID: 0001 (version 1 of the runner before Alembic)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "templates",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_table(
        "meters",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("template", sa.String(100), nullable=True),
        sa.Column("groups", sa.Text, nullable=False, server_default=""),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_table(
        "plans",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_table(
        "keys",
        sa.Column("meter", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(60), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("nonce", sa.LargeBinary, nullable=False),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("changed_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "key_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("meter", sa.String(100), nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
    )
    op.create_table(
        "invocation_counters",
        sa.Column("meter", sa.String(100), primary_key=True),
        sa.Column("system_title", sa.String(16), primary_key=True),
        sa.Column("key_id", sa.String(60), primary_key=True),
        sa.Column("next_free", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "leases",
        sa.Column("meter", sa.String(100), primary_key=True),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("expires", sa.Float, nullable=False),
    )
    op.create_table(
        "readings",
        sa.Column("meter", sa.String(100), primary_key=True),
        sa.Column("logical_name", sa.String(30), primary_key=True),
        sa.Column("attribute", sa.Integer, primary_key=True),
        sa.Column("capture_time", sa.String(40), primary_key=True),
        sa.Column("value", sa.Text, nullable=True),
        sa.Column("unit", sa.String(30), nullable=True),
        sa.Column("read_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "profile_rows",
        sa.Column("meter", sa.String(100), primary_key=True),
        sa.Column("profile", sa.String(30), primary_key=True),
        sa.Column("capture_time", sa.String(40), primary_key=True),
        sa.Column("row", sa.Text, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("meter", sa.String(100), primary_key=True),
        sa.Column("log", sa.String(30), primary_key=True),
        sa.Column("capture_time", sa.String(40), primary_key=True),
        sa.Column("code", sa.Integer, primary_key=True),
        sa.Column("row", sa.Text, nullable=False),
    )
    op.create_table(
        "commands",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("meter", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("argument", sa.Text, nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("outcome", sa.Text, nullable=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("done_at", sa.String(40), nullable=True),
    )
    op.create_index("ix_commands_meter", "commands", ["meter"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("meter", sa.String(100), nullable=False),
        sa.Column("plan", sa.String(100), nullable=False),
        sa.Column("started_at", sa.String(40), nullable=False),
        sa.Column("finished_at", sa.String(40), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("stored", sa.Integer, nullable=False),
    )
    op.create_index("ix_jobs_meter", "jobs", ["meter"])


def downgrade() -> None:
    op.drop_index("ix_jobs_meter", "jobs")
    op.drop_index("ix_commands_meter", "commands")
    for table in (
        "jobs",
        "commands",
        "events",
        "profile_rows",
        "readings",
        "leases",
        "invocation_counters",
        "key_changes",
        "keys",
        "plans",
        "meters",
        "templates",
    ):
        op.drop_table(table)
