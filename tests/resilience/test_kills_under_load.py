"""Under load, with its processes SIGKILLed in turn, every client operation ends with its one true answer.

The production stack runs here as it is deployed: gunicorn with the repo's gunicorn.conf.py (two
workers), two `flask jobs worker` processes (each forks a work horse per job), `rq cron
app/jobs/cron.py`, and a stand-in SMS.RU on a local port. Client threads walk orders through the
day (create, confirm, the florist's claim/start/complete, a courier assigned, pickup, deliver),
retrying each step with its Idempotency-Key on a dropped connection or a 5xx, as the apps do.
Meanwhile a gunicorn worker, an RQ worker with its work horse, and the cron process are killed in
turn, as an OOM kill or a lost container does; gunicorn's master restarts its worker, and a new RQ
worker and cron process start as a supervisor would start them.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask_jwt_extended import create_access_token
from sqlalchemy import func, select

from app.extensions import db
from app.messaging.models import MessageLog
from app.messaging.recovery import UNKNOWN_OUTCOME
from app.orders.models import Order, OrderStatusChange
from app.slots.models import SlotBooking
from app.warehouse.models import Item
from bench import invariants
from tests.factories import MembershipFactory, UserFactory
from tests.messaging.stub_server import Answer, Received, StubServer, smsru_status
from tests.orders.orderdata import MORNING, delivery, open_shop

pytestmark = pytest.mark.committed

ROOT = Path(__file__).resolve().parents[2]
SECRET = "kills-under-load-" + "s3cr3t" * 6
CLIENTS = 4
LOAD_SECONDS = 24  # clients start new orders for this long; kills run meanwhile
KILL_EVERY = 4
STEP_DEADLINE = 60  # a client retries one step for at most this long
TAKEN = {"status": "OK", "status_code": 100}
# The message time a send may run (MESSAGE_SEND_TIMEOUT): a send whose worker died is settled soon after it.
SEND_TIMEOUT = "10"
DELIVERED_PATH = [
    (None, "new"),
    ("new", "confirmed"),
    ("confirmed", "in_production"),
    ("in_production", "ready"),
    ("ready", "out_for_delivery"),
    ("out_for_delivery", "delivered"),
]


# --- the stack -------------------------------------------------------------------------------


def stack_env(sms_url: str) -> dict[str, str]:
    """The operator's production settings, on the test database and Redis."""
    return {
        **os.environ,
        "APP_ENV": "production",
        "FLASK_APP": "wsgi.py",
        "PYTHON_DOTENV_DISABLED": "1",
        "DATABASE_URL": os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
        "REDIS_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
        "JWT_SECRET_KEY": SECRET,
        "SECRET_KEY": SECRET,
        "SMS_PROVIDER": "smsru",
        "SMSRU_API_URL": sms_url,
        "SMSRU_API_ID": "test-api-id",
        "WEB_CONCURRENCY": "2",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def children_of(pid: int) -> list[int]:
    """The live child processes of `pid` (gunicorn's workers, an RQ worker's work horse)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it ended meanwhile
        fields_after_name = stat.rsplit(")", 1)[1].split()
        if int(fields_after_name[1]) == pid and fields_after_name[0] != "Z":
            found.append(int(entry.name))
    return found


def serving(pid: int, port: int) -> bool:
    """Whether the process holds a client's connection to `port` now: a gunicorn worker mid-request."""
    sockets = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):  # closed meanwhile
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    sockets.add(link[len("socket:[") : -1])
    except OSError:
        return False  # it ended meanwhile
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, _remote, state, *rest = line.split()[1:]
        if state == "01" and int(local.split(":")[1], 16) == port and rest[5] in sockets:  # 01: established
            return True
    return False


