"""indexes for the order reminder scans and the reports; message_log.order_id references orders

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 23:40:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_orders_scheduled", "orders", ["scheduled_at"], unique=False)
    op.create_index("ix_orders_shop_created", "orders", ["shop_id", "created_at"], unique=False)
    op.create_index("ix_production_tasks_due", "production_tasks", ["due_at"], unique=False)
    op.create_index("ix_deliveries_shop_delivered", "deliveries", ["shop_id", "delivered_at"], unique=False)
    with op.batch_alter_table("message_log", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_message_log_order_id_orders"), "orders", ["order_id"], ["id"], ondelete="SET NULL"
        )


def downgrade():
    with op.batch_alter_table("message_log", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_message_log_order_id_orders"), type_="foreignkey")
    op.drop_index("ix_deliveries_shop_delivered", table_name="deliveries")
    op.drop_index("ix_production_tasks_due", table_name="production_tasks")
    op.drop_index("ix_orders_shop_created", table_name="orders")
    op.drop_index("ix_orders_scheduled", table_name="orders")
