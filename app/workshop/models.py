"""The florists' minutes each delivery date's orders hold."""

from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.common.models import TimestampMixin
from app.extensions import db


class WorkshopBooking(TimestampMixin, db.Model):
    """One row per shop and date: the minutes its orders hold; the day's minutes live in the shop's settings
    and the date's override."""

    __tablename__ = "workshop_bookings"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    delivery_date: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        # The row the atomic take/release updates.
        UniqueConstraint("shop_id", "delivery_date"),
        CheckConstraint("minutes >= 0", name="minutes_not_negative"),
    )
