"""The live stream against a real events service (gunicorn, gevent worker, gunicorn.events.conf.py), read over HTTP.

Events are committed by the API in this process on the same database; the service learns of them by PostgreSQL
NOTIFY (its fallback poll is set to 60 s, so an event within seconds proves the wake-up).
"""

from __future__ import annotations

import random
import threading
import time

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import insert, select

from app.auth.tokens import start_session
from app.common.types import utcnow
from app.events import outbox
from app.events.models import Audience, Event
from app.extensions import db, redis_client
from tests.events.sse import AUTH_CHECK_SECONDS, HEARTBEAT_SECONDS, StreamReader, events_service
from tests.factories import MembershipFactory, UserFactory
from tests.orders.orderdata import delivery, open_shop

pytestmark = pytest.mark.committed


@pytest.fixture
def service(tmp_path):
    with events_service(tmp_path) as running:
        yield running
        assert "Traceback" not in running.log(), running.log()[-3000:]


@pytest.fixture
def readers():
    opened: list[StreamReader] = []
    yield opened
    for reader in opened:
        reader.close()


def stream(service, readers, client=None, *, headers=None, **params) -> StreamReader:
    reader = StreamReader(service.port, headers={**(client.headers() if client else {}), **(headers or {})}, **params)
    readers.append(reader)
    return reader


def create_order(manager, front) -> int:
    created = manager.post("/api/v1/orders", json=delivery(front))
    assert created.status_code == 201, created.get_json()
    return created.get_json()["id"]


def move(manager, order_id: int, status: str) -> None:
    moved = manager.post(f"/api/v1/orders/{order_id}/status", json={"status": status, "comment": "by the test"})
    assert moved.status_code == 200, moved.get_json()


def test_events_the_api_commits_arrive_in_order_and_a_reconnect_resumes_without_loss_or_repeat(
    service, readers, manager, shop
):
    front = open_shop(shop)
    db.session.commit()
    # The orders' own events: confirming also makes the florists' tasks (task.created), which managers see too.
    live = stream(service, readers, manager, types="order.*")
    assert live.status == 200 and live.content_type.startswith("text/event-stream")

    order_id = create_order(manager, front)
    move(manager, order_id, "confirmed")
    first = live.events(2, timeout=3)
    assert [e.type for e in first] == ["order.created", "order.status_changed"]
    assert first[0].position < first[1].position
    assert first[0].data["subject"] == {"type": "order", "id": str(order_id)}
    assert first[1].data["data"]["status"] == "confirmed"
    feed = manager.get("/api/v1/events", query_string={"types": "order.*"}).get_json()["events"]
    assert [e.data for e in first] == feed  # the same shape as the feed, to the byte of every field
    live.close()

    move(manager, order_id, "cancelled")  # while nobody listens
    second_order = create_order(manager, front)
    resumed = stream(service, readers, manager, headers={"Last-Event-ID": str(first[-1].position)}, types="order.*")
    missed = resumed.events(2, timeout=3)
    assert [(e.type, e.data["subject"]["id"]) for e in missed] == [
        ("order.status_changed", str(order_id)),
        ("order.created", str(second_order)),
    ]
    move(manager, second_order, "confirmed")
    (then,) = resumed.events(1, timeout=3)
    assert then.type == "order.status_changed" and then.position > missed[-1].position
    assert resumed.quiet_for(1.5) == []  # nothing repeated

    # ?after= reads from a position on, and types= narrows as in the feed.
    narrowed = stream(service, readers, manager, after=first[0].position, types="order.created")
    assert [e.data["subject"]["id"] for e in narrowed.events(1)] == [str(second_order)]
    assert narrowed.quiet_for(1) == []


def test_a_heartbeat_comment_keeps_an_idle_stream_open(service, readers, manager):
    idle = stream(service, readers, manager)
    started = time.monotonic()
    comments = []
    while len([c for c in comments if c == "heartbeat"]) < 2:
        kind, value = idle.next(timeout=HEARTBEAT_SECONDS * 3)
        assert kind == "comment", (kind, value)
        comments.append(value)
    assert time.monotonic() - started < HEARTBEAT_SECONDS * 4


def test_no_login_is_401_json_and_a_shop_not_yours_is_404(service, readers, manager, other_shop):
    anonymous = stream(service, readers)
    assert anonymous.status == 401 and anonymous.content_type == "application/json"
    assert set(anonymous.body) == {"code", "status", "message", "errors"}
    foreign = stream(service, readers, manager, headers={"X-Shop-Id": str(other_shop.id)})
    assert foreign.status == 404


def test_a_ticket_opens_one_stream_once_and_dies_after_60_seconds(service, readers, manager, shop, client):
    front = open_shop(shop)
    db.session.commit()
    issued = manager.post("/api/v1/events/tickets")
    assert issued.status_code == 201, issued.get_json()
    ticket = issued.get_json()["ticket"]
    assert issued.get_json()["expires_in"] == 60

    browser = stream(service, readers, ticket=ticket)  # no header at all, as EventSource
    assert browser.status == 200
    order_id = create_order(manager, front)
    assert [e.data["subject"]["id"] for e in browser.events(1)] == [str(order_id)]

    again = stream(service, readers, ticket=ticket)
    assert again.status == 401 and again.body["code"] == 401

    late = manager.post("/api/v1/events/tickets").get_json()["ticket"]
    (key,) = list(redis_client.scan_iter("events:ticket:*"))
    assert 55 < redis_client.ttl(key) <= 60
    assert late.encode() not in key  # Redis holds the ticket's hash, never a usable ticket
    redis_client.pexpire(key, 1)  # the 60 s pass
    time.sleep(0.05)
    assert stream(service, readers, ticket=late).status == 401
    assert client.post("/api/v1/events/tickets").status_code == 401  # a ticket needs a login too


