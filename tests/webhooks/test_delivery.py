"""Events reach registered receivers signed per Standard Webhooks, at least once, as the feed shows them."""

from __future__ import annotations

import time
from datetime import timedelta

import time_machine
from sqlalchemy import func, select, update

from app.common.types import utcnow
from app.events import dispatch
from app.events.models import Event, EventCursor
from app.extensions import db
from app.messaging.models import MessageLog
from app.messaging.templates import render
from app.webhooks import jobs, services
from app.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.orders.orderdata import delivery, place
from tests.webhooks.conftest import WEBHOOKS, deliveries, register, run_jobs
from tests.webhooks.receiver import Answer, Receiver


def test_a_new_order_reaches_the_receiver_signed_and_shaped_as_in_the_feed(app, admin, front, receiver):
    hook = register(admin, receiver, types=["order.created"])
    created = admin.post("/api/v1/orders", json=delivery(front))
    assert created.status_code == 201, created.get_json()

    run_jobs(app)

    (request,) = receiver.wait_for(1)
    assert request.verified_by == [hook["secret"]]
    assert request.headers["webhook-signature"].startswith("v1,")
    (event,) = admin.get("/api/v1/events").get_json()["events"]
    assert request.id == event["id"] and request.json == event
    assert request.json["data"]["id"] == created.get_json()["id"]
    (row,) = deliveries(hook["id"])
    assert (row.status, row.attempts, row.response_status) == ("succeeded", 1, 200)


def test_a_failed_attempt_is_retried_after_its_interval_and_the_attempts_counted(
    app, admin, front, receiver, fast_retries
):
    receiver.script = [Answer(500, b"database down")]
    hook = register(admin, receiver)
    place(front, delivery(front))

    run_jobs(app)
    (row,) = deliveries(hook["id"])
    assert (row.status, row.attempts, row.response_status, row.response_body) == ("pending", 1, 500, "database down")
    assert row.error == "the receiver answered 500" and row.next_attempt_at is not None

    run_jobs(app, wait_for_retry=1.2)
    first, second = receiver.wait_for(2)
    assert first.id == second.id and second.verified_by == [hook["secret"]]
    (row,) = deliveries(hook["id"])
    assert (row.status, row.attempts, row.response_status, row.error) == ("succeeded", 2, 200, None)
    endpoint = db.session.get(WebhookEndpoint, hook["id"])
    assert endpoint.failing_since is None and endpoint.last_success_at is not None


def test_out_of_retries_the_delivery_fails_and_stays_in_the_log(app, admin, front, receiver, fast_retries):
    receiver.default = Answer(503, b"")
    hook = register(admin, receiver)
    place(front, delivery(front))
    run_jobs(app)
    run_jobs(app, wait_for_retry=1.2)
    run_jobs(app, wait_for_retry=1.2)
    assert len(receiver.wait_for(3)) == 3
    (row,) = deliveries(hook["id"])
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 3, None)
    listed = admin.get(f"{WEBHOOKS}/{hook['id']}/deliveries").get_json()
    assert [(d["status"], d["attempts"], d["response_status"]) for d in listed] == [("failed", 3, 503)]


def test_410_gone_disables_the_endpoint_at_once_and_tells_the_admins(app, admin, front, receiver):
    receiver.default = Answer(410, b"gone")
    admin_id = admin.user.id
    hook = register(admin, receiver)
    place(front, delivery(front))
    place(front, delivery(front))
    run_jobs(app)

    got = admin.get(f"{WEBHOOKS}/{hook['id']}").get_json()
    assert got["enabled"] is False and "410" in got["disabled_reason"]
    assert sorted(row.status for row in deliveries(hook["id"])) == ["failed", "failed"]
    assert len(receiver.requests) == 1  # the second event was not sent to a receiver that said it is gone
    alerts = db.session.scalars(select(MessageLog).where(MessageLog.kind == "webhook_disabled")).all()
    assert [(m.user_id, m.template) for m in alerts] == [(admin_id, "webhook_disabled_gone")]


