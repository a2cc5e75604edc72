"""customers and occasion dates

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 19:06:13.011393

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # Trigram indexes serve the customers' `q` search over name and phone.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("marketing_consent", sa.Boolean(), nullable=False),
        sa.Column("consent_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("telegram_chat_id", sa.String(length=32), nullable=True),
        sa.Column("anonymized_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("language IN ('ru', 'en')", name=op.f("ck_customers_language_known")),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_customers_shop_id_shops"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("shop_id", "phone", name=op.f("uq_customers_shop_id_phone")),
    )
    op.create_index(
        "ix_customers_name_trgm",
        "customers",
        ["name"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_customers_phone_trgm",
        "customers",
        ["phone"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"phone": "gin_trgm_ops"},
    )
    op.create_index("ix_customers_shop_created", "customers", ["shop_id", "created_at"], unique=False)
    op.create_table(
        "occasion_dates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("month", sa.SmallInteger(), nullable=False),
        sa.Column("day", sa.SmallInteger(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("remind_days_before", sa.SmallInteger(), nullable=True),
        sa.Column("reminders_enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("day BETWEEN 1 AND 31", name=op.f("ck_occasion_dates_day_valid")),
        sa.CheckConstraint("month BETWEEN 1 AND 12", name=op.f("ck_occasion_dates_month_valid")),
        sa.CheckConstraint(
            "remind_days_before IS NULL OR remind_days_before BETWEEN 0 AND 60",
            name=op.f("ck_occasion_dates_days_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_occasion_dates_customer_id_customers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_occasion_dates_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_occasion_dates")),
    )
    op.create_index(op.f("ix_occasion_dates_customer_id"), "occasion_dates", ["customer_id"], unique=False)
    op.create_index("ix_occasion_dates_shop_month_day", "occasion_dates", ["shop_id", "month", "day"], unique=False)


def downgrade():
    op.drop_index("ix_occasion_dates_shop_month_day", table_name="occasion_dates")
    op.drop_index(op.f("ix_occasion_dates_customer_id"), table_name="occasion_dates")
    op.drop_table("occasion_dates")
    op.drop_index("ix_customers_shop_created", table_name="customers")
    op.drop_index(
        "ix_customers_phone_trgm",
        table_name="customers",
        postgresql_using="gin",
        postgresql_ops={"phone": "gin_trgm_ops"},
    )
    op.drop_index(
        "ix_customers_name_trgm",
        table_name="customers",
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.drop_table("customers")
