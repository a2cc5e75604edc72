"""500 live event streams beside the API's order steps: latency from commit to receipt, the API's throughput kept,
and the events service's memory. `make bench-events` (a benchmark, not a test); BENCH_ARGS="--write" writes
docs/events-benchmark.md.

A scratch database (bench_events), the API under gunicorn exactly as `make serve` starts it (gunicorn.conf.py),
the events service exactly as `make events` starts it (gunicorn.events.conf.py, gevent). wrk drives POST
/api/v1/orders (pickup orders over all shops, one event each) for --duration seconds with no stream open, then
again with --clients streams open (spread over --shops shops: managers and couriers; couriers receive none of the
order events). The stream clients are one asyncio process reading raw HTTP/1.0 (no per-event JSON parsing:
the latency is receipt time minus the event's `occurred_at`, which the API stamps before its commit, so it
over-states commit → receipt by the rest of the request).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import database_name, migrate, recreate_database  # noqa: E402

DOC = ROOT / "docs" / "events-benchmark.md"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_events"
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
SECRET = "bench-events-secret-0123456789-abcdefghijklmnop"
OCCURRED = re.compile(rb'"occurred_at":"([^"]+)"')
ID_LINE = re.compile(rb"^id: (\d+)$", re.M)


# --- the stream clients (a process of their own: `events_bench.py --clients FILE PORT`) ---------------------------


async def _one_client(
    port: int, token: str, shop_id: int, after: int, got: list, stats: dict, occurred: dict[int, float]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    writer.write(
        (
            f"GET /api/v1/events/stream?after={after} HTTP/1.0\r\nHost: bench\r\nAccept: text/event-stream\r\n"
            f"Authorization: Bearer {token}\r\nX-Shop-Id: {shop_id}\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        stats["refused"] += 1
        return
    stats["connected"] += 1
    last, buffer = 0, b""
    while chunk := await reader.read(65536):
        now = time.time()
        buffer += chunk
        frames, _, buffer = buffer.rpartition(b"\n\n")
        for frame in frames.split(b"\n\n"):
            found = ID_LINE.search(frame)
            if not found:
                continue
            position = int(found.group(1))
            if position <= last:
                stats["repeated"] += 1
            last = position
            at = occurred.get(position)
            if at is None:
                stamp = OCCURRED.search(frame).group(1).decode()
                at = occurred[position] = datetime.fromisoformat(stamp).timestamp()
            got.append((position, now - at))


async def _clients_main(spec_path: str, port: int) -> None:
    spec = json.loads(Path(spec_path).read_text())
    stats = {"connected": 0, "refused": 0, "repeated": 0, "clients": [[] for _ in spec["streams"]]}
    occurred: dict[int, float] = {}
    tasks = []
    for n, (token, shop_id) in enumerate(spec["streams"]):
        got = stats["clients"][n]
        tasks.append(asyncio.create_task(_one_client(port, token, shop_id, spec["after"], got, stats, occurred)))
        if n % 50 == 49:
            await asyncio.sleep(0.05)
    while stats["connected"] + stats["refused"] < len(spec["streams"]):
        await asyncio.sleep(0.1)
    print(json.dumps({"ready": stats["connected"], "refused": stats["refused"]}), flush=True)
    started = resource.getrusage(resource.RUSAGE_SELF)
    began = time.monotonic()
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # "stop"
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (used.ru_utime - started.ru_utime) + (used.ru_stime - started.ru_stime)
    latencies = [latency for got in stats["clients"] for _, latency in got]
    print(
        json.dumps(
            {
                "cpu_share": cpu / (time.monotonic() - began),
                "repeated": stats["repeated"],
                "received": [len(got) for got in stats["clients"]],
                "positions": [[p for p, _ in got] for got in stats["clients"]],
                "latencies": latencies,
            }
        ),
        flush=True,
    )
    for task in tasks:
        task.cancel()


# --- the run ------------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _env(args, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("GUNICORN_", "WEB_", "EVENTS_"))}
    env.update(
        APP_ENV="production",
        JWT_SECRET_KEY=SECRET,
        DATABASE_URL=args.database_url,
        REDIS_URL=args.redis_url,
        SMS_PROVIDER="smsru",
        SMSRU_API_ID="bench",
        SMSRU_API_URL="http://127.0.0.1:9",
        LOG_LEVEL="WARNING",
        PYTHON_DOTENV_DISABLED="1",
        **extra,
    )
    return env


def _wait_health(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"a server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
                connection.sendall(b"GET /health HTTP/1.0\r\n\r\n")
                if b" 200 " in connection.recv(100):
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"nothing answered /health on port {port}")


def _setup(args) -> tuple[list[tuple[str, int]], list[dict]]:
    """Shops with stock and products; stream users (managers, couriers) and one writer per shop. Their tokens."""
    from flask_jwt_extended import create_access_token

    from app import create_app
    from app.config import DevelopmentConfig
    from app.extensions import db
    from tests.factories import MembershipFactory, ShopFactory, UserFactory
    from tests.orders.orderdata import open_shop, pickup

    config = DevelopmentConfig()
    config.SQLALCHEMY_DATABASE_URI = args.database_url
    config.REDIS_URL = config.RATELIMIT_STORAGE_URI = args.redis_url
    config.JWT_SECRET_KEY = config.SECRET_KEY = SECRET
    config.LOG_LEVEL = "WARNING"
    app = create_app(config)
    streams, writers = [], []
    with app.app_context():
        per_shop = args.clients // args.shops
        for s in range(args.shops):
            shop = ShopFactory(name=f"Bench shop {s}")
            front = open_shop(shop, roses=1_000_000, ferns=1_000_000, capacity=100)
            writer = UserFactory()
            MembershipFactory(user=writer, shop=shop, role="manager")
            db.session.commit()
            body = pickup(front)
            writers.append({"token": create_access_token(identity=writer), "shop": shop.id, "body": json.dumps(body)})
            for n in range(per_shop):
                user = UserFactory()
                MembershipFactory(
                    user=user,
                    shop=shop,
                    role="courier" if n % args.couriers_every == 4 % args.couriers_every else "manager",
                )
                db.session.flush()
                streams.append((create_access_token(identity=user), shop.id))
            db.session.commit()
    return streams, writers


WRK_SCRIPT = """
local writers = %s
local n = 0
request = function()
  n = n + 1
  local w = writers[(n %% #writers) + 1]
  return wrk.format("POST", "/api/v1/orders", {["Authorization"] = "Bearer " .. w.token,
    ["X-Shop-Id"] = tostring(w.shop), ["Content-Type"] = "application/json"}, w.body)
end
done = function(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format("WRK %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration, bad,
    latency:percentile(50), latency:percentile(95)))
end
"""


def _lua_table(writers: list[dict]) -> str:
    def quote(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    items = [f"{{token = {quote(w['token'])}, shop = {w['shop']}, body = {quote(w['body'])}}}" for w in writers]
    return "{" + ", ".join(items) + "}"


def _wrk(args, port: int, script: Path) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(
        [
            "wrk",
            f"-t{args.wrk_threads}",
            f"-c{args.wrk_connections}",
            f"-d{args.duration}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(line for line in result.stdout.splitlines() if line.startswith("WRK "))
    requests, duration_us, bad, p50, p95 = (int(part) for part in line.split()[1:])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "requests": requests,
        "per_second": requests / (duration_us / 1e6),
        "bad": bad,
        "p50_ms": p50 / 1000,
        "p95_ms": p95 / 1000,
        "cpu_share": cpu / (duration_us / 1e6),
    }


def _rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (gunicorn's master and workers)."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(child) for child in children.read_text().split()]
    for each in pids:
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def _cpu_seconds(pid: int) -> float:
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(child) for child in children.read_text().split()]
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for each in pids:
        fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _pid_cpu(pid: int, *, reaped: bool = False) -> float:
    """CPU seconds of a process; with `reaped`, plus its children that ended (gunicorn's recycled workers)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if reaped else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [pid] + ([int(child) for child in children.read_text().split()] if children.exists() else [])


def _cpu_snapshot(url: str, groups: dict[str, int | None]) -> dict:
    """CPU seconds so far of each process tree, of PostgreSQL's backends serving the scratch database, and of
    the whole machine (busy jiffies), per pid so that a delta counts only what ran in between."""
    import psycopg2

    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        backends = [row[0] for row in cursor.fetchall()]
    snapshot: dict = {
        name: {each: _pid_cpu(each, reaped=each == pid) for each in _tree(pid)} for name, pid in groups.items() if pid
    }
    snapshot["postgres"] = {each: _pid_cpu(each) for each in backends}
    busy = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    snapshot["machine"] = {0: (sum(busy) - busy[3] - busy[4]) / os.sysconf("SC_CLK_TCK")}
    snapshot["at"] = time.monotonic()
    return snapshot


def _cpu_shares(before: dict, after: dict) -> dict[str, float]:
    """Cores used by each group between two snapshots."""
    seconds = after["at"] - before["at"]
    shares = {}
    for name, pids in after.items():
        if name == "at":
            continue
        old = before.get(name, {})
        shares[name] = round(sum(value - old.get(pid, 0.0) for pid, value in pids.items()) / seconds, 2)
    return shares


def _events_per_shop(url: str, since: int, until: int) -> dict[int, list[int]]:
    import psycopg2

    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT shop_id, position FROM events WHERE position > %s AND position <= %s ORDER BY position",
            (since, until),
        )
        rows = cursor.fetchall()
    out: dict[int, list[int]] = {}
    for shop_id, position in rows:
        out.setdefault(shop_id, []).append(position)
    return out


def _max_position(url: str) -> int:
    import psycopg2

    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(position), 0) FROM events")
        return cursor.fetchone()[0]


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run(args) -> dict:
    database_name(args.database_url)
    print("scratch database ...", flush=True)
    recreate_database(args.database_url)
    migrate(args.database_url)
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()
    streams, writers = _setup(args)
    work = Path(tempfile.mkdtemp(prefix="bench-events-"))
    script = work / "orders.lua"
    script.write_text(WRK_SCRIPT % _lua_table(writers))

    api_port, events_port = _free_port(), _free_port()
    api = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=_env(args, PORT=str(api_port)),
        stdout=subprocess.DEVNULL,
        stderr=(work / "api.log").open("wb"),
    )
    events = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.events.conf.py", "events_wsgi:app"],
        cwd=ROOT,
        env=_env(args, EVENTS_PORT=str(events_port)),
        stdout=subprocess.DEVNULL,
        stderr=(work / "events.log").open("wb"),
    )
    clients = None
    try:
        _wait_health(api_port, api)
        _wait_health(events_port, events)
        print(f"load average before: {os.getloadavg()}", flush=True)
        _wrk(argparse.Namespace(**{**vars(args), "duration": 5}), api_port, script)  # warm-up
        idle_rss = _rss_mb(events.pid)
        alone_runs, loaded_runs, checks, alone_cpu, loaded_cpu = [], [], [], [], []
        connected_rss = loaded_rss = events_cpu_total = events_wall = 0.0
        # Alternating rounds, so the other work on a shared machine weighs on both sides alike.
        for round_number in range(args.rounds):
            cpu_at = _cpu_snapshot(args.database_url, {"api": api.pid, "events": events.pid})
            alone_runs.append(_wrk(args, api_port, script))
            alone_cpu.append(
                _cpu_shares(cpu_at, _cpu_snapshot(args.database_url, {"api": api.pid, "events": events.pid}))
            )
            print(f"  cores used: {alone_cpu[-1]}", flush=True)
            time.sleep(2)  # the requests wrk left in flight commit before the streams' starting point is read
            print(f"round {round_number + 1}, wrk alone: {alone_runs[-1]}", flush=True)
            since = _max_position(args.database_url)  # the streams start here; the events after it are the round's
            (work / "clients.json").write_text(json.dumps({"streams": streams, "after": since}))
            clients = subprocess.Popen(
                [sys.executable, __file__, "--clients-of", str(work / "clients.json"), "--port", str(events_port)],
                preexec_fn=lambda: os.nice(args.clients_nice),  # they stand in for browsers on other machines
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            ready = json.loads(clients.stdout.readline())
            time.sleep(2)
            connected_rss = max(connected_rss, _rss_mb(events.pid))
            cpu_before, began = _cpu_seconds(events.pid), time.monotonic()
            groups = {"api": api.pid, "events": events.pid, "clients": clients.pid}
            cpu_at = _cpu_snapshot(args.database_url, groups)
            loaded_runs.append(_wrk(args, api_port, script))
            loaded_cpu.append(_cpu_shares(cpu_at, _cpu_snapshot(args.database_url, groups)))
            print(f"  cores used: {loaded_cpu[-1]}", flush=True)
            time.sleep(3)  # the last events reach the streams
            events_cpu_total += _cpu_seconds(events.pid) - cpu_before
            events_wall += time.monotonic() - began
            loaded_rss = max(loaded_rss, _rss_mb(events.pid))
            clients.stdin.write("stop\n")
            clients.stdin.flush()
            report = json.loads(clients.stdout.readline())
            clients.wait(timeout=20)
            clients = None
            checks.append((since, _max_position(args.database_url), ready, report))
            print(f"round {round_number + 1}, wrk with {ready['ready']} streams: {loaded_runs[-1]}", flush=True)
    finally:
        for process in (clients, events, api):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (clients, events, api):
            if process is not None:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()

    per_shop = args.clients // args.shops
    couriers = sum(1 for n in range(len(streams)) if (n % per_shop) % 5 == 4)
    managers_complete = couriers_empty = repeated = 0
    latencies: list[float] = []
    round_latency = []
    client_cpu = []
    for since, until, _ready, report in checks:
        written = _events_per_shop(args.database_url, since, until)
        for n, ((_, shop_id), positions) in enumerate(zip(streams, report["positions"], strict=True)):
            if (n % per_shop) % 5 == 4:
                couriers_empty += positions == []
            elif positions == written.get(shop_id, []):
                managers_complete += 1
            elif os.environ.get("BENCH_DEBUG"):
                expected = written.get(shop_id, [])
                print(f"stream {n}: {len(positions)} of {len(expected)}", sorted(set(expected) ^ set(positions))[:10])
        repeated += report["repeated"]
        latencies += report["latencies"]
        round_latency.append(
            {
                "p95_ms": round(_p(report["latencies"], 0.95) * 1000) if report["latencies"] else None,
                "max_ms": round(max(report["latencies"], default=0) * 1000),
                "over_1s": sum(1 for value in report["latencies"] if value > 1),
            }
        )
        client_cpu.append(report["cpu_share"])
        events_written = sum(len(v) for v in written.values())

    def total(runs: list[dict]) -> dict:
        seconds = sum(run["requests"] / run["per_second"] for run in runs)
        return {
            "per_second": sum(run["requests"] for run in runs) / seconds,
            "rounds": [round(run["per_second"], 1) for run in runs],
            "bad": sum(run["bad"] for run in runs),
            "p50_ms": statistics.median(run["p50_ms"] for run in runs),
            "p95_ms": max(run["p95_ms"] for run in runs),
            "cpu_share": statistics.fmean(run["cpu_share"] for run in runs),
        }

    return {
        "args": vars(args),
        "alone": total(alone_runs),
        "loaded": total(loaded_runs),
        "ready": checks[-1][2],
        "events_written": events_written,
        "deliveries": len(latencies),
        "managers": (len(streams) - couriers) * len(checks),
        "managers_complete": managers_complete,
        "couriers": couriers * len(checks),
        "couriers_empty": couriers_empty,
        "repeated": repeated,
        "latency": {
            "p50": _p(latencies, 0.50),
            "p95": _p(latencies, 0.95),
            "p99": _p(latencies, 0.99),
            "max": max(latencies) if latencies else float("nan"),
            "mean": statistics.fmean(latencies) if latencies else float("nan"),
        },
        "round_latency": round_latency,
        "cores_alone": alone_cpu,
        "cores_loaded": loaded_cpu,
        "clients_cpu_share": statistics.fmean(client_cpu),
        "events_cpu_share": events_cpu_total / events_wall,
        "rss_mb": {"idle": idle_rss, "connected": connected_rss, "loaded": loaded_rss},
        "load_average": os.getloadavg(),
    }


def markdown(result: dict) -> str:
    a, lo, lat, rss = result["alone"], result["loaded"], result["latency"], result["rss_mb"]
    kept = lo["per_second"] / a["per_second"]
    args = result["args"]
    verdict = lambda ok: "**met**" if ok else "**missed**"  # noqa: E731
    complete = result["managers_complete"] == result["managers"] and not result["repeated"]
    rows = "\n".join(
        [
            f"| commit → client, p95 | < 1 s | {lat['p95'] * 1000:.0f} ms (p50 {lat['p50'] * 1000:.0f} ms, "
            f"p99 {lat['p99'] * 1000:.0f} ms, max {lat['max'] * 1000:.0f} ms) | {verdict(lat['p95'] < 1)} |",
            f"| API throughput kept | ≥ 90 % | {kept * 100:.0f} % ({lo['per_second']:.1f} vs {a['per_second']:.1f} "
            f"orders/s alone; rounds: {a['rounds']} alone, {lo['rounds']} with streams) | {verdict(kept >= 0.9)} |",
            f"| every manager stream got every event of its shop once, in order (all rounds) | all | "
            f"{result['managers_complete']} of {result['managers']}; {result['repeated']} repeated "
            f"| {verdict(complete)} |",
            f"| courier streams got none of the order events | all | {result['couriers_empty']} of "
            f"{result['couriers']} | {verdict(result['couriers_empty'] == result['couriers'])} |",
        ]
    )
    return f"""# Live event stream: 500 clients beside the order steps

`make bench-events` (`bench/events_bench.py`; a benchmark, not a test). A scratch database `bench_events`;
the API under gunicorn as `make serve` ships it (gunicorn.conf.py: 2 gthread workers × 4 threads); the events
service as `make events` ships it (gunicorn.events.conf.py: 1 gevent worker). wrk ({args["wrk_threads"]} thread,
{args["wrk_connections"]} connections) POSTs pickup orders (`POST /api/v1/orders`, one `order.created` event
each) round-robin over {args["shops"]} shops, in {args["rounds"]} alternating rounds of {args["duration"]} s: with no
stream open, then with {result["ready"]["ready"]} streams open ({result["managers"] // args["rounds"]} managers, who
receive every order event of their shop, and {result["couriers"] // args["rounds"]} couriers, who receive none),
read by one asyncio process. Latency is receipt time minus the event's `occurred_at` (stamped before the commit,
so it over-states commit → receipt).

| | target | measured | |
|---|---|---|---|
{rows}

- Events written in the last round: {result["events_written"]}; deliveries to streams, all rounds:
  {result["deliveries"]}. Latency per round: {result["round_latency"]}.
- API order latency (wrk): alone p50 {a["p50_ms"]:.0f} ms / p95 {a["p95_ms"]:.0f} ms; with the streams p50
  {lo["p50_ms"]:.0f} ms / p95 {lo["p95_ms"]:.0f} ms. Non-2xx or socket errors: {a["bad"]} alone,
  {lo["bad"]} with streams.
- Events service memory (RSS, master + worker): {rss["idle"]:.0f} MB idle, {rss["connected"]:.0f} MB with the
  streams open, {rss["loaded"]:.0f} MB after the loaded run; its CPU during the run:
  {result["events_cpu_share"] * 100:.0f} % of one core.
- Load generators' CPU: wrk {lo["cpu_share"] * 100:.0f} % of one core, the stream clients
  {result["clients_cpu_share"] * 100:.0f} % of one core (both on the same 2 cores as the servers and PostgreSQL).
- Cores used during each wrk run (API = gunicorn master and workers; postgres = the backends of the scratch
  database; machine = every process, the other work on this host included): alone {result["cores_alone"]}; with
  the streams {result["cores_loaded"]}.
- What else ran: PostgreSQL and Redis on the same host, and other developers' work on this shared machine (load
  average at the end {result["load_average"][0]:.1f} on {os.cpu_count()} cores).

Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--shops", type=int, default=10)
    parser.add_argument("--duration", type=int, default=20, help="seconds of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of (wrk alone, wrk with the streams)")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--wrk-connections", type=int, default=8)
    parser.add_argument("--clients-nice", type=int, default=0, help="the stream clients' CPU priority (nice)")
    parser.add_argument("--couriers-every", type=int, default=5, help="every Nth stream is a courier's")
    parser.add_argument("--write", action="store_true", help=f"write {DOC.relative_to(ROOT)}")
    parser.add_argument("--clients-of", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.clients_of:
        asyncio.run(_clients_main(args.clients_of, args.port))
        return
    result = run(args)
    text = markdown(result)
    print(text)
    if args.write:
        DOC.write_text(text)
        print(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
