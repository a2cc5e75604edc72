"""An order that came in through the storefront, under the id the website or marketplace gave it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.common.types import UTCDateTime, utcnow
from app.extensions import db


class StorefrontOrder(db.Model):
    """`external_id` is unique in the shop: the row is inserted first in the intake transaction, so a
    concurrent request with the same id waits on it and then answers the order it made (never a second one)."""

    __tablename__ = "storefront_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(100))
    # Set in the same transaction that inserts the row; NULL only inside it (the claim comes before the order).
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the request body as loaded: the same id with another body is 409.
    fingerprint: Mapped[str] = mapped_column(String(64))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("shop_id", "external_id"),)
