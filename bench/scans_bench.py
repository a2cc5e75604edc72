"""Time the periodic message scans over a large network: what one `rq cron` minute costs. A benchmark, not a test.

    python bench/scans_bench.py                      # 100,000 customers and 10,000 orders, into bench_scans
    python bench/scans_bench.py --customers 10000    # smaller
    python bench/scans_bench.py --reuse              # time again on the data already generated

It creates (drops and re-creates) a scratch PostgreSQL database, builds the schema with the app's own
migrations and fills it with bulk INSERT ... SELECT generate_series statements run inside PostgreSQL (see
bench/scratch.py). Then it runs each message scan of app/jobs/schedule.py in an app context of its own, as a
worker does, at one instant where much is due (10:05 in the Moscow shops), with the send jobs really queued on
Redis db 11 (flushed first; no worker listens there): the wall time, the SQL statements it ran (counted on the
engine) and the messages it queued. Then the same scan again at the same instant: everything is already in the
message log, nothing new is queued. Each pair is repeated (--repeat) on a message log reset to its history, and
the medians go to docs/scans-benchmark.md.

The network: 20 shops in five time zones (12 Moscow, 2 each Kaliningrad, Yekaterinburg, Novosibirsk,
Vladivostok), each with an admin, a manager, 3 florists and 4 couriers; half the shops have a notification
email (their digest goes there), a fifth remind occasions 5 days ahead instead of 3. Customers are spread over
the shops: 87% with marketing consent, 7% opted out, 3% anonymized, a tenth with a linked Telegram chat; each
has an occasion date spread over the year (29 February included) and every other one a second; a fifth of the
dates have their own days-before (1, 7 or 14), 5% have reminders off. The message log holds last year's reminder
of every date with consent. Orders are for the day before the scan to two days after (half of them on the scan
day), in 30-minute windows from 09:00 to 20:00 local (three hours long; a fifth are pickups), in the state an
order would be in at the scan instant: past windows mostly delivered (some still out, ready or failed: late),
open windows out for delivery or delivered, the next three hours ready with a courier, in production or
confirmed with a pending task (due an hour before the window, claimed by a florist or not), later ones mostly
confirmed; a tenth cancelled. Stock: 15 items a shop, 3 below their minimum, 3 with a batch expiring tomorrow,
1 with an expired batch.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import count_rows, machine, migrate, recreate_database, run_steps, server_version  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_scans"
REDIS_URL = "redis://127.0.0.1:6379/11"  # this benchmark's own Redis database: flushed, nobody else's
SHOPS = 20
# Shop s is in ZONES[s mod 10]: 60% Moscow.
ZONES = ["Europe/Moscow"] * 6 + ["Europe/Kaliningrad", "Asia/Yekaterinburg", "Asia/Novosibirsk", "Asia/Vladivostok"]
SCAN_ZONE, SCAN_TIME = ZoneInfo("Europe/Moscow"), (10, 5)
STAFF = 9  # a shop's users: admin, manager, 3 florists, 4 couriers
STATUSES_SOON = """CASE WHEN hc %% 100 < 45 THEN 'ready' WHEN hc %% 100 < 65 THEN 'in_production'
                        WHEN hc %% 100 < 90 THEN 'confirmed' ELSE 'cancelled' END"""
STATUSES_LATER = """CASE WHEN hc %% 100 < 55 THEN 'confirmed' WHEN hc %% 100 < 65 THEN 'new'
                         WHEN hc %% 100 < 75 THEN 'in_production' WHEN hc %% 100 < 85 THEN 'ready'
                         ELSE 'cancelled' END"""

# --- the data --------------------------------------------------------------------------------

GENERATE = [
    (
        "shops and staff",
        """INSERT INTO shops (id, name, timezone, currency, country, address, settings, created_at, updated_at)
        SELECT s, 'Bench shop ' || s, (%(zones)s::text[])[1 + s %% 10], 'RUB', 'RU', 'Bench street ' || s,
               jsonb_strip_nulls(jsonb_build_object(
                   'notification_email', CASE WHEN s %% 2 = 0 THEN 'shop' || s || '@bench.test' END,
                   'occasion_reminder_days', CASE WHEN s %% 5 = 0 THEN 5 END,
                   'order_status_messages', s %% 3 = 0)),
               %(start)s, %(start)s
        FROM generate_series(1, %(shops)s) s;
        INSERT INTO users (id, phone, name, language, is_active, telegram_chat_id, created_at, updated_at)
        SELECT u, '+7916' || lpad(u::text, 7, '0'),
               (ARRAY['Admin', 'Manager', 'Florist', 'Florist', 'Florist', 'Courier', 'Courier', 'Courier',
                      'Courier'])[1 + (u - 1) %% 9] || ' ' || u,
               CASE WHEN u %% 7 = 0 THEN 'en' ELSE 'ru' END, true,
               CASE WHEN u %% 3 = 0 THEN (700000000 + u)::text END, %(start)s, %(start)s
        FROM generate_series(1, %(shops)s * 9) u;
        INSERT INTO memberships (user_id, shop_id, role, created_at, updated_at)
        SELECT u, (u - 1) / 9 + 1,
               (ARRAY['admin', 'manager', 'florist', 'florist', 'florist', 'courier', 'courier', 'courier',
                      'courier'])[1 + (u - 1) %% 9], %(start)s, %(start)s
        FROM generate_series(1, %(shops)s * 9) u""",
    ),
    (
        "customers",
        """CREATE UNLOGGED TABLE bench_customers AS
        SELECT c, 1 + (c - 1) %% %(shops)s AS shop_id, abs(hashint8(c)::bigint) AS h
        FROM generate_series(1, %(customers)s) c;
        INSERT INTO customers (id, shop_id, phone, name, language, notes, marketing_consent, consent_changed_at,
                               telegram_chat_id, anonymized_at, created_at, updated_at)
        SELECT c, shop_id,
               CASE WHEN h %% 100 >= 3 THEN '+7926' || lpad(c::text, 7, '0') END,
               CASE WHEN h %% 100 >= 3 THEN 'Customer ' || c ELSE '' END,
               CASE WHEN (h / 1000) %% 10 = 0 THEN 'en' ELSE 'ru' END, '',
               h %% 100 >= 10,
               CASE WHEN h %% 100 < 10 THEN %(start)s + interval '100 days' END,
               CASE WHEN h %% 100 >= 3 AND (h / 100) %% 10 = 0 THEN (500000000 + c)::text END,
               CASE WHEN h %% 100 < 3 THEN %(start)s + interval '200 days' END,
               %(start)s + make_interval(mins => (h %% 500000)::int), %(start)s + interval '200 days'
        FROM bench_customers""",
    ),
    (
        "occasion dates",
        # Day of a leap year (2024), so 29 February is among the dates.
        """INSERT INTO occasion_dates (shop_id, customer_id, label, month, day, year, remind_days_before,
                                       reminders_enabled, created_at, updated_at)
        SELECT c.shop_id, c.c, (ARRAY['Birthday', 'Anniversary', 'Name day', 'Mother''s birthday'])[1 + d.h %% 4],
               extract(month FROM date '2024-01-01' + (d.h %% 366)::int),
               extract(day FROM date '2024-01-01' + (d.h %% 366)::int),
               CASE WHEN (d.h / 366) %% 10 < 3 THEN 1950 + ((d.h / 3660) %% 60)::int END,
               CASE (d.h / 219600) %% 20 WHEN 0 THEN 7 WHEN 1 THEN 7 WHEN 2 THEN 1 WHEN 3 THEN 14 END,
               (d.h / 4392000) %% 20 <> 0, %(start)s + interval '10 days', %(start)s + interval '10 days'
        FROM bench_customers c
        CROSS JOIN LATERAL (SELECT k, abs(hashint8(c.c * 4 + k)::bigint) AS h FROM generate_series(1, 2) k) d
        WHERE d.k = 1 OR c.h %% 2 = 0
        ORDER BY c.c, d.k;
        DROP TABLE bench_customers""",
    ),
    (
        "message log history (last year's occasion reminders)",
        """INSERT INTO message_log (shop_id, customer_id, kind, channel, recipient_masked, template, language,
                                    status, attempts, provider_message_id, occurrence_key, context, sent_at,
                                    created_at, updated_at)
        SELECT o.shop_id, o.customer_id, 'occasion_reminder', 'sms', '+7926*****' || right(c.phone, 2),
               'occasion_reminder', c.language, 'sent', 1, 'bench-' || o.id,
               'occasion:' || o.id || ':' || (extract(year FROM %(instant)s::timestamptz)::int - 1), '{}',
               %(instant)s::timestamptz - interval '1 year', %(instant)s::timestamptz - interval '1 year',
               %(instant)s::timestamptz - interval '1 year'
        FROM occasion_dates o JOIN customers c ON c.id = o.customer_id
        WHERE c.marketing_consent AND c.phone IS NOT NULL AND o.reminders_enabled""",
    ),
    (
        "catalogue and stock",
        """INSERT INTO products (id, shop_id, name, description, price, is_active, needs_assembly, created_at,
                                 updated_at)
        SELECT p, (p - 1) / 10 + 1, 'Bouquet ' || ((p - 1) %% 10 + 1), '', 2000 + 100 * ((p - 1) %% 10 + 1), true,
               true, %(start)s, %(start)s
        FROM generate_series(1, %(shops)s * 10) p;
        -- Item k of a shop: 1-3 below the minimum, 4-6 expiring tomorrow, 7 expired yesterday.
        INSERT INTO warehouse_items (id, shop_id, name, kind, unit, min_level, shelf_life_days, is_active, on_hand,
                                     reserved, created_at, updated_at)
        SELECT w, (w - 1) / 15 + 1, 'Item ' || ((w - 1) %% 15 + 1),
               CASE WHEN (w - 1) %% 15 < 10 THEN 'flower' ELSE 'greenery' END, 'stem', 20, 10, true,
               CASE WHEN (w - 1) %% 15 < 3 THEN 5 ELSE 200 END, 0, %(start)s, %(start)s
        FROM generate_series(1, %(shops)s * 15) w;
        INSERT INTO stock_batches (id, shop_id, item_id, received_on, expires_on, unit_cost, quantity, remaining,
                                   created_at)
        SELECT i.id, i.shop_id, i.id, l.today - 5,
               l.today + CASE WHEN (i.id - 1) %% 15 BETWEEN 3 AND 5 THEN 1 WHEN (i.id - 1) %% 15 = 6 THEN -1
                              ELSE 10 END,
               30, i.on_hand, i.on_hand, (l.today - 5) + time '07:00'
        FROM warehouse_items i JOIN shops s ON s.id = i.shop_id
        CROSS JOIN LATERAL (SELECT (%(instant)s::timestamptz AT TIME ZONE s.timezone)::date AS today) l;
        INSERT INTO stock_movements (shop_id, item_id, batch_id, kind, quantity, unit_cost, cost, created_at)
        SELECT shop_id, item_id, id, 'supply', quantity, unit_cost, quantity * unit_cost, created_at
        FROM stock_batches""",
    ),
    (
        "orders plan",
        # Independent pseudo-random draws per order from four hashes of its number (reproducible).
        f"""CREATE UNLOGGED TABLE bench_plan AS
        WITH h AS (
            SELECT i AS id, abs(hashint8(i * 8 + 1)::bigint) AS ha, abs(hashint8(i * 8 + 2)::bigint) AS hb,
                   abs(hashint8(i * 8 + 3)::bigint) AS hc, abs(hashint8(i * 8 + 4)::bigint) AS hd
            FROM generate_series(1, %(orders)s) i
        ), p AS (
            SELECT h.*, 1 + ha %% %(shops)s AS shop_id,
                   CASE WHEN hb %% 20 < 3 THEN -1 WHEN hb %% 20 < 13 THEN 0 WHEN hb %% 20 < 18 THEN 1 ELSE 2 END
                       AS day_offset,
                   time '09:00' + make_interval(mins => 30 * ((hb / 20) %% 23)::int) AS starts,
                   hd %% 5 <> 0 AS delivery
            FROM h
        ), q AS (
            SELECT p.*, s.timezone, (%(instant)s::timestamptz AT TIME ZONE s.timezone)::date + p.day_offset AS day
            FROM p JOIN shops s ON s.id = p.shop_id
        ), r AS (
            SELECT q.*, (q.day + q.starts) AT TIME ZONE q.timezone AS scheduled_at FROM q
        )
        SELECT r.*, CASE
            WHEN NOT delivery THEN CASE
                WHEN scheduled_at + interval '1 hour' <= %(instant)s THEN
                    CASE WHEN hc %% 100 < 90 THEN 'completed' ELSE 'cancelled' END
                WHEN scheduled_at <= %(instant)s THEN
                    CASE WHEN hc %% 100 < 50 THEN 'completed' WHEN hc %% 100 < 90 THEN 'ready' ELSE 'cancelled' END
                WHEN scheduled_at <= %(instant)s + interval '3 hours' THEN {STATUSES_SOON}
                ELSE {STATUSES_LATER} END
            WHEN scheduled_at + interval '3 hours' <= %(instant)s THEN
                CASE WHEN hc %% 100 < 85 THEN 'delivered' WHEN hc %% 100 < 92 THEN 'cancelled'
                     WHEN hc %% 100 < 97 THEN 'out_for_delivery' WHEN hc %% 100 < 99 THEN 'ready'
                     ELSE 'delivery_failed' END
            WHEN scheduled_at <= %(instant)s THEN
                CASE WHEN hc %% 100 < 40 THEN 'out_for_delivery' WHEN hc %% 100 < 75 THEN 'delivered'
                     WHEN hc %% 100 < 88 THEN 'ready' ELSE 'cancelled' END
            WHEN scheduled_at <= %(instant)s + interval '3 hours' THEN {STATUSES_SOON}
            ELSE {STATUSES_LATER} END AS status,
            least(scheduled_at - interval '30 hours', %(instant)s::timestamptz - interval '10 minutes') AS created_at
        FROM r;
        ALTER TABLE bench_plan ADD PRIMARY KEY (id)""",
    ),
    (
        "orders and their lines, payments, history",
        """INSERT INTO orders (id, shop_id, number, status, fulfillment, source, customer_id, recipient_name,
                               recipient_phone, address, card_text, comment, delivery_date, window_start, window_end,
                               scheduled_at, subtotal, delivery_fee, discount, total, paid_amount, payment_status,
                               courier_id, version, created_at, updated_at)
        SELECT o.id, o.shop_id, to_char(o.day, 'MMDD') || '-' || lpad(o.id::text, 6, '0'), o.status,
               CASE WHEN o.delivery THEN 'delivery' ELSE 'pickup' END, 'phone',
               o.shop_id + %(shops)s * ((o.hd / 40) %% (%(customers)s / %(shops)s)), 'Recipient ' || o.id,
               CASE WHEN o.delivery THEN '+7903' || lpad(o.id::text, 7, '0') END,
               CASE WHEN o.delivery THEN 'Bench avenue ' || o.id END, '', '', o.day, to_char(o.starts, 'HH24:MI'),
               CASE WHEN o.delivery THEN to_char(o.starts + interval '3 hours', 'HH24:MI') END, o.scheduled_at,
               price, fee, 0, price + fee,
               CASE WHEN o.status IN ('new', 'cancelled') THEN 0 ELSE price + fee END,
               CASE WHEN o.status IN ('new', 'cancelled') THEN 'unpaid' ELSE 'paid' END,
               CASE WHEN o.delivery AND (o.status IN ('ready', 'out_for_delivery', 'delivered', 'delivery_failed')
                                         OR o.status IN ('confirmed', 'in_production') AND (o.hd / 5) %% 2 = 0)
                    THEN (o.shop_id - 1) * 9 + 6 + (o.hd / 10) %% 4 END,
               1, o.created_at, greatest(o.created_at, least(o.scheduled_at, %(instant)s - interval '1 minute'))
        FROM bench_plan o
        CROSS JOIN LATERAL (SELECT 2000 + 100 * (1 + (o.hd / 200) %% 10) AS price,
                                   CASE WHEN o.delivery THEN 300 ELSE 0 END AS fee) m;
        INSERT INTO order_items (shop_id, order_id, product_id, product_name, unit_price, quantity, line_total,
                                 needs_assembly)
        SELECT o.shop_id, o.id, (o.shop_id - 1) * 10 + 1 + (p.hd / 200) %% 10, 'Bouquet ' || (1 + (p.hd / 200) %% 10),
               o.subtotal, 1, o.subtotal, true
        FROM orders o JOIN bench_plan p ON p.id = o.id;
        INSERT INTO order_payments (shop_id, order_id, amount, method, note, created_at)
        SELECT shop_id, id, total, 'card', '', created_at + interval '5 minutes' FROM orders WHERE paid_amount > 0;
        INSERT INTO order_status_changes (shop_id, order_id, from_status, to_status, comment, created_at)
        SELECT shop_id, id, NULL, 'new', '', created_at FROM orders;
        INSERT INTO order_status_changes (shop_id, order_id, from_status, to_status, comment, created_at)
        SELECT shop_id, id, 'new', status, '', updated_at FROM orders WHERE status <> 'new'""",
    ),
    (
        "production tasks, courier assignments, deliveries",
        """INSERT INTO production_tasks (shop_id, order_id, product_id, product_name, quantity, card_text, recipe,
                                         status, due_at, florist_id, assigned_at, started_at, completed_at,
                                         cancelled_at, created_at, updated_at)
        SELECT o.shop_id, o.id, i.product_id, i.product_name, 1, '', '[]',
               CASE o.status WHEN 'confirmed' THEN 'pending' WHEN 'in_production' THEN 'in_progress'
                             WHEN 'cancelled' THEN 'cancelled' ELSE 'done' END,
               o.scheduled_at - interval '60 minutes', f.florist_id,
               CASE WHEN f.florist_id IS NOT NULL THEN o.created_at + interval '1 hour' END,
               CASE WHEN o.status NOT IN ('confirmed', 'cancelled')
                    THEN least(o.scheduled_at - interval '100 minutes', %(instant)s - interval '20 minutes') END,
               CASE WHEN o.status NOT IN ('confirmed', 'in_production', 'cancelled')
                    THEN least(o.scheduled_at - interval '60 minutes', %(instant)s - interval '10 minutes') END,
               CASE WHEN o.status = 'cancelled' THEN o.created_at + interval '2 hours' END,
               o.created_at, o.updated_at
        FROM orders o JOIN order_items i ON i.order_id = o.id JOIN bench_plan p ON p.id = o.id
        CROSS JOIN LATERAL (
            SELECT CASE WHEN o.status = 'confirmed' AND (p.hd / 1000) %% 2 = 0 THEN NULL
                        ELSE (o.shop_id - 1) * 9 + 3 + (p.hd / 2000) %% 3 END AS florist_id
        ) f
        WHERE o.status <> 'new';
        INSERT INTO courier_assignments (shop_id, order_id, courier_id, assigned_at)
        SELECT shop_id, id, courier_id, created_at + interval '1 hour' FROM orders WHERE courier_id IS NOT NULL;
        INSERT INTO deliveries (shop_id, order_id, attempts, picked_up_at, failed_at, failure_reason,
                                failure_comment, delivered_at, created_at, updated_at)
        SELECT shop_id, id, 1, scheduled_at - interval '20 minutes',
               CASE WHEN status = 'delivery_failed' THEN scheduled_at + interval '1 hour' END,
               CASE WHEN status = 'delivery_failed' THEN 'nobody_home' END, '',
               CASE WHEN status = 'delivered' THEN least(scheduled_at + interval '1 hour',
                                                         %(instant)s - interval '2 minutes') END,
               scheduled_at - interval '20 minutes', updated_at
        FROM orders WHERE status IN ('out_for_delivery', 'delivered', 'delivery_failed');
        DROP TABLE bench_plan""",
    ),
    (
        "sequences",
        """SELECT setval(pg_get_serial_sequence('shops', 'id'), (SELECT max(id) FROM shops));
        SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users));
        SELECT setval(pg_get_serial_sequence('customers', 'id'), (SELECT max(id) FROM customers));
        SELECT setval(pg_get_serial_sequence('products', 'id'), (SELECT max(id) FROM products));
        SELECT setval(pg_get_serial_sequence('warehouse_items', 'id'), (SELECT max(id) FROM warehouse_items));
        SELECT setval(pg_get_serial_sequence('stock_batches', 'id'), (SELECT max(id) FROM stock_batches));
        SELECT setval(pg_get_serial_sequence('orders', 'id'), (SELECT max(id) FROM orders))""",
    ),
]
BULK_TABLES = ("customers", "occasion_dates", "message_log", "orders", "production_tasks")


def scan_instant(day: date) -> datetime:
    """10:05 in Moscow on `day`, in UTC."""
    return datetime(day.year, day.month, day.day, *SCAN_TIME, tzinfo=SCAN_ZONE).astimezone(UTC)


def generate(url: str, *, customers: int, orders: int, instant: datetime) -> float:
    params = {
        "customers": customers,
        "orders": orders,
        "shops": SHOPS,
        "zones": ZONES,
        "instant": instant,
        "start": instant - timedelta(days=400),
    }
    return run_steps(url, GENERATE, params, bulk_tables=BULK_TABLES)


def _query(url: str, statement: str, params: tuple = ()) -> list[tuple]:
    connection = psycopg2.connect(url)
    with connection, connection.cursor() as cursor:
        cursor.execute(statement, params)
        rows = cursor.fetchall() if cursor.description else []
    connection.close()
    return rows


def remember_generation(url: str, seconds: float, customers: int, orders: int, instant: datetime) -> None:
    connection = psycopg2.connect(url)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_meta (generated_in float, customers int, orders int, instant timestamptz,"
            " history_max_id bigint)"
        )
        cursor.execute(
            "INSERT INTO bench_meta SELECT %s, %s, %s, %s, coalesce(max(id), 0) FROM message_log",
            (seconds, customers, orders, instant),
        )
    connection.close()


def generation(url: str) -> tuple[float, int, int, datetime, int]:
    return _query(url, "SELECT generated_in, customers, orders, instant, history_max_id FROM bench_meta")[0]


def sizes(url: str, history_max_id: int) -> dict[str, int | str]:
    # Counted on the data as generated: the scans' own rows (message_log id > history) are left out.
    counts: dict[str, int | str] = {
        **count_rows(url, ["shops", "users", "customers", "occasion_dates", "orders", "production_tasks"]),
    }
    single = {
        "customers with consent (reachable)": "SELECT count(*) FROM customers WHERE marketing_consent"
        " AND anonymized_at IS NULL",
        "customers opted out": "SELECT count(*) FROM customers WHERE NOT marketing_consent AND anonymized_at IS NULL",
        "customers anonymized": "SELECT count(*) FROM customers WHERE anonymized_at IS NOT NULL",
        "message_log (history)": f"SELECT count(*) FROM message_log WHERE id <= {int(history_max_id)}",
        "production_tasks pending": "SELECT count(*) FROM production_tasks WHERE status = 'pending'",
        "warehouse_items": "SELECT count(*) FROM warehouse_items",
        "stock_batches": "SELECT count(*) FROM stock_batches",
    }
    for name, statement in single.items():
        counts[name] = _query(url, statement)[0][0]
    for status, n in _query(url, "SELECT status, count(*) FROM orders GROUP BY status ORDER BY count(*) DESC"):
        counts[f"orders {status}"] = n
    counts["database size"] = _query(url, "SELECT pg_size_pretty(pg_database_size(current_database()))")[0][0]
    return counts


# --- timing ----------------------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    statements: int
    sql_seconds: float
    queued: int
    jobs: int  # send jobs that reached the Redis queue
    kinds: Counter = field(default_factory=Counter)


class StatementCounter:
    """Every statement the engine sends, with the time spent in the database driver."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.statements = 0
        self.seconds = 0.0
        self.kinds: Counter = Counter()

    def before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements += 1
        self.kinds[statement.lstrip().split(None, 1)[0].upper()] += 1
        conn.info["bench_started"] = time.perf_counter()

    def after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.seconds += time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())


