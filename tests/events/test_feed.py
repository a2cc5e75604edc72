"""The event log and its catch-up feed: written with the change or not at all, read by role, never skipped."""

from __future__ import annotations

import random
import threading
import time

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select

from app.events import outbox
from app.events.models import Event
from app.extensions import db
from tests.orders.orderdata import delivery, place

EVENTS = "/api/v1/events"


def feed(client, **params):
    response = client.get(EVENTS, query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_new_order_is_an_event_carrying_its_card(manager, front):
    created = manager.post("/api/v1/orders", json=delivery(front))
    assert created.status_code == 201, created.get_json()

    body = feed(manager)
    assert [e["type"] for e in body["events"]] == ["order.created"]
    (event,) = body["events"]
    assert event["subject"] == {"type": "order", "id": str(created.get_json()["id"])}
    assert event["data"] == manager.get(f"/api/v1/orders/{created.get_json()['id']}").get_json()
    assert event["id"].startswith("evt_") and body["next_after"] == event["position"] and not body["has_more"]


def test_a_refused_change_leaves_no_event(manager, front):
    order = place(front, delivery(front, items=[{"product_id": front.bouquet.id, "quantity": 30}]))  # 150 roses
    refused = manager.post(f"/api/v1/orders/{order.id}/status", json={"status": "confirmed"})
    assert refused.status_code == 409, refused.get_json()
    assert [e["type"] for e in feed(manager)["events"]] == ["order.created"]


def test_status_moves_are_events_in_order_and_the_feed_resumes(manager, front):
    order = place(front, delivery(front))
    confirmed = manager.post(f"/api/v1/orders/{order.id}/status", json={"status": "confirmed"})
    assert confirmed.status_code == 200, confirmed.get_json()
    cancelled = manager.post(f"/api/v1/orders/{order.id}/status", json={"status": "cancelled", "comment": "no"})
    assert cancelled.status_code == 200, cancelled.get_json()

    first = feed(manager, limit=1, types="order.status_changed")
    assert [e["data"]["status"] for e in first["events"]] == ["confirmed"] and first["has_more"]
    rest = feed(manager, after=first["next_after"], types="order.*")
    assert [e["data"]["status"] for e in rest["events"]] == ["cancelled"] and not rest["has_more"]


def test_unknown_types_and_bad_positions_are_422(manager):
    response = manager.get(EVENTS, query_string={"types": "order.created,order.eaten"})
    assert response.status_code == 422
    assert "order.eaten" in str(response.get_json()["errors"])
    assert manager.get(EVENTS, query_string={"after": -1}).status_code == 422


def test_couriers_and_florists_read_no_manager_events_and_other_shops_nothing(
    manager, courier, florist, front, login, other_shop
):
    place(front, delivery(front))
    assert feed(courier)["events"] == [] and feed(florist)["events"] == []
    stranger = login("admin", shop=other_shop)
    assert feed(stranger)["events"] == []
    assert manager.get(EVENTS, headers={"X-Shop-Id": str(other_shop.id)}).status_code == 404


def test_the_feed_needs_a_login(client):
    assert client.get(EVENTS).status_code == 401


@pytest.mark.committed
def test_racing_writers_every_reader_gets_every_event_once_in_order(app, shop, other_shop):
    """Writers in 8 threads over two shops commit in any order; 3 readers polling all the while miss nothing.

    Each writer holds its transaction open a random while after its events are written, the window in which a
    reader could otherwise see a later position before an earlier one commits.
    """
    shops = [shop.id, other_shop.id]
    db.session.commit()
    per_writer, writers = 40, 8

    def linger(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("WITH shop_lock"):
            time.sleep(random.uniform(0, 0.004))

    sa_event.listen(db.engine, "after_cursor_execute", linger)
    done = threading.Event()

    def write(n: int) -> None:
        with app.app_context():
            for i in range(per_writer):
                for _ in range(random.randint(1, 3)):
                    outbox.record(
                        "stock.low",
                        shop_id=shops[(n + i) % 2],
                        subject_type="stock",
                        subject_id=f"{n}-{i}",
                        data={"writer": n, "i": i},
                    )
                db.session.commit()
            db.session.remove()

    seen: dict[tuple[int, int], list[int]] = {}

    def read(reader: int, shop_id: int) -> None:
        from app.events import services
        from app.users.models import Role

        got, after = [], 0
        with app.app_context():
            while True:
                finishing = done.is_set()
                page = services.read(shop_id=shop_id, role=Role.MANAGER, user_id=0, after=after, limit=50)
                db.session.rollback()  # a new snapshot for the next poll
                got += [e["position"] for e in page]
                after = got[-1] if got else after
                if finishing and not page:
                    break
            db.session.remove()
        seen[(reader, shop_id)] = got

    try:
        readers = [threading.Thread(target=read, args=(r, s)) for r in range(3) for s in shops]
        threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
        for thread in readers + threads:
            thread.start()
        for thread in threads:
            thread.join()
        done.set()
        for thread in readers:
            thread.join()
    finally:
        sa_event.remove(db.engine, "after_cursor_execute", linger)

    for shop_id in shops:
        written = db.session.scalars(
            select(Event.position).where(Event.shop_id == shop_id).order_by(Event.position)
        ).all()
        assert len(written) > per_writer * writers / 2
        for reader in range(3):
            assert seen[(reader, shop_id)] == written, f"reader {reader} of shop {shop_id} missed or repeated events"
