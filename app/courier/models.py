"""Deliveries: what happened on the way to the door, beside the order (whose `courier_id` says who carries it).

A `Delivery` row is made when a courier is first assigned and holds the trip's facts: when it left
the shop, how many trips it took, the last failure, the proof photo, the client's and the server's
time of hand-over and the cash collected. `CourierAssignment` keeps every courier an order ever had,
so a step from a courier the order was taken from is told "reassigned" (409), not "not found".
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.common.models import TimestampMixin
from app.common.types import UTCDateTime, utcnow
from app.extensions import db


class FailureReason(StrEnum):
    NOBODY_HOME = "nobody_home"
    WRONG_ADDRESS = "wrong_address"
    REFUSED = "refused"
    OTHER = "other"


class Delivery(TimestampMixin, db.Model):
    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    # Trips out of the shop: 2 after a failed attempt sent out again.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    picked_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failure_reason: Mapped[str | None] = mapped_column(String(16))
    failure_comment: Mapped[str] = mapped_column(Text, default="")
    # The server's clock, and the courier's phone's (it may have been offline when it happened).
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    client_completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    amount_collected: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("order_payments.id", ondelete="SET NULL"))
    photo_key: Mapped[str | None] = mapped_column(String(255))
    photo_uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(
            "failure_reason IS NULL OR failure_reason IN (" + ", ".join(f"'{r.value}'" for r in FailureReason) + ")",
            name="failure_reason_known",
        ),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        CheckConstraint("amount_collected IS NULL OR amount_collected >= 0", name="amount_collected_not_negative"),
        # The couriers report: a shop's deliveries in a period.
        Index("ix_deliveries_shop_delivered", "shop_id", "delivered_at"),
    )


class CourierAssignment(db.Model):
    """A courier given an order, until another courier (or nobody) is."""

    __tablename__ = "courier_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    courier_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # NULL while the courier still has the order.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_courier_assignments_order_courier", "order_id", "courier_id"),)
