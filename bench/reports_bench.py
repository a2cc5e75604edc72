"""Time every report over a year of a large flower network's data. A benchmark, not a test.

    python bench/reports_bench.py                 # 1,000,000 orders in 50 shops, into bench_reports
    python bench/reports_bench.py --orders 200000 # smaller
    python bench/reports_bench.py --reuse         # time again on the data already generated

It creates (drops and re-creates) a scratch PostgreSQL database, builds the schema with the app's own
migrations, fills it with bulk INSERT ... SELECT generate_series statements run inside PostgreSQL
(no row goes through Python), and times each report the way the API computes it: the service's
SQL, the JSON dump through the response schema, and the CSV file. Then it adds the indexes the
reports would like, times again, and writes docs/reports-benchmark.md.

The network: shop 1 is the flagship with a fifth of the orders, the others share the rest; shops
are spread over five Russian time zones. Orders are taken evenly over the last 365 days: 95% kept
(half delivered by a courier, half picked up), 5% cancelled; a third have two lines; every tenth
gets 10% off; 2% have a partial refund; a quarter of the deliveries are paid in cash at the door;
every 33rd delivery fails once first. Every kept order consumes its recipes' stems from that
week's batch (one batch per item and week), and every shop writes off twice a day.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg2
from psycopg2 import sql
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import machine, migrate, recreate_database, server_version  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_reports"
ZONES = ["Europe/Moscow", "Asia/Vladivostok", "Asia/Yekaterinburg", "Europe/Kaliningrad", "Asia/Novosibirsk"]
ITEMS, PRODUCTS, CATEGORIES, STAFF, CUSTOMERS = 15, 30, 3, 8, 200
# Indexes the reports would use (migration 0010 has the first and third under other names): timed without
# the rest, then with all of them.
SUGGESTED_INDEXES = {
    "ix_bench_orders_shop_created": "orders (shop_id, created_at)",
    "ix_bench_order_payments_shop_created": "order_payments (shop_id, created_at) WHERE amount < 0",
    "ix_bench_deliveries_shop_delivered": "deliveries (shop_id, delivered_at)",
    "ix_bench_status_changes_shop_to_created": "order_status_changes (shop_id, to_status, created_at)",
}


# --- the scratch database --------------------------------------------------------------------


# --- the data --------------------------------------------------------------------------------

GENERATE = [
    (
        "shops",
        """INSERT INTO shops (id, name, timezone, currency, country, address, settings, created_at, updated_at)
        SELECT s, 'Bench shop ' || s, (%(zones)s::text[])[1 + s %% 5], 'RUB', 'RU', '', '{}', %(start)s, %(start)s
        FROM generate_series(1, %(shops)s) s""",
    ),
    (
        "staff",
        """INSERT INTO users (id, phone, name, language, is_active, created_at, updated_at)
        SELECT u, '+7900' || lpad(u::text, 7, '0'),
               CASE (u - 1) %% 8 WHEN 0 THEN 'Owner ' WHEN 6 THEN 'Florist ' WHEN 7 THEN 'Florist ' ELSE 'Courier ' END
               || u, 'ru', true, %(start)s, %(start)s
        FROM generate_series(1, %(shops)s * 8) u;
        INSERT INTO memberships (user_id, shop_id, role, created_at, updated_at)
        SELECT u, (u - 1) / 8 + 1,
               CASE (u - 1) %% 8 WHEN 0 THEN 'admin' WHEN 6 THEN 'florist' WHEN 7 THEN 'florist' ELSE 'courier' END,
               %(start)s, %(start)s
        FROM generate_series(1, %(shops)s * 8) u""",
    ),
    (
        "customers",
        """INSERT INTO customers (id, shop_id, name, language, notes, marketing_consent, created_at, updated_at)
        SELECT c, (c - 1) / 200 + 1, 'Customer ' || c, 'ru', '', false, %(start)s, %(start)s
        FROM generate_series(1, %(shops)s * 200) c""",
    ),
    (
        "catalogue",
        """INSERT INTO categories (id, shop_id, name, position, created_at, updated_at)
        SELECT c, (c - 1) / 3 + 1, (ARRAY['Букеты', 'Композиции', 'Поштучно'])[1 + (c - 1) %% 3], 0,
               %(start)s, %(start)s
        FROM generate_series(1, %(shops)s * 3) c;
        INSERT INTO warehouse_items (id, shop_id, name, kind, unit, min_level, shelf_life_days, is_active, on_hand,
                                     reserved, created_at, updated_at)
        SELECT w, (w - 1) / 15 + 1, 'Item ' || ((w - 1) %% 15 + 1), 'flower', 'stem', 0, 7, true, 0, 0,
               %(start)s, %(start)s
        FROM generate_series(1, %(shops)s * 15) w;
        INSERT INTO products (id, shop_id, category_id, name, description, price, is_active, needs_assembly,
                              created_at, updated_at)
        SELECT p, (p - 1) / 30 + 1, ((p - 1) / 30) * 3 + 1 + (p - 1) %% 3, 'Букет №' || ((p - 1) %% 30 + 1), '',
               1000 + 100 * ((p - 1) %% 30 + 1), true, true, %(start)s, %(start)s
        FROM generate_series(1, %(shops)s * 30) p;
        -- Product k: 5 stems of item (k mod 15) + 1 and 1 of item ((k + 5) mod 15) + 1.
        INSERT INTO recipe_components (shop_id, product_id, item_id, quantity)
        SELECT (p - 1) / 30 + 1, p, ((p - 1) / 30) * 15 + ((p - 1) %% 30 + 1) %% 15 + 1, 5
        FROM generate_series(1, %(shops)s * 30) p
        UNION ALL
        SELECT (p - 1) / 30 + 1, p, ((p - 1) / 30) * 15 + ((p - 1) %% 30 + 6) %% 15 + 1, 1
        FROM generate_series(1, %(shops)s * 30) p""",
    ),
    (
        "batches (one per item and week) and their supply movements",
        """INSERT INTO stock_batches (id, shop_id, item_id, received_on, expires_on, unit_cost, quantity, remaining,
                                      created_at)
        SELECT (w - 1) * 54 + week + 1, (w - 1) / 15 + 1, w, (%(start)s::date + week * 7),
               (%(start)s::date + week * 7 + 7), 20 + 3 * ((w - 1) %% 15 + 1) + week %% 4, 100000, 100000,
               %(start)s + make_interval(days => week * 7)
        FROM generate_series(1, %(shops)s * 15) w, generate_series(0, 53) week;
        INSERT INTO stock_movements (shop_id, item_id, batch_id, kind, quantity, unit_cost, cost, created_at)
        SELECT shop_id, item_id, id, 'supply', quantity, unit_cost, round(quantity * unit_cost, 2), created_at
        FROM stock_batches""",
    ),
    (
        "orders plan",
        # Independent pseudo-random draws per order from four hashes of its number (reproducible).
        """CREATE UNLOGGED TABLE bench_hash AS
        SELECT i AS id, abs(hashint8(i * 8 + 1)::bigint) AS ha, abs(hashint8(i * 8 + 2)::bigint) AS hb,
               abs(hashint8(i * 8 + 3)::bigint) AS hc, abs(hashint8(i * 8 + 4)::bigint) AS hd
        FROM generate_series(1, %(orders)s) i;
        CREATE UNLOGGED TABLE bench_plan AS
        SELECT id,
               CASE WHEN ha %% 5 = 0 THEN 1 ELSE 2 + (ha / 5) %% (%(shops)s - 1) END AS shop_id,
               %(start)s + make_interval(secs => hb %% (365 * 86400)) AS created_at,
               CASE WHEN hc %% 20 = 0 THEN 'cancelled' WHEN (hc / 20) %% 2 = 0 THEN 'delivered' ELSE 'completed' END
                   AS status,
               (hc / 20) %% 2 = 0 AS delivery,
               (hc / 40) %% 4 = 0 AS cash_at_door,
               (hc / 160) %% 33 = 0 AS failed_once,
               (ARRAY['nobody_home', 'wrong_address', 'refused', 'other'])[1 + (hc / 5280) %% 4] AS failure_reason,
               (hc / 21120) %% 5 AS courier_slot,
               (hc / 105600) %% 300 AS minutes_after_half_past_nine,
               hd %% 30 + 1 AS k1, 1 + (hd / 30) %% 3 AS q1, (hd / 90) %% 3 = 0 AS two_lines,
               (hd / 270) %% 30 + 1 AS k2, (hd / 8100) %% 10 = 0 AS discounted, (hd / 81000) %% 50 = 0 AS refunded
        FROM bench_hash;
        ALTER TABLE bench_plan ADD PRIMARY KEY (id);
        DROP TABLE bench_hash;
        CREATE UNLOGGED TABLE bench_lines AS
        SELECT id AS order_id, shop_id, k1 AS k, q1 AS quantity FROM bench_plan
        UNION ALL
        SELECT id, shop_id, k2, 1 FROM bench_plan WHERE two_lines""",
    ),
    (
        "consumption movements (the week's batch of each recipe item)",
        """INSERT INTO stock_movements (shop_id, item_id, batch_id, kind, quantity, unit_cost, cost, order_id,
                                        created_at)
        SELECT l.shop_id, b.item_id, b.id, 'consumption', -r.quantity * l.quantity, b.unit_cost,
               round(r.quantity * l.quantity * b.unit_cost, 2), l.order_id, o.created_at + interval '2 hours'
        FROM bench_lines l
        JOIN bench_plan o ON o.id = l.order_id AND o.status <> 'cancelled'
        JOIN recipe_components r ON r.product_id = (l.shop_id - 1) * 30 + l.k
        JOIN stock_batches b ON b.id = (r.item_id - 1) * 54 + ((o.created_at::date - %(start)s::date) / 7) + 1""",
    ),
    (
        "orders",
        """INSERT INTO orders (id, shop_id, number, status, fulfillment, source, customer_id, recipient_name,
                               card_text, comment, delivery_date, window_start, window_end, scheduled_at, subtotal,
                               delivery_fee, discount, total, paid_amount, payment_status, courier_id, cost_of_goods,
                               version, created_at, updated_at)
        SELECT o.id, o.shop_id, 'B' || o.id, o.status, CASE WHEN o.delivery THEN 'delivery' ELSE 'pickup' END, 'phone',
               (o.shop_id - 1) * 200 + o.id %% 200 + 1, '', '', '', (o.created_at + interval '2 days')::date,
               '10:00', CASE WHEN o.delivery THEN '14:00' END, o.created_at + interval '2 days',
               l.subtotal, f.fee, f.discount, l.subtotal - f.discount + f.fee,
               CASE WHEN o.status = 'cancelled' THEN 0
                    WHEN o.refunded THEN l.subtotal - f.discount + f.fee - round((l.subtotal - f.discount) / 5, 2)
                    ELSE l.subtotal - f.discount + f.fee END,
               CASE WHEN o.status = 'cancelled' THEN 'unpaid' WHEN o.refunded THEN 'partly_paid' ELSE 'paid' END,
               CASE WHEN o.delivery THEN (o.shop_id - 1) * 8 + 2 + o.courier_slot END,
               c.cost, 1, o.created_at, o.created_at
        FROM bench_plan o
        JOIN (SELECT order_id, sum((1000 + 100 * k) * quantity) AS subtotal FROM bench_lines GROUP BY order_id) l
          ON l.order_id = o.id
        LEFT JOIN (SELECT order_id, sum(cost) AS cost FROM stock_movements WHERE kind = 'consumption'
                   GROUP BY order_id) c ON c.order_id = o.id
        CROSS JOIN LATERAL (SELECT CASE WHEN o.delivery THEN 300 ELSE 0 END AS fee,
                                   CASE WHEN o.discounted THEN round(l.subtotal / 10, 2) ELSE 0 END AS discount) f""",
    ),
    (
        "order lines",
        """INSERT INTO order_items (shop_id, order_id, product_id, product_name, unit_price, quantity, line_total,
                                    needs_assembly)
        SELECT shop_id, order_id, (shop_id - 1) * 30 + k, 'Букет №' || k, 1000 + 100 * k, quantity,
               (1000 + 100 * k) * quantity, true
        FROM bench_lines""",
    ),
    (
        "payments and refunds",
        """INSERT INTO order_payments (shop_id, order_id, amount, method, note, created_at)
        SELECT o.shop_id, o.id, o.total, CASE WHEN p.cash_at_door THEN 'cash' ELSE 'card' END, '',
               o.created_at + interval '5 minutes'
        FROM orders o JOIN bench_plan p ON p.id = o.id WHERE o.status <> 'cancelled';
        INSERT INTO order_payments (shop_id, order_id, amount, method, note, created_at)
        SELECT o.shop_id, o.id, -round((o.subtotal - o.discount) / 5, 2), 'card', 'complaint',
               o.created_at + interval '3 days'
        FROM orders o JOIN bench_plan p ON p.id = o.id WHERE o.status <> 'cancelled' AND p.refunded""",
    ),
    (
        "deliveries, courier assignments, failed trips",
        """INSERT INTO courier_assignments (shop_id, order_id, courier_id, assigned_at)
        SELECT shop_id, id, courier_id, created_at + interval '1 hour' FROM orders WHERE courier_id IS NOT NULL;
        -- Handed over between 09:30 and 14:30 shop time: mostly inside the 10:00-14:00 window.
        INSERT INTO deliveries (shop_id, order_id, attempts, picked_up_at, failed_at, failure_reason, failure_comment,
                                delivered_at, client_completed_at, amount_collected, created_at, updated_at)
        SELECT o.shop_id, o.id, CASE WHEN p.failed_once THEN 2 ELSE 1 END, t.at - interval '1 hour',
               CASE WHEN p.failed_once THEN t.at - interval '3 hours' END,
               CASE WHEN p.failed_once THEN p.failure_reason END, '', t.at, t.at - interval '1 minute',
               CASE WHEN p.cash_at_door THEN o.total END, o.created_at, t.at
        FROM orders o JOIN bench_plan p ON p.id = o.id JOIN shops s ON s.id = o.shop_id
        CROSS JOIN LATERAL (
            SELECT (o.delivery_date + time '09:30' + make_interval(mins => p.minutes_after_half_past_nine::int))
                   AT TIME ZONE s.timezone AS at
        ) t
        WHERE o.status = 'delivered';
        INSERT INTO order_status_changes (shop_id, order_id, from_status, to_status, actor_id, comment, created_at)
        SELECT shop_id, id, NULL, 'new', NULL, '', created_at FROM orders;
        INSERT INTO order_status_changes (shop_id, order_id, from_status, to_status, actor_id, comment, created_at)
        SELECT o.shop_id, o.id, 'out_for_delivery', 'delivery_failed', o.courier_id, d.failure_reason || ': bench',
               d.failed_at
        FROM orders o JOIN deliveries d ON d.order_id = o.id WHERE d.failed_at IS NOT NULL;
        INSERT INTO order_status_changes (shop_id, order_id, from_status, to_status, actor_id, comment, created_at)
        SELECT o.shop_id, o.id, 'ready', o.status, o.courier_id, '', coalesce(d.delivered_at, o.scheduled_at)
        FROM orders o LEFT JOIN deliveries d ON d.order_id = o.id""",
    ),
    (
        "write-offs (two a day in every shop)",
        """INSERT INTO write_offs (id, shop_id, reason, note, cost, created_by_id, created_at)
        SELECT n, (n - 1) %% %(shops)s + 1, (ARRAY['wilted', 'damaged', 'lost', 'other'])[1 + n %% 4], '', 0,
               ((n - 1) %% %(shops)s) * 8 + 7 + n %% 2,
               %(start)s + make_interval(hours => ((n - 1) / %(shops)s) * 12 + 3)
        FROM generate_series(1, %(shops)s * 730) n;
        INSERT INTO stock_movements (shop_id, item_id, batch_id, kind, quantity, unit_cost, cost, write_off_id,
                                     user_id, created_at)
        SELECT w.shop_id, b.item_id, b.id, 'write_off', -(1 + w.id %% 10), b.unit_cost,
               round((1 + w.id %% 10) * b.unit_cost, 2), w.id, w.created_by_id, w.created_at
        FROM write_offs w
        JOIN stock_batches b ON b.id = ((w.shop_id - 1) * 15 + w.id %% 15) * 54
                                       + ((w.created_at::date - %(start)s::date) / 7) + 1;
        UPDATE write_offs w SET cost = m.cost FROM stock_movements m WHERE m.write_off_id = w.id""",
    ),
    (
        "stock counters from the movements",
        """UPDATE stock_batches b SET remaining = b.quantity + t.taken
        FROM (SELECT batch_id, sum(quantity) AS taken FROM stock_movements
              WHERE kind IN ('consumption', 'write_off') GROUP BY batch_id) t
        WHERE t.batch_id = b.id;
        UPDATE warehouse_items i SET on_hand = t.on_hand
        FROM (SELECT item_id, sum(remaining) AS on_hand FROM stock_batches GROUP BY item_id) t
        WHERE t.item_id = i.id""",
    ),
    (
        "sequences, plan tables, statistics",
        """SELECT setval('orders_id_seq', (SELECT max(id) FROM orders));
        SELECT setval('shops_id_seq', (SELECT max(id) FROM shops));
        SELECT setval('users_id_seq', (SELECT max(id) FROM users));
        SELECT setval('customers_id_seq', (SELECT max(id) FROM customers));
        SELECT setval('categories_id_seq', (SELECT max(id) FROM categories));
        SELECT setval('products_id_seq', (SELECT max(id) FROM products));
        SELECT setval('warehouse_items_id_seq', (SELECT max(id) FROM warehouse_items));
        SELECT setval('stock_batches_id_seq', (SELECT max(id) FROM stock_batches));
        SELECT setval('write_offs_id_seq', (SELECT max(id) FROM write_offs));
        DROP TABLE bench_lines;
        DROP TABLE bench_plan""",
    ),
]


def generate(url: str, *, orders: int, shops: int, start: datetime) -> float:
    params = {"orders": orders, "shops": shops, "start": start, "zones": ZONES}
    connection = psycopg2.connect(url)
    began = time.perf_counter()
    with connection, connection.cursor() as cursor:
        for what, statement in GENERATE:
            step = time.perf_counter()
            cursor.execute(statement, params)
            print(f"  {what}: {time.perf_counter() - step:.1f} s", flush=True)
    connection.autocommit = True
    with connection.cursor() as cursor:
        step = time.perf_counter()
        cursor.execute("VACUUM ANALYZE")
        print(f"  vacuum analyze: {time.perf_counter() - step:.1f} s", flush=True)
    connection.close()
    return time.perf_counter() - began


def sizes(url: str) -> dict[str, int]:
    tables = [
        "orders",
        "order_items",
        "order_payments",
        "stock_movements",
        "stock_batches",
        "deliveries",
        "order_status_changes",
        "write_offs",
        "shops",
    ]
    connection = psycopg2.connect(url)
    with connection, connection.cursor() as cursor:
        counts = {}
        for table in tables:
            cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
            counts[table] = cursor.fetchone()[0]
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        counts["database size"] = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM orders WHERE shop_id = 1")
        counts["orders of shop 1"] = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM orders WHERE shop_id = 2")
        counts["orders of shop 2"] = cursor.fetchone()[0]
    connection.close()
    return counts


def remember_generation(url: str, seconds: float, orders: int, shops: int) -> None:
    connection = psycopg2.connect(url)
    with connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_meta (generated_in float, orders int, shops int)")
        cursor.execute("INSERT INTO bench_meta VALUES (%s, %s, %s)", (seconds, orders, shops))
    connection.close()


def generation(url: str) -> tuple[float, int, int]:
    connection = psycopg2.connect(url)
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT generated_in, orders, shops FROM bench_meta")
        found = cursor.fetchone()
    connection.close()
    return found


def drop_suggested_indexes(url: str) -> None:
    connection = psycopg2.connect(url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        for name in SUGGESTED_INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")
    connection.close()


def add_suggested_indexes(url: str) -> None:
    connection = psycopg2.connect(url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        for name, target in SUGGESTED_INDEXES.items():
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")
        cursor.execute("ANALYZE")
    connection.close()


# --- timing ----------------------------------------------------------------------------------


def report_cases(today: date) -> list[tuple[str, Callable[..., dict], type, str, dict]]:
    from app.reports import schemas, services
    from app.reports.periods import GroupBy

    year = {"date_from": today - timedelta(days=364), "date_to": today}
    month = {"date_from": today - timedelta(days=29), "date_to": today}
    return [
        ("sales, a year by day", services.sales_report, schemas.SalesReportSchema, "periods", {**year}),
        (
            "sales, a year by month",
            services.sales_report,
            schemas.SalesReportSchema,
            "periods",
            {**year, "group_by": GroupBy.MONTH},
        ),
        ("sales, 30 days by day", services.sales_report, schemas.SalesReportSchema, "periods", {**month}),
        ("products, a year", services.products_report, schemas.ProductsReportSchema, "products", {**year}),
        ("products, 30 days", services.products_report, schemas.ProductsReportSchema, "products", {**month}),
        ("couriers, a year", services.couriers_report, schemas.CouriersReportSchema, "couriers", {**year}),
        ("stock now", services.stock_report, schemas.StockReportSchema, "items", {}),
        (
            "stock as of 180 days ago",
            services.stock_report,
            schemas.StockReportSchema,
            "items",
            {"as_of": today - timedelta(days=180)},
        ),
        (
            "write-offs, a year by day",
            services.write_offs_report,
            schemas.WriteOffsReportSchema,
            "rows",
            {**year},
        ),
    ]


def time_reports(url: str, *, shop_ids: list[int], repeat: int) -> list[dict]:
    from app import create_app
    from app.config import DevelopmentConfig
    from app.extensions import db
    from app.reports.csvfile import csv_download

    config = DevelopmentConfig()
    config.SQLALCHEMY_DATABASE_URI = url
    app = create_app(config)
    results = []
    with app.app_context():
        for shop_id in shop_ids:
            zone = db.session.execute(text("SELECT timezone FROM shops WHERE id = :id"), {"id": shop_id}).scalar()
            today = datetime.now(ZoneInfo(zone)).date()
            for name, run, schema, table, kwargs in report_cases(today):
                timings = []
                for _ in range(repeat):
                    db.session.rollback()
                    began = time.perf_counter()
                    report = run(shop_id=shop_id, **kwargs)
                    sql_done = time.perf_counter()
                    body = json.dumps(schema().dump(report))
                    json_done = time.perf_counter()
                    csv_download(schema(), report, table=table, filename="bench.csv")
                    csv_done = time.perf_counter()
                    timings.append((sql_done - began, json_done - sql_done, csv_done - json_done))
                rows = len(report[table])
                results.append(
                    {
                        "shop": shop_id,
                        "report": name,
                        "rows": rows,
                        "json_kb": len(body) // 1024,
                        "first": sum(timings[0][:2]),
                        "median_sql": statistics.median(t[0] for t in timings),
                        "median_json": statistics.median(t[1] for t in timings),
                        "median_csv": statistics.median(t[2] for t in timings),
                    }
                )
                print(
                    f"  shop {shop_id} {name}: sql {results[-1]['median_sql'] * 1000:.0f} ms, "
                    f"json {results[-1]['median_json'] * 1000:.0f} ms, csv {results[-1]['median_csv'] * 1000:.0f} ms",
                    flush=True,
                )
        db.session.remove()
        db.engine.dispose()
    return results


# --- the document ----------------------------------------------------------------------------


def _table(results: list[dict]) -> list[str]:
    lines = [
        "| shop | report | rows | SQL (median) | JSON dump | CSV | first run (SQL + JSON) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['shop']} | {r['report']} | {r['rows']} | {r['median_sql'] * 1000:.0f} ms | "
            f"{r['median_json'] * 1000:.0f} ms | {r['median_csv'] * 1000:.0f} ms | {r['first'] * 1000:.0f} ms |"
        )
    return lines


def write_document(path: Path, *, command: str, args, counts: dict, generated_in: float | None, runs: dict) -> None:
    lines = [
        "# Reports benchmark",
        "",
        "Each report timed over a year of a flower network's data by `bench/reports_bench.py` (a benchmark, "
        "not a test). The SQL column is the service's statements (what `GET /api/v1/reports/...` runs); "
        "the JSON column is the response schema's dump and `json.dumps`; the CSV column renders the "
        "`format=csv` file. Authentication and HTTP add about the same few milliseconds to every request.",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Command: {command}",
        f"- Machine: {machine()}; {server_version(args.database_url)} on the same machine, default settings",
        f"- Data: {args.orders:,} orders in {args.shops} shops over 365 days, generated in {generated_in:.0f} s "
        "(bulk INSERT ... SELECT inside PostgreSQL, indexes and constraints of the real schema in place)",
        f"- Repeats: {args.repeat} per report (median shown; the first run is with a cold plan cache)",
        "",
        "Rows in the scratch database:",
        "",
        "| table | rows |",
        "|---|---:|",
        *[
            f"| {name} | {value:,} |" if isinstance(value, int) else f"| {name} | {value} |"
            for name, value in counts.items()
        ],
        "",
    ]
    if args.orders < 1_000_000:
        lines += [
            f"**Smaller than the target size** ({args.orders:,} orders, not 1,000,000). The full size: "
            "`python bench/reports_bench.py --orders 1000000` (or `make bench-reports`).",
            "",
        ]
    for title, results in runs.items():
        lines += [f"## {title}", "", *_table(results), ""]
    lines += [
        "The indexes added for the second run:",
        "",
        *[f"- `CREATE INDEX {name} ON {target}`" for name, target in SUGGESTED_INDEXES.items()],
        "",
        "Shop 1 is the flagship (a fifth of all orders); shop 2 is a typical shop of the network. The "
        "machine was shared with other work while this ran, so single numbers may wobble by tens of percent.",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--shops", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="time again the data generated by an earlier run")
    parser.add_argument("--no-indexes", action="store_true", help="skip the run with the suggested indexes")
    parser.add_argument("--output", default=str(ROOT / "docs" / "reports-benchmark.md"))
    args = parser.parse_args()
    if args.shops < 2:
        parser.error("--shops must be at least 2")

    if not args.reuse:
        print(f"creating {args.database_url} and migrating ...", flush=True)
        recreate_database(args.database_url)
        migrate(args.database_url)
        print(f"generating {args.orders:,} orders in {args.shops} shops ...", flush=True)
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=365)
        seconds = generate(args.database_url, orders=args.orders, shops=args.shops, start=start)
        remember_generation(args.database_url, seconds, args.orders, args.shops)
    generated_in, args.orders, args.shops = generation(args.database_url)
    drop_suggested_indexes(args.database_url)  # a reused database may hold them from the last run
    counts = sizes(args.database_url)
    runs = {}
    print("timing with the app's own indexes ...", flush=True)
    runs["With the app's indexes (as migrated)"] = time_reports(args.database_url, shop_ids=[1, 2], repeat=args.repeat)
    if not args.no_indexes:
        add_suggested_indexes(args.database_url)
        print("timing with the suggested indexes ...", flush=True)
        runs["With the suggested indexes"] = time_reports(args.database_url, shop_ids=[1, 2], repeat=args.repeat)
    command = f"`python bench/reports_bench.py --orders {args.orders} --shops {args.shops} --repeat {args.repeat}`"
    if args.reuse:
        command += " to generate and time, then the same with `--reuse` to time again"
    write_document(
        Path(args.output), command=command.strip(), args=args, counts=counts, generated_in=generated_in, runs=runs
    )
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
