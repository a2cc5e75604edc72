"""Reading the event log: the catch-up feed (and the stream, which reads the same way), its retention, and a
customer's erasure from it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, delete, or_, select

from app.common.types import utcnow
from app.events.models import Audience, Event
from app.extensions import db
from app.users.models import Role

EVENTS = Event.__table__.c
# The event's representation as clients receive it, in the feed, the stream and webhooks alike.
FEED_COLUMNS = (
    EVENTS.position,
    EVENTS.event_id,
    EVENTS.type,
    EVENTS.occurred_at,
    EVENTS.subject_type,
    EVENTS.subject_id,
    EVENTS.data,
)
PRUNE_BATCH = 5000


def visible_to(shop_id: int, role: Role, user_id: int) -> list[ColumnElement[bool]]:
    """The WHERE of what a member of the shop may read: managers and admins everything, a courier their own
    deliveries, a florist their own tasks and the unassigned ones."""
    where = [EVENTS.shop_id == shop_id]
    if role == Role.COURIER:
        where += [EVENTS.audience == Audience.COURIER, EVENTS.courier_id == user_id]
    elif role == Role.FLORIST:
        where += [
            EVENTS.audience == Audience.FLORIST,
            or_(EVENTS.florist_id.is_(None), EVENTS.florist_id == user_id),
        ]
    return where


def type_filter(types: list[str]) -> ColumnElement[bool]:
    """`order.created` names one type, `order.*` a family."""
    exact = [name for name in types if not name.endswith(".*")]
    families = [name[:-1] for name in types if name.endswith(".*")]
    return or_(EVENTS.type.in_(exact), *(EVENTS.type.startswith(prefix, autoescape=True) for prefix in families))


def read(
    *, shop_id: int, role: Role, user_id: int, after: int, types: list[str] | None = None, limit: int = 100
) -> list[dict]:
    """The events after `after` that this member may read, in position order: one statement."""
    stmt = select(*FEED_COLUMNS).where(*visible_to(shop_id, role, user_id), EVENTS.position > after)
    if types:
        stmt = stmt.where(type_filter(types))
    rows = db.session.execute(stmt.order_by(EVENTS.position).limit(limit)).mappings()
    return [as_message(row) for row in rows]


def as_message(row) -> dict:
    return {
        "id": row["event_id"],
        "position": row["position"],
        "type": row["type"],
        "occurred_at": row["occurred_at"],
        "subject": {"type": row["subject_type"], "id": row["subject_id"]},
        "data": row["data"],
    }


def prune_events() -> int:
    """Remove events older than EVENT_RETENTION_DAYS (a daily job), in batches; returns how many went."""
    cutoff = utcnow() - timedelta(days=current_app.config["EVENT_RETENTION_DAYS"])
    removed = 0
    while True:
        batch = select(EVENTS.position).where(EVENTS.occurred_at < cutoff).limit(PRUNE_BATCH)
        gone = db.session.execute(delete(Event).where(EVENTS.position.in_(batch.scalar_subquery()))).rowcount
        db.session.commit()
        removed += gone
        if gone < PRUNE_BATCH:
            return removed


ERASED = "[erased]"  # what the customer and message log erasure leave in place of a value they must keep a key for
# The personal fields of the representations events carry (order card, delivery card, task, message log entry),
# and what each API shows in their place once the customer is anonymized.
PERSONAL_FIELDS: dict[str, Any] = {
    "recipient_name": "",
    "recipient_phone": None,
    "address": None,
    "card_text": "",
    "comment": "",
    "note": "",
    "failure_comment": "",
    "photo_url": None,
    "recipient": ERASED,
}
CUSTOMER_FIELDS: dict[str, Any] = {"name": "", "phone": None}


def erased(data: dict[str, Any]) -> dict[str, Any]:
    """An event's data with the customer's personal fields blanked as the API shows them after anonymization."""
    scrubbed = {key: PERSONAL_FIELDS.get(key, value) for key, value in data.items()}
    customer = data.get("customer")
    if isinstance(customer, dict):
        scrubbed["customer"] = {key: CUSTOMER_FIELDS.get(key, value) for key, value in customer.items()}
    return scrubbed


def forget_customer(shop_id: int, customer_id: int) -> int:
    """The customer is anonymized: their events keep type, time and subject, and the personal part of their data
    goes (recipient, address, card text, notes, proof photo, the customer's name and phone). Does not commit;
    how many events changed."""
    events = db.session.scalars(
        select(Event)
        .where(Event.shop_id == shop_id, Event.customer_id == customer_id)
        .order_by(Event.position)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    changed = 0
    for event in events:
        scrubbed = erased(event.data or {})
        if scrubbed != event.data:
            event.data = scrubbed  # a new dict, so the JSON column saves
            changed += 1
    return changed
