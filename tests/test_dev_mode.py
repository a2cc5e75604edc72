"""The zero-setup dev mode, booted as `make run` boots it and walked as a new user would.

Real subprocesses of the venv's Python in the project directory, on a SQLite file under the
test's tmp_path, the in-process Redis emulation and inline jobs: migrate, seed the demo shop,
run the periodic scans, serve, log in as a demo admin, read /docs and /redoc with their assets.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.idempotency.models import IdempotencyRecord
from app.jobs.schedule import PERIODIC
from app.seed import DEMO_PASSWORD, DEMO_SHOP_NAME, DEMO_STAFF
from app.users.models import Role

PROJECT_DIR = Path(__file__).resolve().parent.parent
# What a child process may inherit from ours; the rest of a developer's shell (DATABASE_URL, SENTRY_DSN ...) stays out.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
ASSET_REF = re.compile(r'(?:src|href)="([^"]+)"')


@pytest.fixture(scope="module")
def dev_env(tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("dev-mode")
    env = {name: os.environ[name] for name in INHERITED if name in os.environ}
    env.update(
        {
            "APP_ENV": "development",
            "DATABASE_URL": f"sqlite:///{home / 'dev.db'}",
            "FLASK_APP": "wsgi.py",
            # A developer's .env must not point this walk at their database, Sentry or SMS account.
            "PYTHON_DOTENV_DISABLED": "1",
            "STORAGE_LOCAL_DIR": str(home / "media"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env  # REDIS_URL, RATELIMIT_STORAGE_URI and JOBS_INLINE keep the dev mode's defaults on purpose


@pytest.fixture(scope="module")
def first_seed(dev_env) -> str:
    """`make run`'s first two steps on a fresh machine; returns what `flask seed-demo` printed."""
    flask(dev_env, "db", "upgrade")
    seeded = flask(dev_env, "seed-demo")
    assert "Traceback" not in seeded.stderr, seeded.stderr  # the inline jobs (the events' dispatch ...) ran clean
    return seeded.stdout


def flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "flask", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Http:
    """Tiny HTTP client for the served app (the standard library: no extra dependency)."""

    def __init__(self, base_url: str):
        self.base_url = base_url

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()


