"""Reserved stems wilt too: the florist writes them off, other stock stands in, or the orders that held
them are flagged short to the managers and cannot be assembled until a supply refills them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.common.types import utcnow
from app.extensions import db, queues
from app.messaging.models import MessageLog
from app.warehouse import services
from app.warehouse.models import Movement, Reservation, ReservationState
from tests.orders.orderdata import EVENING, delivery, open_shop, pickup, stock_of
from tests.production.workshop import ORDERS, TASKS, audit_of, confirmed, ok, order_row, tasks_of
from tests.warehouse.stockdata import D, batches_of, movement_sums, staff_client, supply

WRITE_OFFS = "/api/v1/warehouse/write-offs"


@pytest.fixture
def staff(app, shop):
    """`staff("florist")` → a client of a new florist of `shop`, committed (a refused request rolls back)."""

    def _staff(role: str):
        client = staff_client(app, shop, role)
        db.session.commit()
        return client

    return _staff


@pytest.fixture
def boss(staff):
    return staff("manager")


def wilted(client, item, quantity, batch_id=None):
    line = {"item_id": item.id, "quantity": str(quantity)}
    if batch_id is not None:
        line["batch_id"] = batch_id
    return client.post(WRITE_OFFS, json={"reason": "wilted", "lines": [line]})


def held(order_id: int, item) -> tuple[D, D]:
    """(held, short) of the order's active reservation of the item."""
    db.session.expire_all()
    row = db.session.scalars(
        select(Reservation).where(
            Reservation.order_id == order_id,
            Reservation.item_id == item.id,
            Reservation.state == ReservationState.ACTIVE.value,
        )
    ).one()
    return row.quantity, row.short


def short_alerts() -> list[tuple[int | None, int | None, dict]]:
    rows = db.session.scalars(select(MessageLog).where(MessageLog.kind == "stock_short").order_by(MessageLog.id))
    return [(row.order_id, row.user_id, row.context) for row in rows]


def assembled(florist, order_id: int):
    """The florist starts the order's (one) task and tries to complete it; the complete's response."""
    (task,) = tasks_of(order_id)
    ok(florist.post(f"{TASKS}/{task.id}/start"))
    return florist.post(f"{TASKS}/{task.id}/complete")


def test_reserved_stems_that_wilt_are_written_off_and_other_stock_stands_in(shop, staff, boss):
    front = open_shop(shop, roses=10)  # 10 roses at 40.00
    supply(shop, (front.rose, 10, "60.00"))  # a later batch at 60.00
    order_id = confirmed(front, boss)  # 5 roses, 1 fern
    florist = staff("florist")
    first_batch = batches_of(front.rose.id)[0]

    response = wilted(florist, front.rose, 10, batch_id=first_batch.id)

    assert response.status_code == 201, response.json
    assert response.json["cost"] == "400.00"
    assert stock_of(front.rose) == (D(10), D(5))
    assert movement_sums(front.rose.id) == (D(10), D(5))
    assert held(order_id, front.rose) == (D(5), D(0))
    assert order_row(order_id).stock_short is False
    assert short_alerts() == []
    # The bouquet is made from the batch that stood in: its cost of goods says so.
    assert ok(assembled(florist, order_id))["status"] == "done"
    assert order_row(order_id).cost_of_goods == D("312.00")  # 5 x 60 + 1 fern x 12


