"""orders.payment_status may be `overpaid`; staff_invitations: an existing account joins a shop only by accepting

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

STATUSES = "'unpaid', 'partly_paid', 'paid', '{}refunded'"


def _payment_statuses(statuses: str) -> None:
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_constraint(op.f("ck_orders_payment_status_known"), type_="check")
        batch_op.create_check_constraint("payment_status_known", f"payment_status IN ({statuses})")


def upgrade() -> None:
    _payment_statuses(STATUSES.format("overpaid', '"))
    op.create_table(
        "staff_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('admin', 'manager', 'florist', 'courier')", name=op.f("ck_staff_invitations_role_known")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'accepted', 'declined', 'revoked', 'expired')",
            name=op.f("ck_staff_invitations_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_staff_invitations_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_staff_invitations_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"], ["users.id"], name=op.f("fk_staff_invitations_invited_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_invitations")),
    )
    op.create_index("ix_staff_invitations_shop_created", "staff_invitations", ["shop_id", "created_at"])
    op.create_index("ix_staff_invitations_user_status", "staff_invitations", ["user_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_staff_invitations_user_status", table_name="staff_invitations")
    op.drop_index("ix_staff_invitations_shop_created", table_name="staff_invitations")
    op.drop_table("staff_invitations")
    op.execute("UPDATE orders SET payment_status = 'paid' WHERE payment_status = 'overpaid'")
    _payment_statuses(STATUSES.format(""))
