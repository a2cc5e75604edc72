"""Write-offs of reserved stems racing confirms, completions and each other: real threads, real commits on
PostgreSQL, each request through its own client (its own session and connection, as gunicorn workers)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.orders import services as orders
from app.orders.models import Order
from app.warehouse.models import Reservation, ReservationState
from bench import invariants
from tests.orders.orderdata import EVENING, delivery, open_shop, run_in_parallel, stock_of
from tests.production.workshop import ORDERS, TASKS, clients_like, confirmed, ok, tasks_of
from tests.warehouse.stockdata import D, movement_sums, staff_client

pytestmark = pytest.mark.committed
WRITE_OFFS = "/api/v1/warehouse/write-offs"
# Backends of this database blocked on a lock (a row lock here).
WAITING_ON_LOCKS = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


def confirm(client, order_id):
    return lambda: client.post(f"{ORDERS}/{order_id}/status", json={"status": "confirmed"})


def complete(client, task_id):
    return lambda: client.post(f"{TASKS}/{task_id}/complete")


def write_off(client, item, quantity):
    line = {"item_id": item.id, "quantity": quantity}
    return lambda: client.post(WRITE_OFFS, json={"reason": "wilted", "lines": [line]})


def books_are_exact(front) -> None:
    """On hand and reserved equal the movements; each open order holds or misses exactly its recipe."""
    on_hand, reserved = stock_of(front.rose)
    assert (on_hand, reserved) == movement_sums(front.rose.id)
    assert D(0) <= reserved <= on_hand
    db.session.expire_all()
    active = db.session.scalars(
        select(Reservation).where(
            Reservation.item_id == front.rose.id, Reservation.state == ReservationState.ACTIVE.value
        )
    ).all()
    assert sum((r.quantity for r in active), Decimal(0)) == reserved
    lines: dict[int, list[Reservation]] = defaultdict(list)
    for reservation in active:
        lines[reservation.order_id].append(reservation)
    orders = db.session.scalars(select(Order).where(Order.shop_id == front.shop_id)).all()
    for order in orders:
        if order.status in ("confirmed", "in_production"):
            (line,) = lines[order.id]
            assert line.quantity + line.short == D(5)  # one bouquet: 5 roses, held or missing
            assert order.stock_short is (line.short > 0)
        else:
            assert order.id not in lines and order.stock_short is False
    violations = invariants.check(db.engine.url.render_as_string(hide_password=False))
    assert not any(violations.values()), violations


def test_write_offs_racing_confirms_and_completions_keep_the_books_exact(app, shop):
    front = open_shop(shop, roses=20)
    manager = staff_client(app, shop, "manager")
    florist = staff_client(app, shop, "florist")
    db.session.commit()
    started = [confirmed(front, manager) for _ in range(2)]  # 10 roses held, bouquets on the table
    for order_id in started:
        (task,) = tasks_of(order_id)
        ok(florist.post(f"{TASKS}/{task.id}/start"))
    waiting = [ok(manager.post(ORDERS, json=delivery(front, window_start=EVENING)), 201)["id"] for _ in range(4)]
    task_ids = [tasks_of(order_id)[0].id for order_id in started]

    managers = clients_like(app, manager, len(waiting))
    florists = clients_like(app, florist, len(task_ids) + 3)
    attempts = [
        *(confirm(c, o) for c, o in zip(managers, waiting, strict=True)),
        *(complete(c, t) for c, t in zip(florists, task_ids, strict=False)),
        *(write_off(c, front.rose, 4) for c in florists[len(task_ids) :]),
    ]

    responses = run_in_parallel(attempts)

    codes = [r.status_code for r in responses]
    assert set(codes) <= {200, 201, 409}, [(r.status_code, r.get_json()) for r in responses]
    written_off = 4 * sum(1 for r in responses[-3:] if r.status_code == 201)
    made = sum(1 for r in responses[len(waiting) : len(waiting) + len(task_ids)] if r.status_code == 200)
    for refused in (r for r in responses[len(waiting) : len(waiting) + len(task_ids)] if r.status_code == 409):
        assert refused.json["errors"]["shortages"][0]["item_id"] == front.rose.id  # short, never oversold
    assert stock_of(front.rose)[0] == D(20) - written_off - 5 * made
    books_are_exact(front)


def test_two_write_offs_of_one_batch_cannot_both_take_its_last_stems(app, shop):
    front = open_shop(shop, roses=10)
    manager = staff_client(app, shop, "manager")
    florist = staff_client(app, shop, "florist")
    db.session.commit()
    order_id = confirmed(front, manager)  # 5 of the 10 reserved

    responses = run_in_parallel([write_off(c, front.rose, 7) for c in clients_like(app, florist, 2)])

    assert sorted(r.status_code for r in responses) == [201, 409]
    (refused,) = [r for r in responses if r.status_code == 409]
    assert refused.json["errors"]["shortages"] == [
        {"item_id": front.rose.id, "name": "Red rose", "needed": "7.000", "available": "3.000"}
    ]
    assert stock_of(front.rose) == (D(3), D(3))
    db.session.expire_all()
    assert db.session.get(Order, order_id).stock_short is True
    books_are_exact(front)


def test_an_order_confirmed_while_a_write_off_waits_for_the_stems_is_locked_and_flagged_too(app, shop):
    front = open_shop(shop, roses=10)
    manager = staff_client(app, shop, "manager")
    florist = staff_client(app, shop, "florist")
    db.session.commit()
    first = confirmed(front, manager)  # 5 roses held
    late = ok(manager.post(ORDERS, json=delivery(front, window_start=EVENING)), 201)["id"]
    confirming, release = threading.Event(), threading.Event()

    def confirm_and_hold():
        """Confirms the order due last and keeps its transaction open (holding the roses) until told."""
        with app.app_context():
            try:
                orders.change_status(shop_id=shop.id, order_id=late, actor_id=None, status="confirmed", commit=False)
                confirming.set()
                release.wait(timeout=30)
                db.session.commit()
            finally:
                db.session.remove()

    holder = threading.Thread(target=confirm_and_hold)
    holder.start()
    assert confirming.wait(timeout=30)
    answers: list = []
    attempt = write_off(florist, front.rose, 5)
    writer = threading.Thread(target=lambda: answers.append(attempt()))
    writer.start()
    waited_for_lock = False
    deadline = time.monotonic() + 30
    while not waited_for_lock and time.monotonic() < deadline:  # until the write-off waits for the roses
        with db.engine.connect() as connection:  # a fresh snapshot of pg_stat_activity each time
            waited_for_lock = connection.execute(WAITING_ON_LOCKS).scalar_one() >= 1
        time.sleep(0.01)
    release.set()
    holder.join(timeout=30)
    writer.join(timeout=30)

    assert waited_for_lock
    (answer,) = answers
    assert answer.status_code == 201, answer.get_json()
    # The late order, unseen when the write-off began, gave up its stems first and is flagged.
    db.session.expire_all()
    assert db.session.get(Order, late).stock_short is True
    assert db.session.get(Order, first).stock_short is False
    assert stock_of(front.rose) == (D(5), D(5))
    books_are_exact(front)
