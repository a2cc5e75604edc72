"""How long a customer's order status SMS waits at the peak-day mix, with real workers. A benchmark, not a test.

    python bench/messages_bench.py                 # both routings, 60 s each, one worker; prints the table
    python bench/messages_bench.py --write         # ... and writes docs/messages-benchmark.md
    python bench/messages_bench.py --workers 2 --status-per-second 6

The mix: at the first second, the burst one `rq cron` minute queues at 10:05 on the peak day over 100,000
customers and 10,000 orders (docs/scans-benchmark.md: 1,125 occasion reminders, courier and florist reminders,
overdue alerts and digests), then for the whole run the customers' order status messages ("out for delivery",
"delivered") at a steady rate, and login codes. Each is queued by `queue_message` (the app's own routing) in a
transaction of its own, as the scans and the order steps do; real `flask jobs worker` processes (forking work
horses) send them to a local stand-in for SMS.RU that answers after --latency seconds. The wait of a message is
its `sent_at` less its `created_at` in the message log.

Two routings are run: "one queue" puts the status messages on the bulk `messages` queue, where they were before
(FIFO behind the burst); "own queue" is the app's routing: an order of the demo shop moves (out for delivery, in
a transaction of its own, as a courier's step does), its `order.status_changed` event queues the event log's
dispatch on the `status` queue, whose consumer queues the message there too (drained before the bulk); its wait
is counted from the move's event, so the dispatch's hop is in it. A scratch
PostgreSQL database (bench_messages, re-created) and Redis db 12 (flushed) are used; --cpu-hogs N keeps N cores
busy, as the web tier does at ~65 requests a second on the peak day.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from pathlib import Path
from urllib.parse import parse_qs

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import machine, migrate, recreate_database  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_messages"
DEFAULT_REDIS = "redis://127.0.0.1:6379/12"
PEAK_BURST = 1125  # messages one scan minute queues at 10:05 on the peak day (docs/scans-benchmark.md)
DOC = ROOT / "docs" / "messages-benchmark.md"


class SmsRu(BaseHTTPRequestHandler):
    """SMS.RU's send call, answering after `latency` seconds."""

    latency = 0.1
    ids = count(1)

    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())
        number = form.get("to", [""])[0]
        time.sleep(self.latency)
        body = json.dumps(
            {"status": "OK", "status_code": 100, "sms": {number: {"status": "OK", "sms_id": f"b-{next(self.ids)}"}}}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args) -> None:
        pass


def _hog() -> None:
    while True:
        pass


def make_app(url: str, redis_url: str):
    from app import create_app
    from app.config import DevelopmentConfig

    config = DevelopmentConfig()
    config.SQLALCHEMY_DATABASE_URI = url
    config.REDIS_URL = redis_url
    config.RATELIMIT_STORAGE_URI = redis_url
    config.JOBS_INLINE = False
    config.SMS_PROVIDER = "smsru"
    config.LOG_LEVEL = "WARNING"
    return create_app(config)


def queue(app, *, kind: str, numbers: range, key: str, queue_name: str | None) -> None:
    """Queue one message per number in one transaction, as a scan (many) or an order step (one) does."""
    from app.extensions import db
    from app.messaging.services import queue_message

    with app.app_context():
        for n in numbers:
            queue_message(
                kind=kind,
                channel="sms",
                to=f"+7916{n % 10_000_000:07d}",
                template="order_delivered" if kind != "otp" else "otp_code",
                language="ru",
                occurrence_key=f"{key}:{n}",
                context={"shop": "Bench", "number": str(n), "minutes": 5},
                secret_values={"code": "123456"} if kind == "otp" else None,
                queue=queue_name,
            )
        db.session.commit()


