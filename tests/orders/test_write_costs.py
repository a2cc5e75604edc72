"""What each write step of an order's day costs: one COMMIT (the key's claim, the work, the events and the stored
answer together) and a pinned number of statements; a retry with the same key answers from the stored answer and
writes nothing.

The steps are the March 8 load test's (bench/locustfile.py, bench/write_costs.py): a manager takes the order and
confirms it, gives it a courier; a florist claims, starts and completes the bouquet; the courier picks it up and
delivers it, collecting the cash.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from app.extensions import db
from app.production.models import ProductionTask
from tests.orders.orderdata import Front, delivery, open_shop

pytestmark = pytest.mark.committed  # real transactions: their COMMITs are what is counted

# The statements of each step as it runs today (the request's authentication included); fewer is fine.
STATEMENTS = {
    "create": 19,
    "confirm": 16,
    "assign": 12,
    "claim": 8,
    "start": 12,
    "complete": 18,
    "pickup": 11,
    "deliver": 12,
}


@pytest.fixture
def front(shop) -> Front:
    return open_shop(shop)


@contextmanager
def counted() -> Iterator[dict[str, list[str] | int]]:
    """The statements and the COMMITs that reach the database inside the block."""
    seen: dict = {"statements": [], "commits": 0}

    def statement(_conn, _cursor, text, *_args) -> None:
        seen["statements"].append(text)

    def commit(_conn) -> None:
        seen["commits"] += 1

    event.listen(db.engine, "before_cursor_execute", statement)
    event.listen(db.engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
        event.remove(db.engine, "commit", commit)


def test_every_write_step_with_a_key_commits_once_and_its_retry_writes_nothing(login, front: Front):
    manager, florist, courier = login("manager"), login("florist"), login("courier")
    costs: dict[str, dict] = {}

    def step(name: str, client, path: str, *, json: dict | None = None, key: str | None = None, expect: int = 200):
        headers = {"Idempotency-Key": key} if key else {}
        with counted() as seen:
            answer = client.post(path, json=json, headers=headers)
        assert answer.status_code == expect, (name, answer.get_json())
        with counted() as again:
            retry = client.post(path, json=json, headers=headers)
        assert retry.status_code == expect and retry.get_json() == answer.get_json(), name
        assert retry.headers.get("Idempotent-Replayed") == "true", name
        # The retry's claim finds the key taken and changes nothing; what else it runs only reads. Its transaction
        # ends with a COMMIT, not a ROLLBACK, which would drop the connection's prepared statements.
        writes = [s for s in again["statements"] if not s.lstrip().upper().startswith("SELECT")]
        assert len(writes) == 1 and "INTO idempotency_records" in writes[0], (name, again["statements"])
        assert again["commits"] == 1, (name, again["statements"])
        costs[name] = seen
        return answer.get_json()

    order = step(
        "create", manager, "/api/v1/orders", json=delivery(front), key="create", expect=201
    )  # one bouquet: 5 roses and a fern
    order_id = order["id"]
    step("confirm", manager, f"/api/v1/orders/{order_id}/status", json={"status": "confirmed"}, key="confirm")
    courier_id = courier.user.id
    step("assign", manager, f"/api/v1/orders/{order_id}/courier", json={"courier_id": courier_id}, key="assign")
    task_id = db.session.scalar(select(ProductionTask.id).where(ProductionTask.order_id == order_id))
    for name in ("claim", "start", "complete"):
        step(name, florist, f"/api/v1/production-tasks/{task_id}/{name}", key=name)
    step("pickup", courier, f"/api/v1/courier/deliveries/{order_id}/pickup", key="pickup")
    delivered = step(
        "deliver",
        courier,
        f"/api/v1/courier/deliveries/{order_id}/deliver",
        json={"amount_collected": order["amount_due"]},
        key="deliver",
    )
    assert delivered["status"] == "delivered"

    report = {name: (seen["commits"], len(seen["statements"])) for name, seen in costs.items()}
    assert {name: commits for name, (commits, _) in report.items()} == dict.fromkeys(STATEMENTS, 1), report
    over = {name: n for name, (_, n) in report.items() if n > STATEMENTS[name]}
    assert not over, "\n".join(
        f"--- {name}: {n} statements, pinned {STATEMENTS[name]}\n" + "\n".join(costs[name]["statements"])
        for name, n in over.items()
    )