def free_port() -> int:
    """A port the OS says is free now (gunicorn binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sigkill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@dataclass
class Stack:
    env: dict[str, str]
    logs: Path
    processes: list[subprocess.Popen] = field(default_factory=list)
    gunicorn: subprocess.Popen | None = None
    workers: list[subprocess.Popen] = field(default_factory=list)
    cron: subprocess.Popen | None = None
    port: int = field(default_factory=free_port)
    killed: Counter = field(default_factory=Counter)

    def _start(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}-{len(self.processes)}.log", "wb")  # noqa: SIM115 (kept open while it runs)
        env = {**self.env, "GUNICORN_BIND": f"127.0.0.1:{self.port}"}
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def start(self) -> None:
        bin_dir = Path(sys.executable).parent
        self.gunicorn = self._start("gunicorn", [str(bin_dir / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"])
        self.workers = [self.start_worker(), self.start_worker()]
        self.start_cron()
        deadline = time.monotonic() + 90  # four app imports at once on a busy machine
        while len(children_of(self.gunicorn.pid)) < 2 or not self.healthy():
            log = (self.logs / "gunicorn-0.log").read_text()
            assert self.gunicorn.poll() is None, "gunicorn stopped:\n" + log
            assert time.monotonic() < deadline, "gunicorn's workers did not come up:\n" + log
            time.sleep(0.2)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=5) as answer:
                return answer.status == 200
        except OSError:
            return False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_worker(self) -> subprocess.Popen:
        return self._start("worker", [sys.executable, "-m", "flask", "jobs", "worker"])

    def start_cron(self) -> None:
        rq = str(Path(sys.executable).with_name("rq"))
        self.cron = self._start("cron", [rq, "cron", "app/jobs/cron.py", "--url", self.env["REDIS_URL"]])

    def kill_gunicorn_worker(self) -> None:
        """One of gunicorn's workers dies mid-request; its master starts another."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            busy = [pid for pid in children_of(self.gunicorn.pid) if serving(pid, self.port)]
            if busy:
                sigkill(random.choice(busy))
                self.killed["gunicorn worker"] += 1
                return
            time.sleep(0.01)

    def kill_rq_worker(self) -> None:
        """An RQ worker and its work horse die together (preferably mid-job); a supervisor starts a new one."""
        worker = self.workers.pop(0)
        deadline = time.monotonic() + 5
        while not (horses := children_of(worker.pid)) and time.monotonic() < deadline:
            time.sleep(0.02)
        for pid in [worker.pid, *horses]:
            sigkill(pid)
        worker.wait(timeout=10)
        self.killed["rq worker"] += 1
        self.killed["work horse"] += len(horses)
        self.workers.append(self.start_worker())

    def kill_cron(self) -> None:
        sigkill(self.cron.pid)
        self.cron.wait(timeout=10)
        self.killed["rq cron"] += 1
        self.start_cron()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                sigkill(process.pid)
                process.wait(timeout=10)
        for process in self.processes:  # a horse orphaned by a killed worker
            for pid in children_of(process.pid):
                sigkill(pid)


