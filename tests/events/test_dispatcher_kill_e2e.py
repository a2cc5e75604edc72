"""The dispatcher (`make dispatcher`: `flask jobs worker --queue status --simple`, no work horse) SIGKILLed mid-job,
on the real stack as production runs it: the dispatcher, the codes worker (`otp`: the message recovery), a forking
worker on the other queues, `rq cron`,
PostgreSQL, Redis, a webhook receiver and a stand-in SMS.RU. docs/jobs.md promises that nothing is lost: the
sweeps pick the work up again, and nothing the design sends once is sent twice."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import func, select, text

from app.events import dispatch
from app.events.models import Event, EventCursor
from app.extensions import db, queues, redis_client
from app.messaging.models import MessageLog
from app.messaging.recovery import UNKNOWN_OUTCOME
from tests.foundation.processes import AppProcesses, production_env, wait_until
from tests.messaging.stub_server import Answer, Received, StubServer, smsru_sent
from tests.orders.orderdata import delivery, open_shop, place
from tests.production.workshop import DELIVERIES, delivery_in, ok
from tests.warehouse.stockdata import staff_client
from tests.webhooks.conftest import register
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.committed  # the processes read the rows over their own connections

SEND_TIMEOUT = 11  # MESSAGE_SEND_TIMEOUT: a send cut off by the kill is given up 16 s after its claim
OTHER_QUEUES = ("messages", "default", "webhooks")  # compose's `worker` beside the dispatcher
FIRST_PHONE = "+79161112233"  # the customer of tests.orders.orderdata.delivery
SECOND_PHONE = "+79165556677"
# The backends waiting for a lock this connection holds (pg_locks is read live, not from a snapshot).
WAITING_FOR_ME = text(
    "SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
)


@pytest.fixture
def sms():
    with StubServer() as stub:
        stub.always(200, smsru_sent)
        yield stub


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def stack(app, sms, tmp_path):
    running = AppProcesses(
        app,
        tmp_path / "stack.log",
        **production_env(
            SMS_PROVIDER="smsru",
            SMSRU_API_URL=sms.url,
            SMSRU_API_ID="e2e-api-id",
            MESSAGE_SEND_TIMEOUT=str(SEND_TIMEOUT),
            WEBHOOK_ALLOW_PRIVATE="true",  # the receiver listens on 127.0.0.1
            SECRET_KEY=app.config["SECRET_KEY"],  # it seals the endpoints' secrets the test registered
        ),
    )
    yield running
    running.stop()


def order_events(shop_id: int) -> list[Event]:
    """The shop's events a webhook on `order.*` receives, oldest first."""
    return list(
        db.session.scalars(
            select(Event).where(Event.shop_id == shop_id, Event.type.like("order.%")).order_by(Event.position)
        )
    )


def cursor(consumer: str, shop_id: int) -> int:
    return db.session.scalars(
        select(EventCursor.position).where(EventCursor.consumer == consumer, EventCursor.shop_id == shop_id)
    ).one_or_none()


def status_messages(order_id: int) -> list[MessageLog]:
    rows = select(MessageLog).where(MessageLog.kind == "order_status", MessageLog.order_id == order_id)
    return list(db.session.scalars(rows.order_by(MessageLog.id)))


def sends_to(sms: StubServer, phone: str) -> list[Received]:
    return [r for r in sms.requests if r.path == "/sms/send" and r.form["to"] == phone.lstrip("+")]


def caught_up(shop_id: int, receiver: Receiver) -> Callable[[], bool]:
    """Every order event at the receiver and both consumers' cursors at their last event."""

    def check() -> bool:
        events = order_events(shop_id)
        statuses = [e for e in events if e.type == "order.status_changed"]
        return (
            {e.event_id for e in events} <= {r.id for r in receiver.requests}
            and cursor("webhooks", shop_id)
            == db.session.scalar(select(func.max(Event.position)).where(Event.shop_id == shop_id))
            and cursor("status_messages", shop_id) >= statuses[-1].position  # past the other types too
        )

    return check


def started_on_dispatcher() -> list[str]:
    return StartedJobRegistry(queue=queues.get(dispatch.DISPATCH_QUEUE)).get_job_ids(cleanup=False)