def test_when_no_stock_stands_in_the_order_due_last_is_short_and_the_managers_are_told(shop, staff, boss):
    front = open_shop(shop, roses=10)
    admin = staff("admin")
    morning = confirmed(front, boss)
    evening = confirmed(front, boss, delivery(front, window_start=EVENING))
    florist = staff("florist")
    before = utcnow()

    response = wilted(florist, front.rose, 4)

    assert response.status_code == 201, response.json
    assert [line["quantity"] for line in response.json["lines"]] == ["4.000"]
    # The books stay exact: 6 roses left, all of them reserved; the order due last gave up 4.
    assert stock_of(front.rose) == (D(6), D(6))
    assert movement_sums(front.rose.id) == (D(6), D(6))
    assert held(morning, front.rose) == (D(5), D(0))
    assert held(evening, front.rose) == (D(1), D(4))
    assert order_row(morning).stock_short is False
    assert order_row(evening).stock_short is True
    released = db.session.scalars(
        select(Movement).where(Movement.order_id == evening, Movement.kind == "release")
    ).one()
    assert (released.quantity, released.user_id) == (D(-4), florist.user.id)
    # Visible where the managers and the florists look.
    assert ok(boss.get(f"{ORDERS}/{evening}"))["stock_short"] is True
    assert ok(boss.get(f"{ORDERS}/{morning}"))["stock_short"] is False
    listed = {row["id"]: row["stock_short"] for row in ok(boss.get(ORDERS))}
    assert listed == {morning: False, evening: True}
    tasks = {row["order"]["id"]: row["order"]["stock_short"] for row in ok(florist.get(TASKS))}
    assert tasks == {morning: False, evening: True}
    # A tablet syncing with updated_since sees the short order's task change, and only that one.
    synced = ok(florist.get(TASKS, query_string={"updated_since": before.isoformat()}))
    assert [row["order"]["id"] for row in synced] == [evening]
    # Each manager and admin is told once, by a message sent after the commit.
    told = short_alerts()
    assert sorted(user for _order, user, _context in told) == sorted([boss.user.id, admin.user.id])
    assert {order for order, _user, _context in told} == {evening}
    assert told[0][2]["items"] == "Red rose ×4"
    assert len(queues.get("messages").get_jobs()) == 2
    assert ("stock_short", florist.user.id) in audit_of("order", evening)


def test_a_short_order_is_not_assembled_until_a_supply_refills_it(shop, staff, boss):
    front = open_shop(shop, roses=10)
    morning = confirmed(front, boss)
    evening = confirmed(front, boss, delivery(front, window_start=EVENING))
    florist = staff("florist")
    ok(wilted(florist, front.rose, 4), 201)

    refused = assembled(florist, evening)

    assert refused.status_code == 409
    assert refused.json["errors"]["shortages"] == [
        {"item_id": front.rose.id, "name": "Red rose", "needed": "4.000", "available": "0.000"}
    ]
    (task,) = tasks_of(evening)
    assert task.status == "in_progress"
    assert order_row(evening).status == "in_production"
    assert stock_of(front.rose) == (D(6), D(6))  # nothing was consumed

    # The supply refills the short order: it holds its five roses again and can be made.
    ok(boss.post("/api/v1/warehouse/supplies", json=_supply(front, 3)), 201)
    assert held(evening, front.rose) == (D(4), D(1))
    assert order_row(evening).stock_short is True  # still one rose short
    ok(boss.post("/api/v1/warehouse/supplies", json=_supply(front, 10)), 201)
    assert held(evening, front.rose) == (D(5), D(0))
    assert order_row(evening).stock_short is False
    assert stock_of(front.rose) == (D(19), D(10))
    assert movement_sums(front.rose.id) == (D(19), D(10))

    assert ok(florist.post(f"{TASKS}/{task.id}/complete"))["status"] == "done"
    assert order_row(evening).status == "ready"
    assert ok(assembled(florist, morning))["status"] == "done"
    assert stock_of(front.rose) == (D(9), D(0))


def _supply(shop_front, roses: int) -> dict:
    line = {"item_id": shop_front.rose.id, "quantity": str(roses), "unit_cost": "45.00"}
    return {"supplier": "Flora", "lines": [line]}


def test_a_short_order_with_nothing_to_assemble_is_not_made_ready(shop, staff, boss):
    front = open_shop(shop, roses=2)
    order_id = confirmed(front, boss, pickup(front))  # two stems off the shelf
    ok(wilted(staff("florist"), front.rose, 2), 201)

    refused = boss.post(f"{ORDERS}/{order_id}/status", json={"status": "ready"})

    assert refused.status_code == 409
    assert refused.json["errors"]["shortages"][0]["needed"] == "2.000"
    assert order_row(order_id).status == "confirmed"
    assert stock_of(front.rose) == (D(0), D(0))


