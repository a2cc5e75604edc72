"""The log's consumers inside the system (customer status messages, webhooks): each reads every event once.

A consumer keeps a cursor per shop (`event_cursors`). `dispatch_shop` locks the shop's cursors, reads the
events after them once, hands each consumer its own and moves the cursors on, all in one transaction: what a
consumer does with an event (a message queued, a webhook delivery written) commits with its cursor, so it
happens exactly once, and a crash before the commit only means the next run does it. A commit that wrote events
queues one dispatch of its shop, a second later (`wake_consumers`); a sweep (`dispatch_all`, every 10 s from rq
cron) catches what a lost wake-up left behind.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import TextClause, func, select, text

from app.events.models import Event, EventCursor
from app.events.outbox import COMMITTED_HOOKS
from app.extensions import db, redis_client
from app.jobs import enqueue_later
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
    idle: Callable[[int], bool] | None = None  # True: the shop has nothing to hand events to (its cursor moves on)


CONSUMERS: dict[str, Consumer] = {}


def consumer(
    name: str, *, types: set[str] | None = None, idle: Callable[[int], bool] | None = None
) -> Callable[[Callable[[Event], None]], Callable]:
    """Register `handle(event)`, run once per event of the given types, in the dispatch transaction. `idle(shop_id)`,
    if given, says when handling would do nothing for the shop (no webhook endpoint): the consumer's cursor moves
    past the events without handing them over."""

    def register(handle: Callable[[Event], None]) -> Callable[[Event], None]:
        CONSUMERS[name] = Consumer(name, handle, frozenset(types) if types else None, idle)
        return handle

    return register


@functools.cache
def _lock_cursors_statement(names: tuple[str, ...]) -> TextClause:
    """One statement: the consumers' cursors of a shop, made where missing, locked (always in one order, so two
    dispatches of a shop never wait on each other in a circle) and read. Plain SQL that PostgreSQL and SQLite
    both speak, compiled once per set of consumers."""
    rows = ", ".join(f"(:c{n}, :shop_id, 0)" for n in range(len(names)))
    return text(
        f"INSERT INTO event_cursors (consumer, shop_id, position) VALUES {rows} "
        "ON CONFLICT (consumer, shop_id) DO UPDATE SET position = event_cursors.position "
        "RETURNING consumer, position"
    )


_MOVE_CURSOR = text("UPDATE event_cursors SET position = :position WHERE consumer = :consumer AND shop_id = :shop_id")


def _run(shop_id: int) -> int:
    """One batch of the shop's events for every consumer, in one transaction; how many events were read."""
    names = tuple(sorted(CONSUMERS))
    statement = _lock_cursors_statement(names)
    found = db.session.execute(statement, {"shop_id": shop_id, **{f"c{n}": name for n, name in enumerate(names)}})
    positions = dict(found.tuples().all())
    stmt = select(Event).where(Event.shop_id == shop_id, Event.position > min(positions.values()))
    types = [item.types for item in CONSUMERS.values()]
    if None not in types:
        stmt = stmt.where(Event.type.in_(sorted(set().union(*types))))
    events = db.session.scalars(stmt.order_by(Event.position).limit(BATCH)).all()
    moves = []
    for name in names:
        item = CONSUMERS[name]
        mine = [
            event
            for event in events
            if event.position > positions[name] and (item.types is None or event.type in item.types)
        ]
        if mine:
            idle = _is_idle(item, shop_id)
            if idle is None:
                continue  # could not tell: its cursor stays, the next run tries again
            if not idle:
                _hand_over(item, mine)
        if events and events[-1].position > positions[name]:
            moves.append({"consumer": name, "shop_id": shop_id, "position": events[-1].position})
    if moves:
        db.session.execute(_MOVE_CURSOR, moves)
    db.session.commit()
    return len(events)


def _is_idle(item: Consumer, shop_id: int) -> bool | None:
    """Whether the consumer has nothing to do for the shop (None: the question failed; the other consumers go on).
    Asked after the events were read: an endpoint made after the read gets the next run's events."""
    if item.idle is None:
        return False
    try:
        with db.session.begin_nested():
            return item.idle(shop_id)
    except Exception:
        log.exception("consumer %s could not tell whether shop %s has anything for it", item.name, shop_id)
        return None


def _hand_over(item: Consumer, events: list[Event]) -> None:
    for event in events:
        try:
            with db.session.begin_nested():
                item.handle(event)
        except Exception:  # one broken event must not hold up the shop's next ones; the log keeps it
            log.exception("consumer %s failed on event %s (%s)", item.name, event.event_id, event.type)


def dispatch_shop(shop_id: int) -> None:
    """Hand every consumer the shop's events it has not had yet (the job a commit with events queues)."""
    redis_client.delete(_QUEUED_KEY.format(shop_id=shop_id))
    if CONSUMERS:
        while _run(shop_id) == BATCH:
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
    """After a commit with events: one dispatch job per shop, unless one is waiting already.

    The job starts EVENTS_DISPATCH_DELAY seconds later: the shop's commits meanwhile wait for the same job, so on
    a busy day one job hands over a second's events, not one job per write (docs/jobs.md, "The dispatcher")."""
    if not CONSUMERS:
        return
    delay = current_app.config["EVENTS_DISPATCH_DELAY"]
    for shop_id in sorted(shop_ids):
        if redis_client.set(_QUEUED_KEY.format(shop_id=shop_id), 1, nx=True, ex=_QUEUED_TTL):
            # Nothing to keep of a run that went well (result_ttl 0): a failed one stays in the failed registry.
            enqueue_later(
                DISPATCH_QUEUE,
                delay,
                dispatch_shop,
                shop_id,
                result_ttl=0,
                description=f"dispatch events of shop {shop_id}",
            )


COMMITTED_HOOKS.append(wake_consumers)
