"""The peak-day benchmark, end to end (`make bench`): data, servers, load, invariants, profiles, the report.

    python bench/peak_bench.py                          # 1M orders (reused if there), 10-minute mix at 300 rps
    python bench/peak_bench.py --orders 50000 --duration 60 --endpoint-seconds 15   # a quick try
    make bench-quick                                    # the same phases, a few seconds each (checks the harness)
    python bench/peak_bench.py --report-only            # write docs/performance.md again from the last results

It starts, as `make serve` and `make worker` would: gunicorn -c gunicorn.conf.py wsgi:app (APP_ENV=production),
the baseline (bench/baseline.py) under the same gunicorn settings, two `flask jobs worker` processes, and a stub
SMS.RU (bench/sms_stub.py); Redis database BENCH_REDIS_DB (default 7, flushed at the start; never the tests' 15).
Then, phase after phase:

- the endpoints, each with wrk (`wrk -t2 -c8 -d20s`, bench/wrk/requests.lua with the people's tokens), the
  baseline before and after them;
- each write step alone (bench/write_steps.py: one client, one request at a time, 200 orders walked through);
- the write steps under load (twelve locust users walking orders through), the March 8 mix at growing rates,
  then the mix itself (locust).

Every figure carries what the run cost (bench/measure.py): the generator's own CPU, the app's, the baseline's, the
RQ workers', the scratch database's backends', what else the machine spent, and the load average before it.
Every gunicorn worker's RSS is sampled all along. Everything it started is stopped at the end, also on failure
or Ctrl-C.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import psycopg2
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.events.dispatch import DISPATCH_QUEUE  # noqa: E402
from app.extensions import QUEUE_NAMES  # noqa: E402
from bench import invariants, measure, peak_data  # noqa: E402

RESULTS = ROOT / "bench" / ".results"
APP_PORT, BASELINE_PORT, SMS_PORT = 8101, 8102, 8125
BIN = Path(sys.executable).parent
# The app's requests measured with wrk, in this order, between the two runs of the baseline.
ENDPOINTS = ["orders_list", "order_detail", "tasks", "deliveries", "auth_me", "health"]


def server_env(args) -> dict[str, str]:
    """The production settings of the run; rate limits raised (one client IP plays 200 people)."""
    return {
        **os.environ,
        "APP_ENV": "production",
        "PYTHON_DOTENV_DISABLED": "1",
        "FLASK_APP": "wsgi.py",
        "DATABASE_URL": args.database_url,
        "BASELINE_DATABASE_URL": args.database_url,
        "REDIS_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
        "JWT_SECRET_KEY": "bench-peak-jwt-secret-" + "k3y9" * 8,
        "SMS_PROVIDER": "smsru",
        "SMSRU_API_ID": "bench-stub",
        "SMSRU_API_URL": f"http://127.0.0.1:{SMS_PORT}",
        "TELEGRAM_API_URL": f"http://127.0.0.1:{SMS_PORT}",
        "LOG_LEVEL": "WARNING",
        "WEB_CONCURRENCY": str(args.workers),
        "GUNICORN_THREADS": str(args.threads),
        # Recycling off, so a leak would show as growth of a worker's RSS (the shipped default is 1000 requests).
        "GUNICORN_MAX_REQUESTS": "0",
        "RATELIMIT_LOGIN_PER_IP": "100000 per minute",
        "RATELIMIT_LOGIN_PER_IDENTIFIER": "100000 per minute",
        "RATELIMIT_OTP_REQUEST_PER_IP": "1000000 per hour",
        "RATELIMIT_OTP_REQUEST_PER_PHONE": "1000 per 15 minutes",
        "RATELIMIT_OTP_VERIFY_PER_PHONE": "1000 per 15 minutes",
        # Every OTP login of the mix comes from 127.0.0.1: the shipped 60 an hour per IP refused all but the first 60.
        "RATELIMIT_OTP_VERIFY_PER_IP": "1000000 per hour",
    }


class Processes:
    """What the run started, stopped in reverse order by process group."""

    def __init__(self) -> None:
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
        out = log.open("w")
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started.append((name, process))
        return process

    def stop(self) -> None:
        for _, process in reversed(self.started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for _, process in reversed(self.started):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.started.clear()


def wait_http(url: str, seconds: float = 60) -> None:
    import urllib.request

    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except Exception as exc:
            if getattr(exc, "code", None):
                return
            time.sleep(0.5)
    raise SystemExit(f"{url} did not come up")


class RssSampler(threading.Thread):
    """Every few seconds: the RSS of each worker process of each gunicorn master."""

    def __init__(self, masters: dict[str, int], every: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.masters, self.every, self.samples, self.phase = masters, every, [], "start"
        self.stopping = threading.Event()

    def run(self) -> None:
        began = time.time()
        while not self.stopping.wait(self.every):
            for server, pid in self.masters.items():
                try:
                    children = psutil.Process(pid).children()
                except psutil.NoSuchProcess:
                    continue
                for child in children:
                    try:
                        rss = child.memory_info().rss
                    except psutil.NoSuchProcess:
                        continue
                    self.samples.append(
                        {
                            "t": round(time.time() - began, 1),
                            "server": server,
                            "pid": child.pid,
                            "phase": self.phase,
                            "rss_mb": round(rss / 2**20, 1),
                        }
                    )


def fixture(url: str, path: Path) -> dict:
    """Who the load test plays and what it may touch, read from the generated data."""
    connection = psycopg2.connect(url)
    shops = []
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT id FROM shops ORDER BY id")
        for (shop_id,) in cursor.fetchall():
            people = {}
            for role in ("manager", "florist", "courier"):
                cursor.execute(
                    "SELECT u.id, u.phone FROM users u JOIN memberships m ON m.user_id = u.id "
                    "WHERE m.shop_id = %s AND m.role = %s ORDER BY u.id",
                    (shop_id, role),
                )
                people[role + "s"] = [{"id": i, "phone": p} for i, p in cursor.fetchall()]
            cursor.execute("SELECT id FROM products WHERE shop_id = %s ORDER BY id", (shop_id,))
            products = [r[0] for r in cursor.fetchall()]
            cursor.execute("SELECT min(id), max(id) FROM customers WHERE shop_id = %s", (shop_id,))
            customers = list(cursor.fetchone())
            cursor.execute(
                "SELECT id FROM orders WHERE shop_id = %s AND id %% 97 = 0 ORDER BY id DESC LIMIT 300", (shop_id,)
            )
            orders = [r[0] for r in cursor.fetchall()]
            shops.append(
                {"id": shop_id, **people, "product_ids": products, "customer_range": customers, "order_ids": orders}
            )
    connection.close()
    data = {
        "password": peak_data.BENCH_PASSWORD,
        "today": datetime.now(UTC).date().isoformat(),
        "windows": peak_data.WINDOWS,
        "shops": shops,
    }
    path.write_text(json.dumps(data))
    return data


def log_everyone_in(host: str) -> None:
    """Tokens for every person of the fixture, so no phase starts with a storm of argon2 logins (15 minutes each)."""
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    path = RESULTS / "fixture.json"
    data = json.loads(path.read_text())
    people = [p for shop in data["shops"] for role in ("managers", "florists", "couriers") for p in shop[role]]

    def login(person: dict) -> None:
        body = json.dumps({"login": person["phone"], "password": data["password"]}).encode()
        request = urllib.request.Request(
            f"{host}/api/v1/auth/login", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            person["token"] = json.loads(answer.read())["access_token"]

    began = time.time()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(login, people))
    path.write_text(json.dumps(data))
    print(f"[{datetime.now():%H:%M:%S}] {len(people)} logins in {time.time() - began:.0f} s", flush=True)


def locust(
    args, env, usage, name: str, scenario: str, *, host: str, users: int, seconds: int, rate: float = 0,
    per_user: float = 0,
) -> dict:  # fmt: skip
    """One headless locust phase; its per-endpoint stats and status counts, and the CPU around it."""
    prefix = RESULTS / name
    run_env = {
        **env,
        "BENCH_SCENARIO": scenario,
        "BENCH_RATE": str(rate),
        "BENCH_PER_USER_RATE": str(per_user),
        "BENCH_FIXTURE": str(RESULTS / "fixture.json"),
        "BENCH_STATUS_FILE": f"{prefix}_statuses.json",
        "BENCH_LATENCY_FILE": f"{prefix}_latency.json",
        "BENCH_SMS_STUB": f"http://127.0.0.1:{SMS_PORT}",
    }
    command = [
        str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "--host", host,
        "-u", str(users), "-r", str(max(5, users // 5)), "-t", f"{seconds}s", "--csv", str(prefix),
        "--only-summary", "--stop-timeout", "5", "--loglevel", "WARNING",
    ]  # fmt: skip
    print(f"[{datetime.now():%H:%M:%S}] {name}: {scenario}, {users} users, {seconds} s"
          + (f", {rate:.0f} rps" if rate else ""), flush=True)  # fmt: skip
    run = measure.measured(command, usage, env=run_env, log=RESULTS / f"{name}.log")
    run.pop("stdout")
    stats = {}
    with open(f"{prefix}_stats.csv") as f:
        for row in csv.DictReader(f):
            stats[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "rps": float(row["Requests/s"]),
                "p50": float(row["50%"] or 0),
                "p95": float(row["95%"] or 0),
                "p99": float(row["99%"] or 0),
                "avg": float(row["Average Response Time"] or 0),
            }
    statuses = (
        json.loads(Path(f"{prefix}_statuses.json").read_text()) if Path(f"{prefix}_statuses.json").exists() else {}
    )
    latency = Path(f"{prefix}_latency.json")
    app_latency = json.loads(latency.read_text()) if latency.exists() else None
    return {"name": name, "scenario": scenario, "tool": f"locust, {users} FastHttpUsers", "users": users,
            "seconds": seconds, "rate": rate, "stats": stats, "statuses": statuses, "app_latency": app_latency,
            **run}  # fmt: skip


def endpoint_requests(fixture_data: dict) -> dict[str, tuple[str, list[str]]]:
    """What each wrk run asks, by phase name: the server and the lines of its request file (bench/wrk)."""
    line, today = measure.request_line, fixture_data["today"]
    shops = fixture_data["shops"]

    def as_(person: dict) -> dict[str, str]:
        return {"Authorization": f"Bearer {person['token']}"}

    page = f"/api/v1/orders?page_size=50&date_from={today}"
    return {
        "baseline": ("baseline", [line(page, headers={"X-Shop-Id": str(shop["id"])}) for shop in shops]),
        "orders_list": ("app", [line(page, headers=as_(m)) for shop in shops for m in shop["managers"]]),
        # Many orders of every shop, each asked by a manager of its own shop (another shop's order is a 404).
        "order_detail": (
            "app",
            [
                line(f"/api/v1/orders/{order_id}", headers=as_(shop["managers"][n % len(shop["managers"])]))
                for shop in shops
                for n, order_id in enumerate(shop["order_ids"])
            ],
        ),  # fmt: skip
        "tasks": (
            "app",
            [
                line("/api/v1/production-tasks?status=pending&status=in_progress", headers=as_(f))
                for shop in shops
                for f in shop["florists"]
            ],
        ),  # fmt: skip
        "deliveries": (
            "app",
            [
                line(f"/api/v1/courier/deliveries?date={today}", headers=as_(c))
                for shop in shops
                for c in shop["couriers"]
            ],
        ),  # fmt: skip
        "auth_me": ("app", [line("/api/v1/auth/me", headers=as_(m)) for shop in shops for m in shop["managers"]]),
        "health": ("app", [line("/health")]),
    }


def probe(host: str, request: str) -> None:
    """The first request of a wrk run once, so a run of 401s or 404s stops the bench instead of being measured."""
    import urllib.error
    import urllib.request

    method, path, body, *headers = request.split("\t")
    heads = dict(h.split(": ", 1) for h in headers)
    try:
        urllib.request.urlopen(urllib.request.Request(f"{host}{path}", method=method, headers=heads), timeout=30)
    except urllib.error.HTTPError as error:
        raise SystemExit(f"{method} {path} answered {error.code}: {error.read()[:300]!r}") from None


def drain_queues(env: dict, seconds: float = 120) -> int:
    client = redis.Redis.from_url(env["REDIS_URL"])
    deadline = time.time() + seconds
    while time.time() < deadline:
        waiting = sum(client.llen(key) for key in client.scan_iter("rq:queue:*"))
        if waiting == 0:
            return 0
        time.sleep(1)
    return waiting


def run(args) -> dict:
    RESULTS.mkdir(exist_ok=True)
    data = peak_data.ensure(args.database_url, orders=args.orders, reuse=not args.fresh)
    sizes = peak_data.count_rows(args.database_url, peak_data.TABLES)
    env = server_env(args)
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()  # only the bench's own database
    fixture(args.database_url, RESULTS / "fixture.json")
    processes = Processes()
    sampler = None
    results: dict = {"phases": [], "baselines": [], "reads": []}
    try:
        processes.start("sms stub", [sys.executable, "bench/sms_stub.py", str(SMS_PORT)], env, RESULTS / "sms.log")
        gunicorn = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py"]
        app = processes.start(
            "app", [*gunicorn, "wsgi:app"], {**env, "GUNICORN_BIND": f"127.0.0.1:{APP_PORT}"}, RESULTS / "app.log"
        )
        base = processes.start(
            "baseline",
            [*gunicorn, "bench.baseline:app"],
            {**env, "GUNICORN_BIND": f"127.0.0.1:{BASELINE_PORT}", "PROMETHEUS_MULTIPROC_DIR": ""},
            RESULTS / "baseline.log",
        )
        flask_worker = [str(BIN / "flask"), "jobs", "worker"]
        if args.dispatcher:  # as compose: the events' dispatch and the login codes each in a worker that does not fork
            unforked = (DISPATCH_QUEUE, "otp")
            forked = [part for name in QUEUE_NAMES if name not in unforked for part in ("--queue", name)]
            commands = [[*flask_worker, *forked], *([*flask_worker, "--queue", name, "--simple"] for name in unforked)]
        else:
            commands = [flask_worker, flask_worker]
        workers = [
            processes.start(f"worker {n}", command, env, RESULTS / f"worker{n}.log")
            for n, command in enumerate(commands)
        ]
        results["rq_workers"] = [" ".join(["flask", *command[1:]]) for command in commands]
        wait_http(f"http://127.0.0.1:{SMS_PORT}/health")
        wait_http(f"http://127.0.0.1:{APP_PORT}/health")
        wait_http(f"http://127.0.0.1:{BASELINE_PORT}/api/v1/orders?page_size=1")
        sampler = RssSampler({"app": app.pid, "baseline": base.pid})
        sampler.start()
        usage = measure.Usage(
            {"app": [app.pid], "baseline": [base.pid], "rq workers": [w.pid for w in workers]},
            urlsplit(args.database_url).path.lstrip("/"),
        )
        hosts = {"app": f"http://127.0.0.1:{APP_PORT}", "baseline": f"http://127.0.0.1:{BASELINE_PORT}"}
        app_host = hosts["app"]
        phases = results["phases"]

        def save() -> None:
            (RESULTS / "results.json").write_text(json.dumps(results, default=str))

        def phase(*a, **kw):
            sampler.phase = a[0]
            phases.append(locust(args, env, usage, *a, **kw))
            save()

        def wrk_phase(name: str, endpoint: str, seconds: int) -> dict:
            sampler.phase = name
            server, lines = endpoint_requests(json.loads((RESULTS / "fixture.json").read_text()))[endpoint]
            probe(hosts[server], lines[0])
            print(f"[{datetime.now():%H:%M:%S}] {name}: wrk, {len(lines)} different requests, {seconds} s", flush=True)
            run = measure.wrk(hosts[server], lines, usage, seconds=seconds, threads=args.wrk_threads,
                              connections=args.connections, workdir=RESULTS, name=name)  # fmt: skip
            return {"name": name, "scenario": endpoint, "server": server, **run}

        sampler.phase = "logins"
        log_everyone_in(app_host)
        logged_in = time.time()
        if args.endpoint_seconds:
            measure.need_wrk()
            wrk_phase("warm-up-baseline", "baseline", 3)
            wrk_phase("warm-up-app", "orders_list", 3)
            # The baseline before and after the endpoints: the ratio uses their mean; a drift between them is told.
            for endpoint in ["baseline", *ENDPOINTS, "baseline"]:
                name = f"endpoint-{endpoint}" if endpoint != "baseline" else f"baseline-{1 + len(results['baselines'])}"
                run = wrk_phase(name, endpoint, args.endpoint_seconds)
                results["baselines" if endpoint == "baseline" else "reads"].append(run)
                print(f"  {run['rps']:.0f} req/s, p95 {run['p95']:.1f} ms, wrk CPU {run['cpu']['generator']:.1f} s",
                      flush=True)  # fmt: skip
                save()
            rates = [b["rps"] for b in results["baselines"]]
            if max(rates) > 1.5 * min(rates):
                print(f"  the baseline moved from {rates[0]:.0f} to {rates[-1]:.0f} req/s (over 1.5×): the machine "
                      "changed during the endpoint runs; the report flags it, measure again", flush=True)  # fmt: skip
        if args.write_rounds:
            if time.time() - logged_in > 600:  # the tokens live 15 minutes; the write client does not log in again
                sampler.phase = "logins"
                log_everyone_in(app_host)
            sampler.phase = "writes-alone"
            print(f"[{datetime.now():%H:%M:%S}] writes alone: {args.write_rounds} orders, one request at a time",
                  flush=True)  # fmt: skip
            command = [sys.executable, "bench/write_steps.py", "--host", app_host, "--fixture",
                       str(RESULTS / "fixture.json"), "--rounds", str(args.write_rounds)]  # fmt: skip
            run = measure.measured(command, usage, log=RESULTS / "writes-alone.log")
            line = next((x for x in run.pop("stdout").splitlines() if x.startswith("WRITES_JSON ")), None)
            if line is None:
                raise SystemExit(f"bench/write_steps.py failed: see {RESULTS / 'writes-alone.log'}")
            results["writes_alone"] = {**json.loads(line.removeprefix("WRITES_JSON ")), **run}
            save()
        if args.steps_seconds:
            # Twelve people (3 managers, 4 florists, 5 couriers) at 2 requests a second each: latency, not load.
            phase("steps", "steps", host=app_host, users=12, seconds=args.steps_seconds, per_user=2)
        for share in args.load_steps:
            phase(f"load-{share}", "mix", host=app_host, users=192, seconds=args.load_step_seconds,
                  rate=args.rate * share / 100)  # fmt: skip
        if args.duration:
            sampler.phase = "logins"
            log_everyone_in(app_host)
            phase("mix", "mix", host=app_host, users=192, seconds=args.duration, rate=args.rate)
        sampler.phase = "after"
        results["queue_left"] = drain_queues(env)
        results["invariants"] = invariants.check(args.database_url)
        results["errors_in_logs"] = {
            name: sum(1 for line in (RESULTS / f"{name}.log").read_text().splitlines() if "Traceback" in line)
            for name in ("app", "baseline", *(f"worker{n}" for n in range(len(workers))))
        }
    finally:
        if sampler:
            sampler.stopping.set()
            results["rss"] = sampler.samples
        processes.stop()
    results.update(
        data={**data, "sizes": sizes}, args=vars(args), finished=datetime.now(UTC).isoformat(), machine=machine()
    )
    (RESULTS / "results.json").write_text(json.dumps(results, default=str, indent=1))
    return results


def machine() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "?")
    memory = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in line)
    postgres = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version"], capture_output=True, text=True
    ).stdout.strip()
    return {"cpu": model, "nproc": os.cpu_count(), "memory_gb": round(int(memory) / 2**20, 1), "postgres": postgres,
            "python": sys.version.split()[0]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=peak_data.DEFAULT_URL)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--fresh", action="store_true", help="generate the data again even if it is there")
    parser.add_argument("--redis-db", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (WEB_CONCURRENCY)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (GUNICORN_THREADS)")
    parser.add_argument(
        "--dispatcher",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the RQ workers as compose runs them: one on `status` and one on `otp` without forking, one forking on "
        "the rest (--no-dispatcher: two forking workers on every queue)",
    )
    parser.add_argument("--connections", type=int, default=8, help="wrk's connections (-c) in the endpoint runs")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk's threads (-t) in the endpoint runs")
    parser.add_argument("--endpoint-seconds", type=int, default=20, help="seconds of each wrk run; 0 skips them")
    parser.add_argument("--write-rounds", type=int, default=200, help="orders walked through one request at a time")
    parser.add_argument("--steps-seconds", type=int, default=60)
    parser.add_argument(
        "--load-steps",
        type=int,
        nargs="*",
        default=[10, 20, 35, 50, 55, 60, 65, 80],
        help="%% of --rate, before the mix (55 and 60: the target of 150 a second lies between them)",
    )
    parser.add_argument("--load-step-seconds", type=int, default=40)
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--duration", type=int, default=600, help="seconds of the March 8 mix; 0 skips it")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--report-to", type=Path, default=None, help="the report's file (docs/performance.md)")
    args = parser.parse_args()
    if args.workers < 1 or args.threads < 1:
        raise SystemExit("--workers and --threads take 1 or more")
    if args.redis_db == 15:
        raise SystemExit("Redis database 15 belongs to the tests; pick another --redis-db")
    if not args.report_only:
        run(args)
        # Profiles after the load, in-process, on the same data (pyinstrument): written to bench/.results.
        subprocess.run([sys.executable, "bench/profile_endpoints.py"], cwd=ROOT, env=server_env(args), check=False)
    from bench import peak_report

    peak_report.write(json.loads((RESULTS / "results.json").read_text()), args.report_to or peak_report.DOC)


if __name__ == "__main__":
    main()
