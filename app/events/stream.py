"""The live stream of the event log: Server-Sent Events, served by a process of its own (`make events`).

One hub per process. It holds ONE PostgreSQL connection, LISTENing on `fcrm_events` (the outbox NOTIFYs the
shop id when a transaction with events commits), and one feed per shop that has clients connected. A wake-up,
or every EVENTS_POLL_SECONDS a poll standing in for a lost NOTIFY or a restarted database, makes the shop's feed
read its new events once, with a short pooled connection, and hand each client what it may see (`visible_row`,
the in-memory twin of the feed's `visible_to`). An idle client holds a list of events to send, never a database
connection, nor a timer: one ticker per process pokes the clients due a heartbeat.

A client joining is told how far its shop's feed has handed out (its floor): it reads its own events up to the
floor with the feed's query, then takes the rest from its list, skipping positions it has sent, so nothing is
lost or repeated. A checker re-reads every client's login, user and membership every EVENTS_AUTH_CHECK_SECONDS
and ends the streams that lost their right (a logout, a deactivation, a membership removed or changed).

Under gunicorn's gevent worker (gunicorn.events.conf.py) the threads here are greenlets and psycopg 3 waits
cooperatively under gevent's monkey-patching; under `flask run` (dev mode, SQLite) they are threads, woken by the
outbox's COMMITTED_HOOKS in the same process.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask, Response, current_app, request
from sqlalchemy import create_engine
from sqlalchemy import select as sql_select
from sqlalchemy.pool import NullPool

from app.auth.models import LoginSession
from app.auth.tokens import ISSUED_AT_CLAIM, REVOKED_JTI_PREFIX, issued_before_cutoff
from app.errors import DomainError, RuleViolation, ServiceUnavailable, error_response
from app.events import services
from app.events.outbox import CHANNEL, COMMITTED_HOOKS
from app.events.schemas import EventSchema
from app.events.tickets import StreamGrant
from app.extensions import db, redis_client
from app.users.models import Membership, User

log = logging.getLogger(__name__)
T = TypeVar("T")

READ_BATCH = 500
QUEUE_LIMIT = 5000  # events waiting for one client; a client that far behind is cut off and resumes
JOIN_TIMEOUT = 10  # seconds a new client waits for its shop's feed to know where it stands
RETRY_MS = 3000  # how long EventSource waits before it reconnects
LISTEN_LIVENESS = 30  # seconds between checks that the listening connection is still alive
STREAM_ENDPOINT = "events.Stream"
STREAM_PATH = "/api/v1/events/stream"
_EVENT_SCHEMA = EventSchema()


class ServedElsewhere(DomainError):
    """421: this process does not serve that address; the message says which one does."""

    status_code = 421


def message_frame(message: dict[str, Any]) -> bytes:
    """One event in the SSE format: `id:` its position, `event:` its type, `data:` the feed's JSON of it."""
    data = json.dumps(_EVENT_SCHEMA.dump(message), ensure_ascii=False, separators=(",", ":"))
    return f"id: {message['position']}\nevent: {message['type']}\ndata: {data}\n\n".encode()


@dataclass(eq=False)
class Client:
    """One connected stream: what it may see, and the events handed to it but not yet sent."""

    grant: StreamGrant
    after: int
    types: list[str] | None
    pending: deque = field(default_factory=deque)  # (position, frame) handed out, not yet sent
    signal: threading.Event = field(default_factory=threading.Event)  # something to send, a heartbeat due, or the end
    joined: threading.Event = field(default_factory=threading.Event)
    floor: int = 0  # its shop's feed had handed out everything up to here when it joined
    ended: str | None = None
    last_write: float = field(default_factory=time.monotonic)

    def wants(self, row: Any) -> bool:
        return services.visible_row(row, self.grant.role, self.grant.user_id) and services.type_matches(
            row["type"], self.types
        )

    def hand(self, position: int, frame: bytes) -> None:
        if self.ended is not None:
            return
        if len(self.pending) >= QUEUE_LIMIT:
            self.end("too far behind; reconnect to resume")
            return
        self.pending.append((position, frame))
        self.signal.set()

    def end(self, reason: str) -> None:
        if self.ended is None:
            self.ended = reason
            self.signal.set()