def demo_orders(app) -> tuple[int, list[int]]:
    """The demo shop, telling its customers of their orders' moves, and its orders' ids."""
    from sqlalchemy import select

    from app.events.dispatch import dispatch_all
    from app.extensions import db
    from app.orders.models import Order
    from app.seed import seed_demo
    from app.shops.models import Shop

    with app.app_context():
        seed_demo()
        dispatch_all()  # the seed's own moves are read (and not told) before the run's begin
        shop = db.session.scalars(select(Shop)).one()
        shop.settings = {**(shop.settings or {}), "order_status_messages": True}
        db.session.commit()
        return shop.id, list(db.session.scalars(select(Order.id).where(Order.shop_id == shop.id).order_by(Order.id)))


def send_out(app, shop_id: int, order_id: int) -> None:
    """The order leaves the shop (again: after a failed trip, as the courier's pickup does): one status message."""
    from app.extensions import db
    from app.orders import transitions
    from app.orders.models import OrderStatus

    with app.app_context():
        order = transitions.lock_order(shop_id=shop_id, order_id=order_id)
        if order.status == OrderStatus.OUT_FOR_DELIVERY.value:
            transitions.move(order=order, target=OrderStatus.DELIVERY_FAILED, actor_id=None, comment="bench")
        transitions.move(order=order, target=OrderStatus.OUT_FOR_DELIVERY, actor_id=None, comment="bench")
        db.session.commit()


def run(args, *, one_queue: bool) -> dict[str, list[float]]:
    recreate_database(args.database_url)
    migrate(args.database_url)
    redis.Redis.from_url(args.redis_url).flushdb()
    app = make_app(args.database_url, args.redis_url)
    shop_id, order_ids = demo_orders(app)
    redis.Redis.from_url(args.redis_url).flushdb()  # the seed's own jobs are not the run's
    server = ThreadingHTTPServer(("127.0.0.1", 0), SmsRu)
    SmsRu.latency = args.latency
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "RATELIMIT_STORAGE_URI": args.redis_url,
        "JOBS_INLINE": "false",
        "SMSRU_API_URL": f"http://127.0.0.1:{server.server_address[1]}",
        "SMSRU_API_ID": "bench",
        "LOG_LEVEL": "WARNING",
        "FLASK_APP": "wsgi.py",
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "jobs", "worker"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
        )
        for _ in range(args.workers)
    ]
    hogs = [multiprocessing.Process(target=_hog, daemon=True) for _ in range(args.cpu_hogs)]
    try:
        time.sleep(5)  # the workers start and block on their queues
        for hog in hogs:
            hog.start()
        # The scans' minute: reminders and alerts on the bulk queue, committed at once as a scan does.
        queue(app, kind="courier_reminder", numbers=range(args.burst), key="bulk", queue_name=None)
        started = time.monotonic()
        status_n = otp_n = 0
        while (elapsed := time.monotonic() - started) < args.duration:
            if status_n < elapsed * args.status_per_second:
                if one_queue:
                    queue(
                        app, kind="order_status", numbers=range(status_n, status_n + 1), key="s", queue_name="messages"
                    )
                else:
                    send_out(app, shop_id, order_ids[status_n % len(order_ids)])
                status_n += 1
            if otp_n < elapsed * args.otp_per_second:
                queue(app, kind="otp", numbers=range(otp_n, otp_n + 1), key="otp", queue_name=None)
                otp_n += 1
            time.sleep(0.02)
        return _waits(app, drain=args.drain)
    finally:
        for hog in hogs:
            hog.terminate()
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait()
        server.shutdown()


