"""warehouse items: pack size and supplier; an index for the purchase plan's stock

Revision ID: 0022_h8
Revises: 0021
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_h8"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: the dev mode's SQLite adds a CHECK only by copying the table (PostgreSQL alters it).
    with op.batch_alter_table("warehouse_items") as batch:
        batch.add_column(sa.Column("pack_size", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("supplier", sa.String(length=200), nullable=True))
        batch.create_check_constraint(op.f("ck_warehouse_items_pack_size_positive"), "pack_size > 0")
    op.create_index(
        "ix_stock_batches_shop_item_held",
        "stock_batches",
        ["shop_id", "item_id", "expires_on"],
        postgresql_where=sa.text("remaining > 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_stock_batches_shop_item_held", table_name="stock_batches")
    with op.batch_alter_table("warehouse_items") as batch:
        batch.drop_constraint(op.f("ck_warehouse_items_pack_size_positive"), type_="check")
        batch.drop_column("supplier")
        batch.drop_column("pack_size")
