"""Time the purchase plan over a peak week of a 1M-order network. A benchmark, not a test.

    python bench/purchase_plan_bench.py                  # 1,000,000 orders into bench_purchase_plan (reused if there)
    python bench/purchase_plan_bench.py --orders 200000  # smaller
    python bench/purchase_plan_bench.py --fresh          # generate the data again

The data is bench/peak_data.py's network (20 shops, two years of orders, today's and the next three days' orders
in every open state with consistent reservations, a batch per item and week), in its own scratch database. On top,
the peak: for shops 1-3, day T+2 (T the shop's today) gets nine times a normal day's orders more, all `new` (copies
of the shop's recent orders, lines included), so the week T..T+6 holds a March 8 sized day. Then the plan of each
shop's week is timed the way the API computes it (the service's statements, the JSON dump, the CSV file), with the
forecast on (growth 1.3), and the statement count is checked. Writes docs/purchase-plan-benchmark.md with --write.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg2
from sqlalchemy import event, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import peak_data  # noqa: E402
from bench.scratch import count_rows, machine, server_version  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_purchase_plan"
PEAK_SHOPS = (1, 2, 3)
PEAK_FACTOR = 9  # extra orders on the peak day, in normal days
GROWTH = "1.30"
TARGET_SECONDS = 1.0


def add_peak(url: str) -> int:
    """Nine normal days' orders more on T+2 for the peak shops (once per database). The orders added."""
    from app.orders.models import Order, OrderItem

    order_columns = [c.name for c in Order.__table__.columns]
    item_columns = [c.name for c in OrderItem.__table__.columns if c.name != "id"]
    replaced = {
        "id": "s.new_id",
        "number": "'P' || s.new_id",
        "status": "'new'",
        "delivery_date": "s.peak_day",
        "tracking_token": "md5(s.new_id::text || random()::text)",
        "courier_id": "NULL",
        "cost_of_goods": "NULL",
        "stock_short": "false",
        "version": "1",
    }
    select_orders = ", ".join(replaced.get(name, f"s.{name}") for name in order_columns)
    select_items = ", ".join("s.new_id" if name == "order_id" else f"oi.{name}" for name in item_columns)
    connection = psycopg2.connect(url)
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_peak_added') IS NOT NULL")
        if cursor.fetchone()[0]:
            cursor.execute("SELECT added FROM bench_peak_added")
            return cursor.fetchone()[0]
        for table in ("orders", "order_items"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        cursor.execute("SELECT count(*) / 730 / count(DISTINCT shop_id) FROM orders")
        per_day = max(cursor.fetchone()[0], 1)
        cursor.execute(
            """CREATE TEMP TABLE bench_peak_src AS
            SELECT o.*, (now() AT TIME ZONE s.timezone)::date + 2 AS peak_day, 0::bigint AS new_id
            FROM shops s CROSS JOIN LATERAL (
                SELECT * FROM orders o WHERE o.shop_id = s.id AND o.status <> 'cancelled'
                  AND o.delivery_date < (now() AT TIME ZONE s.timezone)::date
                ORDER BY o.delivery_date DESC, o.id DESC LIMIT %(n)s) o
            WHERE s.id = ANY(%(shops)s)""",
            {"n": per_day * PEAK_FACTOR, "shops": list(PEAK_SHOPS)},
        )
        cursor.execute("UPDATE bench_peak_src SET new_id = nextval(pg_get_serial_sequence('orders', 'id'))")
        cursor.execute(f"INSERT INTO orders ({', '.join(order_columns)}) SELECT {select_orders} FROM bench_peak_src s")
        added = cursor.rowcount
        cursor.execute(
            f"INSERT INTO order_items ({', '.join(item_columns)}) SELECT {select_items} "
            "FROM order_items oi JOIN bench_peak_src s ON s.id = oi.order_id"
        )
        cursor.execute("CREATE TABLE bench_peak_added (added int)")
        cursor.execute("INSERT INTO bench_peak_added VALUES (%s)", (added,))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orders")
        cursor.execute("ANALYZE order_items")
    connection.close()
    return added


def time_plans(url: str, *, shop_ids: list[int], repeat: int) -> list[dict]:
    from decimal import Decimal

    from app import create_app
    from app.config import DevelopmentConfig
    from app.extensions import db
    from app.reports.csvfile import csv_download
    from app.reports.purchase_plan import purchase_plan
    from app.reports.schemas import PurchasePlanSchema

    config = DevelopmentConfig()
    config.SQLALCHEMY_DATABASE_URI = url
    app = create_app(config)
    results = []
    with app.app_context():
        statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        for shop_id in shop_ids:
            zone = db.session.execute(text("SELECT timezone FROM shops WHERE id = :id"), {"id": shop_id}).scalar()
            today = datetime.now(ZoneInfo(zone)).date()
            week = {"date_from": today, "date_to": today + timedelta(days=6), "growth": Decimal(GROWTH)}
            orders_in_week = db.session.execute(
                text(
                    "SELECT count(*) FROM orders WHERE shop_id = :id AND delivery_date BETWEEN :a AND :b "
                    "AND status IN ('new', 'confirmed')"
                ),
                {"id": shop_id, "a": week["date_from"], "b": week["date_to"]},
            ).scalar()
            timings = []
            for _ in range(repeat):
                db.session.rollback()
                statements.clear()
                began = time.perf_counter()
                report = purchase_plan(shop_id=shop_id, **week)
                sql_done = time.perf_counter()
                count = len(statements)
                body = json.dumps(PurchasePlanSchema().dump(report))
                json_done = time.perf_counter()
                csv_download(PurchasePlanSchema(), report, table="items", footer="totals", filename="bench.csv")
                csv_done = time.perf_counter()
                timings.append((sql_done - began, json_done - sql_done, csv_done - json_done))
            totals = [sum(t) for t in timings]
            results.append(
                {
                    "shop": shop_id,
                    "peak": shop_id in PEAK_SHOPS,
                    "orders": orders_in_week,
                    "items": len(report["items"]),
                    "statements": count,
                    "cost": report["totals"]["cost"],
                    "json_kb": len(body) // 1024,
                    "first": totals[0],
                    "median_sql": statistics.median(t[0] for t in timings),
                    "median_total": statistics.median(totals),
                    "max_total": max(totals),
                }
            )
            r = results[-1]
            print(
                f"  shop {shop_id}: {orders_in_week} new/confirmed orders in the week, {r['items']} items, "
                f"{count} statements, sql {r['median_sql'] * 1000:.0f} ms, total {r['median_total'] * 1000:.0f} ms "
                f"(first {r['first'] * 1000:.0f} ms, max {r['max_total'] * 1000:.0f} ms)",
                flush=True,
            )
        db.session.remove()
        db.engine.dispose()
    return results


def write_document(path: Path, *, command: str, url: str, generated: dict, added: int, counts: dict, results) -> None:
    worst = max(r["max_total"] for r in results)
    lines = [
        "# Purchase plan benchmark",
        "",
        "`GET /api/v1/reports/purchase-plan` over a peak week, timed by `bench/purchase_plan_bench.py` "
        "(`make bench-purchase-plan`; a benchmark, not a test): the service's statements, the JSON dump "
        "and the CSV file, as the API computes them (authentication and HTTP add a few milliseconds).",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Command: {command}",
        f"- Machine: {machine()}; {server_version(url)} on the same machine, default settings",
        f"- Data: bench/peak_data.py's network, {generated['orders']:,} orders over two years in 20 shops "
        f"(generated in {generated['generated_in']:.0f} s), plus {added:,} `new` orders on day T+2 of shops "
        f"{', '.join(map(str, PEAK_SHOPS))} (nine normal days more: the peak)",
        f"- The plan: each shop's 7 days from today, forecast on (growth {GROWTH}: every day also reads its "
        "compared day of last year)",
        "",
        "| table | rows |",
        "|---|---:|",
        *[f"| {name} | {value:,} |" for name, value in counts.items()],
        "",
    ]
    if generated["orders"] < 1_000_000:
        lines += [
            f"**Smaller than the target size** ({generated['orders']:,} orders, not 1,000,000).",
            "",
        ]
    lines += [
        "| shop | peak | new/confirmed orders in the week | items | statements | SQL (median) | total (median) "
        "| first run | slowest |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
        *[
            f"| {r['shop']} | {'yes' if r['peak'] else 'no'} | {r['orders']:,} | {r['items']} | {r['statements']} | "
            f"{r['median_sql'] * 1000:.0f} ms | {r['median_total'] * 1000:.0f} ms | {r['first'] * 1000:.0f} ms | "
            f"{r['max_total'] * 1000:.0f} ms |"
            for r in results
        ],
        "",
        f"Target: under {TARGET_SECONDS:.0f} s. Slowest run: {worst * 1000:.0f} ms — "
        f"{'met' if worst < TARGET_SECONDS else 'NOT met'}. The first run of each shop reads its rows from disk "
        "(cold cache); the median is the warm figure.",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--fresh", action="store_true", help="generate the data again even if it is there")
    parser.add_argument("--shops", type=int, default=5, help="time the plans of shops 1..N")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="write docs/purchase-plan-benchmark.md")
    args = parser.parse_args()
    generated = peak_data.ensure(args.database_url, orders=args.orders, reuse=not args.fresh)
    added = add_peak(args.database_url)
    print(f"peak: {added:,} new orders on day T+2 of shops {PEAK_SHOPS}", flush=True)
    results = time_plans(args.database_url, shop_ids=list(range(1, args.shops + 1)), repeat=args.repeat)
    counts = count_rows(args.database_url, ["orders", "order_items", "stock_reservations", "stock_batches"])
    worst = max(r["max_total"] for r in results)
    print(f"slowest plan: {worst * 1000:.0f} ms (target {TARGET_SECONDS:.0f} s)")
    if args.write:
        command = "python bench/purchase_plan_bench.py " + " ".join(sys.argv[1:])
        write_document(
            ROOT / "docs" / "purchase-plan-benchmark.md",
            command=command.strip(),
            url=args.database_url,
            generated=generated,
            added=added,
            counts=counts,
            results=results,
        )
    if worst >= TARGET_SECONDS:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
