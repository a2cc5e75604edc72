"""The peak-day load: who does what, for locust. Run by bench/peak_bench.py; the scenario comes from BENCH_SCENARIO.

Scenarios (the single endpoints are measured with wrk, not here: bench/measure.py):
  steps  a few managers, florists and couriers walking orders through
  mix    the March 8 mix at BENCH_RATE requests a second in all

Every request is named by its route; the answers' status codes are counted per name and written to
BENCH_STATUS_FILE at the end. Expected business answers (a full window: 409, a task another florist took: 409)
count as successes, anything 5xx or unexpected as a failure.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import gevent
from locust import FastHttpUser, events, task
from locust.stats import StatsEntry

FIXTURE = json.loads(Path(os.environ["BENCH_FIXTURE"]).read_text()) if os.environ.get("BENCH_FIXTURE") else {}
SCENARIO = os.environ.get("BENCH_SCENARIO", "mix")
RATE = float(os.environ.get("BENCH_RATE") or 0) or 300.0
SMS_STUB = os.environ.get("BENCH_SMS_STUB", "http://127.0.0.1:8125")
STUB_CODE = "(stub) read code"  # the requests to the SMS stub, not to the app
PASSWORD = FIXTURE.get("password", "")
TODAY = date.fromisoformat(FIXTURE["today"]) if FIXTURE else date.today()
# Shares of the mix's requests by role; a role's users split its share evenly.
SHARES = {"manager": 0.30, "florist": 0.30, "courier": 0.32, "otp": 0.08}
USERS = {"manager": 40, "florist": 60, "courier": 80, "otp": 12}

STATUSES: Counter = Counter()
_lock = threading.Lock()
_staff_queues: dict[str, list] = {}


@events.request.add_listener
def _count(name, response, exception, **kwargs) -> None:
    status = getattr(response, "status_code", 0) if response is not None else 0
    with _lock:
        STATUSES[f"{name}|{status}"] += 1


@events.quitting.add_listener
def _write_statuses(environment, **kwargs) -> None:
    if os.environ.get("BENCH_STATUS_FILE"):
        with open(os.environ["BENCH_STATUS_FILE"], "w") as out:
            json.dump(dict(STATUSES), out)
    if os.environ.get("BENCH_LATENCY_FILE"):
        # The app's requests alone: locust's own total counts the stub's answers too (fast, about 5 % of them).
        app = StatsEntry(environment.stats, "the app", "")
        for (name, _method), entry in environment.stats.entries.items():
            if name != STUB_CODE:
                app.extend(entry)
        with open(os.environ["BENCH_LATENCY_FILE"], "w") as out:
            json.dump(
                {
                    "requests": app.num_requests,
                    **{f"p{q}": app.get_response_time_percentile(q / 100) for q in (50, 95, 99)},
                },
                out,
            )


def _next_staff(role: str) -> dict:
    """Hand out the fixture's staff of a role round robin, so each locust user is a different person."""
    with _lock:
        queue = _staff_queues.get(role)
        if not queue:
            queue = _staff_queues[role] = [
                {**person, "shop": shop} for shop in FIXTURE["shops"] for person in shop[role + "s"]
            ]
            random.shuffle(queue)
        person = queue.pop()
        queue.insert(0, person)
        return person


class Staff(FastHttpUser):
    abstract = True
    role = "manager"
    # FastHttpUser: keep the client's own cost low, so the two cores go to the servers.
    connection_timeout = 30.0
    network_timeout = 30.0

    def on_start(self) -> None:
        gevent.sleep(self.wait_time())  # the first request at this person's own first moment
        self.person = _next_staff(self.role)
        self.shop = self.person["shop"]
        self.token = self.person.get("token") or ""  # logged in by the runner; else now
        if not self.token:
            self.login()

    def login(self) -> None:
        with self.client.post(
            "/api/v1/auth/login",
            json={"login": self.person["phone"], "password": PASSWORD},
            name="POST /auth/login",
            catch_response=True,
        ) as answer:
            if answer.status_code == 200:
                self.token = answer.json()["access_token"]
            else:
                answer.failure(f"login {answer.status_code}")
                self.token = ""

    def call(self, method: str, path: str, name: str, *, expected=(200,), key: str | None = None, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}"}
        if key:
            headers["Idempotency-Key"] = key
        with self.client.request(method, path, name=name, headers=headers, catch_response=True, **kwargs) as answer:
            if answer.status_code == 401:
                answer.success()  # a token past its 15 minutes: log in again, as the apps do
                self.login()
                return None
            if answer.status_code in expected:
                answer.success()
                return answer
            answer.failure(f"HTTP {answer.status_code}")
            return None


# --- the March 8 mix -------------------------------------------------------------------------


