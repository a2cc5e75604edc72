"""Time the standing orders' daily scan over 50,000 series: one day's dates made into orders. A benchmark, not a test.

    python bench/standing_bench.py                # 50,000 series into bench_standing; docs/standing-benchmark.md
    python bench/standing_bench.py --series 5000  # smaller
    python bench/standing_bench.py --reuse        # time again on the data already generated (dates reset)
    python bench/standing_bench.py --jobs 1       # the scan as one job (default: the cron's SCAN_JOBS)

It creates (drops and re-creates) a scratch PostgreSQL database, builds the schema with the app's own migrations
and fills it: 50 shops (half in Europe/Moscow, half in Asia/Yekaterinburg), each with 6 delivery windows every day
(capacity 500, so intake takes the usual path), 10 bouquets; one customer per series. The series are a real mix:
60% weekly on one weekday (a quarter of them every other week), 25% monthly on a day, 10% monthly on the Nth
weekday (a fifth of them the last), 5% yearly (named days and dates); all 7 days ahead. The state is the morning
after yesterday's scan: each series' next date is the first on or after the scan day + 7 (the dates before were
made), so the scan makes exactly the dates 7 days ahead. Then the scan runs once at 00:30 Moscow time as the cron
does: `SCAN_JOBS` jobs (`--jobs`) of `make_due_occurrences`, each in its own process with its app context and
session, as on workers; the events of each order go to the log and the dispatch jobs to Redis db 8 (nobody
listens there).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg2
from psycopg2.extras import Json, execute_values

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import machine, migrate, recreate_database, run_steps, server_version  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_standing"
REDIS_URL = "redis://127.0.0.1:6379/8"
SHOPS = 50
LEAD = 7
SCAN_AT = datetime(2027, 3, 1, 21, 30, tzinfo=UTC)  # 00:30 on 2 March in Moscow, 02:30 in Yekaterinburg
SCAN_DAY = date(2027, 3, 2)
ZONES = ["Europe/Moscow", "Asia/Yekaterinburg"]
NAMED = ["march_8", "valentines_day", "knowledge_day", "teachers_day_ru", "mothers_day_ru", "mothering_sunday_uk"]
WINDOWS = ["09:00", "11:00", "13:00", "15:00", "17:00", "19:00"]

GENERATE = [
    (
        "shops, products, customers",
        """INSERT INTO shops (id, name, timezone, currency, country, address, settings, created_at, updated_at)
        SELECT s, 'Bench shop ' || s, (%(zones)s::text[])[1 + s %% 2], 'RUB', 'RU', 'Bench street ' || s,
               '{}'::jsonb, %(start)s, %(start)s
        FROM generate_series(1, %(shops)s) s;
        INSERT INTO delivery_windows (shop_id, weekday, start, "end", capacity, delivery_fee, enabled, version,
                                      created_at, updated_at)
        SELECT s, (w ->> 'weekday')::int, w ->> 'start', w ->> 'end', (w ->> 'capacity')::int,
               (w ->> 'delivery_fee')::numeric, true, 1, %(start)s, %(start)s
        FROM generate_series(1, %(shops)s) s, jsonb_array_elements(%(slots)s::jsonb) w;
        INSERT INTO products (id, shop_id, name, description, price, is_active, needs_assembly, created_at, updated_at)
        SELECT p, (p - 1) / 10 + 1, 'Bouquet ' || ((p - 1) %% 10 + 1), '', 2000 + 100 * ((p - 1) %% 10 + 1), true,
               true, %(start)s, %(start)s
        FROM generate_series(1, %(shops)s * 10) p;
        INSERT INTO customers (id, shop_id, phone, name, language, notes, marketing_consent, created_at, updated_at)
        SELECT c, (c - 1) %% %(shops)s + 1, '+7926' || lpad(c::text, 7, '0'), 'Customer ' || c, 'ru', '', false,
               %(start)s, %(start)s
        FROM generate_series(1, %(series)s) c;""",
    ),
]


def rule_of(i: int) -> dict:
    kind = i % 20
    if kind < 12:
        return {"frequency": "weekly", "interval": 2 if kind < 3 else 1, "weekdays": [i % 7]}
    if kind < 17:
        return {"frequency": "monthly", "interval": 1, "month_day": 1 + i % 31}
    if kind < 19:
        return {"frequency": "monthly", "interval": 1, "nth": -1 if i % 5 == 0 else 1 + i % 4, "weekday": i % 7}
    if i % 2:
        return {"frequency": "yearly", "interval": 1, "named_day": NAMED[i % len(NAMED)]}
    return {"frequency": "yearly", "interval": 1, "month": 1 + i % 12, "month_day": 1 + i % 28}


def series_rows(count: int) -> list[tuple]:
    from app.standing import rules

    starts_on = date(2026, 1, 5)
    first_to_make = SCAN_DAY + timedelta(days=LEAD)
    rows = []
    for i in range(1, count + 1):
        shop = (i - 1) % SHOPS + 1
        rule = rule_of(i)
        series = rules.recurrence(rule, starts_on=starts_on + timedelta(days=i % 7), ends_on=None, count=None)
        next_date = rules.first_on_or_after(series, first_to_make)
        template = {
            "customer_id": i,
            "recipient_name": f"Recipient {i}",
            "recipient_phone": "+79161234567",
            "fulfillment": "delivery",
            "address": f"Bench street {i}",
            "window_start": WINDOWS[i % len(WINDOWS)],
            "card_text": "As always",
            "comment": "",
            "items": [{"product_id": (shop - 1) * 10 + 1 + i % 10, "quantity": 1 + i % 2}],
        }
        rows.append(
            (
                i,
                shop,
                i,
                Json(template),
                Json(rule),
                starts_on + timedelta(days=i % 7),
                LEAD,
                next_date,
                next_date - timedelta(days=LEAD),
            )
        )
    return rows


def generate(url: str, count: int) -> None:
    recreate_database(url)
    migrate(url)
    slots = [
        {"weekday": d, "start": w, "end": f"{int(w[:2]) + 2:02d}:00", "capacity": 500, "delivery_fee": "300.00"}
        for d in range(7)
        for w in WINDOWS
    ]
    params = {
        "shops": SHOPS,
        "series": count,
        "zones": ZONES,
        "slots": json.dumps(slots),
        "start": datetime(2026, 1, 1, tzinfo=UTC),
    }
    run_steps(url, GENERATE, params)
    began = time.perf_counter()
    rows = series_rows(count)
    connection = psycopg2.connect(url)
    with connection, connection.cursor() as cursor:
        execute_values(
            cursor,
            """INSERT INTO standing_orders (id, shop_id, customer_id, template, rule, starts_on, lead_days, next_date,
                                            due_on, paused, version, created_at, updated_at)
            VALUES %s""",
            rows,
            template="(%s, %s, %s, %s, %s, %s, %s, %s, %s, false, 1, now(), now())",
            page_size=2000,
        )
        cursor.execute("SELECT setval('standing_orders_id_seq', %s)", (count,))
        cursor.execute("SELECT setval('customers_id_seq', %s)", (count,))
        cursor.execute("SELECT setval('products_id_seq', %s)", (SHOPS * 10,))
        cursor.execute("SELECT setval('shops_id_seq', %s)", (SHOPS,))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.close()
    print(f"  {count} standing orders: {time.perf_counter() - began:.1f} s", flush=True)


def reset(url: str) -> None:
    """Back to the state before the scan: its orders, occurrences, events and counters gone, the dates restored."""
    connection = psycopg2.connect(url)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            """UPDATE standing_orders s SET next_date = o.date, due_on = o.date - s.lead_days
            FROM standing_occurrences o WHERE o.standing_order_id = s.id"""
        )
        cursor.execute(
            "TRUNCATE standing_occurrences, order_items, order_status_changes, orders, slot_bookings, "
            "workshop_bookings, order_number_counters, events, audit_log RESTART IDENTITY CASCADE"
        )
    connection.close()


def make_app(url: str):
    from app import create_app
    from app.config import DevelopmentConfig

    config = DevelopmentConfig()
    config.SQLALCHEMY_DATABASE_URI = url
    config.REDIS_URL = REDIS_URL
    config.RATELIMIT_STORAGE_URI = REDIS_URL
    config.JOBS_INLINE = False
    config.LOG_LEVEL = "WARNING"
    return create_app(config)


def scan_part(url: str, part: int, parts: int, barrier, results) -> None:
    """One of the cron's scan jobs, as on a worker: its own process, app context and session."""
    from sqlalchemy import event, text

    from app.extensions import db
    from app.standing.services import make_due_occurrences

    app = make_app(url)
    statements = [0]
    with app.app_context():
        # Connected before the clock starts, as a running worker is; one connection all the scan long.
        backend = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        db.session.commit()
        event.listen(db.engine, "before_cursor_execute", lambda *args: statements.__setitem__(0, statements[0] + 1))
        barrier.wait()
        began, cpu, server_cpu = time.perf_counter(), time.process_time(), cpu_seconds(backend)
        made = make_due_occurrences(now=SCAN_AT, part=part, parts=parts)
        seconds = time.perf_counter() - began
        cpu, server_cpu = time.process_time() - cpu, cpu_seconds(backend) - server_cpu
        results.put((part, made, statements[0], seconds, cpu, server_cpu))
        db.session.remove()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process on this machine has used: the scan's PostgreSQL backend."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_scan(url: str, jobs: int) -> tuple[int, float, int, float]:
    """The scan as `jobs` jobs at once (the cron's SCAN_JOBS), each in its own process; the wall time is from
    their common start to the last one's end."""
    import multiprocessing

    from sqlalchemy import create_engine, func, select

    from app.standing.models import StandingOccurrence

    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(jobs + 1), context.Queue()
    workers = [context.Process(target=scan_part, args=(url, part, jobs, barrier, results)) for part in range(jobs)]
    for worker in workers:
        worker.start()
    barrier.wait()
    began = time.perf_counter()
    finished = [results.get() for _ in workers]
    seconds = time.perf_counter() - began
    for worker in workers:
        worker.join()
    made = sum(row[1] for row in finished)
    statements = sum(row[2] for row in finished)
    cpu = sum(row[4] + row[5] for row in finished)
    for part, part_made, part_statements, part_seconds, app_cpu, server_cpu in sorted(finished):
        print(
            f"  job {part}: {part_made} orders in {part_seconds:.2f} s ({part_statements} statements; "
            f"CPU {app_cpu:.1f} s in the app, {server_cpu:.1f} s in its PostgreSQL backend)"
        )
    engine = create_engine(url)
    with engine.connect() as connection:
        problems = connection.scalar(select(func.count()).where(StandingOccurrence.problem != ""))
    engine.dispose()
    print(
        f"  scan: {made} orders made in {seconds:.2f} s by {jobs} job(s) "
        f"({statements} statements, {problems} with a problem; CPU {cpu:.1f} s in all)"
    )
    return made, seconds, statements, cpu


