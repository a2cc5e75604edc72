"""delivery windows as their own resource: delivery_windows, delivery_window_overrides; every shop's
settings.delivery_slots moved into delivery_windows (and the settings key retired)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SHOPS = sa.table("shops", sa.column("id", sa.Integer), sa.column("settings", JSON))
WINDOWS = sa.table(
    "delivery_windows",
    sa.column("shop_id", sa.Integer),
    sa.column("weekday", sa.Integer),
    sa.column("start", sa.String),
    sa.column("end", sa.String),
    sa.column("capacity", sa.Integer),
    sa.column("delivery_fee", sa.Numeric(12, 2)),
    sa.column("enabled", sa.Boolean),
    sa.column("version", sa.Integer),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    op.create_table(
        "delivery_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start", sa.String(length=5), nullable=False),
        sa.Column("end", sa.String(length=5), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("delivery_fee", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_delivery_windows_weekday_range")),
        sa.CheckConstraint("capacity >= 0", name=op.f("ck_delivery_windows_capacity_not_negative")),
        sa.CheckConstraint('start < "end"', name=op.f("ck_delivery_windows_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_delivery_windows_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_windows")),
    )
    op.create_index(
        "ix_delivery_windows_shop_weekday", "delivery_windows", ["shop_id", "weekday", "start"], unique=False
    )
    op.create_table(
        "delivery_window_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("windows", JSON, nullable=False),
        sa.Column("capacity_changes", JSON, nullable=False),
        sa.Column("surcharge", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "mode IN ('replace', 'adjust', 'closed')", name=op.f("ck_delivery_window_overrides_mode_known")
        ),
        sa.CheckConstraint("surcharge >= 0", name=op.f("ck_delivery_window_overrides_surcharge_not_negative")),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_delivery_window_overrides_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_window_overrides")),
        sa.UniqueConstraint("shop_id", "date", name=op.f("uq_delivery_window_overrides_shop_id_date")),
    )
    _settings_to_table()


def _settings_to_table() -> None:
    """Every shop's settings.delivery_slots become rows of delivery_windows; the key leaves the settings."""
    connection = op.get_bind()
    now = datetime.now(UTC)
    for shop_id, settings in connection.execute(sa.select(SHOPS.c.id, SHOPS.c.settings).order_by(SHOPS.c.id)).all():
        if not isinstance(settings, dict) or "delivery_slots" not in settings:
            continue
        rows = [
            {
                "shop_id": shop_id,
                "weekday": int(slot["weekday"]),
                "start": slot["start"],
                "end": slot["end"],
                "capacity": int(slot["capacity"]),
                "delivery_fee": Decimal(str(slot["delivery_fee"])),
                "enabled": True,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
            for slot in settings.get("delivery_slots") or []
        ]
        if rows:
            connection.execute(sa.insert(WINDOWS), rows)
        rest = {key: value for key, value in settings.items() if key != "delivery_slots"}
        connection.execute(sa.update(SHOPS).where(SHOPS.c.id == shop_id).values(settings=rest))


def _table_to_settings() -> None:
    """The way back: a shop's enabled weekly windows return to settings.delivery_slots (overrides are lost)."""
    connection = op.get_bind()
    windows: dict[int, list[dict]] = {}
    for row in connection.execute(
        sa.select(WINDOWS).where(WINDOWS.c.enabled.is_(True)).order_by(WINDOWS.c.weekday, WINDOWS.c.start)
    ).mappings():
        windows.setdefault(row["shop_id"], []).append(
            {
                "weekday": row["weekday"],
                "start": row["start"],
                "end": row["end"],
                "capacity": row["capacity"],
                "delivery_fee": f"{Decimal(row['delivery_fee']):.2f}",
            }
        )
    for shop_id, slots in windows.items():
        settings = connection.execute(sa.select(SHOPS.c.settings).where(SHOPS.c.id == shop_id)).scalar_one()
        connection.execute(
            sa.update(SHOPS).where(SHOPS.c.id == shop_id).values(settings={**(settings or {}), "delivery_slots": slots})
        )


def downgrade() -> None:
    _table_to_settings()
    op.drop_table("delivery_window_overrides")
    op.drop_index("ix_delivery_windows_shop_weekday", table_name="delivery_windows")
    op.drop_table("delivery_windows")
