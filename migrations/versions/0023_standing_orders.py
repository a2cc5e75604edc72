"""standing orders: a series of orders by a calendar rule, and each date's outcome once

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "standing_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("template", JSON, nullable=False),
        sa.Column("rule", JSON, nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("lead_days", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("next_date", sa.Date(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("lead_days >= 0 AND lead_days <= 60", name=op.f("ck_standing_orders_lead_days_range")),
        sa.CheckConstraint("count IS NULL OR count > 0", name=op.f("ck_standing_orders_count_positive")),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_standing_orders_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_standing_orders_customer_id_customers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_standing_orders_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standing_orders")),
    )
    op.create_index("ix_standing_orders_shop_created", "standing_orders", ["shop_id", "id"], unique=False)
    op.create_index(
        "ix_standing_orders_due",
        "standing_orders",
        ["due_on"],
        unique=False,
        postgresql_where=sa.text("NOT paused AND due_on IS NOT NULL"),
    )
    op.create_table(
        "standing_occurrences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("standing_order_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('made', 'skipped', 'failed')", name=op.f("ck_standing_occurrences_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_standing_occurrences_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["standing_order_id"],
            ["standing_orders.id"],
            name=op.f("fk_standing_occurrences_standing_order_id_standing_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_standing_occurrences_order_id_orders"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standing_occurrences")),
        sa.UniqueConstraint("standing_order_id", "date", name=op.f("uq_standing_occurrences_standing_order_id_date")),
    )
    op.create_index("ix_standing_occurrences_order", "standing_occurrences", ["order_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_standing_occurrences_order", table_name="standing_occurrences")
    op.drop_table("standing_occurrences")
    op.drop_index("ix_standing_orders_due", table_name="standing_orders")
    op.drop_index("ix_standing_orders_shop_created", table_name="standing_orders")
    op.drop_table("standing_orders")