def test_a_dispatcher_killed_mid_job_loses_no_event_and_sends_no_status_message_twice(
    app, shop, login, sms, receiver, stack
):
    shop.settings = {**(shop.settings or {}), "order_status_messages": True}
    front = open_shop(shop)
    hook = register(login("admin"), receiver)
    courier = staff_client(app, shop, "courier")
    db.session.commit()
    first = delivery_in(front, "ready", courier)
    second = delivery_in(front, "ready", courier, customer={"name": "Anna Orlova", "phone": SECOND_PHONE})
    stack.worker(*OTHER_QUEUES)
    stack.codes()
    dispatcher = stack.dispatcher()
    stack.cron()
    stack.wait_listening(3)
    ok(courier.post(f"{DELIVERIES}/{first}/pickup"))
    wait_until(caught_up(shop.id, receiver), seconds=30, what="the first move dispatched", stack=stack)

    # 1. Killed inside dispatch_shop: the webhooks consumer waits for its cursor, which the test holds.
    with db.engine.connect() as holder:
        holder.execute(
            text("SELECT 1 FROM event_cursors WHERE consumer = 'webhooks' AND shop_id = :shop FOR UPDATE"),
            {"shop": shop.id},
        )
        ok(courier.post(f"{DELIVERIES}/{first}/deliver", json={}))
        wait_until(
            lambda: holder.execute(WAITING_FOR_ME).scalar() == 1,
            seconds=20,
            what="the dispatcher waiting for the webhooks cursor",
            stack=stack,
        )
        (cut_dispatch,) = started_on_dispatcher()
        stack.kill(dispatcher)
        killed_at = time.time()
        holder.rollback()
    # No dispatch waits on the queue and no write comes: only the sweep (`dispatch_all`) can hand the event on.
    assert not [job for job in queues.get(dispatch.DISPATCH_QUEUE).jobs if job.func_name.endswith("dispatch_shop")]
    dispatcher = stack.dispatcher()
    wait_until(caught_up(shop.id, receiver), seconds=40, what="the cut-off dispatch done by the sweep", stack=stack)
    wait_until(
        lambda: [m.status for m in status_messages(first)] == ["sent", "sent"],
        seconds=20,
        what="both of the first order's messages sent",
        stack=stack,
    )

    # 2. Killed mid-send of a customer's status message, with a dispatch waiting behind it.
    hanging = SECOND_PHONE.lstrip("+")
    sms.route = lambda received: Answer(200, smsru_sent, delay=30) if received.form["to"] == hanging else None
    ok(courier.post(f"{DELIVERIES}/{second}/pickup"))
    wait_until(lambda: len(sends_to(sms, SECOND_PHONE)) == 1, seconds=30, what="the send hanging", stack=stack)
    place(front, delivery(front))  # its dispatch waits on `status` behind the hanging send
    (cut_send,) = set(started_on_dispatcher()) - {cut_dispatch}
    (message,) = status_messages(second)
    assert (message.status, message.job_id) == ("sending", cut_send)
    stack.kill(dispatcher)
    cut_send_at = time.time()
    stack.dispatcher()
    wait_until(caught_up(shop.id, receiver), seconds=40, what="the events written during the send", stack=stack)
    wait_until(
        lambda: status_messages(second)[0].status == "failed",
        seconds=SEND_TIMEOUT + 5 + 2 * dispatch.SWEEP_INTERVAL,
        what="the cut-off send settled by the message recovery",
        stack=stack,
    )

    # What the webhook's owner sees: every order event, by its id, each at least once; a repeat only of one
    # that was in flight (none here: neither kill was inside a delivery, which runs on `webhooks`).
    events = order_events(shop.id)
    received = [r.id for r in receiver.requests]
    assert set(received) == {e.event_id for e in events}
    assert len(received) == len(events)
    assert all(r.verified_by == [hook["secret"]] for r in receiver.requests)
    # What the customers see: one message per move; the one cut off mid-send is never sent again, an admin
    # sees why (docs/jobs.md, "Recovery": a customer's message that may have arrived is not repeated).
    assert [(m.template, m.status, m.attempts) for m in status_messages(first)] == [
        ("order_out_for_delivery", "sent", 1),
        ("order_delivered", "sent", 1),
    ]
    assert len(sends_to(sms, FIRST_PHONE)) == 2
    (cut,) = status_messages(second)
    assert (cut.status, cut.attempts, cut.error) == ("failed", 1, UNKNOWN_OUTCOME)
    assert len(sends_to(sms, SECOND_PHONE)) == 1

    # Nothing stays `started` for ever: each cut-off job's entry runs out at its timeout + 60 s, and RQ's
    # cleanup (a worker's maintenance, every 10 minutes, does it then) fails the dispatch and schedules the
    # send's retry, which finds its message settled and sends nothing.
    registry = StartedJobRegistry(queue=queues.get(dispatch.DISPATCH_QUEUE))
    cut_jobs = {job_id: Job.fetch(job_id, connection=redis_client.client) for job_id in (cut_dispatch, cut_send)}
    assert set(cut_jobs) <= set(started_on_dispatcher())  # beside whatever the live dispatcher runs now
    expiry = max(killed_at + cut_jobs[cut_dispatch].timeout, cut_send_at + cut_jobs[cut_send].timeout) + 60 + 2
    assert set(registry.get_expired_job_ids(expiry)) == set(cut_jobs)  # a job started since runs out later
    registry.cleanup(timestamp=expiry)
    assert not set(cut_jobs) & set(started_on_dispatcher())
    assert cut_dispatch in FailedJobRegistry(queue=queues.get(dispatch.DISPATCH_QUEUE))
    assert cut_jobs[cut_send].get_status(refresh=True) == "scheduled"
    ScheduledJobRegistry(queue=queues.get(dispatch.DISPATCH_QUEUE)).requeue(cut_send)  # as its retry falls due
    wait_until(
        lambda: cut_jobs[cut_send].get_status(refresh=True) == "finished",
        seconds=20,
        what="the send's retry run",
        stack=stack,
    )
    (cut,) = status_messages(second)
    assert (cut.status, cut.attempts, cut.error) == ("failed", 1, UNKNOWN_OUTCOME)
    assert len(sends_to(sms, SECOND_PHONE)) == 1
