"""GET /notifications, POST /notifications/{id}/retry and GET /queues: who sees what, and what a retry does."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis
import time_machine
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue
from rq.registry import FailedJobRegistry
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.common.types import utcnow
from app.extensions import QUEUE_NAMES, db, queues
from app.jobs import enqueue_now, retry_policy
from app.jobs.worker import build_worker
from app.messaging.models import MessageLog
from app.messaging.providers import ProviderError, mask_recipient
from app.messaging.services import SHOP_META, queue_message
from tests.factories import MembershipFactory, UserFactory
from tests.messaging.factories import CustomerFactory
from tests.orders.orderdata import delivery, open_shop, place

PHONE = "+79261234567"


def logged(shop, *, status: str = "failed", customer=None, user=None, **fields) -> MessageLog:
    """A row of the message log as a scan and its send job would leave it."""
    channel = fields.pop("channel", "sms")
    address = fields.pop("address", (customer and customer.phone) or (user and user.phone) or PHONE)
    values = {
        "shop_id": shop.id,
        "kind": "occasion_reminder",
        "channel": channel,
        "recipient_masked": mask_recipient(channel, address),
        "template": "occasion_reminder",
        "language": "ru",
        "status": status,
        "attempts": 1 if status != "queued" else 0,
        "occurrence_key": f"test:{uuid.uuid4().hex}",
        "context": {"shop": "Shop", "name": "Анна", "date": "29 марта", "label": "день рождения"},
        "customer_id": customer.id if customer else None,
        "user_id": user.id if user else None,
        "error": "SMS.RU answered HTTP 503 without JSON" if status == "failed" else None,
    } | fields
    message = MessageLog(**values)
    db.session.add(message)
    db.session.flush()
    return message


def send_jobs():
    return queues.get("messages").get_jobs()


# --- who may call what -------------------------------------------------------------------------------

ENDPOINTS = {
    "GET /notifications": lambda client, message: client.get("/api/v1/notifications"),
    "POST /notifications/{id}/retry": lambda client, message: client.post(f"/api/v1/notifications/{message.id}/retry"),
    "GET /queues": lambda client, message: client.get("/api/v1/queues"),
}

# endpoint, admin, manager, florist, courier
MATRIX = [
    ("GET /notifications", 200, 200, 403, 403),
    ("POST /notifications/{id}/retry", 202, 403, 403, 403),
    ("GET /queues", 200, 200, 403, 403),
]


@pytest.mark.parametrize(("endpoint", "admin", "manager", "florist", "courier"), MATRIX, ids=[m[0] for m in MATRIX])
def test_role_matrix(app, shop, login, client, endpoint, admin, manager, florist, courier):
    message = logged(shop, customer=CustomerFactory(shop=shop))
    db.session.commit()
    for role, expected in (("admin", admin), ("manager", manager), ("florist", florist), ("courier", courier)):
        response = ENDPOINTS[endpoint](login(role), message)
        assert response.status_code == expected, (role, response.get_json())
        if expected == 403:
            assert response.get_json()["code"] == 403
    assert ENDPOINTS[endpoint](client, message).status_code == 401  # no token


def test_another_shops_messages_are_invisible_and_their_retry_is_404(app, shop, other_shop, admin):
    mine = logged(shop, customer=CustomerFactory(shop=shop))
    theirs = logged(other_shop, customer=CustomerFactory(shop=other_shop))
    stuck_there = logged(other_shop, status="sending", updated_at=utcnow() - timedelta(hours=1))
    db.session.commit()

    listed = admin.get("/api/v1/notifications?page_size=100").get_json()
    assert [m["id"] for m in listed] == [mine.id]
    assert admin.get(f"/api/v1/notifications?customer_id={theirs.customer_id}").get_json() == []

    response = admin.post(f"/api/v1/notifications/{theirs.id}/retry")
    assert response.status_code == 404
    assert response.get_json()["code"] == 404
    db.session.refresh(theirs)
    assert theirs.status == "failed"
    assert send_jobs() == []
    assert stuck_there.id not in [m["id"] for m in admin.get("/api/v1/queues").get_json()["stuck_messages"]]

    elsewhere = MembershipFactory(user=admin.user, shop=other_shop, role="florist")
    db.session.commit()
    assert admin.get("/api/v1/notifications", headers={"X-Shop-Id": str(elsewhere.shop_id)}).status_code == 403


# --- the list ----------------------------------------------------------------------------------------------


def test_the_log_shows_masked_recipients_newest_first(app, shop, manager):
    customer = CustomerFactory(shop=shop, phone=PHONE)
    older = logged(shop, customer=customer, status="sent", created_at=utcnow() - timedelta(hours=2))
    newer = logged(shop, customer=customer, status="queued")
    db.session.commit()

    response = manager.get("/api/v1/notifications")

    assert response.status_code == 200
    body = response.get_json()
    assert [m["id"] for m in body] == [newer.id, older.id]
    assert json.loads(response.headers["X-Pagination"])["total"] == 2
    assert body[1]["recipient"] == "+7********67"
    assert PHONE not in response.get_data(as_text=True)
    assert PHONE.lstrip("+") not in response.get_data(as_text=True)
    assert body[1] == body[1] | {
        "kind": "occasion_reminder",
        "channel": "sms",
        "status": "sent",
        "stuck": False,
        "customer_id": customer.id,
        "user_id": None,
        "order_id": None,
        "occurrence_key": older.occurrence_key,
    }


def test_filters(app, shop, manager):
    customer = CustomerFactory(shop=shop)
    colleague = UserFactory()
    MembershipFactory(user=colleague, shop=shop, role="manager")
    now = utcnow()
    reminder = logged(shop, customer=customer, status="sent", created_at=now - timedelta(days=3))
    digest = logged(shop, user=colleague, kind="stock_digest", channel="telegram", address="5550001", status="failed")
    front = open_shop(shop)
    order = place(front, delivery(front))
    for_order = logged(
        shop, kind="courier_reminder", order_id=order.id, status="queued", created_at=now - timedelta(days=1)
    )
    db.session.commit()

    def ids(query: str) -> list[int]:
        response = manager.get(f"/api/v1/notifications?{query}")
        assert response.status_code == 200, response.get_json()
        return [m["id"] for m in response.get_json()]

    assert ids("kind=stock_digest") == [digest.id]
    assert ids("status=sent") == [reminder.id]
    assert ids("channel=telegram") == [digest.id]
    assert ids(f"user_id={colleague.id}") == [digest.id]
    assert ids(f"customer_id={customer.id}") == [reminder.id]
    assert ids(f"order_id={order.id}") == [for_order.id]
    since = (now - timedelta(days=2)).isoformat().replace("+00:00", "Z")
    until = (now - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert ids(f"from={since}") == [digest.id, for_order.id]
    assert ids(f"from={since}&to={until}") == [for_order.id]
    assert manager.get("/api/v1/notifications?status=lost").status_code == 422
    assert manager.get("/api/v1/notifications?channel=pigeon").status_code == 422


def test_the_list_runs_the_same_statements_for_three_messages_or_fifty(app, shop, manager, count_queries):
    def statements() -> int:
        with count_queries() as executed:
            response = manager.get("/api/v1/notifications?page_size=100")
        assert response.status_code == 200
        return len(executed)

    for _ in range(3):
        logged(shop, customer=CustomerFactory(shop=shop))
    db.session.commit()
    few = statements()
    for _ in range(47):
        logged(shop, user=manager.user, kind="stock_digest")
    db.session.commit()
    many = statements()

    assert few == many


# --- retry -----------------------------------------------------------------------------------------------


def test_a_failed_reminder_is_queued_again_with_its_key_and_the_customers_address(app, shop, admin):
    customer = CustomerFactory(shop=shop, phone=PHONE)
    message = logged(shop, customer=customer)
    key = message.occurrence_key
    db.session.commit()

    response = admin.post(f"/api/v1/notifications/{message.id}/retry")

    assert response.status_code == 202, response.get_json()
    assert response.get_json() | {"status": "queued", "occurrence_key": key, "id": message.id} == response.get_json()
    (job,) = send_jobs()
    assert job.args == (message.id, PHONE, {})
    db.session.refresh(message)
    assert (message.status, message.occurrence_key) == ("queued", key)
    (entry,) = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "message")).all()
    assert (entry.action, entry.actor_id, entry.changes) == ("retry", admin.user.id, {"status": ["failed", "queued"]})


def test_a_sent_message_is_never_retried(app, shop, admin):
    message = logged(shop, status="sent", customer=CustomerFactory(shop=shop))
    db.session.commit()

    response = admin.post(f"/api/v1/notifications/{message.id}/retry")

    assert response.status_code == 409
    assert response.get_json()["errors"] == {"status": ["sent"]}
    assert send_jobs() == []


def test_a_message_in_flight_is_not_retried_until_it_is_stuck(app, shop, admin):
    sending = logged(shop, status="sending", customer=CustomerFactory(shop=shop, phone=PHONE))
    queued = logged(shop, status="queued", customer=CustomerFactory(shop=shop))
    db.session.commit()

    for message in (sending, queued):
        response = admin.post(f"/api/v1/notifications/{message.id}/retry")
        assert response.status_code == 409
        assert response.get_json()["errors"] == {"status": [message.status]}

    with time_machine.travel(utcnow() + timedelta(minutes=6)):
        listed = {m["id"]: m["stuck"] for m in admin.get("/api/v1/notifications").get_json()}
        assert listed == {sending.id: True, queued.id: True}
        assert admin.post(f"/api/v1/notifications/{sending.id}/retry").status_code == 202
        assert admin.post(f"/api/v1/notifications/{queued.id}/retry").status_code == 202
    assert len(send_jobs()) == 2


def test_no_retry_to_a_customer_now_anonymized_or_without_consent(app, shop, admin):
    anonymized = logged(shop, customer=CustomerFactory(shop=shop, anonymized_at=utcnow(), phone=None))
    withdrew = logged(shop, customer=CustomerFactory(shop=shop, marketing_consent=False))
    unlinked = logged(shop, customer=CustomerFactory(shop=shop), channel="telegram", address="7001")
    db.session.commit()

    answers = {
        name: admin.post(f"/api/v1/notifications/{message.id}/retry")
        for name, message in (("anonymized", anonymized), ("withdrew", withdrew), ("unlinked", unlinked))
    }

    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 409)
    assert answers["anonymized"].get_json()["errors"] == {"customer": ["gone"]}
    assert answers["withdrew"].get_json()["errors"] == {"customer": ["no marketing consent"]}
    assert answers["unlinked"].get_json()["errors"] == {"channel": ["telegram"]}
    assert send_jobs() == []


def test_a_digest_is_retried_to_the_manager_or_the_shops_email(app, shop, admin):
    manager = UserFactory(telegram_chat_id="5550001")
    MembershipFactory(user=manager, shop=shop, role="manager")
    shop.settings = {"notification_email": "owner@shop.test"}
    to_manager = logged(shop, user=manager, kind="stock_digest", channel="telegram", address="5550001")
    by_email = logged(shop, kind="stock_digest", channel="email", address="owner@shop.test")
    db.session.commit()

    assert admin.post(f"/api/v1/notifications/{to_manager.id}/retry").status_code == 202
    assert admin.post(f"/api/v1/notifications/{by_email.id}/retry").status_code == 202

    assert sorted(job.args[1] for job in send_jobs()) == ["5550001", "owner@shop.test"]

    manager.memberships[0].deactivated_at = utcnow()
    db.session.execute(MessageLog.__table__.update().values(status="failed"))
    db.session.commit()
    response = admin.post(f"/api/v1/notifications/{to_manager.id}/retry")
    assert response.status_code == 409
    assert response.get_json()["errors"] == {"user": ["inactive"]}


# --- the queues -------------------------------------------------------------------------------------------


def fails_with_a_secret(phone: str) -> None:
    raise ProviderError(f"SMS.RU refused the message: limit reached for {phone}")


def fails_unexpectedly(phone: str) -> None:
    raise ValueError(f"duplicate key (phone)=({phone})")


def for_shop(shop_id: int) -> dict:
    """A job's enqueue options when it is one shop's, as the app's message sends are."""
    return {"meta": {SHOP_META: shop_id}}


