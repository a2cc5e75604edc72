"""tracking links: a random token on every order (filled for the existing ones); the bouquet photo on a task

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("tracking_token", sa.String(length=64), nullable=True))
    with op.batch_alter_table("production_tasks") as batch:
        batch.add_column(sa.Column("photo_key", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("photo_uploaded_at", sa.DateTime(timezone=True), nullable=True))
    # Every existing order gets its own random token, drawn here (never from the database's random()).
    connection = op.get_bind()
    orders = sa.table("orders", sa.column("id", sa.Integer), sa.column("tracking_token", sa.String))
    while True:
        ids = (
            connection.execute(
                sa.select(orders.c.id).where(orders.c.tracking_token.is_(None)).order_by(orders.c.id).limit(BATCH)
            )
            .scalars()
            .all()
        )
        if not ids:
            break
        connection.execute(
            orders.update().where(orders.c.id == sa.bindparam("order_id")).values(tracking_token=sa.bindparam("token")),
            [{"order_id": order_id, "token": secrets.token_urlsafe(24)} for order_id in ids],
        )
    with op.batch_alter_table("orders") as batch:
        batch.create_unique_constraint("uq_orders_tracking_token", ["tracking_token"])


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint("uq_orders_tracking_token", type_="unique")
        batch.drop_column("tracking_token")
    with op.batch_alter_table("production_tasks") as batch:
        batch.drop_column("photo_uploaded_at")
        batch.drop_column("photo_key")
