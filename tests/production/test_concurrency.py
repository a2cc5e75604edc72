"""The workshop under concurrency, with real threads and real commits on PostgreSQL.

Each thread sends a real request through its own test client (its own app context, session and
database connection), as two tablets hitting two gunicorn workers would.
"""

from __future__ import annotations

import pytest

from app.catalogue import services as catalogue
from app.extensions import db
from tests.orders.orderdata import delivery, history_of, run_in_parallel, stock_of
from tests.production.workshop import TASKS, audit_of, clients_like, confirmed, movements_of, ok, order_row, tasks_of
from tests.warehouse.stockdata import D

pytestmark = pytest.mark.committed


def test_two_florists_claiming_one_task_at_once_one_wins_the_other_hears_409(app, front, boss, as_role):
    florists = [as_role("florist"), as_role("florist")]
    order_id = confirmed(front, boss)
    task_id = tasks_of(order_id)[0].id

    responses = run_in_parallel([lambda f=f: f.post(f"{TASKS}/{task_id}/claim") for f in florists])

    assert sorted(r.status_code for r in responses) == [200, 409]
    winner = florists[[r.status_code for r in responses].index(200)]
    assert tasks_of(order_id)[0].florist_id == winner.user.id
    assert [a for a, _ in audit_of("production_task", task_id)] == ["create", "claim"]


def test_the_last_task_completed_twice_at_once_consumes_the_stock_once(app, front, boss, as_role):
    florist = as_role("florist")
    order_id = confirmed(front, boss)
    task_id = tasks_of(order_id)[0].id
    ok(florist.post(f"{TASKS}/{task_id}/start"))

    responses = run_in_parallel(
        [lambda c=c: c.post(f"{TASKS}/{task_id}/complete") for c in clients_like(app, florist, 2)]
    )

    assert [r.status_code for r in responses] == [200, 200]
    assert all(r.json["status"] == "done" and r.json["order"]["status"] == "ready" for r in responses)
    assert stock_of(front.rose) == (D(95), D(0)) and stock_of(front.fern) == (D(19), D(0))
    assert [kind for kind, _ in movements_of(order_id)].count("consumption") == 2  # one per item: rose, fern
    assert history_of(order_id).count(("in_production", "ready")) == 1
    assert order_row(order_id).cost_of_goods == D("212.00")


def test_an_orders_two_last_tasks_completed_at_once_make_it_ready_once(app, front, boss, as_role):
    tulip = catalogue.create_product(
        shop_id=front.shop_id, actor_id=None, data={"name": "Tulip mix", "price": D("2100.00"), "needs_assembly": True}
    )
    catalogue.set_recipe(
        shop_id=front.shop_id,
        product_id=tulip.id,
        actor_id=None,
        components=[{"item_id": front.rose.id, "quantity": D(7)}],
    )
    db.session.commit()
    tulip_id = tulip.id
    first, second = as_role("florist"), as_role("florist")
    lines = [{"product_id": front.bouquet.id, "quantity": 1}, {"product_id": tulip_id, "quantity": 1}]
    order_id = confirmed(front, boss, delivery(front, items=lines))
    task_ids = [task.id for task in tasks_of(order_id)]
    for florist, task_id in zip((first, second), task_ids, strict=True):
        ok(florist.post(f"{TASKS}/{task_id}/start"))

    responses = run_in_parallel(
        [lambda f=f, t=t: f.post(f"{TASKS}/{t}/complete") for f, t in zip((first, second), task_ids, strict=True)]
    )

    assert [r.status_code for r in responses] == [200, 200]
    assert history_of(order_id).count(("in_production", "ready")) == 1
    assert stock_of(front.rose) == (D(88), D(0))
    assert order_row(order_id).status == "ready"