def test_queues_show_the_shops_jobs_failed_jobs_without_arguments_and_stuck_messages(app, shop, manager):
    stuck_id = logged(shop, status="sending", updated_at=utcnow() - timedelta(minutes=10)).id
    logged(shop, status="sending")  # in flight: not stuck
    db.session.commit()
    enqueue_now("messages", fails_with_a_secret, PHONE, retry=retry_policy(1), **for_shop(shop.id))
    enqueue_now("default", fails_unexpectedly, PHONE, **for_shop(shop.id))
    build_worker(app, queues.all(), simple=True).work(burst=True)
    enqueue_now("messages", fails_with_a_secret, PHONE, **for_shop(shop.id))  # waiting for a worker

    response = manager.get("/api/v1/queues")

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    by_name = {q["name"]: q for q in body["queues"]}
    assert list(by_name) == list(QUEUE_NAMES)
    assert (by_name["messages"]["queued"], by_name["messages"]["failed"]) == (1, 1)
    assert (by_name["default"]["queued"], by_name["default"]["failed"]) == (0, 1)
    assert by_name["otp"] == by_name["otp"] | {
        "queued": 0,
        "started": 0,
        "scheduled": 0,
        "failed": 0,
        "failed_jobs": [],
    }
    (provider_failure,) = by_name["messages"]["failed_jobs"]
    assert provider_failure["func_name"].endswith("fails_with_a_secret")
    assert provider_failure["error"].startswith("ProviderError: SMS.RU refused the message: limit reached for +7")
    (unexpected,) = by_name["default"]["failed_jobs"]
    assert unexpected["error"] == "ValueError"  # personal data could be in its text
    text = response.get_data(as_text=True)
    assert PHONE not in text and PHONE.lstrip("+") not in text
    assert [m["id"] for m in body["stuck_messages"]] == [stuck_id]
    assert body["stuck_count"] == 1
    assert body["workers"] == []  # the burst worker has left


