"""push kinds: push setups per meter or template, the kind and the named values of a push

Revision ID: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "push_objects",
        sa.Column("owner", sa.String(110), primary_key=True),
        sa.Column("setup", sa.String(30), primary_key=True),
        sa.Column("objects", sa.Text, nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.add_column("pushes", sa.Column("kind", sa.String(30), nullable=True))
    op.add_column("pushes", sa.Column("named", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pushes") as table:  # SQLite drops a column by copying the table
        table.drop_column("named")
        table.drop_column("kind")
    op.drop_table("push_objects")