def _waits(app, *, drain: float) -> dict[str, list[float]]:
    from sqlalchemy import func, select

    from app.events.models import Event
    from app.extensions import db
    from app.messaging.models import MessageLog

    deadline = time.monotonic() + drain
    with app.app_context():
        while time.monotonic() < deadline:
            left = db.session.scalar(select(func.count()).where(MessageLog.status.in_(("queued", "sending"))))
            if not left:
                break
            db.session.rollback()
            time.sleep(1)
        # A status message sent through the event log waits from its move, not from the dispatch that queued it.
        moved = {
            f"order_status:{data['id']}:{data['status']}:{data['version']}": occurred
            for data, occurred in db.session.execute(
                select(Event.data, Event.occurred_at).where(Event.type == "order.status_changed")
            )
        }
        waits: dict[str, list[float]] = {}
        for kind, status, key, created, sent in db.session.execute(
            select(
                MessageLog.kind, MessageLog.status, MessageLog.occurrence_key, MessageLog.created_at, MessageLog.sent_at
            )
        ):
            created = moved.get(key, created)
            if status == "sent":
                waits.setdefault(kind, []).append((sent - created).total_seconds())
            else:  # still waiting when the run ended: counted with the wait so far, and as unsent
                waits.setdefault(kind, []).append((datetime.now(UTC) - created).total_seconds())
                waits.setdefault(f"{kind} unsent", []).append(0.0)
    return waits


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def table(results: dict[str, dict[str, list[float]]]) -> str:
    names = {"order_status": "order status", "otp": "login code", "courier_reminder": "bulk (scans)"}
    lines = [
        "| routing | messages | count | median wait | p95 wait | worst | not sent at the end |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for routing, waits in results.items():
        for kind in ("order_status", "otp", "courier_reminder"):
            values = waits.get(kind, [])
            if values:
                lines.append(
                    f"| {routing} | {names[kind]} | {len(values)} | {statistics.median(values):.1f} s "
                    f"| {_p(values, 0.95):.1f} s | {max(values):.1f} s | {len(waits.get(f'{kind} unsent', []))} |"
                )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--duration", type=float, default=60, help="seconds of status messages")
    parser.add_argument("--burst", type=int, default=PEAK_BURST, help="bulk messages queued at the start")
    # 10,000 orders a day, two status messages each, mostly within the ten delivery hours: ~0.6 a second on
    # average, about twice that in the busiest hour.
    parser.add_argument("--status-per-second", type=float, default=1.2)
    parser.add_argument("--otp-per-second", type=float, default=0.2)
    parser.add_argument("--latency", type=float, default=0.1, help="SMS.RU's answer time, seconds")
    parser.add_argument("--cpu-hogs", type=int, default=0, help="busy processes standing in for the web tier")
    parser.add_argument("--drain", type=float, default=120, help="seconds to wait for the queues to empty")
    parser.add_argument("--write", action="store_true", help=f"write {DOC.relative_to(ROOT)}")
    args = parser.parse_args()

    results = {}
    for routing, one_queue in (("one queue (before)", True), ("own queue (now)", False)):
        print(f"running: {routing} ...", flush=True)
        results[routing] = run(args, one_queue=one_queue)
    report = table(results)
    print(report)
    if args.write:
        DOC.write_text(
            "# Order status messages at the peak-day mix\n\n"
            "`make bench-messages` (`bench/messages_bench.py`; a benchmark, not a test): real `flask jobs worker` "
            "processes and a stand-in for SMS.RU answering in "
            f"{args.latency:g} s. At the start, the burst one scan minute queues at 10:05 on the peak day "
            f"({args.burst} reminders and alerts, docs/scans-benchmark.md); then for {args.duration:g} s, "
            f"{args.status_per_second:g} order status messages and {args.otp_per_second:g} login codes a second; "
            f"{args.workers} worker(s), {args.cpu_hogs} extra core(s) kept busy; load average {os.getloadavg()[0]:.1f} "
            f"on {os.cpu_count()} cores at the end (a machine shared with other work, as a peak-day host is). "
            "Wait = `sent_at` − `created_at` in the message log; for a status message through the event log (own "
            "queue), `sent_at` − the move's event `occurred_at`, the dispatch's hop included.\n\n"
            f"{report}\n\n"
            "On one queue the status messages wait behind the whole burst (FIFO): what the load run saw (75 s "
            "median). On their own queue, drained before the bulk, they wait only for the job in hand; the burst "
            "drains in the gaps.\n\n"
            f"Machine: {machine()}.\n"
        )
        print(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