@dataclass(eq=False)
class ShopFeed:
    shop_id: int
    clients: set[Client] = field(default_factory=set)
    cursor: int | None = None  # the last position handed out; None until read from the log
    wake: threading.Event = field(default_factory=threading.Event)


class Hub:
    """The process's listener, its shops' feeds and the login checker."""

    def __init__(self, app: Flask):
        self.app = app
        self.lock = threading.Lock()
        self.feeds: dict[int, ShopFeed] = {}
        self.poll_seconds = app.config["EVENTS_POLL_SECONDS"]
        self.check_seconds = app.config["EVENTS_AUTH_CHECK_SECONDS"]
        self.heartbeat_seconds = app.config["EVENTS_HEARTBEAT_SECONDS"]

    def start(self) -> None:
        if self.app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            _spawn(self._listen, "events-listen")
        _spawn(self._check_logins, "events-logins")
        _spawn(self._tick_heartbeats, "events-heartbeats")
        COMMITTED_HOOKS.append(self.wake)  # commits in this very process (dev mode) wake it without NOTIFY

    def with_db(self, read: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`read(...)` on a pooled connection, given back as soon as it returns."""
        with self.app.app_context():
            try:
                return read(*args, **kwargs)
            finally:
                db.session.remove()

    # --- clients -------------------------------------------------------------------------------------------------

    def join(self, client: Client) -> None:
        shop_id = client.grant.shop_id
        with self.lock:
            feed = self.feeds.get(shop_id)
            if feed is None:
                feed = self.feeds[shop_id] = ShopFeed(shop_id)
                _spawn(lambda: self._run_feed(feed), f"events-shop-{shop_id}")
            feed.clients.add(client)
            if feed.cursor is not None:
                client.floor = feed.cursor
                client.joined.set()

    def leave(self, client: Client) -> None:
        with self.lock:
            feed = self.feeds.get(client.grant.shop_id)
            if feed is not None:
                feed.clients.discard(client)
                if not feed.clients:
                    feed.wake.set()  # its reader notices it is alone and stops

    def clients(self) -> list[Client]:
        with self.lock:
            return [client for feed in self.feeds.values() for client in feed.clients]

    def wake(self, shop_ids: set[int]) -> None:
        for shop_id in shop_ids:
            feed = self.feeds.get(shop_id)
            if feed is not None:
                feed.wake.set()

    def wake_all(self) -> None:
        self.wake(set(self.feeds))

    # --- the feeds ----------------------------------------------------------------------------------------------

    def _run_feed(self, feed: ShopFeed) -> None:
        while feed.cursor is None:
            try:
                newest = self.with_db(services.newest_position, feed.shop_id)
            except Exception:
                log.exception("events: cannot read where shop %s's log stands; retrying", feed.shop_id)
                time.sleep(1)
                continue
            with self.lock:
                feed.cursor = newest
                for client in feed.clients:
                    client.floor = newest
                    client.joined.set()
        while True:
            feed.wake.wait(self.poll_seconds)
            feed.wake.clear()
            with self.lock:
                if not feed.clients:
                    del self.feeds[feed.shop_id]
                    return
            try:
                self._hand_out_new(feed)
            except Exception:  # the database restarting: the next wake or poll reads again from the same cursor
                log.exception("events: reading shop %s's new events failed", feed.shop_id)
                time.sleep(1)

    def _hand_out_new(self, feed: ShopFeed) -> None:
        while True:
            rows = self.with_db(services.read_for_stream, shop_id=feed.shop_id, after=feed.cursor, limit=READ_BATCH)
            if not rows:
                return
            frames: dict[int, bytes] = {}
            with self.lock:  # a client joining now gets either this batch or a floor past it, never neither
                for row in rows:
                    for client in feed.clients:
                        if client.wants(row):
                            frame = frames.get(row["position"])
                            if frame is None:
                                frame = frames[row["position"]] = message_frame(services.as_message(row))
                            client.hand(row["position"], frame)
                feed.cursor = rows[-1]["position"]
            if len(rows) < READ_BATCH:
                return

    # --- the wake-ups ---------------------------------------------------------------------------------------------

    def _listen(self) -> None:
        """LISTEN on one connection of its own; each NOTIFY wakes its shop's feed."""
        with self.app.app_context():
            engine = create_engine(db.engine.url, poolclass=NullPool)
        while True:
            connection = None
            try:
                connection = engine.raw_connection()
                driver = connection.driver_connection
                driver.autocommit = True
                with driver.cursor() as cursor:
                    cursor.execute(f"LISTEN {CHANNEL}")
                self.wake_all()  # whatever committed while nobody listened
                checked = time.monotonic()
                while True:
                    for note in driver.notifies(timeout=self.poll_seconds):
                        if note.payload.isdigit():
                            self.wake({int(note.payload)})
                    if time.monotonic() - checked > LISTEN_LIVENESS:
                        with driver.cursor() as cursor:
                            cursor.execute("SELECT 1")
                        checked = time.monotonic()
            except Exception as exc:  # the database went away: listen again; the feeds poll meanwhile
                log.warning("events: the LISTEN connection failed (%s); reconnecting", type(exc).__name__)
                time.sleep(1)
            finally:
                if connection is not None:
                    try:
                        connection.close()
                    except Exception:
                        log.debug("events: closing the broken LISTEN connection failed", exc_info=True)

    def _tick_heartbeats(self) -> None:
        tick = min(1.0, self.heartbeat_seconds / 2)
        while True:
            time.sleep(tick)
            due = time.monotonic() - self.heartbeat_seconds
            for client in self.clients():
                if client.last_write <= due:
                    client.signal.set()

    def _check_logins(self) -> None:
        while True:
            time.sleep(self.check_seconds)
            clients = self.clients()
            if not clients:
                continue
            try:
                reasons = self.with_db(lost_rights, [client.grant for client in clients])
            except Exception:
                log.exception("events: checking the streams' logins failed")
                continue
            for client, reason in zip(clients, reasons, strict=True):
                if reason is not None:
                    client.end(reason)


def _spawn(target: Callable[[], None], name: str) -> None:
    threading.Thread(target=target, name=name, daemon=True).start()


# --- rights -------------------------------------------------------------------------------------------------------


def lost_rights(grants: Sequence[StreamGrant]) -> list[str | None]:
    """Why each stream may no longer run (None: it may), in three statements and one Redis round trip for all."""
    user_ids = {grant.user_id for grant in grants}
    session_ids = {grant.session_id for grant in grants if grant.session_id}
    users = {
        row.id: row
        for row in db.session.execute(
            sql_select(User.id, User.is_active, User.tokens_valid_after).where(User.id.in_(user_ids))
        )
    }
    live_sessions = set(
        db.session.scalars(
            sql_select(LoginSession.id).where(LoginSession.id.in_(session_ids), LoginSession.revoked_at.is_(None))
        )
    )
    roles = {
        (row.user_id, row.shop_id): row.role
        for row in db.session.execute(
            sql_select(Membership.user_id, Membership.shop_id, Membership.role).where(
                Membership.user_id.in_(user_ids), Membership.deactivated_at.is_(None)
            )
        )
    }
    jtis = [grant.jti for grant in grants if grant.jti]
    revoked = _revoked_jtis(jtis)
    reasons: list[str | None] = []
    for grant in grants:
        user = users.get(grant.user_id)
        if user is None or not user.is_active:
            reasons.append("user deactivated")
        elif (
            (grant.session_id and grant.session_id not in live_sessions)
            or issued_before_cutoff({ISSUED_AT_CLAIM: grant.issued_at_us}, user)
            or grant.jti in revoked
        ):
            reasons.append("login ended")
        elif roles.get((grant.user_id, grant.shop_id)) != grant.role.value:
            reasons.append("membership changed")
        else:
            reasons.append(None)
    return reasons


def _revoked_jtis(jtis: list[str]) -> set[str]:
    if not jtis:
        return set()
    try:
        pipe = redis_client.pipeline(transaction=False)
        for jti in jtis:
            pipe.exists(REVOKED_JTI_PREFIX + jti)
        return {jti for jti, found in zip(jtis, pipe.execute(), strict=True) if found}
    except Exception:  # Redis down: PostgreSQL's login sessions still end a logout's streams
        log.warning("events: Redis unreachable while checking revoked tokens")
        return set()


# --- the HTTP side ------------------------------------------------------------------------------------------------

_HUB_LOCK = threading.Lock()


def hub_of(app: Flask) -> Hub:
    """The process's hub, started on the first stream."""
    with _HUB_LOCK:
        hub = app.extensions.get("events_hub")
        if hub is None:
            hub = app.extensions["events_hub"] = Hub(app)
            hub.start()
        return hub


def ensure_served_here() -> None:
    if not current_app.config["EVENTS_STREAM_SERVED"]:
        raise ServedElsewhere(
            "The event stream is served by the events service, not by the API: route /api/v1/events/stream "
            "to it (docs/operations.md)."
        )


def resume_after(last_event_id: str | None, after: int) -> int:
    """Where to resume: the Last-Event-ID an EventSource sends on reconnecting wins over `?after=`."""
    if last_event_id is None or not last_event_id.strip():
        return after
    value = last_event_id.strip()
    if not value.isdigit() or int(value) > 2**63 - 1:
        raise RuleViolation(
            "Last-Event-ID must be an event position.", errors={"headers": {"Last-Event-ID": ["Not a position."]}}
        )
    return int(value)


def open_stream(grant: StreamGrant, *, after: int, types: list[str] | None) -> Response:
    """The stream's response: the events after `after` this member may see, then each new one as it commits."""
    hub = hub_of(current_app._get_current_object())
    client = Client(grant=grant, after=after, types=types)
    db.session.close()  # the stream holds no connection while it waits
    hub.join(client)
    if not client.joined.wait(JOIN_TIMEOUT):
        hub.leave(client)
        raise ServiceUnavailable("The event stream is starting; try again shortly.", headers={"Retry-After": "5"})
    return Response(
        _frames(hub, client),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},  # nginx: pass each event on at once
    )


