"""Workers killed mid-send, on the real stack: `flask jobs worker` processes (forking work horses), `rq cron`,
PostgreSQL, Redis and a stub SMS.RU that can be made to hang. A worker is SIGKILLed with its whole process
group (worker, work horse, scheduler: what an OOM kill of the container or a lost host does) and another
starts at once; every pending message must end as its kind allows, on time, never twice by accident."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from sqlalchemy import select, text

from app.extensions import db, queues, redis_client
from app.messaging.jobs import PROVIDER_ID_META
from app.messaging.models import MessageLog
from app.messaging.recovery import UNKNOWN_OUTCOME
from app.messaging.services import queue_message
from tests.factories import MembershipFactory, ShopFactory, UserFactory
from tests.foundation.processes import AppProcesses, wait_until
from tests.messaging.factories import CustomerFactory
from tests.messaging.stub_server import Answer, Received, StubServer, smsru_number_refused, smsru_sent, smsru_status

pytestmark = pytest.mark.committed  # the workers read the rows over their own connections

RETRY_AFTER = 5  # MESSAGE_RETRY_INTERVALS for these runs
SEND_TIMEOUT = 11  # MESSAGE_SEND_TIMEOUT: above the provider's 10 s HTTP timeout
HANG = Answer(200, smsru_sent, delay=25)  # longer than anyone waits: the horse is killed while it waits


class Stack(AppProcesses):
    """The app's background processes, as production runs them, on the test's database and Redis."""

    def __init__(self, app, stub: StubServer, tmp_path: Path):
        super().__init__(
            app,
            tmp_path / "stack.log",
            SMSRU_API_URL=stub.url,
            SMSRU_API_ID="e2e-api-id",
            MESSAGE_RETRY_INTERVALS=f"{RETRY_AFTER},{RETRY_AFTER}",
            MESSAGE_SEND_TIMEOUT=str(SEND_TIMEOUT),
        )


@pytest.fixture
def sms(app, monkeypatch):
    with StubServer() as stub:
        monkeypatch.setitem(app.config, "SMS_PROVIDER", "smsru")
        stub.always(200, smsru_sent)
        yield stub


@pytest.fixture
def stack(app, sms, tmp_path):
    running = Stack(app, sms, tmp_path)
    yield running
    running.stop()


def sends_to(stub: StubServer, phone: str) -> list[Received]:
    return [r for r in stub.requests if r.path == "/sms/send" and r.form["to"] == phone.lstrip("+")]


def row(message_id: int) -> MessageLog:
    return db.session.get(MessageLog, message_id)


def settled(*message_ids: int) -> Callable[[], bool]:
    return lambda: all(row(m).status in ("sent", "failed") for m in message_ids)


def staff_member(shop, role="courier"):
    user = UserFactory(password_hash=None, language="ru")
    MembershipFactory(user=user, shop=shop, role=role)
    return user


def order_status_message(shop, customer, number: str) -> int:
    context = {"shop": shop.name, "number": number, "date": "8 марта", "window": "10:00–12:00"}
    message = queue_message(
        kind="order_status",
        channel="sms",
        to=customer.phone,
        template="order_out_for_delivery",
        language="ru",
        occurrence_key=f"order_status:{number}:out_for_delivery:2",
        context=context,
        shop_id=shop.id,
        customer_id=customer.id,
    )
    db.session.commit()
    return message.id


def courier_reminder(shop, courier, number: str) -> int:
    context = {"shop": shop.name, "number": number, "date": "8 марта", "window": "10:00–12:00"}
    message = queue_message(
        kind="courier_reminder",
        channel="sms",
        to=courier.phone,
        template="courier_reminder",
        language="ru",
        occurrence_key=f"courier_reminder:{number}:{courier.id}",
        context=context,
        shop_id=shop.id,
        user_id=courier.id,
    )
    db.session.commit()
    return message.id


def test_workers_killed_mid_send_every_message_ends_as_its_kind_allows(app, client, sms, stack):
    shop = ShopFactory(name="Лавка")
    courier, other_courier, lost_courier = staff_member(shop), staff_member(shop), staff_member(shop)
    customer = CustomerFactory(shop=shop)
    db.session.commit()
    # Plain strings: the stub's threads have no app context to load a row with.
    hanging = {p.lstrip("+") for p in (courier.phone, customer.phone, other_courier.phone)}
    lost_number = lost_courier.phone.lstrip("+")

    def first_send_hangs_or_fails(received: Received) -> Answer | None:
        number = received.form.get("to")
        if len([r for r in sms.requests if r.form.get("to") == number]) > 1:
            return None  # every later try is taken
        if number in hanging:
            return HANG
        if number == lost_number:
            return None
        return Answer(500, "Internal Server Error")  # the retried message: a transient error first

    sms.route = first_send_hangs_or_fails
    lost_id = courier_reminder(shop, lost_courier, "A-4")
    # Taken by a worker that died at that instant: in no queue, no registry, its hash still says "queued".
    lost_job_id = row(lost_id).job_id
    queues.get("messages").remove(lost_job_id)
    assert Job.fetch(lost_job_id, connection=redis_client.client).get_status() == "queued"
    retried_courier = staff_member(shop)
    db.session.commit()

    stack.cron()
    workers = [stack.worker() for _ in range(3)]
    stack.wait_listening(3)
    assert client.post("/api/v1/auth/otp/request", json={"phone": courier.phone}).status_code == 202
    otp_id = db.session.scalars(select(MessageLog.id).where(MessageLog.kind == "otp")).one()
    status_id = order_status_message(shop, customer, "A-1")
    retried_id = courier_reminder(shop, retried_courier, "A-2")  # fails at once, then waits for its retry
    reminder_id = courier_reminder(shop, other_courier, "A-3")
    wait_until(
        lambda: len(sms.requests) >= 4 and row(retried_id).status == "queued" and row(retried_id).attempts == 1,
        seconds=30,
        what="three sends hanging and the first try of the retried one failed",
        stack=stack,
    )
    wait_until(
        lambda: all(row(m).status == "sending" for m in (otp_id, status_id, reminder_id)),
        seconds=10,
        what="three sends in flight",
        stack=stack,
    )
    retry_due = row(retried_id).next_try_at
    assert row(retried_id).job_id in ScheduledJobRegistry(queue=queues.get("messages"))
    for worker in workers:
        stack.kill(worker)
    killed_at = time.monotonic()
    stack.worker()  # the supervisor restarts one at once

    wait_until(
        settled(otp_id, status_id, retried_id, reminder_id, lost_id),
        seconds=60,
        what="every message sent or failed",
        stack=stack,
    )
    done_in = time.monotonic() - killed_at
    assert done_in < SEND_TIMEOUT + 5 + 2 * 10 + 10  # abandoned after the timeout, then one or two sweeps

    # The retry went out within 30 s of its due time, though the scheduler that held it died.
    retried = row(retried_id)
    assert (retried.status, retried.attempts) == ("sent", 2)
    assert retried.sent_at - retry_due < timedelta(seconds=30)
    assert len(sends_to(sms, retried_courier.phone)) == 2
    # The job lost at the moment of taking: sent once, by the sweep.
    lost = row(lost_id)
    assert (lost.status, lost.attempts) == ("sent", 1)
    assert lost.sent_at - lost.created_at < timedelta(seconds=30)
    assert len(sends_to(sms, lost_courier.phone)) == 1
    # The login code: sent again, the same code, while it is valid; the courier logs in with it.
    otp = row(otp_id)
    assert (otp.status, otp.attempts) == ("sent", 2)
    codes = {re.search(r"\b(\d{6})\b", r.form["msg"]).group(1) for r in sends_to(sms, courier.phone)}
    assert len(sends_to(sms, courier.phone)) == 2 and len(codes) == 1
    login = client.post("/api/v1/auth/otp/verify", json={"phone": courier.phone, "code": codes.pop()})
    assert login.status_code == 200
    # A reminder to staff: a second copy is harmless, so it is sent again.
    reminder = row(reminder_id)
    assert (reminder.status, reminder.attempts) == ("sent", 2)
    assert len(sends_to(sms, other_courier.phone)) == 2
    # The customer's message may have arrived: no second copy; an admin sees why, and decides.
    status = row(status_id)
    assert (status.status, status.attempts, status.error) == ("failed", 1, UNKNOWN_OUTCOME)
    assert len(sends_to(sms, customer.phone)) == 1
    # The logs mask phones, not the provider's message ids.
    assert customer.phone.lstrip("+") not in stack.output and courier.phone.lstrip("+") not in stack.output
    assert f"provider id {reminder.provider_message_id}" in stack.output


def test_a_provider_id_heard_before_the_kill_is_checked_with_smsru_not_sent_again(app, sms, stack):
    shop = ShopFactory(name="Лавка")
    customer = CustomerFactory(shop=shop)
    db.session.commit()
    asked, row_held = threading.Event(), threading.Event()

    def answer_once_the_row_is_held(received: Received) -> Answer:
        if received.path == "/sms/status":
            return Answer(200, smsru_status(103, "Сообщение доставлено"))
        asked.set()
        row_held.wait(10)
        return Answer(200, smsru_sent)

    sms.route = answer_once_the_row_is_held
    worker = stack.worker()
    stack.cron()
    stack.wait_listening(1)
    message_id = order_status_message(shop, customer, "B-1")
    job_id = row(message_id).job_id
    assert asked.wait(30), stack.output[-3000:]
    # SMS.RU answers only once the row is held: the worker hears the id but cannot write "sent"; then it dies.
    with db.engine.connect() as holder:
        holder.execute(text("SELECT id FROM message_log WHERE id = :id FOR UPDATE"), {"id": message_id})
        row_held.set()
        wait_until(
            lambda: Job.fetch(job_id, connection=redis_client.client).meta.get(PROVIDER_ID_META),
            seconds=10,
            what="the provider's id reached the job",
            stack=stack,
        )
        stack.kill(worker)
        holder.rollback()
    assert row(message_id).status == "sending"
    stack.worker()

    wait_until(settled(message_id), seconds=45, what="the message settled", stack=stack)
    message = row(message_id)
    (sent,) = sends_to(sms, customer.phone)
    (status_call,) = [r for r in sms.requests if r.path == "/sms/status"]
    sms_id = smsru_sent(sent)["sms"][customer.phone.lstrip("+")]["sms_id"]
    assert status_call.form["sms_id"] == sms_id
    assert (message.status, message.attempts, message.provider_message_id) == ("sent", 1, sms_id)


def test_a_permanent_error_fails_at_once_a_transient_one_is_retried(app, sms, stack):
    shop = ShopFactory(name="Лавка")
    no_route, flaky = CustomerFactory(shop=shop), CustomerFactory(shop=shop)
    db.session.commit()
    no_route_number = no_route.phone.lstrip("+")
    flaky_tries = []

    def answer(received: Received) -> Answer | None:
        if received.form["to"] == no_route_number:
            return Answer(200, smsru_number_refused)  # 207: no route to this number
        flaky_tries.append(received)
        if len(flaky_tries) == 1:
            return Answer(200, {"status": "ERROR", "status_code": 220, "status_text": "Сервис временно недоступен"})
        return None

    sms.route = answer
    refused_id = order_status_message(shop, no_route, "C-1")
    flaky_id = order_status_message(shop, flaky, "C-2")
    refused_job = row(refused_id).job_id
    stack.worker()

    wait_until(settled(refused_id, flaky_id), seconds=40, what="both messages settled", stack=stack)
    refused, flaky_row = row(refused_id), row(flaky_id)
    assert (refused.status, refused.attempts) == ("failed", 1)
    assert refused.error == "SMS.RU refused the message: На этот номер нельзя отправлять сообщения (code 207)"
    assert refused.updated_at < flaky_row.sent_at - timedelta(seconds=RETRY_AFTER - 1)  # failed at once
    assert len(sends_to(sms, no_route.phone)) == 1
    status_queue = queues.get("status")
    assert refused_job in FailedJobRegistry(queue=status_queue)
    assert refused_job not in ScheduledJobRegistry(queue=status_queue)
    assert (flaky_row.status, flaky_row.attempts, flaky_row.error) == ("sent", 2, None)
    assert flaky_row.sent_at - flaky_row.created_at >= timedelta(seconds=RETRY_AFTER)
    assert len(flaky_tries) == 2