def test_each_shops_managers_see_only_their_shops_jobs_and_no_scan(app, shop, other_shop, login):
    ours, theirs = login("manager"), login("manager", shop=other_shop)
    shop_id, other_id = shop.id, other_shop.id  # the worker below ends the test's session
    enqueue_now("messages", fails_with_a_secret, PHONE, **for_shop(other_id))
    enqueue_now("messages", fails_unexpectedly, PHONE, **for_shop(other_id))
    enqueue_now("default", fails_unexpectedly, PHONE)  # a scan over every shop: nobody's
    build_worker(app, queues.all(), simple=True).work(burst=True)
    enqueue_now("messages", fails_with_a_secret, PHONE, **for_shop(shop_id))
    enqueue_now("messages", fails_with_a_secret, PHONE, **for_shop(other_id))
    enqueue_now("default", fails_with_a_secret, PHONE)

    def figures(client) -> dict:
        body = client.get("/api/v1/queues").get_json()
        return {
            q["name"]: (q["queued"], q["failed"], sorted(j["error"].split(":")[0] for j in q["failed_jobs"]))
            for q in body["queues"]
        }

    assert figures(ours) == {
        "otp": (0, 0, []),
        "status": (0, 0, []),
        "messages": (1, 0, []),
        "default": (0, 0, []),
        "webhooks": (0, 0, []),
    }
    assert figures(theirs) == {
        "otp": (0, 0, []),
        "status": (0, 0, []),
        "messages": (1, 2, ["ProviderError", "ValueError"]),
        "default": (0, 0, []),
        "webhooks": (0, 0, []),
    }
    # Nothing was taken off a queue or a registry by looking.
    assert queues.get("messages").count == 2 and queues.get("default").count == 1
    assert FailedJobRegistry(queue=queues.get("default")).get_job_count(cleanup=False) == 1


