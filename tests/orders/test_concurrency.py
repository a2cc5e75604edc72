"""Intake under concurrency, with real threads and real commits on PostgreSQL.

Each thread sends a real request through its own test client, so each has its own app context,
session and database connection, as gunicorn workers would.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select, text

from app.catalogue import services as catalogue
from app.customers.models import Customer
from app.extensions import db
from app.orders.models import Order
from tests.helpers import ApiClient, wait_until_blocked
from tests.orders.orderdata import (
    MORNING,
    answered_behind_a_lock,
    count_orders,
    delivery,
    history_of,
    open_shop,
    pickup,
    place,
    run_in_parallel,
    shop_of,
    stock_of,
    taken,
    uses,
)
from tests.promos.promodata import make_code
from tests.warehouse.stockdata import D

# Backends of this database blocked on a lock (a row lock in these tests).
pytestmark = pytest.mark.committed
ORDERS = "/api/v1/orders"


def clients_like(app, client: ApiClient, count: int) -> list[ApiClient]:
    """`count` separate test clients speaking as `client`'s user (a test client is not shared across threads)."""
    clones = []
    for _ in range(count):
        clone = ApiClient(app, shop_id=client.shop_id)
        clone.user, clone.token = client.user, client.token
        clones.append(clone)
    return clones


def post_all(clients: list[ApiClient], path: str, bodies: list[dict], headers: dict | None = None) -> list:
    def attempt(client: ApiClient, body: dict):
        return lambda: client.post(path, json=body, headers=headers or {})

    return run_in_parallel([attempt(c, b) for c, b in zip(clients, bodies, strict=True)])


def test_a_window_of_three_under_fifteen_parallel_creates_takes_three(app, shop, boss):
    front = open_shop(shop, capacity=3)

    responses = post_all(clients_like(app, boss, 15), ORDERS, [delivery(front) for _ in range(15)])

    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 3 + [409] * 12
    for refused in (r for r in responses if r.status_code == 409):
        assert refused.json["errors"] == {"window": {"date": front.day.isoformat(), "start": MORNING}, "reason": "full"}
    assert count_orders(front.shop_id) == 3
    assert taken(front.shop_id, front.day, MORNING) == 3
    numbers = {r.json["number"] for r in responses if r.status_code == 201}
    assert len(numbers) == 3
    # All fifteen named the same new customer: found or created once.
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 1


def test_a_promo_code_of_five_uses_under_twenty_parallel_creates_discounts_five(app, front, boss):
    promo = make_code(shop_of(front), code="FIVE", kind="fixed", value="50", max_uses=5)
    bodies = [
        pickup(front, customer={"name": f"Client {i}", "phone": f"+7903555{i:04d}"}, promo_code="FIVE")
        for i in range(20)
    ]

    responses = post_all(clients_like(app, boss, 20), ORDERS, bodies)

    created = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code != 201]
    assert len(created) == 5
    assert all(r.json["discount"] == "50.00" and r.json["total"] == "330.00" for r in created)
    assert {r.status_code for r in refused} == {422}
    assert all(r.json["errors"] == {"promo_code": ["This promo code has been used up."]} for r in refused)
    assert uses(promo.id) == 5
    assert count_orders(front.shop_id) == 5
    assert len({r.json["number"] for r in created}) == 5


