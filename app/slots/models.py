"""Delivery windows: the weekly ones, a date's override, and how much of a window's capacity orders took."""

import datetime as dt
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.common.models import TimestampMixin
from app.common.types import JSONType
from app.extensions import db

OVERRIDE_MODES = ("replace", "adjust", "closed")


class DeliveryWindow(TimestampMixin, db.Model):
    """A weekly delivery window: one weekday per row, shop-local "HH:MM" times."""

    __tablename__ = "delivery_windows"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday
    start: Mapped[str] = mapped_column(String(5))
    end: Mapped[str] = mapped_column(String(5))
    capacity: Mapped[int] = mapped_column(Integer)
    delivery_fee: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)  # the ETag; +1 on every change

    __table_args__ = (
        Index("ix_delivery_windows_shop_weekday", "shop_id", "weekday", "start"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        CheckConstraint('start < "end"', name="ends_after_start"),
    )


class DeliveryWindowOverride(TimestampMixin, db.Model):
    """What one date does differently from the weekly windows (at most one per shop and date).

    mode "replace": `windows` are the day's windows; "adjust": the weekly windows with `capacity_changes`
    ({start: capacity}) applied, plus `windows` added; "closed": no windows. `surcharge` is added to the
    fee of every window that day.
    """

    __tablename__ = "delivery_window_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)  # `dt.`: the attribute shadows the type in the class body
    mode: Mapped[str] = mapped_column(String(16))
    # [{start, end, capacity, delivery_fee (decimal text)}]
    windows: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    capacity_changes: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    surcharge: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    note: Mapped[str] = mapped_column(String(200), default="")
    # The florists' minutes that day instead of the shop's `workshop_minutes_per_day`; NULL: the shop's.
    workshop_minutes: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        UniqueConstraint("shop_id", "date"),
        CheckConstraint("mode IN ('replace', 'adjust', 'closed')", name="mode_known"),
        CheckConstraint("surcharge >= 0", name="surcharge_not_negative"),
        CheckConstraint("workshop_minutes >= 0", name="workshop_minutes_not_negative"),
    )


class SlotBooking(TimestampMixin, db.Model):
    """One row per shop, delivery date and window start; capacity itself lives in the windows above."""

    __tablename__ = "slot_bookings"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    delivery_date: Mapped[date] = mapped_column(Date)
    # "HH:MM" shop-local, as the window is written.
    window_start: Mapped[str] = mapped_column(String(5))
    taken: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        # The row the atomic take/release updates; also serves the day's listing.
        UniqueConstraint("shop_id", "delivery_date", "window_start"),
        CheckConstraint("taken >= 0", name="taken_not_negative"),
    )
