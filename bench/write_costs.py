"""The write steps of the March 8 mix one at a time, in this process: CPU, statements and commits per step.

    python bench/write_costs.py --rounds 20               # per step: median and p95 time, CPU, statements, commits
    python bench/write_costs.py --rounds 2 --show all     # ... and the statements themselves

(`make bench` times the same steps from outside, against gunicorn: bench/write_steps.py.)

Each round walks one order through the steps the load test makes (bench/locustfile.py): a manager takes it
(POST /orders with an Idempotency-Key) and confirms it, gives it a courier; a florist claims, starts and completes
its tasks; the courier picks it up and delivers it. Requests go one after another from one client, so a step's time
is its cost alone. Runs against the data of bench/peak_data.py (`--database-url`, default bench_peak; the
first shop's first manager, florist and courier); the app takes its settings from the environment, as
`flask` does (DATABASE_URL, REDIS_URL, JWT_SECRET_KEY). The orders it makes stay in that database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import peak_data  # noqa: E402

STEPS = ["create", "confirm", "assign", "claim", "start", "complete", "pickup", "deliver"]


def _people(url: str, shop: int) -> dict:
    """The shop's first manager, florist and courier, its products (one with a recipe) and a customer."""
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id FROM shops ORDER BY id OFFSET %s LIMIT 1", (shop - 1,))
        (shop_id,) = cursor.fetchone()
        people = {"shop_id": shop_id}
        for role in ("manager", "florist", "courier"):
            cursor.execute(
                "SELECT u.id, u.phone FROM users u JOIN memberships m ON m.user_id = u.id "
                "WHERE m.shop_id = %s AND m.role = %s ORDER BY u.id LIMIT 1",
                (shop_id, role),
            )
            people[role] = dict(zip(("id", "phone"), cursor.fetchone(), strict=True))
        cursor.execute("SELECT id FROM products WHERE shop_id = %s AND needs_assembly ORDER BY id LIMIT 3", (shop_id,))
        people["products"] = [r[0] for r in cursor.fetchall()]
        cursor.execute("SELECT min(id) FROM customers WHERE shop_id = %s", (shop_id,))
        people["customer_id"] = cursor.fetchone()[0]
    return people


class InProcess:
    """The app in this process (Flask's test client), with the statements and commits of each request counted."""

    def __init__(self) -> None:
        from sqlalchemy import event

        from app import create_app
        from app.extensions import db

        self.app = create_app()
        self.client = self.app.test_client()
        self.statements: list[str] = []
        self.commits = 0
        with self.app.app_context():
            engine = db.engine

        def record(_conn, _cursor, statement, *_args) -> None:
            self.statements.append(statement)

        def committed(_conn) -> None:
            self.commits += 1

        event.listen(engine, "before_cursor_execute", record)
        event.listen(engine, "commit", committed)

    def __call__(self, method: str, path: str, token: str | None, body=None, key: str | None = None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if key:
            headers["Idempotency-Key"] = key
        self.statements, self.commits = [], 0
        answer = self.client.open(path, method=method, json=body, headers=headers)
        return answer.status_code, answer.get_json()


def _login(call, phone: str) -> str:
    status, body = call("POST", "/api/v1/auth/login", None, {"login": phone, "password": peak_data.BENCH_PASSWORD})
    assert status == 200, (status, body)
    return body["access_token"]


def run(call, people: dict, url: str, rounds: int, counted: dict) -> dict[str, list[float]]:
    tokens = {role: _login(call, people[role]["phone"]) for role in ("manager", "florist", "courier")}
    times: dict[str, list[float]] = {step: [] for step in STEPS}
    cpus: dict[str, list[float]] = {step: [] for step in STEPS}
    db = psycopg2.connect(url)
    db.autocommit = True
    today = datetime.now(UTC).date()
    # The next six days' windows in turn; a full one (409) is left for the rest of the run, its try not timed.
    windows = [((today + timedelta(days=d)).isoformat(), w) for d in range(1, 7) for w in peak_data.WINDOWS]

    def step(name: str, role: str, method: str, path: str, body=None, key: str | None = None, ok=(200,)):
        began, cpu = time.perf_counter(), time.thread_time()
        status, answer = call(method, path, tokens[role], body, key)
        if status == 409 and name == "create":
            return None
        times[name].append(time.perf_counter() - began)
        cpus[name].append(time.thread_time() - cpu)
        assert status in ok, (name, status, answer)
        counted.setdefault(name, (len(call.statements), call.commits, list(call.statements)))
        return answer

    number = 0
    while number < rounds:
        assert windows, "every window of the next six days is full"
        day, window = windows[number % len(windows)]
        key = uuid.uuid4().hex
        order = step(
            "create",
            "manager",
            "POST",
            "/api/v1/orders",
            {
                "customer_id": people["customer_id"],
                "recipient_name": "Write steps",
                "items": [{"product_id": people["products"][0], "quantity": 1}],
                "card_text": "С 8 Марта!",
                "delivery_date": day,
                "fulfillment": "delivery",
                "address": "Moscow, Arbat 1",
                "window_start": window,
                "comment": f"bench-key:{key}",
            },
            key=f"create-{key}",
            ok=(201,),
        )
        if order is None:
            windows.remove((day, window))
            continue
        number += 1
        order_id = order["id"]
        step("confirm", "manager", "POST", f"/api/v1/orders/{order_id}/status", {"status": "confirmed"}, f"c-{key}")
        step("assign", "manager", "POST", f"/api/v1/orders/{order_id}/courier", {"courier_id": people["courier"]["id"]})
        with db.cursor() as cursor:
            cursor.execute("SELECT id FROM production_tasks WHERE order_id = %s ORDER BY id", (order_id,))
            tasks = [r[0] for r in cursor.fetchall()]
        for task_id in tasks:
            for name in ("claim", "start", "complete"):
                step(name, "florist", "POST", f"/api/v1/production-tasks/{task_id}/{name}", None, f"t-{task_id}-{name}")
        step("pickup", "courier", "POST", f"/api/v1/courier/deliveries/{order_id}/pickup", None, f"p-{key}")
        step(
            "deliver",
            "courier",
            "POST",
            f"/api/v1/courier/deliveries/{order_id}/deliver",
            {"amount_collected": order["amount_due"]},
            f"d-{key}",
        )
    db.close()
    return times, cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or peak_data.DEFAULT_URL)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--show", help="print the statements of this step, or all")
    parser.add_argument("--shop", type=int, default=1, help="the n-th shop")
    args = parser.parse_args()
    people = _people(args.database_url, args.shop)
    counted: dict = {}
    times, cpus = run(InProcess(), people, args.database_url, args.rounds, counted)
    print(f"{'step':<10}{'median ms':>10}{'p95 ms':>8}{'cpu ms':>8}{'statements':>12}{'commits':>9}")
    for name in STEPS:
        ms = sorted(t * 1000 for t in times[name])
        p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
        line = f"{name:<10}{statistics.median(ms):>10.1f}{p95:>8.1f}"
        cpu = statistics.median(cpus[name]) * 1000
        print(line + f"{cpu:>8.1f}{counted[name][0]:>12}{counted[name][1]:>9}")
    for name in STEPS if args.show == "all" else [args.show] if args.show else []:
        print(f"--- {name}")
        print("\n".join(" ".join(statement.split())[:160] for statement in counted[name][2]))


if __name__ == "__main__":
    main()
