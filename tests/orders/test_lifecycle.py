"""POST /orders/{id}/status: the intake transitions of SPEC §6, each allowed and each forbidden one, by role.

The table below is written out by hand from the SPEC, not derived from the code: for a delivery of a
bouquet (a florist assembles it) and for a pickup of stems off the shelf (nothing to assemble), what
the managers may move an order to from each status through this endpoint. Orders are forced into
the statuses a later issue reaches (in production, out for delivery ...).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.extensions import db
from app.orders.models import Order, OrderStatus
from tests.orders.orderdata import (
    MORNING,
    delivery,
    history_of,
    open_shop,
    pickup,
    place,
    shop_of,
    stock_of,
    taken,
    uses,
)
from tests.promos.promodata import make_code
from tests.warehouse.stockdata import D

STATUSES = [s.value for s in OrderStatus]
OPEN = ["new", "confirmed", "in_production", "ready", "out_for_delivery", "delivery_failed"]

# status -> what a manager may move the order to here
ASSEMBLED_DELIVERY = {s: {"cancelled"} for s in OPEN} | {"new": {"confirmed", "cancelled"}}
SHELF_PICKUP = ASSEMBLED_DELIVERY | {"confirmed": {"ready", "cancelled"}, "ready": {"completed", "cancelled"}}
KINDS = {"delivery": ASSEMBLED_DELIVERY, "pickup": SHELF_PICKUP}
TABLE = [(kind, source, target) for kind in KINDS for source in STATUSES for target in STATUSES]
# Every cell for a manager; for an admin the cells where the move happens (a refusal does not depend on the role).
CASES = [("manager", *cell) for cell in TABLE] + [
    ("admin", kind, source, target)
    for kind, source, target in TABLE
    if target == source or target in KINDS[kind].get(source, set())
]


def status_url(order_id: int) -> str:
    return f"/api/v1/orders/{order_id}/status"


def make(front, kind: str, status: str) -> Order:
    body = delivery(front) if kind == "delivery" else pickup(front)
    return place(front, body, status=status)


@pytest.mark.parametrize(("role", "kind", "source", "target"), CASES, ids=[f"{r}:{k}:{s}->{t}" for r, k, s, t in CASES])
def test_the_intake_lifecycle_by_managers(front, as_role, role, kind, source, target):
    order = make(front, kind, source)
    client = as_role(role)
    before = history_of(order.id)

    response = client.post(status_url(order.id), json={"status": target, "comment": "why not"})

    allowed = KINDS[kind].get(source, set())
    if target == source:  # a retry of the move already made: the order as it is, no second history row
        assert response.status_code == 200, response.json
        assert response.json["status"] == source
        assert history_of(order.id) == before
    elif target in allowed:
        assert response.status_code == 200, response.json
        assert response.json["status"] == target
        assert history_of(order.id) == [*before, (source, target)]
    else:
        assert response.status_code == 409, response.json
        assert response.json["errors"] == {"status": {"from": source, "to": target, "allowed": sorted(allowed)}}
        assert history_of(order.id) == before
        assert db.session.get(Order, order.id).status == source


@pytest.mark.parametrize("role", ["florist", "courier"])
def test_florists_and_couriers_move_nothing_here(front, as_role, role):
    order = make(front, "pickup", "new")
    client = as_role(role)

    for target in STATUSES:
        response = client.post(status_url(order.id), json={"status": target, "comment": "x"})
        assert response.status_code == 403, target
    assert history_of(order.id) == [(None, "new")]


def test_confirm_reserves_every_recipe_component(front, boss):
    order = place(
        front,
        delivery(
            front,
            items=[
                {"product_id": front.bouquet.id, "quantity": 2},
                {"product_id": front.stem.id, "quantity": 3},
                {"product_id": front.gift_card.id, "quantity": 1},
            ],
        ),
    )

    response = boss.post(status_url(order.id), json={"status": "confirmed"})

    assert response.status_code == 200
    assert stock_of(front.rose) == (D(100), D(13))  # 2 × 5 + 3 × 1; the gift card takes nothing
    assert stock_of(front.fern) == (D(20), D(2))


def test_confirm_reads_the_recipes_once_for_the_stock_and_the_tasks(front, boss, count_queries):
    order = place(
        front,
        delivery(
            front,
            items=[{"product_id": front.bouquet.id, "quantity": 2}, {"product_id": front.stem.id, "quantity": 3}],
        ),
    )

    with count_queries() as statements:
        response = boss.post(status_url(order.id), json={"status": "confirmed"})

    assert response.status_code == 200
    assert stock_of(front.rose) == (D(100), D(13))
    # The lines and their recipes in one statement: no other read of either.
    recipe_reads = [s for s in statements if s.lstrip().startswith("SELECT") and "recipe_components" in s]
    assert len(recipe_reads) == 1, "\n".join(recipe_reads)
    line_reads = [s for s in statements if s.lstrip().startswith("SELECT order_items.")]
    assert line_reads == recipe_reads
    # A new order has no task yet: none is read (and locked) before the bouquet's task is made.
    task_locks = [s for s in statements if "FROM production_tasks" in s and "FOR UPDATE" in s]
    assert not task_locks, "\n".join(task_locks)
    [task] = boss.get("/api/v1/production-tasks", query_string={"order_id": order.id}).get_json()
    assert task["product_id"] == front.bouquet.id and task["quantity"] == 2
    assert {line["item_id"] for line in task["recipe"]} == {front.rose.id, front.fern.id}


def test_confirm_without_the_stems_is_409_listing_each_shortage(shop, boss):
    front = open_shop(shop, roses=4, ferns=0)
    order = place(front, delivery(front))

    response = boss.post(status_url(order.id), json={"status": "confirmed"})

    assert response.status_code == 409
    assert response.json["errors"] == {
        "shortages": [
            {"item_id": front.rose.id, "name": "Red rose", "needed": "5.000", "available": "4.000"},
            {"item_id": front.fern.id, "name": "Fern", "needed": "1.000", "available": "0.000"},
        ]
    }
    assert db.session.get(Order, order.id).status == "new"
    assert stock_of(front.rose) == (D(4), D(0))
    assert history_of(order.id) == [(None, "new")]


def test_ready_without_assembly_takes_the_stems_off_the_shelf_at_their_cost(front, boss):
    order = place(front, pickup(front))  # two stems at 40.00 each
    boss.post(status_url(order.id), json={"status": "confirmed"})

    response = boss.post(status_url(order.id), json={"status": "ready"})

    assert (response.status_code, response.json["cost_of_goods"]) == (200, "80.00")
    assert stock_of(front.rose) == (D(98), D(0))


def test_a_pickup_is_handed_over(front, boss):
    order = place(front, pickup(front))
    for status in ("confirmed", "ready", "completed"):
        assert boss.post(status_url(order.id), json={"status": status}).status_code == 200

    assert history_of(order.id) == [(None, "new"), ("new", "confirmed"), ("confirmed", "ready"), ("ready", "completed")]


def test_cancelling_gives_back_the_stock_the_window_and_the_promo_use(front, boss):
    promo = make_code(shop_of(front), code="BACK", kind="fixed", value="100", max_uses=1)
    order = place(front, delivery(front, promo_code="BACK"))
    boss.post(status_url(order.id), json={"status": "confirmed"})
    assert (stock_of(front.rose)[1], taken(front.shop_id, front.day, MORNING), uses(promo.id)) == (D(5), 1, 1)

    response = boss.post(status_url(order.id), json={"status": "cancelled", "comment": "The customer called off"})

    assert response.status_code == 200
    assert (response.json["status"], response.json["amount_due"]) == ("cancelled", "0.00")
    assert (stock_of(front.rose)[1], taken(front.shop_id, front.day, MORNING), uses(promo.id)) == (D(0), 0, 0)
    assert history_of(order.id)[-1] == ("confirmed", "cancelled")
    again = place(front, delivery(front, promo_code="BACK"))  # the use given back can be used again
    assert again.discount == D("100.00")


def test_cancelling_needs_a_reason(front, boss):
    order = place(front, pickup(front))

    response = boss.post(status_url(order.id), json={"status": "cancelled"})

    assert response.status_code == 422
    assert response.json["errors"] == {"comment": ["Required to cancel."]}
    assert db.session.get(Order, order.id).status == "new"


def test_a_repeated_confirm_with_an_idempotency_key_or_without_writes_one_history_row(front, boss):
    order = place(front, delivery(front))
    key = {"Idempotency-Key": "confirm-1"}

    answers = [boss.post(status_url(order.id), json={"status": "confirmed"}, headers=key) for _ in range(2)]
    answers.append(boss.post(status_url(order.id), json={"status": "confirmed"}))

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert history_of(order.id) == [(None, "new"), ("new", "confirmed")]
    assert stock_of(front.rose) == (D(100), D(5))  # reserved once
    audited = db.session.scalar(
        select(func.count()).where(AuditEntry.entity_type == "order", AuditEntry.action == "status")
    )
    assert audited == 1