def test_an_endpoint_failing_for_24_hours_is_disabled_and_each_admin_told_in_their_language(
    app, admin, login, front, receiver, monkeypatch
):
    monkeypatch.setitem(app.config, "WEBHOOK_RETRY_INTERVALS", [3600] * 30)
    english_admin_id = login("admin", language="en").user.id
    admin_id = admin.user.id
    login("manager")  # managers are not told
    receiver.default = Answer(500, b"")
    hook = register(admin, receiver)
    place(front, delivery(front))
    run_jobs(app)
    (row,) = deliveries(hook["id"])
    started = db.session.get(WebhookEndpoint, hook["id"]).failing_since
    assert started is not None

    with time_machine.travel(started + timedelta(hours=23), tick=False):
        jobs.deliver(row.id, row.job_id)
    endpoint = db.session.get(WebhookEndpoint, hook["id"])
    db.session.refresh(endpoint)
    assert endpoint.enabled and endpoint.failing_since == started

    (row,) = deliveries(hook["id"])
    with time_machine.travel(started + timedelta(hours=24, minutes=1), tick=False):
        jobs.deliver(row.id, row.job_id)
    db.session.refresh(endpoint)
    assert not endpoint.enabled and "24 hours" in endpoint.disabled_reason
    alerts = db.session.scalars(
        select(MessageLog).where(MessageLog.kind == "webhook_disabled").order_by(MessageLog.user_id)
    ).all()
    assert [(m.user_id, m.language) for m in alerts] == [(admin_id, "ru"), (english_admin_id, "en")]
    assert all(m.template == "webhook_disabled_failing" and m.context["host"] == "127.0.0.1" for m in alerts)
    assert "вебхук на 127.0.0.1 отключён" in render("webhook_disabled_failing", "ru", alerts[0].context)


def test_the_sweep_disables_an_endpoint_whose_failures_began_24_hours_ago(app, admin, front, receiver):
    receiver.default = Answer(500, b"")
    hook = register(admin, receiver)
    place(front, delivery(front))
    run_jobs(app)
    endpoint = db.session.get(WebhookEndpoint, hook["id"])
    assert jobs.sweep_deliveries(endpoint.failing_since + timedelta(hours=23))["disabled"] == 0
    assert jobs.sweep_deliveries(endpoint.failing_since + timedelta(hours=24, seconds=1))["disabled"] == 1
    db.session.refresh(endpoint)
    assert not endpoint.enabled


