"""End to end: a real RQ worker process sends the code to a stub SMS.RU; the courier logs in with it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rq.registry import FailedJobRegistry
from sqlalchemy import select

from app.auth import otp
from app.extensions import db, queues
from app.messaging.models import MessageLog
from tests.factories import MembershipFactory, UserFactory
from tests.messaging.stub_server import SMSRU_UNAVAILABLE, StubServer, smsru_sent

pytestmark = pytest.mark.committed  # the worker process reads the rows over its own connection

REPO = Path(__file__).resolve().parents[2]
REQUEST = "/api/v1/auth/otp/request"
VERIFY = "/api/v1/auth/otp/verify"
ME = "/api/v1/auth/me"


@pytest.fixture
def sms(app, monkeypatch):
    """SMS.RU is a stub server; the web side queues SMS, and retries come 1 s apart."""
    with StubServer() as stub:
        monkeypatch.setitem(app.config, "SMS_PROVIDER", "smsru")
        monkeypatch.setitem(app.config, "MESSAGE_RETRY_INTERVALS", [1, 1])
        yield stub


@pytest.fixture
def courier(shop):
    user = UserFactory(password_hash=None, language="ru")
    MembershipFactory(user=user, shop=shop, role="courier")
    db.session.commit()
    return user


class Worker:
    """The app's RQ worker as a process of its own (`flask jobs worker`), on the test's database and Redis."""

    def __init__(self, app, stub: StubServer, tmp_path: Path):
        self.env = {
            **os.environ,
            "APP_ENV": "testing",
            "FLASK_APP": "wsgi.py",
            "TEST_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "TEST_REDIS_URL": app.config["REDIS_URL"],
            "SMSRU_API_URL": stub.url,
            "SMSRU_API_ID": "e2e-api-id",
        }
        self.log_path = tmp_path / "worker.log"

    @property
    def output(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def burst(self) -> None:
        """`--burst`: work until the queues are empty, then exit."""
        with self.log_path.open("a") as log:
            run = subprocess.run(
                [sys.executable, "-m", "flask", "jobs", "worker", "--burst"],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=120,
            )
        assert run.returncode == 0, self.output[-3000:]

    def serve_until_settled(self, message_id: int, *, deadline_seconds: float = 60) -> MessageLog:
        """A long-running worker (its scheduler brings back retries after their backoff), stopped with
        SIGTERM once the message is sent or failed."""
        with self.log_path.open("a") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "flask", "jobs", "worker"],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                deadline = time.monotonic() + deadline_seconds
                while time.monotonic() < deadline and process.poll() is None:
                    db.session.expire_all()
                    message = db.session.get(MessageLog, message_id)
                    if message.status in ("sent", "failed"):
                        break
                    time.sleep(0.2)
            finally:
                process.terminate()  # a warm shutdown: the job in hand finishes first
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        db.session.expire_all()
        return db.session.get(MessageLog, message_id)


def ask_for_code(http, phone: str) -> int:
    response = http.post(REQUEST, json={"phone": phone})
    assert response.status_code == 202
    return db.session.scalars(select(MessageLog.id)).one()


def code_in(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


def test_a_worker_process_sends_the_code_and_the_courier_logs_in_with_it(app, client, courier, sms, tmp_path):
    sms.always(200, smsru_sent)
    phone = courier.phone
    message_id = ask_for_code(client, phone)

    worker = Worker(app, sms, tmp_path)
    worker.burst()
    db.session.expire_all()
    message = db.session.get(MessageLog, message_id)

    (received,) = sms.requests
    assert received.path == "/sms/send"
    assert received.form["api_id"] == "e2e-api-id"
    assert received.form["to"] == phone.lstrip("+")
    assert received.form["json"] == "1"
    code = code_in(received.form["msg"])
    assert (message.status, message.attempts, message.channel) == ("sent", 1, "sms")
    assert message.provider_message_id == smsru_sent(received)["sms"][received.form["to"]]["sms_id"]

    login = client.post(VERIFY, json={"phone": phone, "code": code})
    assert login.status_code == 200
    me = client.get(ME, headers={"Authorization": f"Bearer {login.json['access_token']}"})
    assert me.status_code == 200 and me.json["id"] == courier.id
    assert "send otp" in worker.output  # the worker did run it
    assert code not in worker.output and phone not in worker.output


def test_the_worker_retries_until_smsru_takes_the_message(app, client, courier, sms, tmp_path):
    sms.then(500, "Internal Server Error", times=2).always(200, smsru_sent)
    phone = courier.phone
    message_id = ask_for_code(client, phone)

    worker = Worker(app, sms, tmp_path)
    message = worker.serve_until_settled(message_id)

    assert len(sms.requests) == 3
    codes = {code_in(r.form["msg"]) for r in sms.requests}
    assert len(codes) == 1  # every try carries the same code
    code = codes.pop()
    assert (message.status, message.attempts, message.error) == ("sent", 3, None)
    assert client.post(VERIFY, json={"phone": phone, "code": code}).status_code == 200
    assert worker.output.count("will retry") == 2
    assert code not in worker.output and phone not in worker.output


def test_when_smsru_always_fails_the_message_ends_failed_after_every_try(app, client, courier, sms, tmp_path):
    sms.always(200, SMSRU_UNAVAILABLE)
    message_id = ask_for_code(client, courier.phone)
    (job,) = queues.get("otp").get_jobs()

    worker = Worker(app, sms, tmp_path)
    message = worker.serve_until_settled(message_id)

    assert len(sms.requests) == 3
    assert message.status == "failed"
    assert message.attempts == 3
    assert message.error == "SMS.RU refused the request: Сервис временно недоступен (code 220)"
    assert message.provider_message_id is None
    failed = FailedJobRegistry(queue=queues.get("otp"))
    assert job.id in failed
    # The failed job holds the code in clear: RQ drops it within minutes, not the week other messages keep.
    assert 0 < job.connection.ttl(job.key) <= otp.FAILED_SEND_KEPT_SECONDS
    assert failed.get_expiration_time(job) <= datetime.now(UTC) + timedelta(seconds=otp.FAILED_SEND_KEPT_SECONDS)
    worker.burst()  # a late run changes nothing
    assert len(sms.requests) == 3
