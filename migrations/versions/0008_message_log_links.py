"""message_log.customer_id and order_id: whom a reminder went to, so the log filters by them and retries

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 10:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("message_log") as batch_op:
        batch_op.add_column(sa.Column("customer_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("order_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_message_log_customer_id_customers"),
            "customers",
            ["customer_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_message_log_customer", ["customer_id"], unique=False)
        batch_op.create_index("ix_message_log_order", ["order_id"], unique=False)


def downgrade():
    with op.batch_alter_table("message_log") as batch_op:
        batch_op.drop_index("ix_message_log_order")
        batch_op.drop_index("ix_message_log_customer")
        batch_op.drop_constraint(batch_op.f("fk_message_log_customer_id_customers"), type_="foreignkey")
        batch_op.drop_column("order_id")
        batch_op.drop_column("customer_id")
