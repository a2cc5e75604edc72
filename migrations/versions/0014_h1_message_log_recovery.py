"""message log: the owning job and the next try's due time, for the recovery sweep

Revision ID: 0014_h1
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_h1"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("message_log", sa.Column("job_id", sa.String(length=64), nullable=True))
    op.add_column("message_log", sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=True))
    # Rows waiting today are due at once: the sweep queues them if their job is gone.
    op.execute("UPDATE message_log SET next_try_at = updated_at WHERE status = 'queued'")
    op.create_index("ix_message_log_status_next_try", "message_log", ["status", "next_try_at"])


def downgrade() -> None:
    op.drop_index("ix_message_log_status_next_try", table_name="message_log")
    op.drop_column("message_log", "next_try_at")
    op.drop_column("message_log", "job_id")
