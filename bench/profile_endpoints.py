"""Profile the slowest read endpoints in-process with pyinstrument, on the bench data; part of bench/peak_bench.py.

Runs the production app (the environment peak_bench gives it) through Flask's test client, so the profile is the
app's own work: routing, auth, the service's SQL, the ORM, the schema dump. Also splits each request's time into
time inside the database driver and the rest (SQLAlchemy cursor events). Writes bench/.results/profile-*.txt and
bench/.results/profiles.json.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from pyinstrument import Profiler
from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import peak_data  # noqa: E402

RESULTS = ROOT / "bench" / ".results"
REPEAT = 40


def _login(client, phone: str) -> dict[str, str]:
    answer = client.post("/api/v1/auth/login", json={"login": phone, "password": peak_data.BENCH_PASSWORD})
    return {"Authorization": f"Bearer {answer.get_json()['access_token']}"}


def main() -> None:
    from app import create_app
    from app.extensions import db

    app = create_app()
    client = app.test_client()
    fixture = json.loads((RESULTS / "fixture.json").read_text())
    shop = fixture["shops"][0]
    today = datetime.now(UTC).date()
    cases = {
        "GET /orders": (shop["managers"][0]["phone"], f"/api/v1/orders?page_size=50&date_from={today}"),
        "GET /production-tasks": (shop["florists"][0]["phone"], "/api/v1/production-tasks?status=pending"),
        "GET /courier/deliveries": (shop["couriers"][0]["phone"], f"/api/v1/courier/deliveries?date={today}"),
        "GET /orders/{id}": (shop["managers"][0]["phone"], f"/api/v1/orders/{shop['order_ids'][0]}"),
    }  # fmt: skip
    in_sql = {"seconds": 0.0, "statements": 0}
    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany):
            conn.info["bench_started"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany):
            in_sql["seconds"] += time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())
            in_sql["statements"] += 1

    summary = {}
    for name, (phone, path) in cases.items():
        headers = _login(client, phone)
        for _ in range(5):  # warm the pools and caches
            client.get(path, headers=headers)
        in_sql.update(seconds=0.0, statements=0)
        profiler = Profiler(interval=0.0005)
        began = time.perf_counter()
        profiler.start()
        for _ in range(REPEAT):
            answer = client.get(path, headers=headers)
        profiler.stop()
        elapsed = (time.perf_counter() - began) / REPEAT
        text = profiler.output_text(unicode=False, color=False, show_all=False)
        slug = name.replace("GET /", "").replace("/", "-").replace("{id}", "id")
        (RESULTS / f"profile-{slug}.txt").write_text(text)
        summary[name] = {
            "path": path,
            "status": answer.status_code,
            "rows": len(answer.get_json()) if isinstance(answer.get_json(), list) else 1,
            "ms_per_request": round(elapsed * 1000, 1),
            "ms_in_sql": round(in_sql["seconds"] / REPEAT * 1000, 1),
            "statements": in_sql["statements"] / REPEAT,
            "file": f"profile-{slug}.txt",
        }
        print(f"{name}: {summary[name]}", flush=True)
    (RESULTS / "profiles.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
