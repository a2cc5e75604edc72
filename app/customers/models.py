"""Customers (who pay) and the dates they buy flowers for."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.models import TimestampMixin
from app.common.types import UTCDateTime
from app.extensions import db


class Customer(TimestampMixin, db.Model):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    # E.164; NULL once anonymized, so the number can join the shop again as a new customer.
    phone: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2), default="ru")
    notes: Mapped[str] = mapped_column(Text, default="")
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    telegram_chat_id: Mapped[str | None] = mapped_column(String(32))
    anonymized_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    dates: Mapped[list[OccasionDate]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="OccasionDate.id"
    )

    __table_args__ = (
        UniqueConstraint("shop_id", "phone"),
        CheckConstraint("language IN ('ru', 'en')", name="language_known"),
        Index("ix_customers_shop_created", "shop_id", "created_at"),
        # `q` search over name and phone at 100k customers: trigram GIN indexes (PostgreSQL).
        Index("ix_customers_name_trgm", "name", postgresql_using="gin", postgresql_ops={"name": "gin_trgm_ops"}),
        Index("ix_customers_phone_trgm", "phone", postgresql_using="gin", postgresql_ops={"phone": "gin_trgm_ops"}),
    )


class OccasionDate(TimestampMixin, db.Model):
    """A date a customer buys flowers for (mother's birthday ...), reminded N days before."""

    __tablename__ = "occasion_dates"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(120))
    month: Mapped[int] = mapped_column(SmallInteger)
    day: Mapped[int] = mapped_column(SmallInteger)
    year: Mapped[int | None] = mapped_column(Integer)
    # NULL: the shop's setting (occasion_reminder_days).
    remind_days_before: Mapped[int | None] = mapped_column(SmallInteger)
    reminders_enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    customer: Mapped[Customer] = relationship(back_populates="dates")

    __table_args__ = (
        CheckConstraint("month BETWEEN 1 AND 12", name="month_valid"),
        CheckConstraint("day BETWEEN 1 AND 31", name="day_valid"),
        CheckConstraint("remind_days_before IS NULL OR remind_days_before BETWEEN 0 AND 60", name="days_valid"),
        # The reminder scan looks dates up by shop and calendar day.
        Index("ix_occasion_dates_shop_month_day", "shop_id", "month", "day"),
    )
