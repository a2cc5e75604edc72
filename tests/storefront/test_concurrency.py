"""Storefront intake under concurrency: real threads, real commits on PostgreSQL, one key client per thread."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.orders.models import Payment
from app.storefront.models import StorefrontOrder
from tests.apikeys.keydata import KeyClient, make_key
from tests.orders.orderdata import MORNING, count_orders, open_shop, run_in_parallel, stock_of, taken
from tests.storefront.shopfront import STOREFRONT, paid, website_order

pytestmark = pytest.mark.committed
ORDERS = f"{STOREFRONT}/orders"


def post_all(app, key: str, bodies: list[dict]) -> list:
    clients = [KeyClient(app, key) for _ in bodies]  # a test client is not shared across threads
    return run_in_parallel([lambda c=c, b=b: c.post(ORDERS, json=b) for c, b in zip(clients, bodies, strict=True)])


def test_the_same_external_id_ten_times_at_once_makes_one_order_and_one_payment(app, shop):
    front = open_shop(shop)
    _, key = make_key(shop)
    body = website_order(front, payment=paid("3200.00"))

    answers = post_all(app, key, [body] * 10)

    assert sorted(a.status_code for a in answers) == [200] * 9 + [201]
    assert len({a.json["number"] for a in answers}) == 1
    assert all(a.json == answers[0].json for a in answers)
    assert count_orders(front.shop_id) == 1
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
    assert db.session.scalar(select(func.count()).select_from(StorefrontOrder)) == 1
    assert taken(front.shop_id, front.day, MORNING) == 1
    assert stock_of(front.rose) == (100, 5)


def test_parallel_website_orders_for_the_last_places_of_a_window_take_exactly_its_capacity(app, shop):
    front = open_shop(shop, capacity=3)
    _, key = make_key(shop)
    bodies = [website_order(front, external_id=f"web-{n}", payment=paid("3200.00", f"yk-{n}")) for n in range(10)]

    answers = post_all(app, key, bodies)

    assert sorted(a.status_code for a in answers) == [201] * 3 + [409] * 7
    for refused in (a for a in answers if a.status_code == 409):
        assert refused.json["errors"]["reason"] == "full"
    assert count_orders(front.shop_id) == 3
    assert taken(front.shop_id, front.day, MORNING) == 3
    # Refused orders keep no payment and no external id: the website may send them again elsewhere.
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 3
    assert db.session.scalar(select(func.count()).select_from(StorefrontOrder)) == 3


def test_parallel_website_orders_for_the_last_stems_reserve_no_more_than_there_is(app, shop):
    front = open_shop(shop, roses=12, capacity=10)  # two bouquets of five roses, not three
    _, key = make_key(shop)
    bodies = [website_order(front, external_id=f"web-{n}") for n in range(6)]

    answers = post_all(app, key, bodies)

    assert sorted(a.status_code for a in answers) == [201] * 2 + [409] * 4
    for refused in (a for a in answers if a.status_code == 409):
        assert [s["item_id"] for s in refused.json["errors"]["shortages"]] == [front.rose.id]
    assert stock_of(front.rose) == (12, 10)
    assert count_orders(front.shop_id) == 2
    assert taken(front.shop_id, front.day, MORNING) == 2
