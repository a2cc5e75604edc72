"""Standing orders (a customer's flowers every Friday, every March 8) and what became of each date."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.common.models import TimestampMixin
from app.common.types import JSONType, UTCDateTime, utcnow
from app.extensions import db

OCCURRENCE_STATUSES = ("made", "skipped", "failed")


class StandingOrder(TimestampMixin, db.Model):
    __tablename__ = "standing_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    # The body of POST /orders without its date: recipient, address, items, fulfillment, window or pickup
    # time, card, comment, promo code.
    template: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # frequency, interval, weekdays / month_day / nth + weekday / month / named_day (app/standing/rules.py).
    rule: Mapped[dict[str, Any]] = mapped_column(JSONType)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    count: Mapped[int | None] = mapped_column(Integer)
    lead_days: Mapped[int] = mapped_column(Integer, default=7)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # The next date not yet made, and the shop-local day its order is due to be made (next_date − lead_days):
    # the scan reads only rows whose due day has come. NULL: the series is over.
    next_date: Mapped[dt.date | None] = mapped_column(Date)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        CheckConstraint("lead_days >= 0 AND lead_days <= 60", name="lead_days_range"),
        CheckConstraint("count IS NULL OR count > 0", name="count_positive"),
        Index("ix_standing_orders_shop_created", "shop_id", "id"),
        Index("ix_standing_orders_due", "due_on", postgresql_where=text("NOT paused AND due_on IS NOT NULL")),
    )


class StandingOccurrence(db.Model):
    """One date of a series, once: made (its order), skipped by a manager, or failed (why)."""

    __tablename__ = "standing_occurrences"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    standing_order_id: Mapped[int] = mapped_column(ForeignKey("standing_orders.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    # Why the order was placed outside the rules (full window, closed day, product off sale, promo refused),
    # or why none was made; empty when all went well.
    problem: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("standing_order_id", "date"),
        CheckConstraint("status IN ('made', 'skipped', 'failed')", name="status_known"),
        Index("ix_standing_occurrences_order", "order_id"),
    )
