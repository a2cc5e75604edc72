"""the event log: every change a client cares about, in position order, and the consumers' cursors

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("position", BIGINT_PK, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject_type", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("audience", sa.String(length=10), nullable=False),
        sa.Column("courier_id", sa.Integer(), nullable=True),
        sa.Column("florist_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("data", JSON, nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name="fk_events_shop_id_shops", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("position", name="pk_events"),
        sa.UniqueConstraint("event_id", name="uq_events_event_id"),
    )
    op.create_index("ix_events_shop_position", "events", ["shop_id", "position"])
    op.create_index("ix_events_shop_audience_position", "events", ["shop_id", "audience", "position"])
    op.create_index("ix_events_shop_courier_position", "events", ["shop_id", "courier_id", "position"])
    op.create_index(
        "ix_events_customer", "events", ["customer_id"], postgresql_where=sa.text("customer_id IS NOT NULL")
    )
    op.create_index("ix_events_occurred_at", "events", ["occurred_at"])
    op.create_table(
        "event_cursors",
        sa.Column("consumer", sa.String(length=40), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name="fk_event_cursors_shop_id_shops", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("consumer", "shop_id", name="pk_event_cursors"),
    )


def downgrade() -> None:
    op.drop_table("event_cursors")
    op.drop_table("events")