def scans() -> list[tuple[str, Callable[..., int]]]:
    from app.messaging.order_reminders import scan_courier_reminders, scan_florist_reminders, scan_overdue_orders
    from app.messaging.scans import scan_occasion_reminders, scan_stock_digests

    return [
        ("scan_occasion_reminders", scan_occasion_reminders),
        ("scan_stock_digests", scan_stock_digests),
        ("scan_courier_reminders", scan_courier_reminders),
        ("scan_florist_reminders", scan_florist_reminders),
        ("scan_overdue_orders", scan_overdue_orders),
    ]


def make_app(url: str):
    from app import create_app
    from app.config import DevelopmentConfig

    config = DevelopmentConfig()
    config.SQLALCHEMY_DATABASE_URI = url
    config.REDIS_URL = REDIS_URL
    config.RATELIMIT_STORAGE_URI = REDIS_URL
    config.JOBS_INLINE = False
    config.SMS_PROVIDER = "console"
    config.TELEGRAM_BOT_TOKEN = "bench-token"  # so linked chats go by Telegram, as in production; nothing is sent
    config.LOG_LEVEL = "WARNING"
    return create_app(config)


def time_scans(url: str, *, instant: datetime, history_max_id: int, repeat: int) -> dict[str, list[dict[str, Run]]]:
    from sqlalchemy import event, text

    from app.extensions import db, queues, redis_client

    app = make_app(url)
    counter = StatementCounter()
    results: dict[str, list[dict[str, Run]]] = {name: [] for name, _ in scans()}
    with app.app_context():
        engine = db.engine
        redis = redis_client.client
        if redis.connection_pool.connection_kwargs.get("db") != 11:
            raise SystemExit("refusing to flush a Redis database other than 11")
        event.listen(engine, "before_cursor_execute", counter.before)
        event.listen(engine, "after_cursor_execute", counter.after)

    def run(func: Callable[..., int]) -> Run:
        with app.app_context():  # a fresh session, as each job on a worker has
            jobs_before = queues.get("messages").count
            counter.reset()
            began = time.perf_counter()
            queued = func(now=instant)
            seconds = time.perf_counter() - began
            found = Run(seconds, counter.statements, counter.seconds, queued, 0, Counter(counter.kinds))
            found.jobs = queues.get("messages").count - jobs_before
            db.session.remove()
        return found

    for attempt in range(repeat):
        with app.app_context():
            db.session.execute(text("DELETE FROM message_log WHERE id > :id"), {"id": history_max_id})
            db.session.commit()
            redis_client.flushdb()
        for name, func in scans():
            first = run(func)
            again = run(func)
            runs = {"first": first, "again": again}
            if name == "scan_stock_digests":
                # The repeat above stops at the Redis mark "checked today"; without it, the message log answers.
                with app.app_context():
                    for key in redis.scan_iter("stock-digest-checked:*"):
                        redis.delete(key)
                runs["again_no_mark"] = run(func)
            results[name].append(runs)
            print(
                f"  [{attempt + 1}/{repeat}] {name}: {first.seconds * 1000:.0f} ms, {first.statements} statements,"
                f" {first.queued} queued ({first.jobs} jobs); again {again.seconds * 1000:.0f} ms,"
                f" {again.statements} statements, {again.queued} queued",
                flush=True,
            )
    with app.app_context():
        redis_client.flushdb()
        db.session.remove()
        event.remove(engine, "before_cursor_execute", counter.before)
        event.remove(engine, "after_cursor_execute", counter.after)
        engine.dispose()
    return results


