"""Each write step alone: one client, one request at a time, on a kept-alive connection; part of `make bench`.

    python bench/write_steps.py --host http://127.0.0.1:8101 --fixture bench/.results/fixture.json --rounds 200

An order of the fixture's first shop, for a day 7 to 34 days ahead, goes from intake to the door, `--rounds`
times, as bench/locustfile.py's people do it: a manager takes it (POST /orders), confirms it and gives it a
courier; a florist claims, starts and completes its bouquet; the courier picks it up and delivers it. Every step
carries an Idempotency-Key. The time of each answer is taken around the request and the reading of its body
(http.client, so the client costs little; its own CPU is printed too). Prints one JSON line: per step the count,
median, p95 and max in ms, and the answers that were not 2xx.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

# The orders go to the windows of the 4 weeks after next, a few in each, round robin: the mix's orders (the next
# six days) do not fill them, so a reused data set serves many runs.
DAYS = 28
STEPS = [
    "POST /orders",
    "POST /orders/{id}/status [confirm]",
    "POST /orders/{id}/courier",
    "POST /production-tasks/{id}/claim",
    "POST /production-tasks/{id}/start",
    "POST /production-tasks/{id}/complete",
    "POST /courier/deliveries/{id}/pickup",
    "POST /courier/deliveries/{id}/deliver",
]


class Client:
    def __init__(self, host: str) -> None:
        parts = urlsplit(host)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.times: dict[str, list[float]] = {name: [] for name in STEPS}
        self.refused: dict[str, dict[str, int]] = {}

    def call(self, method: str, path: str, token: str, *, name: str | None = None, key: str | None = None,
             body: dict | None = None) -> tuple[int, object]:  # fmt: skip
        headers = {"Authorization": f"Bearer {token}"}
        if key:
            headers["Idempotency-Key"] = key
        payload = None
        if body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
        began = time.perf_counter()
        self.connection.request(method, path, body=payload, headers=headers)
        answer = self.connection.getresponse()
        data = answer.read()
        elapsed = (time.perf_counter() - began) * 1000
        if name:
            if 200 <= answer.status < 300:
                self.times[name].append(elapsed)
            else:
                counts = self.refused.setdefault(name, {})
                counts[str(answer.status)] = counts.get(str(answer.status), 0) + 1
        return answer.status, json.loads(data) if data else None


def one_order(client: Client, shop: dict, people: dict, today: date, slot: int, windows: list[str]) -> int:
    """One order through every step; returns the next slot to try (a full window moves on to the next one)."""
    manager, florist, courier = people["managers"], people["florists"], people["couriers"]
    for _ in range(DAYS * len(windows)):
        day = today + timedelta(days=7 + (slot // len(windows)) % DAYS)
        key = f"alone-{uuid.uuid4().hex}"
        product = shop["product_ids"][slot % len(shop["product_ids"])]
        body = {"customer_id": shop["customer_range"][0] + slot % 1000, "recipient_name": "Bench recipient",
                "fulfillment": "delivery", "address": "Moscow, Arbat 2", "delivery_date": day.isoformat(),
                "window_start": windows[slot % len(windows)], "card_text": "С 8 Марта!", "comment": f"bench-key:{key}",
                "items": [{"product_id": product, "quantity": 1}]}  # fmt: skip
        status, order = client.call("POST", "/api/v1/orders", manager["token"], name="POST /orders", key=key, body=body)
        slot += 1
        if status == 201:
            break
        if status != 409:
            raise SystemExit(f"POST /orders answered {status}: {order}")
    else:
        raise SystemExit(f"every window of {DAYS} days refused the order (409): the data set is full, make it anew")
    oid = order["id"]
    client.call("POST", f"/api/v1/orders/{oid}/status", manager["token"], name="POST /orders/{id}/status [confirm]",
                key=f"{key}-confirm", body={"status": "confirmed"})  # fmt: skip
    client.call("POST", f"/api/v1/orders/{oid}/courier", manager["token"], name="POST /orders/{id}/courier",
                body={"courier_id": courier["id"]})  # fmt: skip
    _, tasks = client.call("GET", f"/api/v1/production-tasks?order_id={oid}", florist["token"])
    for step in ("claim", "start", "complete"):
        client.call("POST", f"/api/v1/production-tasks/{tasks[0]['id']}/{step}", florist["token"],
                    name=f"POST /production-tasks/{{id}}/{step}", key=f"{key}-{step}")  # fmt: skip
    client.call("POST", f"/api/v1/courier/deliveries/{oid}/pickup", courier["token"],
                name="POST /courier/deliveries/{id}/pickup", key=f"{key}-pickup")  # fmt: skip
    client.call("POST", f"/api/v1/courier/deliveries/{oid}/deliver", courier["token"],
                name="POST /courier/deliveries/{id}/deliver", key=f"{key}-deliver",
                body={"amount_collected": order["amount_due"]})  # fmt: skip
    return slot


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True)
    parser.add_argument("--fixture", required=True)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=5, help="orders walked through first, not counted")
    args = parser.parse_args()
    fixture = json.loads(Path(args.fixture).read_text())
    shop = fixture["shops"][0]
    people = {role: shop[role][0] for role in ("managers", "florists", "couriers")}
    today = date.fromisoformat(fixture["today"])
    client, slot = Client(args.host), 0
    for _ in range(args.warmup):
        slot = one_order(client, shop, people, today, slot, fixture["windows"])
    client.times = {name: [] for name in STEPS}
    client.refused = {}
    cpu_began, began = time.process_time(), time.perf_counter()
    for _ in range(args.rounds):
        slot = one_order(client, shop, people, today, slot, fixture["windows"])
    wall = time.perf_counter() - began
    steps = {
        name: {
            "count": len(values),
            "median": round(statistics.median(values), 2) if values else 0.0,
            "p95": round(percentile(values, 0.95), 2),
            "max": round(max(values), 2) if values else 0.0,
            "refused": client.refused.get(name, {}),
        }
        for name, values in client.times.items()
    }
    client_cpu = time.process_time() - cpu_began
    print("WRITES_JSON " + json.dumps({"rounds": args.rounds, "wall": round(wall, 2),
                                       "client_cpu": round(client_cpu, 2), "steps": steps}))  # fmt: skip


if __name__ == "__main__":
    main()