def test_a_short_order_changed_or_cancelled_is_short_no_more(shop, staff, boss):
    front = open_shop(shop, roses=10)
    kept = confirmed(front, boss)
    dropped = confirmed(front, boss, delivery(front, window_start=EVENING))
    ok(wilted(staff("florist"), front.rose, 7), 201)  # both short now: 3 roses for 10 reserved
    assert (order_row(kept).stock_short, order_row(dropped).stock_short) == (True, True)

    ok(boss.post(f"{ORDERS}/{dropped}/status", json={"status": "cancelled", "comment": "no roses"}))
    assert order_row(dropped).stock_short is False
    assert stock_of(front.rose) == (D(3), D(3))

    # Fewer bouquets, and the lines are reserved whole again from what is there.
    tag = boss.get(f"{ORDERS}/{kept}").headers["ETag"]
    fewer = [{"product_id": front.stem.id, "quantity": 3}]
    changed = ok(boss.patch(f"{ORDERS}/{kept}", json={"items": fewer}, headers={"If-Match": tag}))
    assert changed["stock_short"] is False
    assert held(kept, front.rose) == (D(3), D(0))
    assert movement_sums(front.rose.id) == (D(3), D(3))


def test_an_order_being_assembled_keeps_its_stems_before_one_due_later_or_not_started(shop, staff, boss):
    front = open_shop(shop, roses=10)
    started = confirmed(front, boss, delivery(front, window_start=EVENING))  # due last, but started
    waiting = confirmed(front, boss)
    florist = staff("florist")
    (task,) = tasks_of(started)
    ok(florist.post(f"{TASKS}/{task.id}/start"))

    ok(wilted(florist, front.rose, 2), 201)

    assert held(started, front.rose) == (D(5), D(0))
    assert held(waiting, front.rose) == (D(3), D(2))


def test_a_write_off_of_more_than_is_on_hand_is_refused_and_changes_nothing(shop, staff, boss):
    front = open_shop(shop, roses=10)
    order_id = confirmed(front, boss)

    refused = wilted(staff("florist"), front.rose, 11)

    assert refused.status_code == 409
    assert refused.json["errors"]["shortages"] == [
        {"item_id": front.rose.id, "name": "Red rose", "needed": "11.000", "available": "10.000"}
    ]
    assert stock_of(front.rose) == (D(10), D(5))
    assert held(order_id, front.rose) == (D(5), D(0))
    assert short_alerts() == []


def test_a_batch_written_off_whole_after_expiry_leaves_its_orders_short(shop, staff, boss):
    front = open_shop(shop, roses=0)
    today = services.shop_today(shop.id)
    supply(shop, (front.rose, 6, "40.00"), received_on=today - timedelta(days=7))  # expired today
    order_id = confirmed(front, boss)
    (expired,) = batches_of(front.rose.id)

    ok(wilted(staff("florist"), front.rose, 6, batch_id=expired.id), 201)

    assert held(order_id, front.rose) == (D(0), D(5))
    assert ok(boss.get(f"{ORDERS}/{order_id}"))["stock_short"] is True
    assert stock_of(front.rose) == (D(0), D(0))


def test_a_count_below_what_orders_hold_leaves_the_order_due_last_short_and_a_surplus_refills_it(shop, staff, boss):
    front = open_shop(shop, roses=10)
    morning = confirmed(front, boss)
    evening = confirmed(front, boss, delivery(front, window_start=EVENING))
    count = {"lines": [{"item_id": front.rose.id, "counted": "7"}]}

    ok(boss.post("/api/v1/warehouse/counts", json=count), 201)

    assert held(morning, front.rose) == (D(5), D(0))
    assert held(evening, front.rose) == (D(2), D(3))
    assert order_row(evening).stock_short is True
    assert [order for order, _user, _context in short_alerts()] == [evening]
    assert movement_sums(front.rose.id) == (D(7), D(7))

    # The three roses turn up behind the fridge: a recount refills the order.
    ok(boss.post("/api/v1/warehouse/counts", json={"lines": [{"item_id": front.rose.id, "counted": "10"}]}), 201)
    assert held(evening, front.rose) == (D(5), D(0))
    assert order_row(evening).stock_short is False
    assert movement_sums(front.rose.id) == (D(10), D(10))