def explain_occasion_query(url: str, *, instant: datetime) -> dict[str, float]:
    """The occasion scan's one query per shop, for the first Moscow shop: plan and rows it reads (EXPLAIN ANALYZE)."""
    from sqlalchemy import func, select, text

    from app.customers.models import OccasionDate
    from app.extensions import db
    from app.messaging.scans import _days_setting, _due_occasions, shop_clocks, upcoming_occurrences

    app = make_app(url)
    with app.app_context():
        clock = next(c for c in shop_clocks(instant) if c.local_now.utcoffset() == timedelta(hours=3))
        query = _due_occasions(clock.shop.id, clock.today, _days_setting(clock.shop), upcoming_occurrences(clock.today))
        compiled = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
        runs = []
        for _ in range(3):
            db.session.rollback()
            runs.append(db.session.execute(text("EXPLAIN (ANALYZE, FORMAT JSON) " + compiled)).scalar()[0])

        def dates_read(node: dict) -> int:
            here = 0
            if node.get("Relation Name") == "occasion_dates":
                here = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
            return here + sum(dates_read(child) for child in node.get("Plans", []))

        found = {
            "shop": clock.shop.id,
            "planning_ms": statistics.median(p["Planning Time"] for p in runs),
            "execution_ms": statistics.median(p["Execution Time"] for p in runs),
            "dates_read": dates_read(runs[-1]["Plan"]),
            "dates_in_shop": db.session.scalar(
                select(func.count()).select_from(OccasionDate).where(OccasionDate.shop_id == clock.shop.id)
            ),
            "sql_chars": len(compiled),
        }
        db.session.remove()
        db.engine.dispose()
    return found


