"""production tasks indexed by shop, status and florist: a florist's open list and its count

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_production_tasks_shop_status_florist", "production_tasks", ["shop_id", "status", "florist_id"])


def downgrade() -> None:
    op.drop_index("ix_production_tasks_shop_status_florist", table_name="production_tasks")
