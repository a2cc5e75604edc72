"""Two requests competing for the last stems cannot both win: real threads on PostgreSQL."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select

from app.extensions import db
from app.warehouse import stock
from app.warehouse.models import Reservation
from tests.factories import MembershipFactory, ShopFactory, UserFactory
from tests.helpers import ApiClient
from tests.orders.orderdata import answered_behind_a_lock
from tests.warehouse.stockdata import D, fresh, make_item, movement_sums, supply

pytestmark = pytest.mark.committed
THREADS = 20


def run_in_parallel(app, attempts: list[Callable[[], object]]) -> list[object]:
    """Start every attempt at the same moment, each in its own thread, app context and session."""
    barrier = threading.Barrier(len(attempts))
    results: list[object] = [None] * len(attempts)

    def worker(index: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                results[index] = attempts[index]()
            except Exception as exc:  # the test inspects what each thread met
                db.session.rollback()
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return results


def test_twenty_parallel_reservations_for_seven_stems_exactly_seven_win(app):
    shop = ShopFactory()
    rose = make_item(shop, "Red rose")
    supply(shop, (rose, 4, "40.00"))
    supply(shop, (rose, 3, "45.00"))
    db.session.commit()
    shop_id, rose_id = shop.id, rose.id

    def reserve_one(order_id: int):
        def attempt():
            stock.reserve(shop_id=shop_id, order_id=order_id, lines=[(rose_id, D(1))], actor_id=None)
            db.session.commit()
            return "reserved"

        return attempt

    results = run_in_parallel(app, [reserve_one(order_id) for order_id in range(1, THREADS + 1)])

    assert results.count("reserved") == 7
    shortages = [r for r in results if isinstance(r, stock.StockShortage)]
    assert len(shortages) == THREADS - 7  # nobody met anything but a clean shortage
    for shortage in shortages:
        assert shortage.errors["shortages"] == [
            {"item_id": rose_id, "name": "Red rose", "needed": "1.000", "available": "0.000"}
        ]
    item = fresh(rose)
    assert (item.on_hand, item.reserved, item.available) == (D(7), D(7), D(0))
    assert movement_sums(rose_id) == (D(7), D(7))
    held = db.session.scalars(select(Reservation).where(Reservation.item_id == rose_id)).all()
    assert len(held) == 7 and sum(r.quantity for r in held) == D(7)


def test_orders_naming_items_in_any_order_do_not_deadlock(app):
    shop = ShopFactory()
    rose, fern = make_item(shop, "Red rose"), make_item(shop, "Fern", kind="greenery")
    supply(shop, (rose, 10, "40.00"), (fern, 10, "12.00"))
    db.session.commit()
    shop_id, ids = shop.id, [rose.id, fern.id]
    shuffler = random.Random(4)

    def reserve_both(order_id: int):
        lines = [(item_id, D(1)) for item_id in shuffler.sample(ids, 2)]  # rose-fern or fern-rose

        def attempt():
            stock.reserve(shop_id=shop_id, order_id=order_id, lines=lines, actor_id=None)
            db.session.commit()
            return "reserved"

        return attempt

    results = run_in_parallel(app, [reserve_both(order_id) for order_id in range(1, THREADS + 1)])

    assert results.count("reserved") == 10
    assert all(isinstance(r, stock.StockShortage) for r in results if r != "reserved")
    assert movement_sums(rose.id) == (D(10), D(10)) == movement_sums(fern.id)


def six_of_ten_roses_held_by_order_one():
    """A shop with 10 roses (one batch at 40.00), 6 of them held by order 1, committed; (shop, rose)."""
    shop = ShopFactory()
    rose = make_item(shop, "Red rose")
    supply(shop, (rose, 10, "40.00"))
    stock.reserve(shop_id=shop.id, order_id=1, lines=[(rose.id, D(6))], actor_id=None)
    db.session.commit()
    return shop, rose


def test_parallel_consumption_and_release_settle_each_order_once(app):
    shop, rose = six_of_ten_roses_held_by_order_one()
    shop_id = shop.id

    def consume():
        cost = stock.consume(shop_id=shop_id, order_id=1, actor_id=None)
        db.session.commit()
        return ("consumed", cost)

    def release():
        count = stock.release(shop_id=shop_id, order_id=1, actor_id=None)
        db.session.commit()
        return ("released", count)

    results = run_in_parallel(app, [consume, release] * 5)

    settled = [r for r in results if r in (("consumed", D("240.00")), ("released", 1))]
    assert len(settled) == 1  # one of them settled the order; the other nine found nothing left
    item = fresh(rose)
    assert item.reserved == 0
    assert item.on_hand == (D(4) if settled[0][0] == "consumed" else D(10))
    assert movement_sums(rose.id) == (item.on_hand, D(0))


def test_parallel_write_offs_through_the_api_never_go_below_zero(app):
    shop = ShopFactory()
    florist = UserFactory()
    MembershipFactory(user=florist, shop=shop, role="florist")
    rose = make_item(shop, "Red rose")
    supply(shop, (rose, 5, "40.00"))
    db.session.commit()
    body = {"reason": "wilted", "lines": [{"item_id": rose.id, "quantity": "1"}]}

    def write_off():
        return ApiClient(app, user=florist, shop_id=shop.id).post("/api/v1/warehouse/write-offs", json=body).status_code

    statuses = run_in_parallel(app, [write_off] * 12)

    assert sorted(statuses) == [201] * 5 + [409] * 7
    item = fresh(rose)
    assert (item.on_hand, item.reserved) == (D(0), D(0))
    assert movement_sums(rose.id) == (D(0), D(0))


def test_a_consume_that_waited_behind_a_write_off_sees_the_stems_the_order_lost(app):
    shop, rose = six_of_ten_roses_held_by_order_one()
    shop_id, rose_id = shop.id, rose.id
    # Another transaction writes 8 of the 10 stems off, as a write-off does: the item's lock first, then the order
    # gives up the 4 stems no other stock can stand in for.
    wilted = [
        ("SELECT id FROM warehouse_items WHERE id = :rose FOR UPDATE", {"rose": rose_id}),
        ("UPDATE warehouse_items SET on_hand = 2, reserved = 2 WHERE id = :rose", {"rose": rose_id}),
        ("UPDATE stock_batches SET remaining = 2 WHERE item_id = :rose", {"rose": rose_id}),
        ("UPDATE stock_reservations SET quantity = 2, short = 4 WHERE order_id = 1", {}),
    ]

    def consume():
        with app.app_context():
            try:
                return stock.consume(shop_id=shop_id, order_id=1, actor_id=None)
            finally:
                db.session.rollback()
                db.session.remove()

    answer = answered_behind_a_lock(wilted, consume)

    assert isinstance(answer, stock.OrderShort)  # not the 6 stems it held before it waited
    assert answer.errors["shortages"] == [
        {"item_id": rose_id, "name": "Red rose", "needed": "4.000", "available": "0.000"}
    ]
