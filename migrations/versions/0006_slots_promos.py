"""delivery slot bookings and promo codes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 10:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "slot_bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("delivery_date", sa.Date(), nullable=False),
        sa.Column("window_start", sa.String(length=5), nullable=False),
        sa.Column("taken", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("taken >= 0", name=op.f("ck_slot_bookings_taken_not_negative")),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_slot_bookings_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slot_bookings")),
        sa.UniqueConstraint(
            "shop_id", "delivery_date", "window_start", name=op.f("uq_slot_bookings_shop_id_delivery_date_window_start")
        ),
    )
    op.create_table(
        "promo_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("min_order_total", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('percent', 'fixed')", name=op.f("ck_promo_codes_kind_known")),
        sa.CheckConstraint("value >= 0", name=op.f("ck_promo_codes_value_not_negative")),
        sa.CheckConstraint("kind <> 'percent' OR value <= 100", name=op.f("ck_promo_codes_percent_at_most_100")),
        sa.CheckConstraint("min_order_total >= 0", name=op.f("ck_promo_codes_min_order_total_not_negative")),
        sa.CheckConstraint("max_uses IS NULL OR max_uses >= 0", name=op.f("ck_promo_codes_max_uses_not_negative")),
        sa.CheckConstraint("uses >= 0", name=op.f("ck_promo_codes_uses_not_negative")),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_promo_codes_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_codes")),
        sa.UniqueConstraint("shop_id", "code", name=op.f("uq_promo_codes_shop_id_code")),
    )
    op.create_index("ix_promo_codes_shop_created", "promo_codes", ["shop_id", "created_at"], unique=False)


def downgrade():
    op.drop_index("ix_promo_codes_shop_created", table_name="promo_codes")
    op.drop_table("promo_codes")
    op.drop_table("slot_bookings")
