"""warehouse items: pack size and supplier; an index for the purchase plan's stock

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("warehouse_items", sa.Column("pack_size", sa.Integer(), server_default="1", nullable=False))
    op.add_column("warehouse_items", sa.Column("supplier", sa.String(length=200), nullable=True))
    # PostgreSQL only: on the dev mode's SQLite a CHECK means copying warehouse_items, and the copy, created
    # after stock_movements, changes the order SQLite runs a deleted shop's cascades in (its items would go
    # before their movements, which RESTRICT them). The schemas refuse a pack size below 1 there.
    if op.get_bind().dialect.name == "postgresql":
        op.create_check_constraint(op.f("ck_warehouse_items_pack_size_positive"), "warehouse_items", "pack_size > 0")
    op.create_index(
        "ix_stock_batches_shop_item_held",
        "stock_batches",
        ["shop_id", "item_id", "expires_on"],
        postgresql_where=sa.text("remaining > 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_stock_batches_shop_item_held", table_name="stock_batches")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_warehouse_items_pack_size_positive"), "warehouse_items", type_="check")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+ too): no copy of the table.
    op.drop_column("warehouse_items", "supplier")
    op.drop_column("warehouse_items", "pack_size")
