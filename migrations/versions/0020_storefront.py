"""integration keys and storefront orders: api_keys, storefront_orders, the marketplace order source

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SOURCES_BEFORE = "source IN ('phone', 'shop', 'website', 'messenger')"
SOURCES_AFTER = "source IN ('phone', 'shop', 'website', 'messenger', 'marketplace')"


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", JSON, nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_api_keys_shop_id_shops"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_api_keys_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"], ["users.id"], name=op.f("fk_api_keys_revoked_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index("ix_api_keys_shop", "api_keys", ["shop_id", "id"], unique=False)
    op.create_table(
        "storefront_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_storefront_orders_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_storefront_orders_order_id_orders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_storefront_orders_api_key_id_api_keys"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storefront_orders")),
        sa.UniqueConstraint("shop_id", "external_id", name=op.f("uq_storefront_orders_shop_id_external_id")),
    )
    op.create_index(op.f("ix_storefront_orders_order_id"), "storefront_orders", ["order_id"], unique=False)
    with op.batch_alter_table("orders") as batch:
        batch.alter_column("source", existing_type=sa.String(length=10), type_=sa.String(length=12))
        batch.drop_constraint(op.f("ck_orders_source_known"), type_="check")
        batch.create_check_constraint(op.f("ck_orders_source_known"), SOURCES_AFTER)


def downgrade() -> None:
    # The older schema has no marketplace source: such orders are kept as website orders.
    op.execute("UPDATE orders SET source = 'website' WHERE source = 'marketplace'")
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint(op.f("ck_orders_source_known"), type_="check")
        batch.create_check_constraint(op.f("ck_orders_source_known"), SOURCES_BEFORE)
        batch.alter_column("source", existing_type=sa.String(length=12), type_=sa.String(length=10))
    op.drop_index(op.f("ix_storefront_orders_order_id"), table_name="storefront_orders")
    op.drop_table("storefront_orders")
    op.drop_index("ix_api_keys_shop", table_name="api_keys")
    op.drop_table("api_keys")