@contextmanager
def running_dev_server(env: dict[str, str], log_path: Path) -> Iterator[tuple[int, Http]]:
    """`flask run` on a free port with `env`, answering /health; stopped at the end."""
    port = _free_port()
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "flask", "run", "--host", "127.0.0.1", "--port", str(port)],
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    http = Http(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, f"the dev server exited:\n{log_path.read_text()}"
            try:
                if http.request("GET", "/health")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, (
                f"the dev server did not answer /health in 30 s:\n{log_path.read_text()}"
            )
            time.sleep(0.1)
        yield port, http
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def dev_server(dev_env, first_seed, tmp_path) -> Iterator[Http]:
    """`flask run` on a free port, on the migrated and seeded database; stopped at the end."""
    with running_dev_server(dev_env, tmp_path / "server.log") as (_port, http):
        yield http


def test_migrate_builds_the_sqlite_database(dev_env, first_seed):
    database = dev_env["DATABASE_URL"].removeprefix("sqlite:///")
    with closing(sqlite3.connect(database)) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        version = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    assert {"shops", "users", "memberships", "audit_log"} <= tables
    assert len(version) == 1


def test_seed_demo_prints_the_logins_once(dev_env, first_seed):
    assert f"Seeded {DEMO_SHOP_NAME!r}" in first_seed
    assert DEMO_PASSWORD in first_seed
    for role, phone, _name, _email in DEMO_STAFF:
        assert re.search(rf"{role.value}\s+{re.escape(phone)}", first_seed), f"{role.value} missing:\n{first_seed}"

    second = flask(dev_env, "seed-demo").stdout
    assert "already seeded" in second
    assert "Seeded" not in second
    assert "Demo logins" in second  # the logins again: make run prints them on every start


def test_run_due_runs_every_periodic_scan_inline(dev_env, first_seed):
    # An expired idempotency key is what the purge scan removes: seeing it gone proves the job ran inline.
    records = IdempotencyRecord.__table__
    now = datetime.now(UTC)
    engine = sa.create_engine(dev_env["DATABASE_URL"])
    with engine.begin() as connection:
        connection.execute(
            records.insert(),
            [
                {"scope": "1/1", "key": key, "fingerprint": "f" * 64, "created_at": now, "expires_at": expires}
                for key, expires in (("stale", now - timedelta(hours=1)), ("fresh", now + timedelta(hours=23)))
            ],
        )

    output = flask(dev_env, "jobs", "run-due").stdout

    for periodic in PERIODIC:
        assert f"ran {periodic.func.__name__}" in output
    with engine.connect() as connection:
        assert connection.execute(sa.select(records.c.key)).scalars().all() == ["fresh"]
    engine.dispose()


def test_dev_server_logs_in_a_demo_admin_and_serves_the_docs_offline(dev_server):
    role, phone, name, _email = DEMO_STAFF[0]
    assert role is Role.ADMIN

    status, _headers, body = dev_server.request(
        "POST", "/api/v1/auth/login", {"login": phone, "password": DEMO_PASSWORD}
    )
    assert status == 200, body
    tokens = json.loads(body)
    assert tokens["token_type"] == "Bearer"

    status, _headers, body = dev_server.request("GET", "/api/v1/auth/me", token=tokens["access_token"])
    assert status == 200, body
    me = json.loads(body)
    assert (me["phone"], me["name"]) == (phone, name)
    assert [m["role"] for m in me["memberships"]] == ["admin"]

    status, _headers, body = dev_server.request("POST", "/api/v1/auth/login", {"login": phone, "password": "wrong"})
    assert status == 401

    status, headers, body = dev_server.request("GET", "/openapi.json")
    assert status == 200
    assert "/api/v1/auth/login" in json.loads(body)["paths"]

    for page in ("/docs", "/redoc"):
        status, headers, body = dev_server.request("GET", page)
        assert status == 200
        assert headers.get_content_type() == "text/html"
        assets = ASSET_REF.findall(body.decode())
        assert assets, f"{page} loads no script or style"
        for asset in assets:
            assert asset.startswith("/"), f"{page} loads {asset} from outside the app"
            status, _headers, content = dev_server.request("GET", asset)
            assert status == 200, f"{page} needs {asset}, which answers {status}"
            assert len(content) > 1000, f"{asset} is suspiciously small"


def test_dev_server_shows_an_order_card_with_its_lines_and_payments(dev_server):
    """SQLite reads an order's lines and payments in one statement as PostgreSQL does (app/common/shapes.py)."""
    _role, phone, _name, _email = DEMO_STAFF[0]
    status, _headers, body = dev_server.request(
        "POST", "/api/v1/auth/login", {"login": phone, "password": DEMO_PASSWORD}
    )
    token = json.loads(body)["access_token"]

    def call(method: str, path: str, payload: dict | None = None, expected: int = 200) -> dict:
        status, _headers, body = dev_server.request(method, f"/api/v1{path}", payload, token=token)
        assert status == expected, body
        return json.loads(body)

    tulip = call("POST", "/products", {"name": "Tulip", "price": "150.00", "needs_assembly": False}, 201)
    rose = call("POST", "/products", {"name": "Rose", "price": "200.00", "needs_assembly": False}, 201)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    order = call(
        "POST",
        "/orders",
        {
            "customer": {"name": "Pavel Ivanov", "phone": "+79163334455"},
            "fulfillment": "pickup",
            "delivery_date": tomorrow,
            "pickup_time": "12:00",
            "items": [{"product_id": tulip["id"], "quantity": 3}, {"product_id": rose["id"], "quantity": 1}],
            "source": "shop",
        },
        201,
    )
    call("POST", f"/orders/{order['id']}/payments", {"amount": "100.00", "method": "cash"}, 201)
    call("POST", f"/orders/{order['id']}/payments", {"amount": "50.00", "method": "card"}, 201)

    card = call("GET", f"/orders/{order['id']}")

    assert [(line["product_name"], line["quantity"], line["line_total"]) for line in card["items"]] == [
        ("Tulip", 3, "450.00"),
        ("Rose", 1, "200.00"),
    ]
    assert [(p["amount"], p["method"]) for p in card["payments"]] == [("100.00", "cash"), ("50.00", "card")]
    assert all(datetime.fromisoformat(p["created_at"]).tzinfo is not None for p in card["payments"])
    listed = call("GET", "/orders?page_size=10")
    assert [len(row["items"]) for row in listed if row["id"] == order["id"]] == [2]


def test_dev_server_walks_a_delivery_order_from_intake_to_the_door(dev_server):
    """SQLite speaks the statements a write step sends on PostgreSQL too: the date's windows and override in one
    read, the lines with their recipes, the stock locks, the trip made on first need, cash taken at the door."""
    tokens = {}
    for role, phone, _name, _email in DEMO_STAFF[1:]:
        _status, _headers, body = dev_server.request(
            "POST", "/api/v1/auth/login", {"login": phone, "password": DEMO_PASSWORD}
        )
        tokens[role.value] = json.loads(body)["access_token"]

    def call(role: str, method: str, path: str, payload: dict | None = None, expected: int = 200):
        status, _headers, body = dev_server.request(method, f"/api/v1{path}", payload, token=tokens[role])
        assert status == expected, (path, body)
        return json.loads(body)

    bouquet = next(p for p in call("manager", "GET", "/products?page_size=100") if p["needs_assembly"])
    day = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    window = next(w for w in call("manager", "GET", f"/delivery-slots?date={day}") if w["open"] and w["left"] > 0)
    order = call(
        "manager",
        "POST",
        "/orders",
        {
            "customer": {"name": "Olga Petrova", "phone": "+79165556677"},
            "recipient_name": "Olga Petrova",
            "fulfillment": "delivery",
            "address": "Moscow, Arbat 1",
            "delivery_date": day,
            "window_start": window["start"],
            "items": [{"product_id": bouquet["id"], "quantity": 1}],
        },
        201,
    )
    order_id = order["id"]
    assert call("manager", "POST", f"/orders/{order_id}/status", {"status": "confirmed"})["status"] == "confirmed"
    courier_id = call("courier", "GET", "/auth/me")["id"]
    assert (
        call("manager", "POST", f"/orders/{order_id}/courier", {"courier_id": courier_id})["courier_id"] == courier_id
    )
    [task] = call("florist", "GET", f"/production-tasks?order_id={order_id}")
    for step in ("claim", "start", "complete"):
        call("florist", "POST", f"/production-tasks/{task['id']}/{step}")
    assert call("courier", "POST", f"/courier/deliveries/{order_id}/pickup")["status"] == "out_for_delivery"
    delivered = call(
        "courier", "POST", f"/courier/deliveries/{order_id}/deliver", {"amount_collected": order["amount_due"]}
    )
    assert delivered["status"] == "delivered"
    card = call("manager", "GET", f"/orders/{order_id}")
    assert (card["status"], card["payment_status"], card["paid_amount"]) == ("delivered", "paid", order["amount_due"])