def test_a_courier_sees_only_their_own_deliveries_and_another_shop_sees_nothing(
    service, readers, manager, courier, login, shop, other_shop
):
    front = open_shop(shop)
    other_courier = login("courier")
    stranger = login("manager", shop=other_shop)
    db.session.commit()
    mine = stream(service, readers, courier)
    theirs = stream(service, readers, stranger)
    watching = stream(service, readers, manager)

    create_order(manager, front)  # staff only
    for courier_id in (other_courier.user.id, courier.user.id):
        outbox.record(
            "delivery.assigned",
            shop_id=shop.id,
            subject_type="delivery",
            subject_id=f"d-{courier_id}",
            audience=Audience.COURIER,
            courier_id=courier_id,
            data={"courier_id": courier_id},
        )
    db.session.commit()

    assert [e.type for e in watching.events(3)] == ["order.created", "delivery.assigned", "delivery.assigned"]
    (own,) = mine.events(1)
    assert own.type == "delivery.assigned" and own.data["data"] == {"courier_id": courier.user.id}
    assert mine.quiet_for(1) == []
    assert theirs.quiet_for(0.5) == []


def login_session(role: str, shop) -> tuple[dict, object]:
    """A user logged in for real (a login session, as POST /auth/login makes): their headers and the user."""
    user = UserFactory()
    MembershipFactory(user=user, shop=shop, role=role)
    db.session.commit()
    pair = start_session(user, method="password")
    return {"Authorization": f"Bearer {pair['access_token']}", "X-Shop-Id": str(shop.id)}, user


@pytest.mark.parametrize("how", ["logout", "deactivated", "role changed"])
def test_a_stream_ends_within_the_check_interval_when_its_login_or_membership_ends(
    service, readers, admin, app, shop, how
):
    headers, user = login_session("florist", shop)
    ticket = app.test_client().post("/api/v1/events/tickets", headers=headers).get_json()["ticket"]
    by_header = stream(service, readers, headers=headers)
    by_ticket = stream(service, readers, ticket=ticket)
    assert by_header.status == 200 and by_ticket.status == 200

    if how == "logout":
        assert app.test_client().post("/api/v1/auth/logout", headers=headers).status_code == 204
    elif how == "deactivated":
        assert admin.delete(f"/api/v1/users/{user.id}").status_code == 204
    else:
        changed = admin.patch(f"/api/v1/users/{user.id}", json={"role": "courier"})
        assert changed.status_code == 200, changed.get_json()
    ended_at = time.monotonic()
    for reader in (by_header, by_ticket):
        comments = reader.wait_end(timeout=AUTH_CHECK_SECONDS * 3 + HEARTBEAT_SECONDS)
        assert any(comment.startswith("stream ended") for comment in comments), comments
    assert time.monotonic() - ended_at < AUTH_CHECK_SECONDS * 3 + HEARTBEAT_SECONDS
    assert stream(service, readers, headers=headers).status == 401 or how == "role changed"


def test_racing_writers_every_stream_gets_every_event_once_in_order(service, readers, app, manager, shop):
    """4 writer threads commit in any order, each lingering inside its transaction after its events are written
    (the window in which a later position could otherwise be seen before an earlier one); 3 streams miss none."""
    shop_id = shop.id
    db.session.commit()
    clients = [stream(service, readers, manager) for _ in range(3)]
    per_writer, writers = 30, 4
    committed: list[int] = []

    def linger(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("WITH shop_lock"):
            time.sleep(random.uniform(0, 0.004))

    def write(n: int) -> None:
        with app.app_context():
            for i in range(per_writer):
                for _ in range(random.randint(1, 3)):
                    outbox.record(
                        "stock.low", shop_id=shop_id, subject_type="stock", subject_id=f"{n}-{i}", data={"n": n}
                    )
                db.session.commit()
                committed.append(n)
            db.session.remove()

    sa_event.listen(db.engine, "after_cursor_execute", linger)
    try:
        threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sa_event.remove(db.engine, "after_cursor_execute", linger)

    written = db.session.scalars(select(Event.position).where(Event.shop_id == shop.id).order_by(Event.position)).all()
    assert len(committed) == per_writer * writers and len(written) >= per_writer * writers
    for number, reader in enumerate(clients):
        got = [e.position for e in reader.events(len(written), timeout=15)]
        assert got == written, f"stream {number} missed, repeated or reordered events"
        assert reader.quiet_for(0.5) == []


def test_the_events_service_serves_the_stream_only(service):
    status, headers, body = service.request("GET", "/api/v1/orders")
    assert status == 421 and b"events service" in body
    assert service.request("GET", "/health")[0] == 200


def test_an_event_whose_wake_up_was_lost_arrives_by_the_poll(tmp_path, readers, manager, shop):
    """An event written with no NOTIFY (a wake-up lost with a restarting database) still reaches the stream."""
    db.session.commit()
    with events_service(tmp_path, EVENTS_POLL_SECONDS="1") as polling:
        live = stream(polling, readers, manager)
        with db.engine.begin() as connection:  # the event row alone, as the outbox writes it, without pg_notify
            connection.execute(
                insert(Event).values(
                    event_id="evt_lost_wakeup",
                    shop_id=shop.id,
                    type="stock.low",
                    occurred_at=utcnow(),
                    subject_type="stock",
                    subject_id="1",
                    audience=Audience.STAFF,
                    data={"lost": True},
                )
            )
        started = time.monotonic()
        (event,) = live.events(1, timeout=5)
        assert event.data["id"] == "evt_lost_wakeup" and time.monotonic() - started < 3
        live.close()
