"""A real `flask jobs worker` SIGKILLed (with its work horse) while the receiver is answering: the delivery is
not lost. Its row keeps the attempt's lease; once that runs out the sweep hands it to a new job, which a
second worker delivers (at least once: the receiver sees the same webhook-id twice and keeps one)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.extensions import db
from app.webhooks import jobs
from app.webhooks.models import WebhookDelivery
from tests.orders.orderdata import delivery, open_shop, place
from tests.webhooks.conftest import register
from tests.webhooks.receiver import Answer

pytestmark = pytest.mark.committed  # the workers read the rows over their own connections

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 3  # WEBHOOK_TIMEOUT of the workers: the lease runs out TIMEOUT + LEASE_MARGIN s after the claim


def _descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, pending = [], [pid]
    while pending:
        children = parents.get(pending.pop(), [])
        found += children
        pending += children
    return found


class Workers:
    def __init__(self, app, log_path: Path):
        self.env = {
            **os.environ,
            "APP_ENV": "testing",
            "FLASK_APP": "wsgi.py",
            "PYTHONPATH": str(REPO),
            "TEST_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "TEST_REDIS_URL": app.config["REDIS_URL"],
            "WEBHOOK_TIMEOUT": str(TIMEOUT),
        }
        self.log_path = log_path
        self.processes: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        with self.log_path.open("a") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "flask", "jobs", "worker"],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """SIGKILL the worker and all it forked (the work horse is in a process group of its own)."""
        for pid in [process.pid, *_descendants(process.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    @property
    def output(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


def test_a_worker_killed_mid_delivery_still_delivers_after_the_sweep(app, shop, login, receiver, tmp_path):
    front = open_shop(shop)
    hook = register(login("admin"), receiver)
    receiver.script = [Answer(200, b"too late", delay=20)]  # the first attempt hangs until the worker is dead
    workers = Workers(app, tmp_path / "workers.log")
    try:
        first = workers.start()
        place(front, delivery(front))
        (held,) = receiver.wait_for(1, timeout=60)
        workers.kill(first)
        db.session.expire_all()
        row = db.session.scalars(select_delivery(hook["id"])).one()
        assert (row.status, row.attempts) == ("pending", 1)

        workers.start()
        deadline = time.monotonic() + 60
        while len(receiver.requests) < 2:
            assert time.monotonic() < deadline, workers.output[-4000:]
            jobs.sweep_deliveries()  # what rq cron runs every 10 s
            time.sleep(0.5)
        again = receiver.requests[1]
        assert again.id == held.id and again.verified_by == [hook["secret"]]
        while True:
            db.session.expire_all()
            row = db.session.scalars(select_delivery(hook["id"])).one()
            if row.status != "pending" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert (row.status, row.attempts, row.response_status) == ("succeeded", 2, 200)
    finally:
        workers.stop()


def select_delivery(endpoint_id: int):
    return db.select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
