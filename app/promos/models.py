"""Promo codes a shop hands out, and how many times each has been used."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.common.models import TimestampMixin
from app.common.types import UTCDateTime
from app.extensions import db

PROMO_KINDS = ("percent", "fixed")


class PromoCode(TimestampMixin, db.Model):
    __tablename__ = "promo_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    # Stored upper-cased: codes are case-insensitive, so "spring10" and "SPRING10" are one code.
    code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(8))
    # Percent (0-100) or an amount of money, by kind.
    value: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    min_order_total: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    # NULL: unlimited.
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        UniqueConstraint("shop_id", "code"),
        CheckConstraint("kind IN ('percent', 'fixed')", name="kind_known"),
        CheckConstraint("value >= 0", name="value_not_negative"),
        CheckConstraint("kind <> 'percent' OR value <= 100", name="percent_at_most_100"),
        CheckConstraint("min_order_total >= 0", name="min_order_total_not_negative"),
        CheckConstraint("max_uses IS NULL OR max_uses >= 0", name="max_uses_not_negative"),
        # max_uses may be lowered below uses (the code is then used up), so only the floor is checked.
        CheckConstraint("uses >= 0", name="uses_not_negative"),
        Index("ix_promo_codes_shop_created", "shop_id", "created_at"),
    )
