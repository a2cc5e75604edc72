"""How much of a delivery window's capacity orders have taken, per shop, date and window."""

from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.common.models import TimestampMixin
from app.extensions import db


class SlotBooking(TimestampMixin, db.Model):
    """One row per shop, delivery date and window start; capacity itself lives in the shop settings."""

    __tablename__ = "slot_bookings"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    delivery_date: Mapped[date] = mapped_column(Date)
    # "HH:MM" shop-local, as the window is written in the shop settings.
    window_start: Mapped[str] = mapped_column(String(5))
    taken: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        # The row the atomic take/release updates; also serves the day's listing.
        UniqueConstraint("shop_id", "delivery_date", "window_start"),
        CheckConstraint("taken >= 0", name="taken_not_negative"),
    )
