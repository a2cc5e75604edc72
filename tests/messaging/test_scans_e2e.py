"""The scans end to end: rq cron's schedule, real RQ workers, and a stub SMS.RU that counts what arrives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as wall_time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rq.cron import CronScheduler
from rq.registry import StartedJobRegistry
from sqlalchemy import select, update

from app.extensions import db, queues, redis_client
from app.jobs.schedule import PERIODIC
from app.jobs.worker import build_worker
from app.messaging.models import MessageLog
from app.messaging.scans import scan_occasion_reminders, scan_stock_digests
from tests.factories import ShopFactory
from tests.messaging.conftest import BOT_TOKEN
from tests.messaging.factories import CustomerFactory, OccasionDateFactory
from tests.messaging.stub_server import smsru_sent, telegram_sent

ROOT = Path(__file__).resolve().parents[2]
TEN_IN_MOSCOW = datetime(2026, 3, 26, 7, 0, tzinfo=UTC)  # 26 March, three days before the 29th
EXPECTED_TEXT = "Лавка у дома: Анна, напоминаем, что 29 марта — день рождения мамы."


def customer_with_a_date(shop=None):
    shop = shop or ShopFactory(name="Лавка у дома", timezone="Europe/Moscow")
    customer = CustomerFactory(shop=shop, name="Анна", phone="+79261234567")
    return OccasionDateFactory(customer=customer, month=3, day=29, label="день рождения мамы")


def run_workers(app) -> None:
    build_worker(app, queues.all(), simple=True).work(burst=True)


def the_reminder() -> MessageLog:
    return db.session.scalars(select(MessageLog).where(MessageLog.kind == "occasion_reminder")).one()


def test_rq_cron_runs_the_scans_every_minute():
    scans = {p.func: p for p in PERIODIC if p.func in (scan_occasion_reminders, scan_stock_digests)}
    assert {(p.queue, p.interval, p.cron) for p in scans.values()} == {("default", 60, None)}


def test_a_reminder_arrives_once_through_cron_and_a_real_worker(app, sms_stub, monkeypatch):
    customer_with_a_date()
    db.session.commit()
    monkeypatch.setenv("APP_ENV", "testing")  # loading the schedule checks the settings, as `rq cron` does
    scheduler = CronScheduler(connection=redis_client.client)
    scheduler.load_config_from_file(str(ROOT / "app" / "jobs" / "cron.py"))
    assert {"scan_occasion_reminders", "scan_stock_digests"} <= {job.name for job in scheduler.get_jobs()}

    for minute in (3, 4):  # what `rq cron` does each minute, twice
        with time_machine.travel(TEN_IN_MOSCOW + timedelta(minutes=minute, seconds=30)):
            enqueued = {job.name for job in scheduler.enqueue_jobs()}
            assert {"scan_occasion_reminders", "scan_stock_digests"} <= enqueued
            run_workers(app)  # the scans run, then the send job they queued

    (received,) = sms_stub.requests
    assert received.form["to"] == "79261234567"
    assert received.form["msg"].startswith(EXPECTED_TEXT)
    message = the_reminder()
    assert (message.status, message.attempts, message.channel) == ("sent", 1, "sms")
    assert message.provider_message_id == smsru_sent(received)["sms"]["79261234567"]["sms_id"]


def test_a_send_job_enqueued_twice_and_scans_run_twice_send_once(app, sms_stub):
    customer_with_a_date()
    db.session.commit()

    scan_occasion_reminders(now=TEN_IN_MOSCOW)
    scan_occasion_reminders(now=TEN_IN_MOSCOW + timedelta(hours=3))
    (job,) = queues.get("messages").get_jobs()
    queues.get("messages").enqueue(job.func, *job.args)  # the same send, enqueued again
    run_workers(app)

    assert len(sms_stub.requests) == 1
    assert the_reminder().status == "sent"


def test_run_due_runs_the_scans_inline_and_the_worker_sends(app, sms_stub):
    customer_with_a_date()
    db.session.commit()

    with time_machine.travel(TEN_IN_MOSCOW, tick=False):
        result = app.test_cli_runner().invoke(args=["jobs", "run-due"])
    assert result.exit_code == 0, result.output
    assert "ran scan_occasion_reminders" in result.output and "ran scan_stock_digests" in result.output
    assert queues.get("default").count == 0  # the scans ran here, not on a worker
    assert queues.get("messages").count == 1

    run_workers(app)
    assert [r.form["msg"][: len(EXPECTED_TEXT)] for r in sms_stub.requests] == [EXPECTED_TEXT]


@pytest.mark.committed
def test_a_worker_killed_after_the_provider_answered_never_sends_again_by_itself(
    app, shop, sms_stub, manager, admin, monkeypatch
):
    monkeypatch.setitem(app.config, "MESSAGE_RETRY_INTERVALS", [0, 0])  # RQ re-queues an abandoned job at once
    customer_with_a_date(shop=shop)
    db.session.commit()
    scan_occasion_reminders(now=TEN_IN_MOSCOW)
    message_id = the_reminder().id

    workers: list[subprocess.Popen] = []
    # SMS.RU has the message: the worker dies before it reads the answer or marks the row sent.
    sms_stub.always(200, lambda received: kill(workers[0]) or smsru_sent(received))
    workers.append(worker := start_worker_process(sms_stub.url))
    worker.wait(timeout=60)
    assert worker.returncode == -signal.SIGKILL
    assert len(sms_stub.requests) == 1
    db.session.expire_all()
    assert the_reminder().status == "sending"

    # RQ notices the abandoned job and, with tries left, queues it again; another worker takes it.
    StartedJobRegistry(queue=queues.get("messages")).cleanup(timestamp=time.time() + 3600)
    assert queues.get("messages").count == 1
    sms_stub.always(200, smsru_sent)
    run_workers(app)
    assert len(sms_stub.requests) == 1  # claimed already: the second worker sent nothing
    db.session.expire_all()
    assert the_reminder().status == "sending"

    # Five minutes on it shows as stuck; only an admin's retry sends it again, knowing it may be a second copy.
    db.session.execute(
        update(MessageLog).where(MessageLog.id == message_id).values(updated_at=TEN_IN_MOSCOW - timedelta(hours=1))
    )
    db.session.commit()
    queues_view = manager.get("/api/v1/queues").get_json()
    assert [m["id"] for m in queues_view["stuck_messages"]] == [message_id]
    assert manager.post(f"/api/v1/notifications/{message_id}/retry").status_code == 403
    assert admin.post(f"/api/v1/notifications/{message_id}/retry").status_code == 202
    run_workers(app)
    assert len(sms_stub.requests) == 2
    db.session.expire_all()
    assert the_reminder().status == "sent"


def start_worker_process(smsru_url: str) -> subprocess.Popen:
    """`flask jobs worker --burst --simple`, the operator's command, on the test database and Redis."""
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "FLASK_APP": "wsgi.py",
        "SMSRU_API_URL": smsru_url,
        "SMSRU_API_ID": "test-api-id",
    }
    command = [sys.executable, "-m", "flask", "jobs", "worker", "--burst", "--simple"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)