def _rate(role: str) -> float:
    per_user = float(os.environ.get("BENCH_PER_USER_RATE") or 0)
    return per_user or RATE * SHARES[role] / USERS[role]


def poisson_arrivals(rate: float):
    """Each person acts at `rate` on average, at exponentially spread moments of their own: many independent
    phones. (Locust starts its users in batches of the spawn rate; a fixed pace, constant_throughput, kept each batch
    in step, so dozens of requests came at the same instant and waited on each other.) A person behind schedule,
    after a slow answer, goes at once but does not catch up in a burst; so where answers take a good part of the
    mean pause (at saturation), a person sends less than `rate`, as with constant_throughput. Each person's first
    request waits for its first moment too (`Staff.on_start`), or a spawn batch would send it together."""

    def wait(user) -> float:
        now = time.monotonic()
        user.due_at = max(getattr(user, "due_at", now) + random.expovariate(rate), now)
        return user.due_at - now

    return wait


class Manager(Staff):
    """Takes orders on the phone, confirms them, gives them a courier; looks at the day's list and an order."""

    role = "manager"
    weight = USERS["manager"]
    wait_time = poisson_arrivals(_rate("manager"))

    def on_start(self) -> None:
        super().on_start()
        self.pending: list[tuple[str, int]] = []  # (step, order id)
        self.last_create: tuple[str, dict] | None = None

    def order_body(self) -> dict:
        products = random.sample(self.shop["product_ids"], random.choice([1, 1, 2]))
        body = {
            "customer_id": random.randint(*self.shop["customer_range"]),
            "recipient_name": "Peak recipient",
            "items": [{"product_id": p, "quantity": random.choice([1, 1, 2])} for p in products],
            "card_text": "С 8 Марта!",
            "delivery_date": (TODAY + timedelta(days=random.randint(1, 6))).isoformat(),
        }
        if random.random() < 0.8:
            body.update(
                fulfillment="delivery", address="Moscow, Arbat 1", window_start=random.choice(FIXTURE["windows"])
            )
        else:
            body.update(fulfillment="pickup", pickup_time="16:30")
        return body

    @task
    def work(self) -> None:
        if self.pending:
            step, order_id = self.pending.pop(0)
            if step == "confirm":
                answer = self.call(
                    "POST",
                    f"/api/v1/orders/{order_id}/status",
                    "POST /orders/{id}/status [confirm]",
                    expected=(200, 409),
                    key=f"confirm-{order_id}",
                    json={"status": "confirmed"},
                )
                if answer is not None and answer.status_code == 200 and answer.json()["fulfillment"] == "delivery":
                    self.pending.append(("courier", order_id))
            elif step == "courier":
                self.call(
                    "POST",
                    f"/api/v1/orders/{order_id}/courier",
                    "POST /orders/{id}/courier",
                    expected=(200, 409),
                    json={"courier_id": random.choice(self.shop["couriers"])["id"]},
                )
            return
        roll = random.random()
        if roll < 0.35:
            self.create_order()
        elif roll < 0.65:
            self.call("GET", f"/api/v1/orders?page_size=50&date_from={TODAY}", "GET /orders")
        elif roll < 0.9:
            self.call("GET", f"/api/v1/orders/{random.choice(self.shop['order_ids'])}", "GET /orders/{id}")
        else:
            day = TODAY + timedelta(days=random.randint(1, 6))
            self.call("GET", f"/api/v1/delivery-slots?date={day}", "GET /delivery-slots")

    def create_order(self) -> None:
        # Now and then the phone's app retries the last create with the same key, as on a flaky network.
        if self.last_create and random.random() < 0.1:
            key, body = self.last_create
            answer = self.call(
                "POST", "/api/v1/orders", "POST /orders [repeated key]", expected=(201, 409), key=key, json=body
            )
            return
        key = f"peak-{uuid.uuid4().hex}"
        body = {**self.order_body(), "comment": f"bench-key:{key}"}
        answer = self.call("POST", "/api/v1/orders", "POST /orders", expected=(201, 409), key=key, json=body)
        if answer is not None and answer.status_code == 201:
            self.last_create = (key, body)
            self.pending.append(("confirm", answer.json()["id"]))


class Florist(Staff):
    """Takes the next pending bouquet of the workshop, starts and completes it."""

    role = "florist"
    weight = USERS["florist"]
    wait_time = poisson_arrivals(_rate("florist"))

    def on_start(self) -> None:
        super().on_start()
        self.steps: list[tuple[str, int]] = []

    @task
    def work(self) -> None:
        if self.steps:
            step, task_id = self.steps.pop(0)
            answer = self.call(
                "POST",
                f"/api/v1/production-tasks/{task_id}/{step}",
                f"POST /production-tasks/{{id}}/{step}",
                expected=(200, 409),
                key=f"task-{task_id}-{step}",
            )
            if answer is None or answer.status_code != 200:
                self.steps.clear()  # another florist took it, or it was cancelled: look for the next one
            return
        answer = self.call(
            "GET", "/api/v1/production-tasks?status=pending&unassigned=true&page_size=20", "GET /production-tasks"
        )
        if answer is not None and answer.json():
            chosen = random.choice(answer.json()[:5])
            self.steps = [("claim", chosen["id"]), ("start", chosen["id"]), ("complete", chosen["id"])]


