"""production tasks, deliveries and courier assignments

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 12:00:00

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=12, scale=2)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade():
    op.create_table(
        "production_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("product_name", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("card_text", sa.Text(), nullable=False),
        sa.Column("recipe", JSON, nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("florist_id", sa.Integer(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'in_progress', 'done', 'cancelled')", name=op.f("ck_production_tasks_status_known")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_production_tasks_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["florist_id"], ["users.id"], name=op.f("fk_production_tasks_florist_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_production_tasks_order_id_orders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_production_tasks_product_id_products"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_production_tasks_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_production_tasks")),
    )
    op.create_index("ix_production_tasks_florist", "production_tasks", ["florist_id"], unique=False)
    op.create_index("ix_production_tasks_order", "production_tasks", ["order_id"], unique=False)
    op.create_index("ix_production_tasks_shop_due", "production_tasks", ["shop_id", "due_at"], unique=False)
    op.create_index("ix_production_tasks_shop_updated", "production_tasks", ["shop_id", "updated_at"], unique=False)

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("picked_up_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure_reason", sa.String(length=16), nullable=True),
        sa.Column("failure_comment", sa.Text(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("client_completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("amount_collected", MONEY, nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("photo_key", sa.String(length=255), nullable=True),
        sa.Column("photo_uploaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "amount_collected IS NULL OR amount_collected >= 0",
            name=op.f("ck_deliveries_amount_collected_not_negative"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_deliveries_attempts_not_negative")),
        sa.CheckConstraint(
            "failure_reason IS NULL OR failure_reason IN ('nobody_home', 'wrong_address', 'refused', 'other')",
            name=op.f("ck_deliveries_failure_reason_known"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_deliveries_order_id_orders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["order_payments.id"],
            name=op.f("fk_deliveries_payment_id_order_payments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_deliveries_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("order_id", name=op.f("uq_deliveries_order_id")),
    )

    op.create_table(
        "courier_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("courier_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by_id", sa.Integer(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"],
            ["users.id"],
            name=op.f("fk_courier_assignments_assigned_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["courier_id"], ["users.id"], name=op.f("fk_courier_assignments_courier_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_courier_assignments_order_id_orders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_courier_assignments_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courier_assignments")),
    )
    op.create_index(
        "ix_courier_assignments_order_courier", "courier_assignments", ["order_id", "courier_id"], unique=False
    )


def downgrade():
    op.drop_index("ix_courier_assignments_order_courier", table_name="courier_assignments")
    op.drop_table("courier_assignments")
    op.drop_table("deliveries")
    op.drop_index("ix_production_tasks_shop_updated", table_name="production_tasks")
    op.drop_index("ix_production_tasks_shop_due", table_name="production_tasks")
    op.drop_index("ix_production_tasks_order", table_name="production_tasks")
    op.drop_index("ix_production_tasks_florist", table_name="production_tasks")
    op.drop_table("production_tasks")