def write_report(
    path: Path, url: str, count: int, jobs: int, made: int, seconds: float, statements: int, cpu: float
) -> None:
    per = seconds / made * 1000 if made else 0
    per_order = statements / made if made else 0
    path.write_text(
        f"""# Standing orders: the daily scan (bench/standing_bench.py)

`make bench-standing` — {count:,} standing orders in {SHOPS} shops (Europe/Moscow and Asia/Yekaterinburg), the
mix of rules the script's doc describes, all made 7 days ahead. The scan (`make_due_occurrences`, run by rq cron
every 10 minutes as `SCAN_JOBS` jobs at once, each for its share of the shops: app/jobs/schedule.py) runs once at
00:30 Moscow time, the morning after yesterday's scan, as {jobs} job(s) in as many processes started together:

| series | dates made (orders) | scan jobs | wall time | per order | SQL statements | per order | CPU (app + db) |
|---|---|---|---|---|---|---|---|
| {count:,} | {made:,} | {jobs} | {seconds:.2f} s | {per:.1f} ms | {statements:,} | {per_order:.1f} | {cpu:.1f} s |

CPU is the user + system time the scan's processes and their PostgreSQL backends used (read from `/proc`), a
figure other load changes far less than the wall time: on {os.cpu_count()} otherwise idle CPUs the scan cannot take
less than CPU ÷ {os.cpu_count()} = {cpu / (os.cpu_count() or 1):.1f} s.

Goal: one day's dates in under 10 s. Per batch of 50 series one transaction: the series locked (`FOR UPDATE
SKIP LOCKED`), the dates already recorded read, each shop's dates made by one `orders.create_orders` call (the
intake of `POST /orders`, which is a batch of one: prices, the windows' capacity, the florist minutes, promo, the
numbers, history, audit, the `order.created` events), the dates recorded in `standing_occurrences` (unique per
series and date) in one statement, one commit. Finding what is due is one indexed query (`ix_standing_orders_due`,
partial on active series).

Machine: {machine()}; {server_version(url)}; app and database on the same machine; nothing else of the
benchmark ran meanwhile (no workers: the dispatch jobs stay queued), while other developers' test runs may have
shared the CPUs.
"""
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--series", type=int, default=50_000)
    parser.add_argument("--reuse", action="store_true", help="time again on the data generated by an earlier run")
    parser.add_argument("--jobs", type=int, default=None, help="scan jobs at once (default: the cron's SCAN_JOBS)")
    parser.add_argument("--output", default=str(ROOT / "docs" / "standing-benchmark.md"))
    args = parser.parse_args()
    os.environ.setdefault("APP_ENV", "development")
    if args.reuse:
        migrate(args.database_url)  # the schema as the code now expects it (nothing to do when it is)
        reset(args.database_url)
    else:
        print(f"generating {args.series} standing orders into {args.database_url}", flush=True)
        generate(args.database_url, args.series)
    from app.standing.services import SCAN_JOBS

    jobs = args.jobs or SCAN_JOBS
    made, seconds, statements, cpu = run_scan(args.database_url, jobs)
    write_report(Path(args.output), args.database_url, args.series, jobs, made, seconds, statements, cpu)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
