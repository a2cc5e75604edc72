from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.common.models import TimestampMixin
from app.common.types import BigIntPK, JSONType, UTCDateTime
from app.extensions import db

MESSAGE_STATUSES = ("queued", "sending", "sent", "failed")


class MessageLog(TimestampMixin, db.Model):
    """Every OTP and reminder sent, or tried. `occurrence_key` makes each message happen once."""

    __tablename__ = "message_log"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The customer a message went to (reminders, order status): an admin's retry finds the address again.
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    # The order a courier, florist, status or overdue message is about.
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    recipient_masked: Mapped[str] = mapped_column(String(64))
    template: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(2), default="ru")
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)
    occurrence_key: Mapped[str] = mapped_column(String(200), unique=True)
    # The template's context, never a secret: an OTP code travels only in the job's arguments.
    context: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The RQ job that owns the row: only it may claim and settle it, so a stale or duplicated job does nothing.
    job_id: Mapped[str | None] = mapped_column(String(64))
    # When a queued row is due to be tried; the recovery sweep queues it again if no live job took it by then.
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("status IN ('queued', 'sending', 'sent', 'failed')", name="status_known"),
        Index("ix_message_log_shop_created", "shop_id", "created_at"),
        Index("ix_message_log_status_updated", "status", "updated_at"),
        Index("ix_message_log_status_next_try", "status", "next_try_at"),
        Index("ix_message_log_customer", "customer_id"),
        Index("ix_message_log_order", "order_id"),
    )