def test_the_apps_own_sends_and_an_admins_retry_are_counted_for_their_shop(app, shop, other_shop, admin, login):
    theirs = login("admin", shop=other_shop)
    customer = CustomerFactory(shop=shop)
    queue_message(
        kind="occasion_reminder",
        channel="sms",
        to=customer.phone,
        template="occasion_reminder",
        language="ru",
        context={"shop": "Shop", "name": "Анна", "date": "29 марта", "label": "день рождения"},
        shop_id=shop.id,
        customer_id=customer.id,
        occurrence_key="test:tagged",
    )
    failed = logged(shop, customer=customer)
    db.session.commit()
    assert admin.post(f"/api/v1/notifications/{failed.id}/retry").status_code == 202

    def waiting(client) -> int:
        return {q["name"]: q["queued"] for q in client.get("/api/v1/queues").get_json()["queues"]}["messages"]

    assert (waiting(admin), waiting(theirs)) == (2, 0)


def test_queues_answer_503_in_the_error_shape_when_redis_is_down(app, manager, monkeypatch):
    # No client-side retries: redis-py's default backoff would spend seconds before the same answer.
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    monkeypatch.setitem(app.extensions, "queues", {name: Queue(name, connection=dead) for name in QUEUE_NAMES})
    monkeypatch.setitem(app.extensions, "redis", dead)

    response = manager.get("/api/v1/queues")

    assert response.status_code == 503
    assert response.get_json() == {
        "code": 503,
        "status": "Service Unavailable",
        "message": "Redis недоступен, очереди прочитать нельзя; повторите чуть позже.",  # the manager reads Russian
        "errors": {},
    }


def test_failed_jobs_carry_time_zone_aware_end_times(app, shop, manager):
    enqueue_now("messages", fails_with_a_secret, PHONE, **for_shop(shop.id))
    build_worker(app, [queues.get("messages")], simple=True).work(burst=True)

    by_name = {q["name"]: q for q in manager.get("/api/v1/queues").get_json()["queues"]}
    (failed,) = by_name["messages"]["failed_jobs"]

    ended = datetime.fromisoformat(failed["ended_at"])
    assert ended.tzinfo is not None
    assert abs(ended - datetime.now(UTC)) < timedelta(minutes=1)


def test_an_admins_retry_of_a_message_that_used_all_its_tries_gets_every_try_again(app, shop, admin):
    """A retry pressed during a short SMS.RU outage must not fail at once: it starts with the whole backoff."""
    customer = CustomerFactory(shop=shop)
    failed = logged(shop, customer=customer, attempts=4)
    db.session.commit()

    assert admin.post(f"/api/v1/notifications/{failed.id}/retry").status_code == 202

    (job,) = queues.get("messages").get_jobs()
    intervals = app.config["MESSAGE_RETRY_INTERVALS"]
    assert job.retries_left == len(intervals) > 0
    assert job.retry_intervals == intervals