# --- the document ----------------------------------------------------------------------------


def _median(runs: list[Run], attribute: str) -> float:
    return statistics.median(getattr(r, attribute) for r in runs)


def _statements(runs: list[Run]) -> str:
    values = sorted({r.statements for r in runs})
    return (
        str(values[0])
        if len(values) == 1
        else f"{statistics.median(r.statements for r in runs):.0f} ({values[0]}–{values[-1]})"
    )


def _kinds(run: Run) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in run.kinds.most_common())


def _scan_table(name: str, runs: list[dict[str, Run]]) -> list[str]:
    rows = [
        ("first run", [r["first"] for r in runs]),
        ("repeat run, same instant", [r["again"] for r in runs]),
    ]
    if "again_no_mark" in runs[0]:
        rows.append(("repeat run, Redis mark gone", [r["again_no_mark"] for r in runs]))
    lines = [
        f"### `{name}`",
        "",
        "| run | wall time (median) | of it in SQL | statements | messages queued | send jobs on Redis "
        "| statements by kind |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for label, found in rows:
        lines.append(
            f"| {label} | {_median(found, 'seconds') * 1000:.1f} ms | {_median(found, 'sql_seconds') * 1000:.1f} ms "
            f"| {_statements(found)} | {_median(found, 'queued'):.0f} | {_median(found, 'jobs'):.0f} "
            f"| {_kinds(found[0])} |"
        )
    return [*lines, ""]


def write_document(
    path: Path,
    *,
    command: str,
    args,
    counts: dict,
    generated_in: float,
    instant: datetime,
    results: dict[str, list[dict[str, Run]]],
    occasion_plan: dict,
) -> None:
    local = ", ".join(
        f"{zone.split('/')[1]} {instant.astimezone(ZoneInfo(zone)):%H:%M}" for zone in dict.fromkeys(ZONES)
    )
    first_total = sum(statistics.median(r["first"].seconds for r in runs) for runs in results.values())
    again_total = sum(statistics.median(r["again"].seconds for r in runs) for runs in results.values())
    lines = [
        "# Message scans benchmark",
        "",
        "The five message scans `rq cron` runs every minute (`app/jobs/schedule.py`), timed by "
        "`bench/scans_bench.py` (a benchmark, not a test) over a network with "
        f"{args.customers:,} customers and {args.orders:,} orders. Each scan runs in an app context of its own "
        "(a fresh session, as on a worker), at one instant, with its send jobs really enqueued on Redis (db 11, "
        "no worker listening); then once more at the same instant, when everything due is already in the "
        'message log. Wall time is the scan function\'s whole call, Redis enqueues included; "of it in SQL" is '
        "the time spent in the database driver's `execute`; statements are counted on the engine "
        "(`before_cursor_execute`).",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Command: {command}",
        f"- Machine: {machine()}",
        f"- Database: {server_version(args.database_url)} on the same machine, default settings; Redis on the same "
        "machine. The machine was shared with other work while this ran, so single numbers may wobble.",
        f"- Scan instant: {instant:%Y-%m-%d %H:%M} UTC ({local})",
        f"- Data generated in {generated_in:.0f} s (bulk INSERT ... SELECT inside PostgreSQL, the real schema's "
        "indexes and constraints in place)",
        f"- Repeats: {args.repeat} (a fresh message log and Redis db each time; the median shown)",
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
    if args.customers < 100_000 or args.orders < 10_000:
        lines += [
            f"**Smaller than the target size** ({args.customers:,} customers, {args.orders:,} orders; the target "
            "is 100,000 and 10,000): `python bench/scans_bench.py` (or `make bench-scans`).",
            "",
        ]
    lines += [
        "## Results",
        "",
        f"All five scans, as one cron minute runs them: {first_total * 1000:.0f} ms when everything is due, "
        f"{again_total * 1000:.0f} ms on the minutes after.",
        "",
    ]
    for name, runs in results.items():
        lines += _scan_table(name, runs)
    lines += [
        "Each queued message is two statements of its own (the `INSERT ... ON CONFLICT (occurrence_key) DO "
        "NOTHING RETURNING id` that claims it, and a `SELECT` of the new row that `queue_message` returns) and one "
        "RQ job pushed to Redis after the commit. The rest of a scan's statements do not depend on the number of "
        "customers, dates or orders: the occasion scan runs one query per shop that has reached 10:00 (plus the "
        "shops); the order scans run a fixed handful of queries (what is due, which of it is already in the log, "
        "the shops, the people); the digest scan stops at a Redis mark once a shop's digest was checked that day.",
        "",
    ]
    plan = occasion_plan
    lines += [
        "## Where the occasion scan's repeat time goes",
        "",
        f"`EXPLAIN ANALYZE` of its query for shop {plan['shop']} (Moscow), the median of three: planning "
        f"{plan['planning_ms']:.1f} ms, execution {plan['execution_ms']:.1f} ms, a {plan['sql_chars']:,}-character "
        f"statement. It reads {plan['dates_read']:,} of the shop's {plan['dates_in_shop']:,} occasion dates "
        f"({100 * plan['dates_read'] / max(plan['dates_in_shop'], 1):.0f}%) to find the few due today: the "
        "(shop, month, day) index narrows to every day of the next 60 (a date's own days-before may be anything "
        "from 0 to 60), and the days-before rule filters the rest. So while the number of statements is fixed "
        "(one per shop past 10:00), the time of each grows with the number of dates in the shop, and it is paid "
        "every minute from 10:00 to midnight, whether or not anything is due.",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--day", type=date.fromisoformat, help="the scan day (default: today, UTC)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="time again the data generated by an earlier run")
    parser.add_argument("--output", default=str(ROOT / "docs" / "scans-benchmark.md"))
    args = parser.parse_args()
    if args.customers < SHOPS:
        parser.error(f"--customers must be at least {SHOPS}")

    if not args.reuse:
        instant = scan_instant(args.day or datetime.now(UTC).date())
        print(f"creating {args.database_url} and migrating ...", flush=True)
        recreate_database(args.database_url)
        migrate(args.database_url)
        print(f"generating {args.customers:,} customers and {args.orders:,} orders in {SHOPS} shops ...", flush=True)
        seconds = generate(args.database_url, customers=args.customers, orders=args.orders, instant=instant)
        remember_generation(args.database_url, seconds, args.customers, args.orders, instant)
    generated_in, args.customers, args.orders, instant, history_max_id = generation(args.database_url)
    counts = sizes(args.database_url, history_max_id)
    print(f"timing the scans at {instant:%Y-%m-%d %H:%M} UTC ...", flush=True)
    results = time_scans(args.database_url, instant=instant, history_max_id=history_max_id, repeat=args.repeat)
    occasion_plan = explain_occasion_query(args.database_url, instant=instant)
    command = (
        f"`python bench/scans_bench.py --customers {args.customers} --orders {args.orders} --repeat {args.repeat}`"
    )
    if args.reuse:
        command += " to generate and time, then the same with `--reuse` to time again"
    write_document(
        Path(args.output),
        command=command,
        args=args,
        counts=counts,
        generated_in=generated_in,
        instant=instant,
        results=results,
        occasion_plan=occasion_plan,
    )
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
