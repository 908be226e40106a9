"""frame traces: the frames of a job's sessions, as sent (kept when a plan asks for them)

Revision ID: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "frame_traces",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("meter", sa.String(100), nullable=False),
        sa.Column("job", sa.Integer, nullable=True),
        sa.Column("session", sa.String(40), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("direction", sa.String(2), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("frame", sa.Text, nullable=False),
        sa.Column("decoded", sa.Text, nullable=True),
    )
    op.create_index("ix_frame_traces_meter_job", "frame_traces", ["meter", "job"])
    op.create_index("ix_frame_traces_at", "frame_traces", ["at"])


def downgrade() -> None:
    op.drop_index("ix_frame_traces_at", "frame_traces")
    op.drop_index("ix_frame_traces_meter_job", "frame_traces")
    op.drop_table("frame_traces")
