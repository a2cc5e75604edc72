"""The outbox costs a write one statement: the events' INSERT. The order card an event carries is the card the
write answers with, read once (after the commit, or before it inside an idempotent request's transaction)."""

from __future__ import annotations

import pytest

from app.events import outbox
from app.extensions import db
from tests.orders.orderdata import Front, delivery, pickup, place
from tests.production.workshop import TASKS, confirmed, ok, tasks_of

ORDERS = "/api/v1/orders"


def status_change(manager, count_queries, order_id: int, body: dict, headers: dict | None = None):
    with count_queries() as statements:
        response = manager.post(f"{ORDERS}/{order_id}/status", json=body, headers=headers or {})
    assert response.status_code == 200, response.get_json()
    return response.get_json(), statements


def events_of(order_id: int) -> int:
    return db.session.execute(
        db.text("SELECT count(*) FROM events WHERE subject_type = 'order' AND subject_id = :id"), {"id": str(order_id)}
    ).scalar()


@pytest.mark.parametrize(
    ("body", "make"),
    [
        ({"status": "cancelled", "comment": "changed their mind"}, delivery),
        ({"status": "confirmed", "comment": ""}, pickup),  # reserves stock: more statements, the same one more
    ],
    ids=["cancel", "confirm"],
)
@pytest.mark.parametrize("idempotent", [False, True], ids=["plain", "idempotent"])
def test_a_status_change_with_its_event_costs_one_statement_more(
    manager, front: Front, count_queries, monkeypatch, body, make, idempotent
):
    twin, order = place(front, make(front)), place(front, make(front))
    headers = {"Idempotency-Key": f"k-{order.id}"} if idempotent else {}

    with monkeypatch.context() as patched:  # the same write with no event machinery at all
        patched.setattr(outbox, "record", lambda *args, **kwargs: None)
        quiet, without = status_change(
            manager, count_queries, twin.id, body, {"Idempotency-Key": f"k-{twin.id}"} if idempotent else {}
        )
    assert events_of(twin.id) == 1  # its creation only

    answer, statements = status_change(manager, count_queries, order.id, body, headers)
    assert events_of(order.id) == 2
    assert len(statements) <= len(without) + 1, "\n".join([*without, "----", *statements])
    assert any(s.lstrip().startswith("WITH shop_lock") for s in statements)

    # The answer and the event carry the same card, and it is the card as GET answers it now.
    event = manager.get("/api/v1/events", query_string={"types": "order.status_changed"}).get_json()["events"][-1]
    assert event["data"] == answer == manager.get(f"{ORDERS}/{order.id}").get_json()
    assert answer["status"] == quiet["status"] == body["status"]


def test_a_card_read_before_a_later_change_is_not_reused(manager, front: Front):
    """The view's card is left for the events only while the order's version is the one it read."""
    order = place(front, pickup(front))
    response = manager.post(
        f"{ORDERS}/{order.id}/status", json={"status": "confirmed"}, headers={"Idempotency-Key": "again"}
    )
    assert response.status_code == 200
    replay = manager.post(
        f"{ORDERS}/{order.id}/status", json={"status": "confirmed"}, headers={"Idempotency-Key": "again"}
    )
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.get_json() == response.get_json()
    paid = manager.post(f"{ORDERS}/{order.id}/payments", json={"amount": "100.00", "method": "cash"})
    assert paid.status_code == 201
    data = [e["data"] for e in manager.get("/api/v1/events").get_json()["events"]]
    assert [d["version"] for d in data] == sorted({d["version"] for d in data})  # each event its own moment
    assert data[-1] == manager.get(f"{ORDERS}/{order.id}").get_json() and data[-1]["paid_amount"] == "100.00"


@pytest.mark.parametrize("step", ["claim", "start", "complete"])
@pytest.mark.parametrize("idempotent", [False, True], ids=["plain", "idempotent"])
def test_a_task_step_reads_its_card_once_for_the_answer_and_the_event(
    manager, florist, front: Front, count_queries, monkeypatch, step, idempotent
):
    one_bouquet = {"items": [{"product_id": front.bouquet.id, "quantity": 1}]}
    twin, order = (confirmed(front, manager, pickup(front, **one_bouquet)) for _ in range(2))
    twin_task, task = (tasks_of(order_id)[0].id for order_id in (twin, order))
    steps = ["claim", "start", "complete"]

    def walk(task_id: int) -> tuple[dict, list[str]]:
        for earlier in steps[: steps.index(step)]:
            ok(florist.post(f"{TASKS}/{task_id}/{earlier}"))
        headers = {"Idempotency-Key": f"{step}-{task_id}"} if idempotent else {}
        with count_queries() as statements:
            response = florist.post(f"{TASKS}/{task_id}/{step}", headers=headers)
        return ok(response), statements

    with monkeypatch.context() as patched:  # the same step with no event machinery at all
        patched.setattr(outbox, "record", lambda *args, **kwargs: None)
        _quiet, without = walk(twin_task)
    answer, statements = walk(task)

    # The task's card is read once, for the answer and the event alike (by the event first when the step commits
    # by itself, by the view first inside an idempotent request's transaction). The events cost the step their
    # INSERT, and the order's card when the step moves the order (start, complete).
    def card_reads(statements: list[str]) -> int:
        return sum("LEFT OUTER JOIN users ON users.id = production_tasks.florist_id" in s for s in statements)

    assert card_reads(statements) == card_reads(without) == 1, "\n".join([*without, "----", *statements])
    assert any(s.lstrip().startswith("WITH shop_lock") for s in statements)
    if step == "claim":
        assert len(statements) == len(without) + 1

    kind = {"claim": "task.claimed", "start": "task.started", "complete": "task.completed"}[step]
    event = manager.get("/api/v1/events", query_string={"types": kind}).get_json()["events"][-1]
    assert event["data"] == answer == florist.get(f"{TASKS}/{task}").get_json()


def test_kinds_rendered_together_are_read_together_only_for_the_same_subjects(app, monkeypatch):
    calls: list[tuple] = []

    def alone(kind):
        return lambda shop_id, ids: calls.append((kind, ids)) or {i: {"kind": kind, "id": i} for i in ids}

    def together(shop_id, ids):
        calls.append(("both", ids))
        return {kind: {i: {"kind": kind, "id": i, "together": True} for i in ids} for kind in ("order", "delivery")}

    monkeypatch.setitem(outbox.RENDERERS, "order", alone("order"))
    monkeypatch.setitem(outbox.RENDERERS, "delivery", alone("delivery"))
    monkeypatch.setattr(outbox, "TOGETHER", {("order", "delivery"): together})

    def render(*subjects: tuple[str, str]) -> list[dict]:
        pending = [outbox.PendingEvent("x", 1, kind, id_, "staff", None, None, None, None) for kind, id_ in subjects]
        outbox._render(db.session(), pending)
        return [item.data for item in pending]

    same = render(("order", "7"), ("delivery", "7"))
    assert calls == [("both", ["7"])] and all(data["together"] for data in same)

    calls.clear()
    render(("order", "7"), ("order", "8"), ("delivery", "7"))  # the courier hears of one of the two orders
    assert sorted(calls) == [("delivery", ["7"]), ("order", ["7", "8"])]
