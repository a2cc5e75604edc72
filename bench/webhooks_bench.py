"""Webhook deliveries a second to a local receiver with real workers. A benchmark, not a test.

    python bench/webhooks_bench.py                  # 3,000 events, 2 workers; prints the result
    python bench/webhooks_bench.py --write          # ... and writes docs/webhooks-benchmark.md
    python bench/webhooks_bench.py --events 500 --workers 1

One shop with one endpoint wanting `order.*`; the events are recorded through the outbox (`outbox.record`, in
commits of 100, as a busy hour of order changes would), so the whole path runs: the commit's dispatch job writes
the delivery rows (the `webhooks` consumer), each delivery is one RQ job that signs (standardwebhooks) and POSTs
the feed-shaped event to a local receiver, which verifies every signature with the `standardwebhooks` package and
answers 200. The rate is deliveries received / (last received − first event committed). CPU is read from /proc
for the receiver process and for the workers (with the work horses they forked). A scratch PostgreSQL database
(bench_webhooks, re-created) and Redis db 14 (flushed) are used.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import machine, migrate, recreate_database  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_webhooks"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
DOC = ROOT / "docs" / "webhooks-benchmark.md"
TICKS = os.sysconf("SC_CLK_TCK")


def receive(port_out, received, first_at, last_at, secret: str, stop) -> None:
    """The receiver process: verify each request's signature, count it, answer 200."""
    from standardwebhooks import Webhook

    hook = Webhook(secret)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = 200
            try:
                hook.verify(body, {k.lower(): v for k, v in self.headers.items()})
            except Exception:
                status = 400
            with received.get_lock():
                if status == 200:
                    received.value += 1
                    now = time.time()
                    if not first_at.value:
                        first_at.value = now
                    last_at.value = now
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_out.value = server.server_address[1]
    server.timeout = 0.5
    while not stop.is_set():
        server.handle_request()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process and its reaped children (a worker's work horses)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / TICKS


def make_app(url: str, redis_url: str):
    from app import create_app
    from app.config import DevelopmentConfig

    config = DevelopmentConfig()
    config.SQLALCHEMY_DATABASE_URI = url
    config.REDIS_URL = redis_url
    config.RATELIMIT_STORAGE_URI = redis_url
    config.JOBS_INLINE = False
    config.LOG_LEVEL = "WARNING"
    config.WEBHOOK_ALLOW_PRIVATE = True
    return create_app(config)


def run(args) -> dict:
    recreate_database(args.database_url)
    migrate(args.database_url)
    redis.Redis.from_url(args.redis_url).flushdb()
    app = make_app(args.database_url, args.redis_url)

    from app.events import outbox
    from app.extensions import db
    from app.shops.models import Shop
    from app.webhooks import services

    stop = multiprocessing.Event()
    port, received = multiprocessing.Value("i", 0), multiprocessing.Value("i", 0)
    first_at, last_at = multiprocessing.Value("d", 0.0), multiprocessing.Value("d", 0.0)
    with app.app_context():
        shop = Shop(name="Bench")
        db.session.add(shop)
        db.session.commit()
        shop_id = shop.id
        # Registered as an admin would, with the receiver's URL once it listens.
        endpoint, secret = services.create_endpoint(
            shop_id=shop_id, actor_id=None, url="http://127.0.0.1:1/", event_types=["order.*"]
        )
        endpoint_id = endpoint.id
    receiver = multiprocessing.Process(target=receive, args=(port, received, first_at, last_at, secret, stop))
    receiver.start()
    while not port.value:
        time.sleep(0.05)
    with app.app_context():
        services.update_endpoint(
            shop_id=shop_id,
            endpoint_id=endpoint_id,
            actor_id=None,
            data={"url": f"http://127.0.0.1:{port.value}/hooks"},
        )
    env = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "RATELIMIT_STORAGE_URI": args.redis_url,
        "JOBS_INLINE": "false",
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "LOG_LEVEL": "WARNING",
        "FLASK_APP": "wsgi.py",
        "PYTHON_DOTENV_DISABLED": "1",
    }
    command = [sys.executable, "-m", "flask", "jobs", "worker", *(["--simple"] if args.simple else [])]
    workers = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL) for _ in range(args.workers)]
    try:
        time.sleep(4)  # the workers start and block on their queues
        cpu_before = {w.pid: cpu_seconds(w.pid) for w in workers}
        receiver_before = cpu_seconds(receiver.pid)
        started = time.time()
        with app.app_context():
            for batch in range(0, args.events, 100):
                for n in range(batch, min(batch + 100, args.events)):
                    outbox.record(
                        "order.updated",
                        shop_id=shop_id,
                        subject_type="order",
                        subject_id=n,
                        data={"id": n, "number": f"B-{n}", "status": "confirmed", "total": "4500.00"},
                    )
                db.session.commit()
        committed = time.time() - started
        deadline = time.monotonic() + args.drain
        while received.value < args.events and time.monotonic() < deadline:
            time.sleep(0.2)
        elapsed = (last_at.value or time.time()) - started
        cpu_workers = sum(cpu_seconds(w.pid) - cpu_before[w.pid] for w in workers)
        cpu_receiver = cpu_seconds(receiver.pid) - receiver_before
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait()
        stop.set()
        receiver.join(5)
        if receiver.is_alive():
            receiver.terminate()
    return {
        "events": args.events,
        "received": received.value,
        "seconds": elapsed,
        "committed": committed,
        "rate": received.value / elapsed if elapsed > 0 else 0.0,
        "cpu_workers": cpu_workers,
        "cpu_receiver": cpu_receiver,
    }


def report(args, result: dict) -> str:
    kind = (
        "`flask jobs worker --simple` (no fork per job)"
        if args.simple
        else "`flask jobs worker` (a work horse forked per job)"
    )
    return (
        f"| workers | events | delivered and verified | seconds | deliveries a second | workers' CPU | receiver's CPU |\n"
        f"|---:|---:|---:|---:|---:|---:|---:|\n"
        f"| {args.workers} × {kind} | {result['events']} | {result['received']} | {result['seconds']:.1f} | "
        f"**{result['rate']:.0f}** | {result['cpu_workers']:.1f} s ({result['cpu_workers'] / result['seconds']:.0%} of a core) | "
        f"{result['cpu_receiver']:.1f} s ({result['cpu_receiver'] / result['seconds']:.0%} of a core) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--simple", action="store_true", help="workers that run jobs in their own process")
    parser.add_argument("--drain", type=float, default=120, help="seconds to wait for every delivery")
    parser.add_argument("--write", action="store_true", help=f"write {DOC.relative_to(ROOT)}")
    args = parser.parse_args()
    result = run(args)
    table = report(args, result)
    print(table)
    if args.write:
        DOC.write_text(
            "# Webhook deliveries a second\n\n"
            "`make bench-webhooks` (`bench/webhooks_bench.py`; a benchmark, not a test). "
            f"{args.events} `order.updated` events recorded through the outbox in commits of 100 (all committed "
            f"within {result['committed']:.1f} s), one endpoint wanting `order.*`; the dispatch writes a delivery "
            "row per event and queues its job; each job signs with `standardwebhooks` and POSTs the feed-shaped "
            "event to a local receiver (its own process, a threaded `http.server`) that verifies every signature "
            "with the `standardwebhooks` package and answers 200. Seconds run from the first commit to the last "
            "delivery received; CPU is user + system time from /proc, the workers' including the work horses they "
            f"forked. Load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end (a machine shared "
            "with other work).\n\n"
            f"{table}\n\n"
            f"Machine: {machine()}.\n"
        )
        print(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
