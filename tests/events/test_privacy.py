"""A customer's erasure reaches the event log; old events go after EVENT_RETENTION_DAYS."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import select

from app.events import outbox
from app.events.models import Event
from app.events.services import prune_events
from app.extensions import db
from tests.orders.orderdata import Front
from tests.production.workshop import DELIVERIES, ORDERS, TASKS, confirmed, delivery, ok, photo
from tests.warehouse.stockdata import staff_client

PERSONAL = ("Olga", "79161112233", "Irina", "79162223344", "Arbat", "Happy birthday", "Call before", "nobody answered")


def stored(customer_id: int | None = None) -> list[Event]:
    db.session.expire_all()
    stmt = select(Event).order_by(Event.position)
    if customer_id is not None:
        stmt = stmt.where(Event.customer_id == customer_id)
    return list(db.session.scalars(stmt))


def test_anonymizing_a_customer_erases_them_from_their_events(app, shop, front: Front, tmp_media):
    manager, courier, florist = (staff_client(app, shop, role) for role in ("manager", "courier", "florist"))
    db.session.commit()
    order_id = confirmed(front, manager)
    other_id = confirmed(front, manager, delivery(front, customer={"name": "Pavel", "phone": "+79163334455"}))
    (task,) = ok(manager.get(TASKS, query_string={"order_id": order_id}))
    ok(florist.post(f"{TASKS}/{task['id']}/claim"))
    ok(manager.post(f"{ORDERS}/{order_id}/courier", json={"courier_id": courier.user.id}))
    ok(florist.post(f"{TASKS}/{task['id']}/start"))
    ok(florist.post(f"{TASKS}/{task['id']}/complete"))
    ok(courier.post(f"{DELIVERIES}/{order_id}/pickup"))
    ok(courier.post(f"{DELIVERIES}/{order_id}/fail", json={"reason": "other", "comment": "nobody answered"}))
    ok(courier.put(f"{DELIVERIES}/{order_id}/photo", data={"photo": (io.BytesIO(photo()), "door.jpg")}))
    customer_id = ok(manager.get(f"{ORDERS}/{order_id}"))["customer_id"]

    theirs = stored(customer_id)
    assert {e.subject_type for e in theirs} == {"order", "task", "delivery"}
    assert all(word in json.dumps([e.data for e in theirs]) for word in PERSONAL)
    before = [(e.position, e.type, e.subject_id) for e in theirs]
    others = {e.position: e.data for e in stored() if e.customer_id != customer_id}

    ok(manager.post(f"/api/v1/customers/{customer_id}/anonymize"))

    theirs = stored(customer_id)
    assert [(e.position, e.type, e.subject_id) for e in theirs] == before  # what happened stays, not who
    left = json.dumps([e.data for e in theirs], ensure_ascii=False)
    assert [word for word in PERSONAL if word in left] == []
    order_event = next(e for e in theirs if e.type == "order.status_changed")
    assert order_event.data["customer"] == {"id": customer_id, "name": "", "phone": None}
    assert order_event.data["number"] and order_event.data["total"]  # the books keep the rest
    photo_event = next(e for e in theirs if e.type == "delivery.photo_added")
    assert photo_event.data["photo_url"] is None and photo_event.data["failure_reason"] == "other"
    # The feed says the same as the API now does.
    latest = ok(manager.get("/api/v1/events", query_string={"types": "order.*"}))["events"]
    mine = [e for e in latest if e["subject"]["id"] == str(order_id)]
    card = ok(manager.get(f"{ORDERS}/{order_id}"))
    personal = ("recipient_name", "recipient_phone", "address", "card_text", "comment", "customer")
    assert mine and all(e["data"][field] == card[field] for e in mine for field in personal)
    assert {e.position: e.data for e in stored() if e.customer_id != customer_id} == others  # Pavel's untouched
    assert other_id


def test_events_older_than_the_retention_go_and_the_rest_stay(app, shop, monkeypatch):
    monkeypatch.setitem(app.config, "EVENT_RETENTION_DAYS", 30)
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

    def event_at(moment: datetime, name: str) -> None:
        with time_machine.travel(moment, tick=False):
            outbox.record("stock.low", shop_id=shop.id, subject_type="stock", subject_id=name, data={"id": name})
            db.session.commit()

    event_at(now - timedelta(days=45), "old")
    event_at(now - timedelta(days=30, minutes=1), "just-too-old")
    event_at(now - timedelta(days=29, hours=23), "kept")
    event_at(now, "new")

    with time_machine.travel(now, tick=False):
        assert prune_events() == 2
        assert prune_events() == 0  # a second run the same day finds nothing
    assert [e.subject_id for e in stored()] == ["kept", "new"]


def test_pruning_works_in_batches(app, shop, monkeypatch):
    monkeypatch.setattr("app.events.services.PRUNE_BATCH", 3)
    with time_machine.travel(datetime(2026, 1, 1, tzinfo=UTC), tick=False):
        for n in range(7):
            outbox.record("stock.low", shop_id=shop.id, subject_type="stock", subject_id=n, data={"id": n})
        db.session.commit()
    outbox.record("stock.low", shop_id=shop.id, subject_type="stock", subject_id="today", data={"id": "today"})
    db.session.commit()
    assert prune_events() == 7
    assert [e.subject_id for e in stored()] == ["today"]
