"""The whole life of an order through the API (SPEC §6), with stock, history, payments and audit at each step,
and the ways it goes wrong: cancelled mid-production, a failed delivery sent out again, returned to the shop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.orders.orderdata import delivery, history_of, stock_of
from tests.production.workshop import (
    DELIVERIES,
    ORDERS,
    TASKS,
    audit_of,
    confirmed,
    movements_of,
    ok,
    order_row,
    payments_of,
    tasks_of,
    trip_of,
)
from tests.warehouse.stockdata import D


def test_an_order_from_intake_to_the_door(front, boss, as_role):
    florist, courier = as_role("florist"), as_role("courier")

    # Taken: nothing reserved yet.
    order = ok(boss.post(ORDERS, json=delivery(front)), 201)
    order_id = order["id"]
    assert order["status"] == "new" and order["total"] == "3200.00"
    assert stock_of(front.rose) == (D(100), D(0))
    assert tasks_of(order_id) == []

    # Confirmed: the recipe is reserved and the florists get a task due an hour before the window.
    ok(boss.post(f"{ORDERS}/{order_id}/status", json={"status": "confirmed"}))
    assert stock_of(front.rose) == (D(100), D(5)) and stock_of(front.fern) == (D(20), D(1))
    (task,) = tasks_of(order_id)
    assert (task.status, task.quantity, task.card_text) == ("pending", 1, "Happy birthday, Ira!")
    assert task.due_at == order_row(order_id).scheduled_at - timedelta(minutes=60)
    assert audit_of("production_task", task.id) == [("create", boss.user.id)]

    # The workshop tablet: the task with what to take from the shelves.
    (listed,) = ok(florist.get(TASKS))
    assert listed["id"] == task.id and listed["florist"] is None
    assert listed["order"]["number"] == order["number"]
    assert [(line["name"], line["quantity"]) for line in listed["recipe"]] == [("Fern", "1.000"), ("Red rose", "5.000")]

    claimed = ok(florist.post(f"{TASKS}/{task.id}/claim", headers={"Idempotency-Key": "claim-1"}))
    assert claimed["florist"] == {"id": florist.user.id, "name": florist.user.name}

    started = ok(florist.post(f"{TASKS}/{task.id}/start", headers={"Idempotency-Key": "start-1"}))
    assert started["status"] == "in_progress" and started["order"]["status"] == "in_production"
    assert history_of(order_id) == [(None, "new"), ("new", "confirmed"), ("confirmed", "in_production")]
    assert stock_of(front.rose) == (D(100), D(5))  # still reserved, not yet used

    # The last (only) task done: the stems leave the shelf, the cost of goods is on the order, it is ready.
    done = ok(florist.post(f"{TASKS}/{task.id}/complete", headers={"Idempotency-Key": "complete-1"}))
    assert done["status"] == "done" and done["order"]["status"] == "ready"
    assert stock_of(front.rose) == (D(95), D(0)) and stock_of(front.fern) == (D(19), D(0))
    assert order_row(order_id).cost_of_goods == D("212.00")  # 5 roses at 40.00 + a fern at 12.00
    assert [kind for kind, _ in movements_of(order_id)] == ["reservation"] * 2 + ["consumption"] * 2
    assert history_of(order_id)[-1] == ("in_production", "ready")
    assert audit_of("production_task", task.id) == [
        ("create", boss.user.id),
        ("claim", florist.user.id),
        ("start", florist.user.id),
        ("complete", florist.user.id),
    ]

    # A courier is assigned; the courier app shows the door, and nothing else of the customer.
    assigned = ok(boss.post(f"{ORDERS}/{order_id}/courier", json={"courier_id": courier.user.id}))
    assert assigned["courier"] == {"id": courier.user.id, "name": courier.user.name}
    (card,) = ok(courier.get(DELIVERIES))
    assert card["order_id"] == order_id and card["status"] == "ready"
    assert (card["recipient_name"], card["recipient_phone"]) == ("Irina Sokolova", "+79162223344")
    assert (card["address"], card["note"], card["amount_due"]) == ("Moscow, Arbat 10, flat 5", "Call before", "3200.00")
    assert (card["window_start"], card["window_end"]) == ("10:00", "14:00")
    text = str(card)
    assert "Olga" not in text and "+79161112233" not in text and "Happy birthday" not in text

    out = ok(courier.post(f"{DELIVERIES}/{order_id}/pickup", headers={"Idempotency-Key": "pickup-1"}))
    assert out["status"] == "out_for_delivery" and out["attempts"] == 1

    phone_time = trip_of(order_id).picked_up_at  # handed over at the door of the shop: the earliest it may say
    handed = ok(
        courier.post(
            f"{DELIVERIES}/{order_id}/deliver",
            json={"completed_at": phone_time.isoformat(), "amount_collected": "3200.00"},
            headers={"Idempotency-Key": "deliver-1"},
        )
    )
    assert handed["status"] == "delivered" and handed["amount_due"] == "0.00"
    assert datetime.fromisoformat(handed["client_completed_at"]) == phone_time
    trip = trip_of(order_id)
    assert trip.client_completed_at == phone_time
    assert abs(trip.delivered_at - datetime.now(UTC)) < timedelta(minutes=1)  # the server's own clock beside it
    (payment,) = payments_of(order_id)
    assert (payment.amount, payment.method, payment.created_by_id) == (D("3200.00"), "cash", courier.user.id)
    row = order_row(order_id)
    assert (row.status, row.paid_amount, row.payment_status) == ("delivered", D("3200.00"), "paid")

    assert history_of(order_id) == [
        (None, "new"),
        ("new", "confirmed"),
        ("confirmed", "in_production"),
        ("in_production", "ready"),
        ("ready", "out_for_delivery"),
        ("out_for_delivery", "delivered"),
    ]
    assert audit_of("order", order_id) == [
        ("create", boss.user.id),
        ("status", boss.user.id),
        ("status", florist.user.id),
        ("consume", florist.user.id),
        ("status", florist.user.id),
        ("assign_courier", boss.user.id),
        ("status", courier.user.id),
        ("payment", courier.user.id),
        ("status", courier.user.id),
    ]
    # The manager sees the same story on the order.
    assert ok(boss.get(f"{ORDERS}/{order_id}"))["cost_of_goods"] == "212.00"


def test_cancelled_mid_production_the_tasks_stop_and_the_stock_comes_back(front, boss, as_role):
    florist = as_role("florist")
    order_id = confirmed(front, boss, delivery(front, items=[{"product_id": front.bouquet.id, "quantity": 2}]))
    (task,) = tasks_of(order_id)
    ok(florist.post(f"{TASKS}/{task.id}/start"))
    assert order_row(order_id).status == "in_production"

    ok(boss.post(f"{ORDERS}/{order_id}/status", json={"status": "cancelled", "comment": "customer changed mind"}))

    (task,) = tasks_of(order_id)
    assert task.status == "cancelled" and task.cancelled_at is not None
    assert stock_of(front.rose) == (D(100), D(0)) and stock_of(front.fern) == (D(20), D(0))
    assert [kind for kind, _ in movements_of(order_id)] == ["reservation"] * 2 + ["release"] * 2
    # The florist's tablet learns it, and cannot finish it.
    refused = florist.post(f"{TASKS}/{task.id}/complete")
    assert refused.status_code == 409
    assert refused.json["errors"]["task"]["status"] == "cancelled"
    assert order_row(order_id).status == "cancelled" and order_row(order_id).cost_of_goods is None
    assert ("cancel", boss.user.id) in audit_of("production_task", task.id)


def _out_for_delivery(front, boss, florist, courier) -> int:
    order_id = confirmed(front, boss)
    (task,) = tasks_of(order_id)
    ok(florist.post(f"{TASKS}/{task.id}/start"))
    ok(florist.post(f"{TASKS}/{task.id}/complete"))
    ok(boss.post(f"{ORDERS}/{order_id}/courier", json={"courier_id": courier.user.id}))
    ok(courier.post(f"{DELIVERIES}/{order_id}/pickup"))
    return order_id


def test_a_failed_delivery_is_sent_out_again_and_delivered(front, boss, as_role):
    florist, courier = as_role("florist"), as_role("courier")
    order_id = _out_for_delivery(front, boss, florist, courier)

    failed = ok(courier.post(f"{DELIVERIES}/{order_id}/fail", json={"reason": "nobody_home"}))
    assert failed["status"] == "delivery_failed" and failed["failure_reason"] == "nobody_home"
    assert history_of(order_id)[-1] == ("out_for_delivery", "delivery_failed")

    again = ok(courier.post(f"{DELIVERIES}/{order_id}/pickup"))
    assert again["status"] == "out_for_delivery" and again["attempts"] == 2
    ok(courier.post(f"{DELIVERIES}/{order_id}/deliver", json={}))

    assert history_of(order_id)[-4:] == [
        ("ready", "out_for_delivery"),
        ("out_for_delivery", "delivery_failed"),
        ("delivery_failed", "out_for_delivery"),
        ("out_for_delivery", "delivered"),
    ]
    assert payments_of(order_id) == []  # nothing collected: nothing recorded
    assert order_row(order_id).amount_due == D("3200.00")


def test_a_failed_delivery_returned_to_the_shop_goes_out_another_day_with_another_courier(front, boss, as_role):
    florist, courier, second = as_role("florist"), as_role("courier"), as_role("courier")
    order_id = _out_for_delivery(front, boss, florist, courier)
    ok(courier.post(f"{DELIVERIES}/{order_id}/fail", json={"reason": "other", "comment": "gate locked"}))

    back = ok(boss.post(f"{DELIVERIES}/{order_id}/return"))
    assert back["status"] == "ready"
    assert history_of(order_id)[-1] == ("delivery_failed", "ready")

    ok(boss.post(f"{ORDERS}/{order_id}/courier", json={"courier_id": second.user.id}))
    assert ok(courier.get(DELIVERIES)) == []
    ok(second.post(f"{DELIVERIES}/{order_id}/pickup"))
    # The first courier's late step is refused with the state it is in, not applied.
    late = courier.post(f"{DELIVERIES}/{order_id}/deliver", json={"amount_collected": "3200.00"})
    assert late.status_code == 409
    assert late.json["errors"]["delivery"] == {
        "order_id": order_id,
        "status": "out_for_delivery",
        "assigned_to_you": False,
    }
    ok(second.post(f"{DELIVERIES}/{order_id}/deliver", json={"amount_collected": "1000.00"}))
    assert [p.amount for p in payments_of(order_id)] == [D("1000.00")]
    assert order_row(order_id).status == "delivered"