class SmsRu:
    """The stand-in's memory: a new message id for every message it takes, and each id's status on request."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    def route(self, received: Received) -> Answer | None:  # called under the stub's lock
        if received.path.startswith("/sms/status"):
            known = received.form.get("sms_id") in self.ids
            return Answer(200, smsru_status(103 if known else -1, "delivered" if known else "no such message"))
        sms_id = f"{len(self.ids) + 1:06d}-{received.form['to']}"
        self.ids.add(sms_id)
        return Answer(
            200, {"status": "OK", "status_code": 100, "sms": {received.form["to"]: {**TAKEN, "sms_id": sms_id}}}
        )


# --- the clients -----------------------------------------------------------------------------


@dataclass
class Operation:
    """One user action, sent with one key until it has an answer."""

    name: str
    method: str
    path: str
    token: str
    key: str | None
    body: dict | None
    status: int = 0
    answer: bytes = b""
    tries: int = 0

    @property
    def json(self):
        return json.loads(self.answer)


def send(url: str, shop_id: int, op: Operation, *, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    headers = {"Authorization": f"Bearer {op.token}", "X-Shop-Id": str(shop_id)}
    data = None
    if op.key:
        headers["Idempotency-Key"] = op.key
    if op.body is not None:
        data = json.dumps(op.body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url + op.path, data=data, method=op.method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), refused.read()


class Client(threading.Thread):
    """A phone app: walks orders through the day, retrying each step with its key as apps do."""

    def __init__(self, index: int, stack: Stack, world: dict, stop: threading.Event):
        super().__init__(daemon=True, name=f"client-{index}")
        self.index, self.stack, self.world, self.stop = index, stack, world, stop
        self.operations: list[Operation] = []
        self.orders: list[tuple[str, int, str]] = []  # (create key, order id, the customer's phone)
        self.failure: str | None = None

    def call(self, op: Operation) -> Operation:
        self.operations.append(op)
        deadline = time.monotonic() + STEP_DEADLINE
        while True:
            op.tries += 1
            try:
                op.status, _headers, op.answer = send(self.stack.url, self.world["shop_id"], op)
            except OSError:  # the connection dropped (a worker died) or was refused meanwhile
                op.status, op.answer = 0, b""
            if 0 < op.status < 500:
                return op
            if time.monotonic() > deadline:
                raise AssertionError(f"{op.name} {op.path} had no answer after {op.tries} tries ({op.status})")
            time.sleep(0.2)

    def step(self, name: str, path: str, role: str, key: str | None, body: dict | None = None) -> Operation:
        token = self.world["tokens"][role][self.index]
        op = self.call(Operation(name, "POST" if key else "GET", path, token, key, body))
        if op.status not in (200, 201):
            raise AssertionError(f"{name} {path}: {op.status} {op.answer[:300]!r}")
        return op

    def walk(self, n: int) -> None:
        key = f"c{self.index}-o{n}-{random.getrandbits(32):08x}"
        phone = f"+7926{self.index:02d}{n:05d}"
        body = {
            **self.world["order"],
            "customer": {"name": f"Client {self.index}/{n}", "phone": phone},
            "comment": f"bench-key:{key}",  # the marker bench/invariants.py counts doubled creates by
        }
        created = self.step("create", "/api/v1/orders", "manager", f"{key}:create", body)
        order_id = created.json["id"]
        self.orders.append((key, order_id, phone))
        self.step("confirm", f"/api/v1/orders/{order_id}/status", "manager", f"{key}:confirm", {"status": "confirmed"})
        tasks = self.step("tasks", f"/api/v1/production-tasks?order_id={order_id}", "florist", None).json
        for task in tasks:
            for move in ("claim", "start", "complete"):
                path = f"/api/v1/production-tasks/{task['id']}/{move}"
                self.step(move, path, "florist", f"{key}:{task['id']}:{move}")
        assignment = {"courier_id": self.world["couriers"][self.index]}
        self.step("assign", f"/api/v1/orders/{order_id}/courier", "manager", f"{key}:assign", assignment)
        self.step("pickup", f"/api/v1/courier/deliveries/{order_id}/pickup", "courier", f"{key}:pickup")
        self.step("deliver", f"/api/v1/courier/deliveries/{order_id}/deliver", "courier", f"{key}:deliver", {})

    def run(self) -> None:
        n = 0
        try:
            while not self.stop.is_set():
                self.walk(n)
                n += 1
        except Exception as exc:  # the main thread reports it
            self.failure = f"{self.name}: {exc}"


# --- the test --------------------------------------------------------------------------------


def staff(shop, role: str) -> list:
    people = [UserFactory() for _ in range(CLIENTS)]
    for person in people:
        MembershipFactory(user=person, shop=shop, role=role)
    return people


def test_every_operation_ends_with_its_one_true_answer_while_processes_are_killed(app, shop, tmp_path, monkeypatch):
    shop.settings = {**(shop.settings or {}), "order_status_messages": True}
    front = open_shop(shop, roses=2000, ferns=400, capacity=500)
    people = {role: staff(shop, role) for role in ("manager", "florist", "courier")}
    db.session.commit()
    monkeypatch.setitem(app.config, "JWT_SECRET_KEY", SECRET)  # tokens the stack accepts
    world = {
        "shop_id": shop.id,
        "order": delivery(front),  # a bouquet tomorrow morning
        "tokens": {role: [create_access_token(identity=p) for p in group] for role, group in people.items()},
        "couriers": [p.id for p in people["courier"]],
    }
    rose_before = db.session.get(Item, front.rose.id).on_hand

    smsru = SmsRu()
    with StubServer(route=smsru.route) as sms:
        stack = Stack(stack_env(sms.url), tmp_path)
        stop = threading.Event()
        clients = [Client(i, stack, world, stop) for i in range(CLIENTS)]
        try:
            began = time.monotonic()
            stack.start()
            print(f"stack up after {time.monotonic() - began:.1f} s", file=sys.stderr)
            for client in clients:
                client.start()
            kills = [stack.kill_gunicorn_worker, stack.kill_rq_worker, stack.kill_cron]
            load_ends = time.monotonic() + LOAD_SECONDS
            turn = 0
            while time.monotonic() < load_ends and not any(c.failure for c in clients):
                time.sleep(KILL_EVERY)
                kills[turn % len(kills)]()
                turn += 1
            stop.set()
            for client in clients:
                client.join(timeout=STEP_DEADLINE * 2)
            assert not any(c.is_alive() for c in clients), "a client hung"
            assert [c.failure for c in clients if c.failure] == []
            print(f"clients done after {time.monotonic() - began:.1f} s; killed {stack.killed}", file=sys.stderr)

            # Every operation's answer is the one the key keeps: sent again, it is replayed byte for byte.
            replays = Counter()
            for client in clients:
                for op in client.operations:
                    if op.key is None:
                        continue
                    status, headers, answer = send(stack.url, shop.id, op)
                    assert (status, answer) == (op.status, op.answer), f"{op.name} {op.path} answered otherwise"
                    replays[headers.get("Idempotent-Replayed")] += 1
            assert replays == Counter({"true": sum(1 for c in clients for op in c.operations if op.key)})

            orders = {order_id: (key, phone) for client in clients for key, order_id, phone in client.orders}
            deadline = time.monotonic() + 60  # the last orders' messages, and any send whose worker died
            while time.monotonic() < deadline and not _status_messages_settled(shop.id, 2 * len(orders)):
                time.sleep(0.5)
            print(f"messages settled after {time.monotonic() - began:.1f} s", file=sys.stderr)
            time.sleep(2)  # a second copy would arrive now
        finally:
            stop.set()
            stack.stop()
        received = Counter(r.form["to"] for r in sms.requests if r.path.startswith("/sms/send"))

    # The kills happened, under load.
    assert stack.killed["gunicorn worker"] >= 2 and stack.killed["rq worker"] >= 2 and stack.killed["rq cron"] >= 1
    assert len(orders) >= 3 * CLIENTS, f"only {len(orders)} orders walked through"
    assert sum(op.tries > 1 for c in clients for op in c.operations) > 0, "no client ever had to retry"

    # No order lost or doubled: one order per create key, the one its client was told, delivered once.
    db.session.expire_all()
    made = db.session.execute(select(Order.id, Order.comment, Order.status).where(Order.shop_id == shop.id)).all()
    assert {row.id: row.comment for row in made} == {i: f"bench-key:{key}" for i, (key, _phone) in orders.items()}
    assert {row.status for row in made} == {"delivered"}
    history = db.session.execute(
        select(OrderStatusChange.order_id, OrderStatusChange.from_status, OrderStatusChange.to_status).order_by(
            OrderStatusChange.id
        )
    ).all()
    paths: dict[int, list] = {}
    for row in history:
        paths.setdefault(row.order_id, []).append((row.from_status, row.to_status))
    assert all(path == DELIVERED_PATH for path in paths.values()) and paths.keys() == orders.keys()

    # The stock books are exact: every bouquet took 5 roses once, nothing is left reserved.
    assert invariants.check(app.config["SQLALCHEMY_DATABASE_URI"]) == dict.fromkeys(invariants.CHECKS, 0)
    rose = db.session.get(Item, front.rose.id)
    assert (rose.on_hand, rose.reserved) == (rose_before - 5 * len(orders), 0)
    taken = db.session.scalar(
        select(func.sum(SlotBooking.taken)).where(SlotBooking.shop_id == shop.id, SlotBooking.window_start == MORNING)
    )
    assert taken == len(orders)

    # No customer status message lost or doubled: one row per order and status, sent once; a send whose worker
    # died while SMS.RU answered (it may have arrived) is failed for a person to check, never sent twice.
    messages = db.session.execute(
        select(MessageLog.order_id, MessageLog.template, MessageLog.status, MessageLog.error).where(
            MessageLog.kind == "order_status"
        )
    ).all()
    templates = ("order_out_for_delivery", "order_delivered")
    assert sorted((m.order_id, m.template) for m in messages) == sorted((i, t) for i in orders for t in templates)
    unknown = [m for m in messages if m.status != "sent"]
    assert {(m.status, m.error) for m in unknown} <= {("failed", UNKNOWN_OUTCOME)}
    assert len(unknown) <= stack.killed["work horse"]
    for order_id, (_key, phone) in orders.items():
        sent = sum(m.status == "sent" for m in messages if m.order_id == order_id)
        maybe = sum(m.status != "sent" for m in messages if m.order_id == order_id)
        assert sent <= received[phone.lstrip("+")] <= sent + maybe, (order_id, received[phone.lstrip("+")])


def _status_messages_settled(shop_id: int, expected: int) -> bool:
    db.session.rollback()  # a fresh snapshot
    settled = db.session.scalar(
        select(func.count())
        .select_from(MessageLog)
        .where(
            MessageLog.shop_id == shop_id,
            MessageLog.kind == "order_status",
            MessageLog.status.in_(("sent", "failed")),
        )
    )
    return settled >= expected
