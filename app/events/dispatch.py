"""The log's consumers inside the system (customer status messages, webhooks): each reads every event once.

A consumer keeps a cursor per shop (`event_cursors`). `dispatch_shop` locks the cursor, hands the events
after it to the consumer and moves it on, all in one transaction: what a consumer does with an event (a
message queued, a webhook delivery written) commits with the cursor, so it happens exactly once, and a
crash before the commit only means the next run does it. A commit that wrote events queues one dispatch
of its shop; a sweep (`dispatch_all`, every 10 s from rq cron) catches what a lost wake-up left behind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.events.models import Event, EventCursor
from app.events.outbox import COMMITTED_HOOKS
from app.extensions import db, redis_client
from app.jobs import enqueue_now
from app.shops.models import Shop

log = logging.getLogger(__name__)
BATCH = 500
DISPATCH_QUEUE = "status"  # customer status messages ride on it: drained right after login codes
SWEEP_INTERVAL = 10  # seconds
_QUEUED_KEY = "events:dispatch-queued:{shop_id}"
_QUEUED_TTL = 60  # a lost dispatch job frees its shop's flag by then; the sweep covers the gap


@dataclass(frozen=True)
class Consumer:
    name: str
    handle: Callable[[Event], None]
    types: frozenset[str] | None  # None: every type
    idle: Callable[[int], bool] | None = None  # True: the shop has nothing to hand events to (its cursor just moves on)


CONSUMERS: dict[str, Consumer] = {}


def consumer(
    name: str, *, types: set[str] | None = None, idle: Callable[[int], bool] | None = None
) -> Callable[[Callable[[Event], None]], Callable]:
    """Register `handle(event)`, run once per event of the given types, in the dispatch transaction. `idle(shop_id)`,
    if given, says when handling would do nothing for the shop (no webhook endpoint): the events are not read."""

    def register(handle: Callable[[Event], None]) -> Callable[[Event], None]:
        CONSUMERS[name] = Consumer(name, handle, frozenset(types) if types else None, idle)
        return handle

    return register


def _locked_cursor(name: str, shop_id: int) -> EventCursor:
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(insert(EventCursor).values(consumer=name, shop_id=shop_id, position=0).on_conflict_do_nothing())
    return db.session.scalars(
        select(EventCursor)
        .where(EventCursor.consumer == name, EventCursor.shop_id == shop_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _run(item: Consumer, shop_id: int) -> int:
    """One batch of one consumer's events of the shop; how many were read."""
    cursor = _locked_cursor(item.name, shop_id)
    if item.idle is not None:
        # The newest event before asking, as the events are read before the endpoints otherwise: one committed
        # after the answer is handled by the next run.
        newest = db.session.scalar(select(func.max(Event.position)).where(Event.shop_id == shop_id)) or 0
        if item.idle(shop_id):
            cursor.position = max(cursor.position, newest)
            db.session.commit()
            return 0
    stmt = select(Event).where(Event.shop_id == shop_id, Event.position > cursor.position)
    if item.types is not None:
        stmt = stmt.where(Event.type.in_(item.types))
    events = db.session.scalars(stmt.order_by(Event.position).limit(BATCH)).all()
    for event in events:
        try:
            with db.session.begin_nested():
                item.handle(event)
        except Exception:  # one broken event must not hold up the shop's next ones; the log keeps it
            log.exception("consumer %s failed on event %s (%s)", item.name, event.event_id, event.type)
    if events:
        cursor.position = events[-1].position
    db.session.commit()
    return len(events)


def dispatch_shop(shop_id: int) -> None:
    """Hand every consumer the shop's events it has not had yet (the job a commit with events queues)."""
    redis_client.delete(_QUEUED_KEY.format(shop_id=shop_id))
    for item in CONSUMERS.values():
        while _run(item, shop_id) == BATCH:
            pass


def dispatch_all() -> None:
    """The sweep: every shop with events some consumer has not had (after a lost wake-up or a crash)."""
    # Per shop, the newest position is one step down its index, however long the log is.
    last = select(func.max(Event.position)).where(Event.shop_id == Shop.id).scalar_subquery()
    for name in CONSUMERS:
        had = (
            select(EventCursor.position)
            .where(EventCursor.shop_id == Shop.id, EventCursor.consumer == name)
            .scalar_subquery()
        )
        behind = db.session.scalars(select(Shop.id).where(last > func.coalesce(had, 0)).order_by(Shop.id)).all()
        for shop_id in behind:
            dispatch_shop(shop_id)


def wake_consumers(shop_ids: set[int]) -> None:
    """After a commit with events: one dispatch job per shop, unless one is queued already."""
    if not CONSUMERS:
        return
    for shop_id in sorted(shop_ids):
        if redis_client.set(_QUEUED_KEY.format(shop_id=shop_id), 1, nx=True, ex=_QUEUED_TTL):
            enqueue_now(DISPATCH_QUEUE, dispatch_shop, shop_id, description=f"dispatch events of shop {shop_id}")


COMMITTED_HOOKS.append(wake_consumers)
