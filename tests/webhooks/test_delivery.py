"""Events reach registered receivers signed per Standard Webhooks, at least once, as the feed shows them."""

from __future__ import annotations

from tests.orders.orderdata import delivery
from tests.webhooks.conftest import WEBHOOKS, deliveries, register, run_jobs


def test_a_new_order_reaches_the_receiver_signed_and_shaped_as_in_the_feed(app, admin, front, receiver):
    hook = register(admin, receiver, types=["order.created"])
    created = admin.post("/api/v1/orders", json=delivery(front))
    assert created.status_code == 201, created.get_json()

    run_jobs(app)

    (request,) = receiver.wait_for(1)
    assert request.verified_by == [hook["secret"]]
    assert request.headers["webhook-signature"].startswith("v1,")
    (event,) = admin.get("/api/v1/events").get_json()["events"]
    assert request.id == event["id"] and request.json == event
    assert request.json["data"]["id"] == created.get_json()["id"]
    (row,) = deliveries(hook["id"])
    assert (row.status, row.attempts, row.response_status) == ("succeeded", 1, 200)
