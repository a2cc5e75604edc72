"""An override's capacity holds under parallel intake: real threads, real requests, real commits."""

from __future__ import annotations

import pytest

from app.extensions import db
from tests.helpers import ApiClient
from tests.orders.orderdata import MORNING, count_orders, delivery, open_shop, run_in_parallel, taken
from tests.warehouse.stockdata import staff_client

pytestmark = pytest.mark.committed


def test_fifteen_parallel_orders_for_an_override_of_three_places_make_three(app, shop):
    front = open_shop(shop, capacity=10)
    boss = staff_client(app, shop, "manager")
    db.session.commit()
    made = boss.post(
        "/api/v1/delivery-window-overrides",
        json={"date": front.day.isoformat(), "mode": "adjust", "capacity_changes": {MORNING: 3}, "surcharge": "100"},
    )
    assert made.status_code == 201, made.json

    clients = []
    for _ in range(15):
        clone = ApiClient(app, shop_id=boss.shop_id)
        clone.user, clone.token = boss.user, boss.token
        clients.append(clone)
    body = delivery(front)  # read here: the threads have no app context of the test's
    responses = run_in_parallel([lambda client=client: client.post("/api/v1/orders", json=body) for client in clients])

    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 3 + [409] * 12
    for refused in (r for r in responses if r.status_code == 409):
        assert refused.json["errors"] == {"window": {"date": front.day.isoformat(), "start": MORNING}, "reason": "full"}
    assert {r.json["delivery_fee"] for r in responses if r.status_code == 201} == {"400.00"}
    assert count_orders(front.shop_id) == 3
    assert taken(front.shop_id, front.day, MORNING) == 3
