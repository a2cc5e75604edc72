"""The customer's status messages are a consumer of the event log: each move's `order.status_changed` event is
read once by the dispatch job a commit queues (on the `status` queue), and becomes one message."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.events import dispatch
from app.events.dispatch import CONSUMERS, Consumer
from app.extensions import db, queues
from app.jobs.worker import build_worker
from app.messaging.models import MessageLog
from tests.orders.orderdata import Front, open_shop
from tests.production.workshop import DELIVERIES, delivery_in, ok
from tests.warehouse.stockdata import staff_client


@pytest.fixture
def front(shop) -> Front:
    shop.settings = {**(shop.settings or {}), "order_status_messages": True}
    return open_shop(shop)


@pytest.fixture
def courier(app, shop):
    client = staff_client(app, shop, "courier")
    db.session.commit()
    return client


def status_messages() -> list[tuple[int, str]]:
    db.session.expire_all()
    rows = db.session.scalars(select(MessageLog).where(MessageLog.kind == "order_status").order_by(MessageLog.id))
    return [(row.order_id, row.template) for row in rows]


def run_workers(app) -> None:
    build_worker(app, queues.all(), simple=True).work(burst=True)


def test_each_move_reaches_the_customer_once_through_a_real_worker(app, sms_stub, front, courier):
    order_id = delivery_in(front, "ready", courier)
    ok(courier.post(f"{DELIVERIES}/{order_id}/pickup"))
    ok(courier.post(f"{DELIVERIES}/{order_id}/pickup"))  # the app retried: the order does not move again
    assert status_messages() == []  # nothing in the moving transaction: the dispatch job queues it
    assert any(job.func_name.endswith("dispatch_shop") for job in queues.get(dispatch.DISPATCH_QUEUE).jobs)

    run_workers(app)  # the dispatch job, then the send job it queued
    ok(courier.post(f"{DELIVERIES}/{order_id}/deliver", json={}))
    run_workers(app)
    dispatch.dispatch_all()  # the sweep finds nothing left
    run_workers(app)

    assert status_messages() == [(order_id, "order_out_for_delivery"), (order_id, "order_delivered")]
    assert [r.form["to"] for r in sms_stub.requests if r.path.startswith("/sms/send")] == ["79161112233"] * 2


def test_a_consumer_failing_on_one_event_goes_on_with_the_next(app, front, courier, shop, monkeypatch):
    first, second = delivery_in(front, "ready", courier), delivery_in(front, "ready", courier)
    real = CONSUMERS["status_messages"]

    def broken_on_first(event):
        if event.data.get("id") == first:
            raise RuntimeError("the template engine fell over")
        real.handle(event)

    monkeypatch.setitem(CONSUMERS, "status_messages", Consumer(real.name, broken_on_first, real.types))
    for order_id in (first, second):
        ok(courier.post(f"{DELIVERIES}/{order_id}/pickup"))
    dispatch.dispatch_shop(shop.id)
    assert status_messages() == [(second, "order_out_for_delivery")]

    # The broken event is passed over for good (the log keeps it); later events still flow.
    monkeypatch.setitem(CONSUMERS, "status_messages", real)
    ok(courier.post(f"{DELIVERIES}/{second}/deliver", json={}))
    dispatch.dispatch_shop(shop.id)
    assert status_messages() == [(second, "order_out_for_delivery"), (second, "order_delivered")]


def test_no_message_when_the_shop_turned_them_off_before_the_dispatch(front, courier, shop):
    order_id = delivery_in(front, "ready", courier)
    ok(courier.post(f"{DELIVERIES}/{order_id}/pickup"))
    shop.settings = {**shop.settings, "order_status_messages": False}
    db.session.commit()
    dispatch.dispatch_shop(shop.id)
    assert status_messages() == []