def test_after_a_rotation_both_secrets_verify_for_24_hours_then_only_the_new(app, admin, front, receiver):
    admin_id = admin.user.id
    hook = register(admin, receiver)
    rotated = admin.post(f"{WEBHOOKS}/{hook['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.get_json()
    new_secret = rotated.get_json()["secret"]
    assert new_secret.startswith("whsec_") and new_secret != hook["secret"]
    receiver.secrets.append(new_secret)

    place(front, delivery(front))
    run_jobs(app)
    (request,) = receiver.wait_for(1)
    assert request.verified_by == [hook["secret"], new_secret]
    assert len(request.headers["webhook-signature"].split(" ")) == 2

    (row,) = deliveries(hook["id"])
    with time_machine.travel(utcnow() + timedelta(hours=24, minutes=1), tick=True):
        services.redeliver(shop_id=admin.shop_id, endpoint_id=hook["id"], delivery_id=row.id, actor_id=admin_id)
        run_jobs(app)
        later = receiver.wait_for(2)[1]
    assert later.verified_by == [new_secret] and later.id == request.id


def test_redelivery_sends_the_same_event_again_with_the_same_id(app, admin, front, receiver):
    hook = register(admin, receiver)
    place(front, delivery(front))
    run_jobs(app)
    (row,) = deliveries(hook["id"])

    again = admin.post(f"{WEBHOOKS}/{hook['id']}/deliveries/{row.id}/redeliver")
    assert again.status_code == 202, again.get_json()
    assert again.get_json()["status"] == "pending"
    run_jobs(app)
    first, second = receiver.wait_for(2)
    assert first.id == second.id and first.body == second.body and second.verified_by == [hook["secret"]]
    (row,) = deliveries(hook["id"])
    assert (row.status, row.attempts) == ("succeeded", 2)
    assert admin.post(f"{WEBHOOKS}/{hook['id']}/deliveries/999999/redeliver").status_code == 404


def test_a_redirect_is_not_followed(app, admin, front, receiver):
    receiver.script = [Answer(302, b"", headers={"Location": receiver.url + "/elsewhere"})]
    hook = register(admin, receiver)
    place(front, delivery(front))
    run_jobs(app)
    assert [r.path for r in receiver.requests] == ["/hooks"]
    (row,) = deliveries(hook["id"])
    assert (row.status, row.response_status, row.error) == ("pending", 302, "the receiver answered 302")


def test_only_the_first_kilobyte_of_the_answer_is_kept(app, admin, front, receiver):
    receiver.default = Answer(200, b"x" * 5000)
    hook = register(admin, receiver)
    place(front, delivery(front))
    run_jobs(app)
    (row,) = deliveries(hook["id"])
    assert row.status == "succeeded" and row.response_body == "x" * 1024


def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt(app, admin, front, receiver, fast_retries):
    receiver.script = [Answer(200, b"late", delay=4)]
    hook = register(admin, receiver)
    place(front, delivery(front))
    started = time.monotonic()
    run_jobs(app)
    assert time.monotonic() - started < 4
    (row,) = deliveries(hook["id"])
    assert (row.status, row.attempts, row.response_status) == ("pending", 1, None)
    assert row.error == "timed out after 2 s" and 1900 <= row.response_ms < 3500


def test_only_the_endpoints_types_are_sent_and_only_events_after_it_was_registered(app, admin, front, receiver):
    place(front, delivery(front))  # before the endpoint existed
    tasks_only = register(admin, receiver, types=["task.*"])
    orders = register(admin, receiver, types=["order.*"])
    disabled = register(admin, receiver, types=["order.*"], enabled=False)
    place(front, delivery(front))
    run_jobs(app)
    assert deliveries(tasks_only["id"]) == [] and deliveries(disabled["id"]) == []
    assert [row.event_type for row in deliveries(orders["id"])] == ["order.created"]
    assert len(receiver.wait_for(1)) == 1


def test_a_shop_without_endpoints_has_its_events_passed_over_unread_then_an_endpoint_gets_the_next(
    app, admin, front, receiver, count_queries
):
    for _ in range(3):
        place(front, delivery(front))
    newest = db.session.scalar(select(func.max(Event.position)))
    with count_queries() as statements:
        dispatch.dispatch_shop(front.shop_id)
    # The webhooks cursor moved past the three orders' events without reading them: the events are read once, for
    # the status messages.
    cursor = db.session.scalars(select(EventCursor).where(EventCursor.consumer == "webhooks")).one()
    assert cursor.position == newest
    assert sum("FROM events" in s and "events.data" in s for s in statements) == 1, statements

    hook = register(admin, receiver)
    place(front, delivery(front))
    run_jobs(app)
    assert [row.event_type for row in deliveries(hook["id"])] == ["order.created"]
    assert len(receiver.wait_for(1)) == 1


def test_each_event_is_one_delivery_per_endpoint_however_often_it_is_dispatched(app, admin, front, receiver):
    hook = register(admin, receiver)
    place(front, delivery(front))
    event = db.session.scalars(select(Event)).one()
    services.deliveries_for_event(event)
    services.deliveries_for_event(event)
    db.session.commit()
    assert len(deliveries(hook["id"])) == 1


def test_ping_sends_a_signed_webhook_ping(app, admin, receiver):
    hook = register(admin, receiver)
    answer = admin.post(f"{WEBHOOKS}/{hook['id']}/ping")
    assert answer.status_code == 202, answer.get_json()
    assert answer.get_json()["event_type"] == "webhook.ping"
    run_jobs(app)
    (request,) = receiver.wait_for(1)
    assert request.verified_by == [hook["secret"]]
    assert request.json["type"] == "webhook.ping" and request.json["id"] == request.id
    listed = admin.get(f"{WEBHOOKS}/{hook['id']}/deliveries").get_json()
    assert [(d["event_type"], d["status"], d["response_status"]) for d in listed] == [
        ("webhook.ping", "succeeded", 200)
    ]


def test_anonymizing_a_customer_drops_the_receivers_answers_about_them(app, admin, front, receiver):
    receiver.default = Answer(200, b'{"received": "Anna Petrova +79161234567"}')
    hook = register(admin, receiver)
    customer_id = place(front, delivery(front)).customer_id
    run_jobs(app)
    (row,) = deliveries(hook["id"])
    assert row.customer_id == customer_id and "Anna" in row.response_body

    erased = admin.post(f"/api/v1/customers/{customer_id}/anonymize")
    assert erased.status_code == 200, erased.get_json()
    (row,) = deliveries(hook["id"])
    assert row.response_body is None


def test_the_sweep_requeues_a_lost_delivery_and_gives_up_on_one_whose_attempts_keep_dying(app, admin, front, receiver):
    hook = register(admin, receiver)
    place(front, delivery(front))
    place(front, delivery(front))
    dispatch.dispatch_shop(admin.shop_id)  # the delivery rows are written; their job will find them taken
    lost, doomed = deliveries(hook["id"])
    db.session.execute(update(WebhookDelivery).values(job_id="gone-job"))  # their jobs were lost
    db.session.execute(update(WebhookDelivery).where(WebhookDelivery.id == doomed.id).values(attempts=20))
    db.session.commit()

    swept = jobs.sweep_deliveries(utcnow() + timedelta(seconds=30))
    assert (swept["requeued"], swept["failed"]) == (1, 1)
    run_jobs(app)
    lost, doomed = deliveries(hook["id"])
    assert (lost.status, lost.attempts) == ("succeeded", 1) and len(receiver.wait_for(1)) == 1
    assert doomed.status == "failed" and doomed.error == jobs.GAVE_UP


def test_one_job_reuses_a_keep_alive_connection_to_the_same_receiver(app, admin, front):
    with Receiver(keep_alive=True) as receiver:
        hook = register(admin, receiver)
        for _ in range(3):
            place(front, delivery(front))
        run_jobs(app)
        requests = receiver.wait_for(3)
    assert len({r.peer for r in requests}) == 1  # one connection, three deliveries
    assert all(r.verified_by == [hook["secret"]] for r in requests)
    assert [row.status for row in deliveries(hook["id"])] == ["succeeded"] * 3
