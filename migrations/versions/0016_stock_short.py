"""reservations keep what a write-off left them short of; orders carry a stock_short flag

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: the dev mode's SQLite changes a CHECK only by copying the table (PostgreSQL alters it).
    with op.batch_alter_table("stock_reservations") as batch:
        batch.add_column(sa.Column("short", sa.Numeric(12, 3), server_default="0", nullable=False))
        batch.drop_constraint(op.f("ck_stock_reservations_quantity_positive"), type_="check")
        batch.create_check_constraint(
            op.f("ck_stock_reservations_quantity_or_short"), "quantity >= 0 AND short >= 0 AND quantity + short > 0"
        )
    op.add_column("orders", sa.Column("stock_short", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.drop_column("orders", "stock_short")
    # A line a write-off emptied holds nothing, which the old rule forbids: it is closed, as if released.
    op.execute("UPDATE stock_reservations SET state = 'released', quantity = short WHERE quantity = 0")
    with op.batch_alter_table("stock_reservations") as batch:
        batch.drop_constraint(op.f("ck_stock_reservations_quantity_or_short"), type_="check")
        batch.create_check_constraint(op.f("ck_stock_reservations_quantity_positive"), "quantity > 0")
        batch.drop_column("short")
