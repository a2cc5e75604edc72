"""workshop capacity: products.florist_minutes, delivery_window_overrides.workshop_minutes,
orders.workshop_minutes and the per-date counter workshop_bookings; orders not cancelled from yesterday on
are counted into it by the rule app/workshop/services.py applies (5 minutes + 1 per recipe unit)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

# The rule of app/workshop/services.py `default_minutes`, frozen here as it was when the counts were made.
BASE_MINUTES = 5
MINUTES_PER_UNIT = 1


def upgrade() -> None:
    op.add_column("products", sa.Column("florist_minutes", sa.Integer(), nullable=True))
    op.add_column("delivery_window_overrides", sa.Column("workshop_minutes", sa.Integer(), nullable=True))
    op.add_column("orders", sa.Column("workshop_minutes", sa.Integer(), nullable=True))
    # PostgreSQL only: on SQLite a CHECK means copying the table (see 0022); the schemas refuse negatives there.
    if op.get_bind().dialect.name == "postgresql":
        op.create_check_constraint(op.f("ck_products_florist_minutes_not_negative"), "products", "florist_minutes >= 0")
        op.create_check_constraint(
            op.f("ck_delivery_window_overrides_workshop_minutes_not_negative"),
            "delivery_window_overrides",
            "workshop_minutes >= 0",
        )
    op.create_table(
        "workshop_bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("delivery_date", sa.Date(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("minutes >= 0", name=op.f("ck_workshop_bookings_minutes_not_negative")),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_workshop_bookings_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workshop_bookings")),
        sa.UniqueConstraint("shop_id", "delivery_date", name=op.f("uq_workshop_bookings_shop_id_delivery_date")),
    )
    _count_open_orders()


def _count_open_orders() -> None:
    """Orders not cancelled from yesterday (UTC) on hold their minutes, so a shop that sets a limit later starts
    from the true count; older orders hold none (their days have passed)."""
    bind = op.get_bind()
    since = datetime.now(UTC).date() - timedelta(days=1)
    lines = bind.execute(
        sa.text(
            "SELECT o.id, o.shop_id, o.delivery_date, i.product_id, i.quantity, i.needs_assembly "
            "FROM orders o JOIN order_items i ON i.order_id = o.id "
            "WHERE o.status <> 'cancelled' AND o.delivery_date >= :since"
        ),
        {"since": since},
    ).all()
    orders = bind.execute(
        sa.text(
            "SELECT id, shop_id, delivery_date FROM orders WHERE status <> 'cancelled' AND delivery_date >= :since"
        ),
        {"since": since},
    ).all()
    if not orders:
        return
    units = dict(
        bind.execute(sa.text("SELECT product_id, SUM(quantity) FROM recipe_components GROUP BY product_id")).all()
    )
    minutes: dict[int, int] = defaultdict(int)
    for order_id, _shop, _day, product_id, quantity, needs_assembly in lines:
        if needs_assembly:
            per_one = BASE_MINUTES + MINUTES_PER_UNIT * math.ceil(Decimal(str(units.get(product_id) or 0)))
            minutes[order_id] += per_one * quantity
    per_day: dict[tuple[int, object], int] = defaultdict(int)
    for order_id, shop_id, day in orders:
        per_day[(shop_id, day)] += minutes[order_id]
    orders_table = sa.table("orders", sa.column("id", sa.Integer), sa.column("workshop_minutes", sa.Integer))
    bind.execute(
        orders_table.update()
        .where(orders_table.c.id == sa.bindparam("order_id"))
        .values(workshop_minutes=sa.bindparam("minutes")),
        [{"order_id": order_id, "minutes": minutes[order_id]} for order_id, _shop, _day in orders],
    )
    now = datetime.now(UTC)
    bookings = sa.table(
        "workshop_bookings",
        sa.column("shop_id", sa.Integer),
        sa.column("delivery_date", sa.Date),
        sa.column("minutes", sa.Integer),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(
        bookings,
        [
            {"shop_id": shop_id, "delivery_date": day, "minutes": total, "created_at": now, "updated_at": now}
            for (shop_id, day), total in per_day.items()
        ],
    )


def downgrade() -> None:
    op.drop_table("workshop_bookings")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(
            op.f("ck_delivery_window_overrides_workshop_minutes_not_negative"),
            "delivery_window_overrides",
            type_="check",
        )
        op.drop_constraint(op.f("ck_products_florist_minutes_not_negative"), "products", type_="check")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+ too): no copy of the table.
    op.drop_column("orders", "workshop_minutes")
    op.drop_column("delivery_window_overrides", "workshop_minutes")
    op.drop_column("products", "florist_minutes")
