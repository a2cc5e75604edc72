"""Production tasks: made when an order is confirmed, following its changes, and the florists' steps."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.catalogue import services as catalogue
from app.common.types import utcnow
from app.extensions import db
from app.users.models import Membership
from tests.orders.orderdata import EVENING, delivery, history_of, pickup, shop_of, stock_of
from tests.production.workshop import ORDERS, TASKS, audit_of, confirmed, ok, order_row, tasks_of
from tests.warehouse.stockdata import D


def tulips(front):
    """A second bouquet the florists assemble: 7 roses, no fern."""
    product = catalogue.create_product(
        shop_id=front.shop_id, actor_id=None, data={"name": "Tulip mix", "price": D("2100.00"), "needs_assembly": True}
    )
    catalogue.set_recipe(
        shop_id=front.shop_id,
        product_id=product.id,
        actor_id=None,
        components=[{"item_id": front.rose.id, "quantity": D(7)}],
    )
    db.session.commit()
    return product


# --- made by the order ------------------------------------------------------------------------


def test_confirming_makes_one_task_per_line_that_needs_assembly(front, boss):
    lines = [
        {"product_id": front.bouquet.id, "quantity": 2},
        {"product_id": front.stem.id, "quantity": 3},  # off the shelf: nothing to assemble
        {"product_id": front.gift_card.id, "quantity": 1},
    ]
    order_id = confirmed(front, boss, delivery(front, items=lines))

    (task,) = tasks_of(order_id)
    assert (task.product_id, task.product_name, task.quantity) == (front.bouquet.id, "Bouquet of roses", 2)
    assert task.recipe == [
        {"item_id": front.fern.id, "name": "Fern", "unit": "stem", "per_unit": "1.000", "quantity": "2.000"},
        {"item_id": front.rose.id, "name": "Red rose", "unit": "stem", "per_unit": "5.000", "quantity": "10.000"},
    ]
    assert task.florist_id is None and task.status == "pending"
    # The stems off the shelf are reserved too, though no florist touches them.
    assert stock_of(front.rose) == (D(100), D(13))


def test_a_pickup_is_due_the_shops_lead_time_before_the_customer_comes(front, boss):
    shop = shop_of(front)
    shop.settings = {**shop.settings, "assembly_lead_minutes": 90}
    db.session.commit()
    order_id = confirmed(front, boss, pickup(front, items=[{"product_id": front.bouquet.id, "quantity": 1}]))

    (task,) = tasks_of(order_id)
    local = task.due_at.astimezone(ZoneInfo(shop.timezone))
    assert (local.date(), local.strftime("%H:%M")) == (front.day, "10:30")  # picked up at 12:00


def test_an_order_with_nothing_to_assemble_has_no_tasks_and_a_manager_makes_it_ready(front, boss):
    order_id = confirmed(front, boss, pickup(front))

    assert tasks_of(order_id) == []
    assert ok(boss.post(f"{ORDERS}/{order_id}/status", json={"status": "ready"}))["status"] == "ready"
    assert stock_of(front.rose) == (D(98), D(0))


def test_an_assembled_order_is_not_made_ready_by_hand(front, boss):
    order_id = confirmed(front, boss)

    refused = boss.post(f"{ORDERS}/{order_id}/status", json={"status": "ready"})

    assert refused.status_code == 409
    assert order_row(order_id).status == "confirmed"


def test_the_tasks_follow_a_confirmed_orders_new_lines_window_and_card(front, boss, as_role):
    florist = as_role("florist")
    tulip = tulips(front)
    order_id = confirmed(front, boss)
    (bouquet_task,) = tasks_of(order_id)
    ok(florist.post(f"{TASKS}/{bouquet_task.id}/claim"))
    due_before = bouquet_task.due_at
    tag = boss.get(f"{ORDERS}/{order_id}").headers["ETag"]

    changed = boss.patch(
        f"{ORDERS}/{order_id}",
        json={
            "items": [{"product_id": front.bouquet.id, "quantity": 3}, {"product_id": tulip.id, "quantity": 1}],
            "window_start": EVENING,
            "card_text": "Love, Pavel",
        },
        headers={"If-Match": tag},
    )
    ok(changed)

    bouquet_task, tulip_task = tasks_of(order_id)
    assert (bouquet_task.quantity, bouquet_task.florist_id, bouquet_task.card_text) == (
        3,
        florist.user.id,
        "Love, Pavel",
    )
    assert bouquet_task.recipe[1]["quantity"] == "15.000"
    assert bouquet_task.due_at == due_before + timedelta(hours=4)  # the window moved from 10:00 to 14:00
    assert (tulip_task.product_id, tulip_task.status, tulip_task.due_at) == (tulip.id, "pending", bouquet_task.due_at)

    tag = changed.headers["ETag"]
    ok(
        boss.patch(
            f"{ORDERS}/{order_id}", json={"items": [{"product_id": tulip.id, "quantity": 1}]}, headers={"If-Match": tag}
        )
    )
    assert [(t.product_id, t.status) for t in tasks_of(order_id)] == [
        (front.bouquet.id, "cancelled"),
        (tulip.id, "pending"),
    ]


# --- reading ----------------------------------------------------------------------------------


def _three_tasks(front, boss, florist, other_florist) -> list[int]:
    """Tomorrow's 10:00 task (florist's), 14:00 task (another florist's) and a pickup at 12:00 (unassigned)."""
    morning = confirmed(front, boss)
    evening = confirmed(front, boss, delivery(front, window_start=EVENING))
    noon = confirmed(front, boss, pickup(front, items=[{"product_id": front.bouquet.id, "quantity": 1}]))
    ids = [tasks_of(order_id)[0].id for order_id in (morning, noon, evening)]
    ok(boss.post(f"{TASKS}/{ids[0]}/assign", json={"florist_id": florist.user.id}))
    ok(boss.post(f"{TASKS}/{ids[2]}/assign", json={"florist_id": other_florist.user.id}))
    return ids


def test_a_florist_sees_their_own_and_unassigned_tasks_by_due_time_managers_see_all(front, boss, as_role):
    florist, other = as_role("florist"), as_role("florist")
    morning, noon, evening = _three_tasks(front, boss, florist, other)

    assert [t["id"] for t in ok(florist.get(TASKS))] == [morning, noon]
    assert [t["id"] for t in ok(other.get(TASKS))] == [noon, evening]
    assert [t["id"] for t in ok(boss.get(TASKS))] == [morning, noon, evening]
    assert florist.get(f"{TASKS}/{evening}").status_code == 404
    assert ok(florist.get(f"{TASKS}/{noon}"))["recipe"][1]["name"] == "Red rose"


def test_the_task_list_filters(front, boss, as_role):
    florist, other = as_role("florist"), as_role("florist")
    morning, noon, evening = _three_tasks(front, boss, florist, other)
    ok(florist.post(f"{TASKS}/{morning}/start"))
    noon_due = ok(boss.get(f"{TASKS}/{noon}"))["due_at"]

    def ids(**query) -> list[int]:
        return [t["id"] for t in ok(boss.get(TASKS, query_string=query))]

    assert ids(status="in_progress") == [morning]
    assert ids(status=["pending", "in_progress"]) == [morning, noon, evening]
    assert ids(due_before=noon_due) == [morning]
    assert ids(due_after=noon_due) == [noon, evening]
    assert ids(florist_id=other.user.id) == [evening]
    assert ids(unassigned="true") == [noon]
    later = (utcnow() + timedelta(seconds=1)).isoformat()
    assert ids(updated_since=later) == []
    ok(boss.post(f"{TASKS}/{noon}/assign", json={"florist_id": florist.user.id}))
    assert ids(updated_since=(utcnow() - timedelta(seconds=2)).isoformat())  # the change is seen
    assert boss.get(TASKS, query_string={"status": "lost"}).status_code == 422


def test_the_task_list_runs_the_same_statements_for_5_or_50_tasks(app, front, boss, as_role, count_queries):
    florist = as_role("florist")
    for _ in range(6):
        confirmed(front, boss, pickup(front, items=[{"product_id": front.bouquet.id, "quantity": 1}]))
    first = tasks_of_all(front)[0]
    ok(boss.post(f"{TASKS}/{first}/assign", json={"florist_id": florist.user.id}))

    counts = {}
    for size in (5, 50):
        db.session.expire_all()
        with count_queries() as statements:
            answer = florist.get(TASKS, query_string={"page_size": size})
        listed = ok(answer)
        counts[size] = len(statements)
        assert json.loads(answer.headers["X-Pagination"])["total"] == 6  # counted once, carried by the page
        assert len(listed) == min(size, 6)
        assert all(task["recipe"] and task["order"]["number"] for task in listed)
        assert listed[0]["florist"]["id"] == florist.user.id
    # the caller with their memberships, the page with its count, orders and florists
    assert counts[5] == counts[50] == 2, counts


def test_the_task_shape_is_the_task_as_the_schema_dumps_the_orm_object(front, boss, as_role):
    """The list and the card (and every step's answer) read the task's shape; it must be what marshmallow makes of
    the ORM object, field for field."""
    from app.production import services
    from app.production.models import ProductionTask
    from app.production.schemas import ProductionTaskSchema
    from app.users.models import Role

    florist = as_role("florist")
    confirmed(front, boss, pickup(front, items=[{"product_id": front.bouquet.id, "quantity": 2}]))
    confirmed(front, boss, delivery(front, window_start=EVENING, card_text="For Mum"))
    first, second = tasks_of_all(front)
    ok(boss.post(f"{TASKS}/{first}/assign", json={"florist_id": florist.user.id}))
    ok(florist.post(f"{TASKS}/{first}/start"))
    db.session.expire_all()
    schema = ProductionTaskSchema()

    rows, total = services.list_tasks(
        shop_id=front.shop_id, viewer_id=boss.user.id, viewer_role=Role.MANAGER, page=1, page_size=50
    )

    assert total == 2
    cards = [
        services.get_task(shop_id=front.shop_id, task_id=task_id, viewer_id=boss.user.id, viewer_role=Role.MANAGER)
        for task_id in (first, second)
    ]
    dumped = [schema.dump(db.session.get(ProductionTask, task_id)) for task_id in (first, second)]
    assert ProductionTaskSchema(many=True).dump(rows) == [schema.dump(card) for card in cards] == dumped
    assert schema.dump(rows[0])["florist"] == {"id": florist.user.id, "name": florist.user.name}
    assert schema.dump(rows[1])["florist"] is None


def tasks_of_all(front) -> list[int]:
    from app.production.models import ProductionTask

    return list(
        db.session.scalars(
            select(ProductionTask.id).where(ProductionTask.shop_id == front.shop_id).order_by(ProductionTask.id)
        )
    )


# --- the steps --------------------------------------------------------------------------------


def test_assign_only_to_an_active_florist_of_the_shop(front, boss, as_role, other_shop):
    order_id = confirmed(front, boss)
    (task,) = tasks_of(order_id)
    courier, gone = as_role("courier"), as_role("florist")
    elsewhere = as_role("florist", shop=other_shop)
    membership = db.session.scalars(select(Membership).where(Membership.user_id == gone.user.id)).one()
    membership.deactivated_at = utcnow()
    db.session.commit()

    for user_id in (courier.user.id, gone.user.id, elsewhere.user.id, boss.user.id):
        refused = boss.post(f"{TASKS}/{task.id}/assign", json={"florist_id": user_id})
        assert refused.status_code == 422, user_id
        assert "florist_id" in refused.json["errors"]
    assert tasks_of(order_id)[0].florist_id is None


def test_assign_reassign_and_take_back(front, boss, as_role):
    first, second = as_role("florist"), as_role("florist")
    (task,) = tasks_of(confirmed(front, boss))

    ok(boss.post(f"{TASKS}/{task.id}/assign", json={"florist_id": first.user.id}))
    ok(boss.post(f"{TASKS}/{task.id}/assign", json={"florist_id": first.user.id}))  # the same again: no change
    ok(boss.post(f"{TASKS}/{task.id}/assign", json={"florist_id": second.user.id}))
    ok(second.post(f"{TASKS}/{task.id}/start"))
    took_back = boss.post(f"{TASKS}/{task.id}/assign", json={"florist_id": None})
    assert took_back.status_code == 409  # a task in progress keeps a florist
    assert [a for a, _ in audit_of("production_task", task.id)] == ["create", "assign", "assign", "start"]
    assert first.get(f"{TASKS}/{task.id}").status_code == 404  # no longer the first florist's


def test_claiming_a_colleagues_task_is_409_and_ones_own_again_is_200(front, boss, as_role):
    florist, colleague = as_role("florist"), as_role("florist")
    (task,) = tasks_of(confirmed(front, boss))

    ok(florist.post(f"{TASKS}/{task.id}/claim"))
    again = ok(florist.post(f"{TASKS}/{task.id}/claim"))
    taken = colleague.post(f"{TASKS}/{task.id}/claim")

    assert again["florist_id"] == florist.user.id
    assert taken.status_code == 409
    assert taken.json["errors"]["task"] == {"id": task.id, "status": "pending", "florist_id": florist.user.id}
    assert [a for a, _ in audit_of("production_task", task.id)] == ["create", "claim"]


def test_a_cancelled_task_cannot_be_claimed_or_started(front, boss, as_role):
    florist = as_role("florist")
    order_id = confirmed(front, boss)
    (task,) = tasks_of(order_id)
    ok(boss.post(f"{ORDERS}/{order_id}/status", json={"status": "cancelled", "comment": "no"}))

    assert florist.post(f"{TASKS}/{task.id}/claim").status_code == 409
    refused = florist.post(f"{TASKS}/{task.id}/start")
    assert refused.status_code == 409
    assert refused.json["errors"]["status"] == {"from": "cancelled", "to": "in_progress", "allowed": []}


def test_starting_an_unassigned_task_takes_it_and_a_repeat_changes_nothing(front, boss, as_role):
    florist = as_role("florist")
    order_id = confirmed(front, boss)
    (task,) = tasks_of(order_id)

    first = ok(florist.post(f"{TASKS}/{task.id}/start"))
    again = ok(florist.post(f"{TASKS}/{task.id}/start"))

    assert first["florist_id"] == florist.user.id and first["status"] == "in_progress"
    assert again["started_at"] == first["started_at"]
    assert history_of(order_id).count(("confirmed", "in_production")) == 1
    assert [a for a, _ in audit_of("production_task", task.id)] == ["create", "start"]


def test_complete_needs_a_start_and_a_repeat_answers_as_is(front, boss, as_role):
    florist = as_role("florist")
    order_id = confirmed(front, boss)
    (task,) = tasks_of(order_id)

    early = florist.post(f"{TASKS}/{task.id}/complete")
    assert early.status_code == 409
    assert early.json["errors"]["status"] == {"from": "pending", "to": "done", "allowed": ["in_progress"]}

    ok(florist.post(f"{TASKS}/{task.id}/start"))
    first = ok(florist.post(f"{TASKS}/{task.id}/complete"))
    again = ok(florist.post(f"{TASKS}/{task.id}/complete"))
    assert again == first
    assert history_of(order_id).count(("in_production", "ready")) == 1
    assert stock_of(front.rose) == (D(95), D(0))


def test_only_the_orders_last_task_consumes_the_stock_and_makes_it_ready(front, boss, as_role):
    florist = as_role("florist")
    tulip = tulips(front)
    lines = [{"product_id": front.bouquet.id, "quantity": 1}, {"product_id": tulip.id, "quantity": 1}]
    order_id = confirmed(front, boss, delivery(front, items=lines))
    first, second = tasks_of(order_id)
    for task in (first, second):
        ok(florist.post(f"{TASKS}/{task.id}/start"))

    ok(florist.post(f"{TASKS}/{first.id}/complete"))
    assert order_row(order_id).status == "in_production"
    assert stock_of(front.rose) == (D(100), D(12))

    ok(florist.post(f"{TASKS}/{second.id}/complete"))
    assert order_row(order_id).status == "ready"
    assert stock_of(front.rose) == (D(88), D(0))
    assert order_row(order_id).cost_of_goods == D("492.00")  # 12 roses at 40.00 + a fern at 12.00


def test_a_manager_may_assemble_on_a_florists_behalf(front, boss):
    order_id = confirmed(front, boss)
    (task,) = tasks_of(order_id)

    ok(boss.post(f"{TASKS}/{task.id}/start"))
    done = ok(boss.post(f"{TASKS}/{task.id}/complete"))

    assert done["florist_id"] is None and done["order"]["status"] == "ready"


@pytest.mark.parametrize("step", ["claim", "start"])
def test_a_retried_step_with_its_idempotency_key_replays_the_first_answer(front, boss, as_role, step):
    florist = as_role("florist")
    (task,) = tasks_of(confirmed(front, boss))
    headers = {"Idempotency-Key": f"{step}-tablet-1"}

    first = florist.post(f"{TASKS}/{task.id}/{step}", headers=headers)
    again = florist.post(f"{TASKS}/{task.id}/{step}", headers=headers)

    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json == first.json