def _frames(hub: Hub, client: Client) -> Iterator[bytes]:
    grant = client.grant
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        last = client.after
        while last < client.floor:  # what committed before the client joined, read by the feed's own query
            page = hub.with_db(
                services.read,
                shop_id=grant.shop_id,
                role=grant.role,
                user_id=grant.user_id,
                after=last,
                types=client.types,
                limit=READ_BATCH,
            )
            wanted = [message for message in page if message["position"] <= client.floor]
            if wanted:
                yield b"".join(message_frame(message) for message in wanted)
                last = wanted[-1]["position"]
            if len(wanted) < READ_BATCH:
                break
        last = max(last, client.floor)
        client.last_write = time.monotonic()
        while True:
            client.signal.wait()
            client.signal.clear()
            if client.ended is not None:
                yield f": stream ended: {client.ended}\n\n".encode()
                return
            out = []
            while client.pending:
                position, frame = client.pending.popleft()
                if position > last:
                    out.append(frame)
                    last = position
            if out:
                client.last_write = time.monotonic()
                yield b"".join(out)
            elif time.monotonic() - client.last_write >= hub.heartbeat_seconds:
                client.last_write = time.monotonic()
                yield b": heartbeat\n\n"
    finally:
        hub.leave(client)


def serve_stream_only(app: Flask) -> Flask:
    """The events service's app: the stream, health and metrics; anything else belongs to the API."""
    app.config["EVENTS_STREAM_SERVED"] = True

    @app.before_request
    def only_the_stream():
        endpoint = request.endpoint or ""
        if endpoint == STREAM_ENDPOINT or endpoint.startswith("health.") or endpoint == "prometheus_metrics":
            return None
        return error_response(
            421, "This is the events service: it serves /api/v1/events/stream only; send other requests to the API."
        )

    return app
