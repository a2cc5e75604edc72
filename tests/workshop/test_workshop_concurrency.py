"""A day's florist minutes hold under parallel intake: real threads, real requests, real commits."""

from __future__ import annotations

import json

import pytest

from app.extensions import db
from tests.foundation.processes import gunicorn, production_env
from tests.helpers import ApiClient
from tests.orders.orderdata import count_orders, delivery, run_in_parallel
from tests.warehouse.stockdata import staff_client
from tests.workshop.workshopdata import BOUQUET_MINUTES, held, limited_shop

pytestmark = pytest.mark.committed


def clones(app, boss, n: int) -> list[ApiClient]:
    clients = []
    for _ in range(n):
        clone = ApiClient(app, shop_id=boss.shop_id)
        clone.user, clone.token = boss.user, boss.token
        clients.append(clone)
    return clients


def room_for_three(app, shop):
    """A day with florist minutes for 3 bouquets, not 4; a manager; the body of one bouquet's order."""
    front = limited_shop(shop, 3 * BOUQUET_MINUTES + 5, capacity=20)
    boss = staff_client(app, shop, "manager")
    db.session.commit()
    return front, boss, delivery(front)  # the body read here: the threads have no app context of the test's


def workshop_refusal(front) -> dict:
    return {
        "workshop": {
            "date": front.day.isoformat(),
            "minutes_left": 5,
            "minutes_needed": BOUQUET_MINUTES,
            "minutes_per_day": 3 * BOUQUET_MINUTES + 5,
        }
    }


def test_fifteen_parallel_orders_with_minutes_for_three_make_three(app, shop):
    front, boss, body = room_for_three(app, shop)
    clients = clones(app, boss, 15)

    responses = run_in_parallel([lambda client=client: client.post("/api/v1/orders", json=body) for client in clients])

    assert sorted(r.status_code for r in responses) == [201] * 3 + [409] * 12
    for refused in (r for r in responses if r.status_code == 409):
        assert refused.json["errors"] == workshop_refusal(front)
    assert count_orders(front.shop_id) == 3
    assert held(front.shop_id, front.day) == 3 * BOUQUET_MINUTES


def test_fifteen_orders_at_once_through_gunicorn_make_three(app, shop, tmp_path):
    front, boss, body = room_for_three(app, shop)
    # Two worker processes of 8 threads each, as `make serve` runs them: all 15 are in flight at once.
    env = production_env(JWT_SECRET_KEY=app.config["JWT_SECRET_KEY"], SECRET_KEY=app.config["SECRET_KEY"])
    headers = {**boss.headers(), "Content-Type": "application/json"}
    with gunicorn({**env, "GUNICORN_THREADS": "8"}, tmp_path, workers=2) as server:
        answers = run_in_parallel(
            [lambda: server.request("POST", "/api/v1/orders", json.dumps(body).encode(), headers) for _ in range(15)]
        )

    assert sorted(status for status, _headers, _body in answers) == [201] * 3 + [409] * 12, answers
    for refused in (json.loads(answer) for status, _headers, answer in answers if status == 409):
        assert refused["errors"] == workshop_refusal(front)
    assert count_orders(front.shop_id) == 3
    assert held(front.shop_id, front.day) == 3 * BOUQUET_MINUTES


def test_fifteen_parallel_orders_under_a_date_override_of_three_make_three(app, shop):
    front = limited_shop(shop, 1000, capacity=20)
    boss = staff_client(app, shop, "manager")
    db.session.commit()
    planned = boss.post(
        "/api/v1/delivery-window-overrides",
        json={"date": front.day.isoformat(), "mode": "adjust", "workshop_minutes": 3 * BOUQUET_MINUTES},
    )
    assert planned.status_code == 201, planned.json
    body = delivery(front)
    clients = clones(app, boss, 15)

    responses = run_in_parallel([lambda client=client: client.post("/api/v1/orders", json=body) for client in clients])

    assert sorted(r.status_code for r in responses) == [201] * 3 + [409] * 12
    assert count_orders(front.shop_id) == 3
    assert held(front.shop_id, front.day) == 3 * BOUQUET_MINUTES