def test_the_same_idempotency_key_sent_ten_times_at_once_makes_one_order(app, front, boss):
    body = delivery(front)

    responses = post_all(clients_like(app, boss, 10), ORDERS, [body] * 10, headers={"Idempotency-Key": "double-tap"})

    assert [r.status_code for r in responses] == [201] * 10
    assert len({r.json["id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 9
    assert count_orders(front.shop_id) == 1
    assert taken(front.shop_id, front.day, MORNING) == 1


def test_two_confirms_racing_for_the_last_stems_one_wins_the_other_hears_the_shortage(app, shop, boss):
    front = open_shop(shop, roses=5, ferns=1)  # exactly one bouquet's worth
    ids = [place(front, delivery(front)).id, place(front, delivery(front)).id]

    responses = run_in_parallel(
        [
            lambda c=c, order_id=order_id: c.post(f"{ORDERS}/{order_id}/status", json={"status": "confirmed"})
            for c, order_id in zip(clients_like(app, boss, 2), ids, strict=True)
        ]
    )

    assert sorted(r.status_code for r in responses) == [200, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert {s["name"] for s in loser.json["errors"]["shortages"]} == {"Red rose", "Fern"}
    assert stock_of(front.rose) == (D(5), D(5)) and stock_of(front.fern) == (D(1), D(1))
    statuses = sorted(db.session.scalars(select(Order.status).where(Order.shop_id == front.shop_id)))
    assert statuses == ["confirmed", "new"]


def test_one_order_confirmed_five_times_at_once_is_confirmed_and_reserved_once(app, front, boss):
    order_id = place(front, delivery(front)).id  # ids only: the threads have no app context to load ORM rows

    responses = run_in_parallel(
        [
            lambda c=c: c.post(f"{ORDERS}/{order_id}/status", json={"status": "confirmed"})
            for c in clients_like(app, boss, 5)
        ]
    )

    assert [r.status_code for r in responses] == [200] * 5
    assert history_of(order_id) == [(None, "new"), ("new", "confirmed")]
    assert stock_of(front.rose) == (D(100), D(5))


def test_one_order_cancelled_five_times_at_once_gives_back_its_window_and_promo_use_once(app, shop, boss):
    front = open_shop(shop, capacity=3)
    promo = make_code(shop_of(front), code="ONCE", kind="fixed", value="100", max_uses=3)
    order_id = place(front, delivery(front, promo_code="ONCE")).id
    place(front, delivery(front, promo_code="ONCE", customer={"name": "B", "phone": "+79035550001"}))
    body = {"status": "cancelled", "comment": "Called off"}

    responses = run_in_parallel(
        [lambda c=c: c.post(f"{ORDERS}/{order_id}/status", json=body) for c in clients_like(app, boss, 5)]
    )

    assert [r.status_code for r in responses] == [200] * 5
    assert history_of(order_id) == [(None, "new"), ("new", "cancelled")]
    assert taken(front.shop_id, front.day, MORNING) == 1  # the other order still holds its place
    assert uses(promo.id) == 1


def test_a_confirm_that_waited_for_the_orders_lock_reserves_the_lines_as_they_are_after_it(app, shop, boss):
    """The lines are read once the order's lock is held, not with the row: a row joined to the locked one would be
    read as it was before the wait (READ COMMITTED), and the confirm would reserve lines that are gone."""
    front = open_shop(shop)
    order_id = place(front, delivery(front)).id  # a bouquet: 5 roses and a fern
    stem_id, (confirm_client,) = front.stem.id, clients_like(app, boss, 1)

    # Another change of the order holds its lock and makes the bouquet two roses by the stem.
    confirmed = answered_behind_a_lock(
        [
            ("SELECT id FROM orders WHERE id = :id FOR UPDATE", {"id": order_id}),
            (
                "UPDATE order_items SET product_id = :stem, quantity = 2, needs_assembly = false WHERE order_id = :id",
                {"stem": stem_id, "id": order_id},
            ),
        ],
        lambda: confirm_client.post(f"{ORDERS}/{order_id}/status", json={"status": "confirmed"}),
    )

    assert confirmed.status_code == 200, confirmed.json
    assert stock_of(front.rose) == (D(100), D(2))
    assert stock_of(front.fern) == (D(20), D(0))


def test_changing_a_confirmed_orders_lines_while_another_order_is_confirmed_does_not_deadlock(app, shop, boss):
    # Roses (lower id) then ferns: a confirm locks them in that order. Order A holds ferns and is changed to
    # roses: releasing the ferns before reserving the roses would lock the higher id first.
    front = open_shop(shop)
    sprig = catalogue.create_product(
        shop_id=front.shop_id, actor_id=None, data={"name": "Fern sprig", "price": D("90.00"), "needs_assembly": False}
    )
    catalogue.set_recipe(
        shop_id=front.shop_id,
        product_id=sprig.id,
        actor_id=None,
        components=[{"item_id": front.fern.id, "quantity": D(1)}],
    )
    changed = place(front, delivery(front, items=[{"product_id": sprig.id, "quantity": 1}])).id
    confirming = place(front, delivery(front, customer={"name": "Boris", "phone": "+79035550000"})).id
    assert boss.post(f"{ORDERS}/{changed}/status", json={"status": "confirmed"}).status_code == 200
    etag = boss.get(f"{ORDERS}/{changed}").headers["ETag"]
    patch_client, confirm_client = clients_like(app, boss, 2)
    rose_id, stem_id = front.rose.id, front.stem.id  # the threads cannot load ORM rows
    # Hold the roses, so both requests queue on them: the confirm first, then the change.
    engine = db.engine  # the threads have no app context
    holder = engine.connect()
    holder.begin()
    holder.execute(text("SELECT id FROM warehouse_items WHERE id = :id FOR UPDATE"), {"id": rose_id})

    def confirm():
        return confirm_client.post(f"{ORDERS}/{confirming}/status", json={"status": "confirmed"})

    def change():
        wait_until_blocked(engine, 1)
        items = [{"product_id": stem_id, "quantity": 2}]
        return patch_client.patch(f"{ORDERS}/{changed}", json={"items": items}, headers={"If-Match": etag})

    def let_go():
        try:
            wait_until_blocked(engine, 2)
            time.sleep(0.1)  # the change has taken the ferns by now, if it locks them first
        finally:
            holder.rollback()
            holder.close()

    confirmed, patched, _ = run_in_parallel([confirm, change, let_go])

    assert (confirmed.status_code, patched.status_code) == (200, 200), (confirmed.json, patched.json)
    assert [i["product_id"] for i in patched.json["items"]] == [stem_id]
    # A's 2 roses and B's bouquet (5 roses, 1 fern) reserved; A's fern given back.
    assert stock_of(front.rose) == (D(100), D(7))
    assert stock_of(front.fern) == (D(20), D(1))


def test_payments_and_refunds_at_once_never_pay_more_than_is_due_nor_refund_more_than_was_paid(app, front, boss):
    order_id = place(front, delivery(front)).id  # 3200.00 due
    payments = run_in_parallel(
        [
            lambda c=c, i=i: c.post(
                f"{ORDERS}/{order_id}/payments",
                json={"amount": "1000.00", "method": "online", "provider_payment_id": f"typed-{i}"},
            )
            for i, c in enumerate(clients_like(app, boss, 5))
        ]
    )
    refunds = run_in_parallel(
        [
            lambda c=c: c.post(f"{ORDERS}/{order_id}/payments", json={"amount": "-1400.00", "method": "cash"})
            for c in clients_like(app, boss, 5)
        ]
    )

    assert sorted(r.status_code for r in payments) == [201, 201, 201, 422, 422]
    assert sorted(r.status_code for r in refunds) == [201, 201, 422, 422, 422]
    db.session.remove()
    order = db.session.get(Order, order_id)
    assert (order.paid_amount, order.payment_status) == (D("200.00"), "partly_paid")
