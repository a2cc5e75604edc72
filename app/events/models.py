from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.common.types import BigIntPK, JSONType, UTCDateTime
from app.extensions import db

# Every event type a client may receive; docs/clients.md says when each is sent.
EVENT_TYPES = (
    "order.created",
    "order.updated",
    "order.status_changed",
    "order.payment_recorded",
    "order.courier_assigned",
    "task.assigned",
    "task.claimed",
    "task.started",
    "task.completed",
    "delivery.assigned",
    "delivery.unassigned",
    "delivery.picked_up",
    "delivery.delivered",
    "delivery.failed",
    "delivery.returned",
    "delivery.photo_added",
    "task.photo_added",
    "stock.low",
    "message.failed",
    "task.created",
    "task.updated",
    "task.cancelled",
    "task.unassigned",
    "delivery.updated",
    "slots.over_booked",
)


class Audience:
    """Who may read an event besides the shop's admins and managers, who read them all."""

    STAFF = "staff"  # admins and managers only
    COURIER = "courier"  # and the courier named in `courier_id`
    FLORIST = "florist"  # and the florist named in `florist_id`, or every florist while it is None


class Event(db.Model):
    """One change a client cares about, written in the change's own transaction (the outbox).

    `position` orders a shop's events: a transaction takes it while holding its shop's event lock, which it
    keeps until it commits, so a reader that has seen position N never later finds a smaller one appear.
    """

    __tablename__ = "events"

    position: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True)  # "evt_...", the id receivers deduplicate by
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(64))
    audience: Mapped[str] = mapped_column(String(10))
    courier_id: Mapped[int | None] = mapped_column()
    florist_id: Mapped[int | None] = mapped_column()
    # Whose personal data the representation holds, so erasing a customer reaches their events.
    customer_id: Mapped[int | None] = mapped_column()
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)

    __table_args__ = (
        Index("ix_events_shop_position", "shop_id", "position"),
        Index("ix_events_shop_audience_position", "shop_id", "audience", "position"),
        Index("ix_events_shop_courier_position", "shop_id", "courier_id", "position"),
        Index("ix_events_customer", "customer_id", postgresql_where=text("customer_id IS NOT NULL")),
        Index("ix_events_occurred_at", "occurred_at"),
    )


class EventCursor(db.Model):
    """How far one consumer of the log (status messages, webhooks) has handled one shop's events."""

    __tablename__ = "event_cursors"

    consumer: Mapped[str] = mapped_column(String(40), primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