# Zones about six hours apart: at any moment one of them is between 10:00 and 22:00 local time.
ZONES = ("Pacific/Kiritimati", "Asia/Tokyo", "Asia/Dubai", "Europe/London", "America/New_York", "Pacific/Honolulu")


def a_zone_past_ten_oclock() -> tuple[str, datetime]:
    """A zone where the occasion reminders are due now, and its local time."""
    for zone in ZONES:
        local = datetime.now(ZoneInfo(zone))
        if wall_time(10, 0) <= local.time() <= wall_time(22, 0):
            return zone, local
    raise AssertionError("no zone between 10:00 and 22:00; the list above has a gap")


def production_env(stub_url: str) -> dict[str, str]:
    """The operator's environment for the worker and `rq cron`, on the test database and Redis."""
    database = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    return {
        **os.environ,
        "APP_ENV": "production",
        "FLASK_APP": "wsgi.py",
        "PYTHON_DOTENV_DISABLED": "1",
        "DATABASE_URL": database,
        "REDIS_URL": redis_url,
        "JWT_SECRET_KEY": "e2e-secret-key-long-enough-for-production-checks",
        "SMS_PROVIDER": "smsru",
        "SMSRU_API_URL": stub_url,
        "SMSRU_API_ID": "test-api-id",
        "TELEGRAM_API_URL": stub_url,
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "LOG_FORMAT": "json",
    }


@pytest.mark.committed
def test_rq_cron_and_a_real_rq_worker_deliver_the_occasion_reminders_by_sms_and_telegram(app, stub):
    stub.always(200, lambda received: telegram_sent(received) if "/bot" in received.path else smsru_sent(received))
    zone, local = a_zone_past_ten_oclock()
    falls_on = local.date() + timedelta(days=3)
    shop = ShopFactory(name="Лавка у дома", timezone=zone)
    by_sms = CustomerFactory(shop=shop, name="Анна", phone="+79261234567")
    by_telegram = CustomerFactory(shop=shop, name="Вера", phone="+79267654321", telegram_chat_id="777001")
    for customer in (by_sms, by_telegram):
        OccasionDateFactory(customer=customer, month=falls_on.month, day=falls_on.day, label="день рождения мамы")
    db.session.commit()

    env = production_env(stub.url)
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "jobs", "worker"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    cron = subprocess.Popen(
        [str(Path(sys.executable).with_name("rq")), "cron", "app/jobs/cron.py", "--url", env["REDIS_URL"]],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while len(stub.requests) < 2 and time.monotonic() < deadline:
            assert worker.poll() is None and cron.poll() is None, "the worker or rq cron stopped"
            time.sleep(0.5)
        time.sleep(2)  # a second copy would arrive now
    finally:
        for process in (cron, worker):
            process.send_signal(signal.SIGTERM)
        for process in (cron, worker):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                kill(process)

    sms = [r for r in stub.requests if "/bot" not in r.path]
    telegram = [r for r in stub.requests if "/bot" in r.path]
    assert len(sms) == 1 and len(telegram) == 1, [r.path for r in stub.requests]
    assert sms[0].form["to"] == "79261234567"
    assert sms[0].form["msg"].startswith("Лавка у дома: Анна, напоминаем, что")
    assert telegram[0].path == f"/bot{BOT_TOKEN}/sendMessage"
    assert telegram[0].json["chat_id"] == "777001"
    assert telegram[0].json["text"].startswith("Лавка у дома: Вера, напоминаем, что")
    db.session.expire_all()
    sent = db.session.scalars(select(MessageLog).where(MessageLog.kind == "occasion_reminder")).all()
    assert sorted((m.channel, m.status) for m in sent) == [("sms", "sent"), ("telegram", "sent")]
