"""pushes: received notifications, the last counter of each meter, quarantine

Revision ID: 0002 (version 2 of the runner before Alembic)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "push_counters",
        sa.Column("meter", sa.String(100), primary_key=True),
        sa.Column("last", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "pushes",
        sa.Column("meter", sa.String(100), primary_key=True),
        sa.Column("invocation_counter", sa.BigInteger, primary_key=True),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("date_time", sa.String(40), nullable=True),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("apdu", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("quarantine", "pushes", "push_counters"):
        op.drop_table(table)
