"""`GET /delivery-slots?date=` with and without a date's override: statements per request and time. A benchmark,
not a test (tests/slots/test_overrides.py holds the statement count fixed too).

    python bench/slots_bench.py              # prints the table
    python bench/slots_bench.py --write      # ... and writes docs/slots-benchmark.md

A scratch PostgreSQL database (bench_slots, re-created and migrated by the app's migrations) and Redis db 13
(the rate limiter's) are used. For each case a shop has W weekly windows on the date's weekday, each with
orders booked, and the date has no override, an "adjust" one (every capacity changed, W windows added, a
surcharge), a "replace" one (2·W windows) or a "closed" one. Each request goes through the whole app (auth, shop
access, schema) by Flask's test client; the statements are counted at the engine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import machine, migrate, recreate_database  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_slots"
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
DOC = ROOT / "docs" / "slots-benchmark.md"
DAY = date(2030, 3, 8)  # a Friday
SECRET = "bench-slots-secret-key-of-enough-length-0123456789"
SIZES = (2, 10, 40)
MODES = ("none", "adjust", "replace", "closed")


def _hh_mm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _windows(count: int, first: int, length: int) -> list[tuple[str, str]]:
    return [(_hh_mm(first + i * length), _hh_mm(first + (i + 1) * length)) for i in range(count)]


def _setup(app, size: int, mode: str):
    from flask_jwt_extended import create_access_token

    from app.extensions import db
    from app.slots import services as slots
    from app.slots.models import DeliveryWindowOverride
    from tests.factories import MembershipFactory, ShopFactory, UserFactory

    shop = ShopFactory(name=f"Slots {size} {mode}")
    db.session.flush()
    weekly = _windows(size, 0, 12)  # 12-minute windows from midnight: up to 40 fit before 08:00
    slots.add_windows(
        shop_id=shop.id,
        windows=[
            {"weekday": DAY.weekday(), "start": s, "end": e, "capacity": 50, "delivery_fee": "300.00"}
            for s, e in weekly
        ],
    )
    before = datetime(2030, 3, 1, tzinfo=UTC)
    for start, _end in weekly:  # orders booked before the date was planned
        slots.take(shop_id=shop.id, delivery_date=DAY, window_start=start, now=before)
    extra = _windows(size if mode == "adjust" else 2 * size, 9 * 60, 6)
    if mode != "none":
        db.session.add(
            DeliveryWindowOverride(
                shop_id=shop.id,
                date=DAY,
                mode=mode,
                windows=[]
                if mode == "closed"
                else [{"start": s, "end": e, "capacity": 40, "delivery_fee": "500.00"} for s, e in extra],
                capacity_changes={s: 60 for s, _e in weekly} if mode == "adjust" else {},
                surcharge=200 if mode in ("adjust", "replace") else 0,
                note="",
                version=1,
            )
        )
    db.session.flush()
    user = UserFactory()
    MembershipFactory(user=user, shop=shop, role="manager")
    db.session.commit()
    return shop.id, create_access_token(identity=user)


def run(args) -> list[dict]:
    from sqlalchemy import event

    from app import create_app
    from app.config import DevelopmentConfig
    from app.extensions import db

    config = DevelopmentConfig()
    config.SQLALCHEMY_DATABASE_URI = args.database_url
    config.REDIS_URL = config.RATELIMIT_STORAGE_URI = args.redis_url
    config.JWT_SECRET_KEY = config.SECRET_KEY = SECRET
    config.LOG_LEVEL = "WARNING"
    config.RATELIMIT_ENABLED = False
    app = create_app(config)
    rows = []
    with app.app_context():
        cases = [(size, mode, *_setup(app, size, mode)) for size in SIZES for mode in MODES]
    client = app.test_client()
    for size, mode, shop_id, token in cases:
        headers = {"Authorization": f"Bearer {token}", "X-Shop-Id": str(shop_id)}
        url = f"/api/v1/delivery-slots?date={DAY.isoformat()}"
        statements: list[str] = []

        def record(_conn, _cursor, statement, *_rest, into=statements):
            into.append(statement)

        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", record)
            answer = client.get(url, headers=headers)
            event.remove(db.engine, "before_cursor_execute", record)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        times = []
        for _ in range(args.requests):
            began = time.perf_counter()
            client.get(url, headers=headers)
            times.append((time.perf_counter() - began) * 1000)
        rows.append(
            {
                "windows": size,
                "override": mode,
                "listed": len(answer.get_json()),
                "statements": len(statements),
                "median_ms": statistics.median(times),
                "p95_ms": sorted(times)[int(len(times) * 0.95) - 1],
            }
        )
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| weekly windows | override | windows listed | statements | median ms | p95 ms |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['windows']} | {r['override']} | {r['listed']} | {r['statements']} | {r['median_ms']:.1f} | "
        f"{r['p95_ms']:.1f} |"
        for r in rows
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per case")
    parser.add_argument("--write", action="store_true", help=f"write {DOC.relative_to(ROOT)}")
    args = parser.parse_args()
    recreate_database(args.database_url)
    migrate(args.database_url)
    rows = run(args)
    text = table(rows)
    print(text)
    if args.write:
        counts = sorted({r["statements"] for r in rows})
        DOC.write_text(
            "# `GET /delivery-slots` with date overrides: a fixed number of statements\n\n"
            "Written by `python bench/slots_bench.py --write` (issue 17). One day's windows of a shop: W weekly "
            "windows on the weekday, each with orders booked, and the date with no override, an `adjust` one "
            "(every capacity changed, W windows added, a surcharge), a `replace` one (2·W windows) or a `closed` "
            "one. Each request goes through the whole app (JWT, shop access, schema) by Flask's test client, "
            f"{args.requests} timed requests per case after one counted.\n\n"
            f"- Machine: {machine()}\n"
            f"- Statements per request: {', '.join(map(str, counts))}, whatever the number of windows and whether "
            "the date has an override: the caller's authentication and shop, the weekday's windows, the date's "
            "override and the bookings (with the day's florist minutes, in the same statement); a day without "
            "windows (closed) skips the bookings.\n\n" + text + "\n"
        )
        print(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
