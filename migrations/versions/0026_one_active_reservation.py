"""stock_reservations: at most one active reservation per order and item (uq_stock_reservations_active)

Reserving no longer reads what the order holds before it writes: its callers reserve only for an order that
holds nothing. The index makes the database refuse a second active row, and finds an order's active rows.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

ACTIVE = sa.text("state = 'active'")


def upgrade() -> None:
    op.create_index(
        "uq_stock_reservations_active",
        "stock_reservations",
        ["order_id", "item_id"],
        unique=True,
        postgresql_where=ACTIVE,
        sqlite_where=ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("uq_stock_reservations_active", table_name="stock_reservations")
