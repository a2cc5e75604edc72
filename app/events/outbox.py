"""Recording events in the change's own transaction: the transactional outbox.

A service calls `record(...)` where it changes something a client cares about. Nothing is written then: the
events wait in the session and go in at the commit, in one statement per shop, with the subject's API
representation as it is at that commit (each kind of subject has a renderer, registered by its domain).

Positions are never skipped. On PostgreSQL that statement first takes the shop's event lock
(`pg_advisory_xact_lock`), kept until the commit; the positions come from the table's sequence under it,
so a shop's positions become visible in the order they were taken: a reader that has seen N never later
finds an N-1 appear. The same statement NOTIFYs the events stream, which PostgreSQL delivers at the commit.
SQLite (dev mode) has one writer at a time, which gives the same order by itself.
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, orm, text

from app.common.session import after_commit, hold_until_commit, is_held, take_held
from app.common.types import utcnow
from app.events.models import Audience, Event
from app.extensions import db

CHANNEL = "fcrm_events"  # LISTEN fcrm_events: the payload is the shop id
LOCK_SPACE = 7301  # pg_advisory_xact_lock(LOCK_SPACE, shop_id) orders one shop's events
_HELD_KEY = "events"

# subject type -> renderer(shop_id, subject ids) -> {subject id: API representation}
Renderer = Callable[[int, list[str]], dict[str, dict[str, Any]]]
RENDERERS: dict[str, Renderer] = {}
# subject types -> renderer(shop_id, subject ids) -> {subject type: {subject id: API representation}}: one statement
# for several kinds of subject with the same ids, used when a commit wants them all for the same subjects
Renderers = Callable[[int, list[str]], dict[str, dict[str, dict[str, Any]]]]
TOGETHER: dict[tuple[str, ...], Renderers] = {}
# Called after a commit that wrote events, with the shops they belong to (the stream's and the consumers' wake-up).
COMMITTED_HOOKS: list[Callable[[set[int]], None]] = []


@dataclass
class PendingEvent:
    type: str
    shop_id: int
    subject_type: str
    subject_id: str
    audience: str
    courier_id: int | None
    florist_id: int | None
    customer_id: int | None
    data: dict[str, Any] | None
    coalesce: bool = False
    occurred_at: datetime = field(default_factory=utcnow)
    event_id: str = field(default_factory=lambda: f"evt_{secrets.token_hex(16)}")


def renderer(subject_type: str) -> Callable[[Renderer], Renderer]:
    """Register the function that gives subjects of this type their API representation for events."""

    def register(func: Renderer) -> Renderer:
        RENDERERS[subject_type] = func
        return func

    return register


def renderer_together(*subject_types: str) -> Callable[[Renderers], Renderers]:
    """Register the function that renders subjects of these types with the same ids in one go (an order's card and
    its delivery card, which every courier step and a florist's last step tell about)."""

    def register(func: Renderers) -> Renderers:
        TOGETHER[subject_types] = func
        return func

    return register


def record(
    type: str,
    *,
    shop_id: int,
    subject_type: str,
    subject_id: Any,
    audience: str = Audience.STAFF,
    courier_id: int | None = None,
    florist_id: int | None = None,
    customer_id: int | None = None,
    data: dict[str, Any] | None = None,
    coalesce: bool = False,
) -> None:
    """Add an event to the current transaction: it is written at the commit, and dropped by a rollback.

    Without `data`, the event carries the subject's representation as its renderer gives it at the commit.
    With `coalesce`, it is dropped at the commit when the same commit has another event about the same subject
    for the same reader (a courier's `delivery.updated` beside the `delivery.delivered` of the same step).
    """
    hold_until_commit(
        db.session(),
        _HELD_KEY,
        PendingEvent(
            type, shop_id, subject_type, str(subject_id), audience, courier_id, florist_id, customer_id, data, coalesce
        ),
    )


def _reader(item: PendingEvent) -> tuple:
    return (item.shop_id, item.subject_type, item.subject_id, item.audience, item.courier_id, item.florist_id)


def _coalesced(pending: list[PendingEvent]) -> list[PendingEvent]:
    """One event per type, subject and reader (rendered ones carry the same data), and no `coalesce` event
    beside another event for its reader about its subject."""
    kept, seen = [], set()
    others = {_reader(item) for item in pending if not item.coalesce}
    for item in pending:
        key = (item.type, *_reader(item))
        if item.data is None and key in seen:
            continue
        if item.coalesce and _reader(item) in others:
            continue
        seen.add(key)
        kept.append(item)
    return kept


# What a view read for its answer inside an idempotent request's transaction, for the commit's events; and what
# the last commit's events carried, for the view answering next. Each subject is read once per write, whichever
# comes first (tests/events/test_costs.py).
_ANSWERED = "events_answered"
_RENDERED = "events_rendered"


def answered(subject_type: str, shop_id: int, subject_id: Any, data: dict[str, Any]) -> None:
    """The view read `data` after the transaction's last change and before its real commit (`one_transaction`):
    the commit's events about the subject carry it rather than read it again. A later flush drops it."""
    session = db.session()
    if is_held(session):
        session.info.setdefault(_ANSWERED, {})[(shop_id, subject_type, str(subject_id))] = data


def rendered(subject_type: str, shop_id: int, subject_id: Any) -> dict[str, Any] | None:
    """The subject as the events of the commit that just happened carry it; None once the session did anything
    since (a statement, a flush), or when that commit had no event about it."""
    return db.session().info.pop(_RENDERED, {}).get((shop_id, subject_type, str(subject_id)))


def _key(item: PendingEvent) -> tuple[int, str, str]:
    return (item.shop_id, item.subject_type, item.subject_id)


def _render(session: orm.Session, pending: list[PendingEvent]) -> None:
    rendered: dict[tuple[int, str, str], dict[str, Any]] = session.info.pop(_ANSWERED, {})
    wanted: defaultdict[int, defaultdict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for item in pending:
        if item.data is None and _key(item) not in rendered:
            wanted[item.shop_id][item.subject_type].add(item.subject_id)
    for shop_id, of_shop in wanted.items():
        for types, together in TOGETHER.items():
            ids = of_shop.get(types[0])
            if ids and all(of_shop.get(other) == ids for other in types[1:]):
                for subject_type, found in together(shop_id, sorted(ids)).items():
                    rendered.update(((shop_id, subject_type, subject_id), data) for subject_id, data in found.items())
                for subject_type in types:
                    del of_shop[subject_type]
        for subject_type, ids in of_shop.items():
            for subject_id, data in RENDERERS[subject_type](shop_id, sorted(ids)).items():
                rendered[(shop_id, subject_type, subject_id)] = data
    for item in pending:
        if item.data is None:  # a subject gone by the commit (deleted) is named by its id alone
            item.data = rendered.get(_key(item)) or {"id": item.subject_id}
    session.info[_RENDERED] = rendered


@event.listens_for(orm.Session, "after_begin")
@event.listens_for(orm.Session, "after_flush")
def _reads_stale(session: orm.Session, *args: Any) -> None:
    session.info.pop(_RENDERED, None)
    session.info.pop(_ANSWERED, None)


@event.listens_for(orm.Session, "after_soft_rollback")
def _reads_rolled_back(session: orm.Session, previous_transaction: orm.SessionTransaction) -> None:
    if not previous_transaction.nested:
        _reads_stale(session)


_COLUMNS = (
    "event_id",
    "type",
    "occurred_at",
    "subject_type",
    "subject_id",
    "audience",
    "courier_id",
    "florist_id",
    "customer_id",
    "data",
)
# One statement per shop and commit: the shop's event lock, the wake-up, and every event in the order recorded.
_PG_INSERT = text(
    f"""
    WITH shop_lock AS MATERIALIZED (
        SELECT pg_advisory_xact_lock({LOCK_SPACE}, :shop_id), pg_notify('{CHANNEL}', CAST(:shop_id AS text))
    )
    INSERT INTO events (shop_id, {", ".join(_COLUMNS)})
    SELECT :shop_id, {", ".join(f"r.{name}" for name in _COLUMNS)}
    FROM shop_lock, jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
        n integer, event_id text, type text, occurred_at timestamptz, subject_type text, subject_id text,
        audience text, courier_id integer, florist_id integer, customer_id integer, data jsonb
    )
    ORDER BY r.n
    """
)


def _row(item: PendingEvent) -> dict[str, Any]:
    return {name: getattr(item, name) for name in _COLUMNS}


def _write(session: orm.Session, pending: list[PendingEvent]) -> None:
    by_shop: defaultdict[int, list[PendingEvent]] = defaultdict(list)
    for item in pending:
        by_shop[item.shop_id].append(item)
    connection = session.connection()
    for shop_id in sorted(by_shop):  # always in one order: two shops' locks never wait on each other in a circle
        rows = [_row(item) for item in by_shop[shop_id]]
        if connection.dialect.name == "postgresql":
            payload = [{"n": n, **row, "occurred_at": row["occurred_at"].isoformat()} for n, row in enumerate(rows)]
            connection.execute(_PG_INSERT, {"shop_id": shop_id, "rows": json.dumps(payload, default=str)})
        else:
            connection.execute(insert(Event), [{"shop_id": shop_id, **row} for row in rows])


@event.listens_for(orm.Session, "before_commit")
def _write_held_events(session: orm.Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint is released: its events wait for the real commit
    # Renderers read with Core statements, which do not flush by themselves; and a flush may record events.
    session.flush()
    pending = take_held(session, _HELD_KEY)
    if not pending:
        session.info.pop(_ANSWERED, None)  # read for events this commit does not have: never for a later one
        return
    pending = _coalesced(pending)
    _render(session, pending)
    _write(session, pending)
    shops = {item.shop_id for item in pending}
    for hook in COMMITTED_HOOKS:
        after_commit(session, lambda hook=hook: hook(shops), what=f"wake {hook.__name__}")
