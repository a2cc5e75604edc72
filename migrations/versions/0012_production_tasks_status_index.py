"""production tasks indexed by shop, status and due time: the workshop's open list

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 00:20:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_production_tasks_shop_status_due", "production_tasks", ["shop_id", "status", "due_at"], unique=False
    )


def downgrade():
    op.drop_index("ix_production_tasks_shop_status_due", table_name="production_tasks")
