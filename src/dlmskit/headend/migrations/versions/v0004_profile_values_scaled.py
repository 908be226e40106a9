"""profile rows: each value scaled with its unit, next to the raw row

Revision ID: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("profile_rows", sa.Column("scaled", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("profile_rows") as table:  # SQLite drops a column by copying the table
        table.drop_column("scaled")
