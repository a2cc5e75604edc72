"""The messaging domain and the event log: the customers' status messages read the log, and a message that
failed for good is an event for the shop's managers (`message.failed`, recorded by app/messaging/jobs.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.events import dispatch, outbox
from app.events.models import Event
from app.extensions import db
from app.messaging.models import MessageLog
from app.messaging.order_reminders import tell_status
from app.messaging.schemas import MessageSchema

MESSAGE_SCHEMA = MessageSchema()


@dispatch.consumer("status_messages", types={"order.status_changed"})
def status_messages(event: Event) -> None:
    """Out for delivery, delivered: the customer's message, once per move (its key carries the order's version)."""
    tell_status(event.shop_id, event.data)


@outbox.renderer("message")
def message_events_data(shop_id: int, message_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The message log entries, as GET /messages shows them (recipient masked, no secrets): one statement."""
    rows = db.session.scalars(
        select(MessageLog)
        .where(MessageLog.id.in_([int(i) for i in message_ids]), MessageLog.shop_id == shop_id)
        .execution_options(populate_existing=True)
    )
    return {str(row.id): MESSAGE_SCHEMA.dump(row) for row in rows}