class Courier(Staff):
    """Polls their deliveries with updated_since, picks up what is ready and delivers what is on the way."""

    role = "courier"
    weight = USERS["courier"]
    wait_time = poisson_arrivals(_rate("courier"))

    def on_start(self) -> None:
        super().on_start()
        self.since: str | None = None
        self.todo: dict[int, dict] = {}

    @task
    def work(self) -> None:
        card = next((c for c in self.todo.values() if c["status"] in ("ready", "out_for_delivery")), None)
        if card is not None and random.random() < 0.5:
            order_id = card["order_id"]
            if card["status"] == "ready":
                answer = self.call(
                    "POST",
                    f"/api/v1/courier/deliveries/{order_id}/pickup",
                    "POST /courier/deliveries/{id}/pickup",
                    expected=(200, 404, 409),
                    key=f"pickup-{order_id}",
                )
            else:
                answer = self.call(
                    "POST",
                    f"/api/v1/courier/deliveries/{order_id}/deliver",
                    "POST /courier/deliveries/{id}/deliver",
                    expected=(200, 404, 409),
                    key=f"deliver-{order_id}",
                    json={"amount_collected": card["amount_due"]},
                )
            if answer is not None and answer.status_code == 200:
                self.todo[order_id] = {**card, **{k: v for k, v in answer.json().items() if k in card}}
                if self.todo[order_id]["status"] not in ("ready", "out_for_delivery"):
                    del self.todo[order_id]
            else:
                self.todo.pop(order_id, None)
            return
        started = datetime.now(UTC) - timedelta(seconds=2)
        if self.since:
            path = f"/api/v1/courier/deliveries?updated_since={self.since.replace('+', '%2B')}&page_size=50"
            name = "GET /courier/deliveries?updated_since"
        else:
            path = "/api/v1/courier/deliveries?status=ready&status=out_for_delivery&page_size=50"
            name = "GET /courier/deliveries"
        answer = self.call("GET", path, name)
        if answer is not None:
            self.since = started.isoformat()
            for delivery in answer.json():
                self.todo[delivery["order_id"]] = delivery


class OtpLogin(Staff):
    """Someone logs in by SMS code: asks for a code, the stub SMS.RU receives it, the code is sent back."""

    role = "otp"
    weight = USERS["otp"]
    wait_time = poisson_arrivals(_rate("otp"))

    def on_start(self) -> None:
        gevent.sleep(self.wait_time())
        self.token = ""
        self.phone: str | None = None
        self.tries = 0

    @task
    def work(self) -> None:
        if self.phone is None:
            # Staff phones get a code; a few unknown phones get the same 202 and nothing is sent.
            if random.random() < 0.1:
                phone = f"+7999{random.randint(0, 9_999_999):07d}"
            else:
                phone = _next_staff(random.choice(["courier", "florist"]))["phone"]
            answer = self.call(
                "POST", "/api/v1/auth/otp/request", "POST /auth/otp/request", expected=(202,), json={"phone": phone}
            )
            if answer is not None and not phone.startswith("+7999"):
                self.phone, self.tries = phone, 0
            return
        # 404 is "no code yet" while the worker sends it: polled, not a failure of the app.
        with self.client.get(
            f"{SMS_STUB}/codes/{self.phone.lstrip('+')}", name=STUB_CODE, catch_response=True
        ) as found:
            if found.status_code == 404:
                found.success()
        self.tries += 1
        if found.status_code == 200:
            self.call(
                "POST",
                "/api/v1/auth/otp/verify",
                "POST /auth/otp/verify",
                json={"phone": self.phone, "code": found.json()["code"]},
            )
            self.phone = None
        elif self.tries > 20:
            self.phone = None  # the code never came (the worker is behind): give up on this one
        else:
            time.sleep(0.2)


SCENARIOS = {
    "steps": [Manager, Florist, Courier],
    "mix": [Manager, Florist, Courier, OtpLogin],
}
for _name, _classes in SCENARIOS.items():
    for _cls in _classes:
        if _name == SCENARIO:
            _cls.abstract = False
for _cls in {c for classes in SCENARIOS.values() for c in classes}:
    if _cls not in SCENARIOS[SCENARIO]:
        _cls.abstract = True
del _name, _classes, _cls  # a module-level alias would make locust see a user class twice
