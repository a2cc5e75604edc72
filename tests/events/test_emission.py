"""Every change a client cares about is an event, made by the real API step, read by whom it concerns.

A courier's feed carries their own deliveries in the shape GET /courier/deliveries/{id} answers, a florist's the
tasks they may see in the shape GET /production-tasks/{id} answers; managers read everything; another shop
nothing. A refused step leaves no event.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest

from app.extensions import db
from app.messaging import jobs
from app.messaging.services import queue_message
from tests.helpers import ApiClient
from tests.orders.orderdata import Front, delivery
from tests.production.workshop import DELIVERIES, ORDERS, TASKS, confirmed, delivery_in, ok, photo
from tests.warehouse.stockdata import staff_client

EVENTS = "/api/v1/events"


@pytest.fixture
def as_role(app, shop):
    def _as_role(role: str, shop=shop) -> ApiClient:
        client = staff_client(app, shop, role)
        db.session.commit()
        return client

    return _as_role


def events(client: ApiClient, **params: Any) -> list[dict[str, Any]]:
    return ok(client.get(EVENTS, query_string={"limit": 500, **params}))["events"]


def kinds(client: ApiClient, **params: Any) -> list[str]:
    return [event["type"] for event in events(client, **params)]


def last(client: ApiClient, type: str) -> dict[str, Any]:
    return [event for event in events(client) if event["type"] == type][-1]


def card(client: ApiClient, order_id: int) -> dict[str, Any]:
    return ok(client.get(f"{DELIVERIES}/{order_id}"))


# --- orders and deliveries ----------------------------------------------------------------------


def test_a_payment_is_an_event_and_the_courier_hears_what_is_left_to_collect(as_role, front: Front):
    manager, courier = as_role("manager"), as_role("courier")
    order_id = confirmed(front, manager)
    ok(manager.post(f"{ORDERS}/{order_id}/courier", json={"courier_id": courier.user.id}))
    assert kinds(courier) == ["delivery.assigned"]
    assert last(courier, "delivery.assigned")["data"] == card(courier, order_id)

    due = Decimal(card(courier, order_id)["amount_due"])
    ok(manager.post(f"{ORDERS}/{order_id}/payments", json={"amount": "1000.00", "method": "card"}), 201)

    assert kinds(manager, types="order.*") == [
        "order.created",
        "order.status_changed",
        "order.courier_assigned",
        "order.payment_recorded",
    ]
    paid = last(manager, "order.payment_recorded")
    assert paid["data"] == ok(manager.get(f"{ORDERS}/{order_id}")) and paid["data"]["paid_amount"] == "1000.00"
    assert kinds(courier) == ["delivery.assigned", "delivery.updated"]
    updated = last(courier, "delivery.updated")
    assert updated["data"] == card(courier, order_id)
    assert updated["subject"] == {"type": "delivery", "id": str(order_id)}
    assert Decimal(updated["data"]["amount_due"]) == due - 1000
    assert "customer" not in updated["data"] and "card_text" not in updated["data"]  # the door's facts only


def test_a_delivery_given_to_another_courier_leaves_the_first_with_its_id_alone(as_role, front: Front):
    manager, first, second = as_role("manager"), as_role("courier"), as_role("courier")
    order_id = confirmed(front, manager)
    ok(manager.post(f"{ORDERS}/{order_id}/courier", json={"courier_id": first.user.id}))
    ok(manager.post(f"{ORDERS}/{order_id}/courier", json={"courier_id": second.user.id}))

    assert kinds(first) == ["delivery.assigned", "delivery.unassigned"]
    assert last(first, "delivery.unassigned")["data"] == {"id": str(order_id)}  # no longer theirs to read
    assert first.get(f"{DELIVERIES}/{order_id}").status_code == 404
    assert kinds(second) == ["delivery.assigned"]
    assert last(second, "delivery.assigned")["data"] == card(second, order_id)
    assert kinds(manager, types="order.courier_assigned") == ["order.courier_assigned"] * 2

    ok(manager.post(f"{ORDERS}/{order_id}/courier", json={"courier_id": None}))  # taken back
    assert kinds(second) == ["delivery.assigned", "delivery.unassigned"]


def test_the_courier_hears_of_a_new_address_and_of_a_cancel(as_role, front: Front):
    manager, courier = as_role("manager"), as_role("courier")
    order_id = confirmed(front, manager)
    ok(manager.post(f"{ORDERS}/{order_id}/courier", json={"courier_id": courier.user.id}))

    tag = manager.get(f"{ORDERS}/{order_id}").headers["ETag"]
    ok(manager.patch(f"{ORDERS}/{order_id}", json={"address": "Moscow, Tverskaya 1"}, headers={"If-Match": tag}))
    moved = last(courier, "delivery.updated")
    assert moved["data"]["address"] == "Moscow, Tverskaya 1" and moved["data"] == card(courier, order_id)

    ok(manager.post(f"{ORDERS}/{order_id}/status", json={"status": "cancelled", "comment": "changed their mind"}))
    assert kinds(courier) == ["delivery.assigned", "delivery.updated", "delivery.updated"]
    assert last(courier, "delivery.updated")["data"]["status"] == "cancelled"
    assert last(courier, "delivery.updated")["data"] == card(courier, order_id)


def test_each_courier_step_is_an_event_carrying_the_card_the_courier_reads(as_role, front: Front, tmp_media):
    manager, courier, other = as_role("manager"), as_role("courier"), as_role("courier")
    order_id = delivery_in(front, "ready", courier)
    steps = [
        ("pickup", {}, "delivery.picked_up"),
        ("fail", {"reason": "nobody_home"}, "delivery.failed"),
        ("return", {}, "delivery.returned"),
        ("pickup", {}, "delivery.picked_up"),
        ("deliver", {"amount_collected": "3200.00"}, "delivery.delivered"),
    ]
    for step, body, type in steps:
        answer = ok(courier.post(f"{DELIVERIES}/{order_id}/{step}", json=body))
        assert last(courier, type)["data"] == answer == card(courier, order_id), step
    answer = ok(courier.put(f"{DELIVERIES}/{order_id}/photo", data={"photo": (io.BytesIO(photo()), "door.jpg")}))
    assert last(courier, "delivery.photo_added")["data"] == answer and answer["photo_url"]

    assert kinds(courier) == [
        "delivery.assigned",
        *(type for _step, _body, type in steps),
        "delivery.photo_added",
    ]  # the cash taken at the door is in the delivered card, not a second event for the courier
    assert kinds(other) == []
    assert [e["data"]["status"] for e in events(manager, types="order.status_changed")] == [
        "out_for_delivery",
        "delivery_failed",
        "ready",
        "out_for_delivery",
        "delivered",
    ]
    assert "order.payment_recorded" in kinds(manager)
    assert {e["subject"]["type"] for e in events(manager)} == {"order", "delivery"}  # managers read all


def test_refused_steps_leave_no_event(as_role, front: Front):
    manager, courier, florist = as_role("manager"), as_role("courier"), as_role("florist")
    order_id = delivery_in(front, "ready", courier)
    before = len(events(manager))

    assert courier.post(f"{DELIVERIES}/{order_id}/deliver", json={}).status_code == 409
    assert (
        manager.post(f"{ORDERS}/{order_id}/payments", json={"amount": "99999.00", "method": "cash"}).status_code == 422
    )
    assert manager.post(f"{ORDERS}/{order_id}/courier", json={"courier_id": florist.user.id}).status_code == 422

    other = confirmed(front, manager)
    (task,) = ok(manager.get(TASKS, query_string={"order_id": other}))
    count = len(events(manager))
    assert florist.post(f"{TASKS}/{task['id']}/complete").status_code == 409
    assert len(events(manager)) == count and count == before + 3  # the second order: created, confirmed, its task


# --- the workshop ---------------------------------------------------------------------------------


def test_tasks_reach_every_florist_until_one_takes_them(as_role, front: Front):
    manager, ann, bob = as_role("manager"), as_role("florist"), as_role("florist")
    order_id = confirmed(front, manager)
    (task,) = ok(ann.get(TASKS, query_string={"order_id": order_id}))
    url = f"{TASKS}/{task['id']}"

    assert kinds(ann) == kinds(bob) == ["task.created"]
    assert last(bob, "task.created")["data"] == ok(bob.get(url))  # the card text comes with it

    for step, type in (("claim", "task.claimed"), ("start", "task.started"), ("complete", "task.completed")):
        answer = ok(ann.post(f"{url}/{step}"))
        assert last(ann, type)["data"] == answer == ok(ann.get(url)), step
    assert kinds(ann) == ["task.created", "task.claimed", "task.started", "task.completed"]
    assert kinds(bob) == ["task.created"]  # Ann's from the claim on
    assert (
        kinds(manager, types="order.status_changed") == ["order.status_changed"] * 3
    )  # confirmed, in production, ready


def test_a_task_given_to_another_florist_leaves_the_first_with_its_id_alone(as_role, front: Front):
    manager, ann, bob = as_role("manager"), as_role("florist"), as_role("florist")
    order_id = confirmed(front, manager)
    (task,) = ok(manager.get(TASKS, query_string={"order_id": order_id}))
    url = f"{TASKS}/{task['id']}"

    ok(manager.post(f"{url}/assign", json={"florist_id": ann.user.id}))
    ok(manager.post(f"{url}/assign", json={"florist_id": bob.user.id}))

    assert kinds(ann) == ["task.created", "task.assigned", "task.unassigned"]
    assert last(ann, "task.unassigned")["data"] == {"id": str(task["id"])}
    assert kinds(bob) == ["task.created", "task.assigned"]
    assert last(bob, "task.assigned")["data"] == ok(bob.get(url))

    tag = manager.get(f"{ORDERS}/{order_id}").headers["ETag"]
    ok(manager.patch(f"{ORDERS}/{order_id}", json={"card_text": "With love"}, headers={"If-Match": tag}))
    assert kinds(bob)[-1] == "task.updated" and "task.updated" not in kinds(ann)  # Bob's task now
    assert last(bob, "task.updated")["data"]["card_text"] == "With love"

    ok(manager.post(f"{url}/assign", json={"florist_id": None}))  # back to everyone
    assert kinds(ann)[-1] == kinds(bob)[-1] == "task.assigned"
    assert last(ann, "task.assigned")["data"]["florist_id"] is None

    ok(manager.post(f"{ORDERS}/{order_id}/status", json={"status": "cancelled", "comment": "no"}))
    assert kinds(ann)[-1] == "task.cancelled" and last(ann, "task.cancelled")["data"]["status"] == "cancelled"


# --- stock and messages ---------------------------------------------------------------------------


def test_stock_running_low_is_one_event_per_crossing(as_role, front: Front):
    manager, florist, courier = as_role("manager"), as_role("florist"), as_role("courier")
    item = f"/api/v1/warehouse/items/{front.rose.id}"
    ok(manager.patch(item, json={"min_level": "80"}))  # 100 roses: not low
    three = delivery(front, items=[{"product_id": front.bouquet.id, "quantity": 3}])  # 15 roses

    confirmed(front, manager, three)  # 85 left
    assert "stock.low" not in kinds(manager)
    confirmed(front, manager, three)  # 70: below the minimum
    low = last(manager, "stock.low")
    assert low["subject"] == {"type": "stock", "id": str(front.rose.id)}
    assert low["data"] == ok(manager.get(item)) and low["data"]["available"] == "70.000"
    confirmed(front, manager, three)  # 55: still below, no second event
    assert kinds(manager, types="stock.*") == ["stock.low"]
    assert kinds(florist, types="stock.*") == kinds(courier, types="stock.*") == []

    ok(manager.patch(item, json={"min_level": "50"}))  # back above it
    confirmed(front, manager, three)  # 40: below again, a new crossing
    assert kinds(manager, types="stock.*") == ["stock.low", "stock.low"]


def test_a_message_failed_for_good_is_an_event_for_managers_only(as_role, front: Front, shop):
    manager, courier = as_role("manager"), as_role("courier")
    order_id = delivery_in(front, "ready", courier)
    customer_id = ok(manager.get(f"{ORDERS}/{order_id}"))["customer_id"]
    message = queue_message(
        kind="order_status",
        channel="sms",
        to="+79161112233",
        template="order_delivered",
        language="en",
        occurrence_key="test:failed",
        context={"shop": shop.name, "number": "1", "date": "1 May", "window": "10:00", "order_id": order_id},
        shop_id=shop.id,
        customer_id=customer_id,
        order_id=order_id,
    )
    db.session.commit()

    jobs.claim(message.id)
    jobs.mark_failed_try(message.id, error="busy", final=False, retry_in=10)  # a retry follows: no event
    assert "message.failed" not in kinds(manager)
    jobs.claim(message.id)
    jobs.mark_failed_try(message.id, error="number unknown", final=True)

    failed = last(manager, "message.failed")
    (entry,) = ok(manager.get("/api/v1/notifications", query_string={"customer_id": customer_id}))
    assert failed["data"] == entry and entry["status"] == "failed" and entry["recipient"] != "+79161112233"
    assert kinds(courier, types="message.*") == []


def test_another_shops_members_read_none_of_it(as_role, front: Front, other_shop):
    manager, courier = as_role("manager"), as_role("courier")
    delivery_in(front, "ready", courier)
    assert kinds(manager)
    stranger = as_role("manager", shop=other_shop)
    assert kinds(stranger) == []
    assert manager.get(EVENTS, headers={"X-Shop-Id": str(other_shop.id)}).status_code == 404
