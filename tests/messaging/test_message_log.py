"""The message log and its send job: each message is a row, sent once, retried, failed visibly."""

from __future__ import annotations

import json
import threading

import pytest
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select

from app.extensions import db, queues
from app.jobs.worker import build_worker
from app.log import mask_sensitive
from app.messaging import templates
from app.messaging.jobs import send_message
from app.messaging.models import MessageLog
from app.messaging.providers import ProviderError
from app.messaging.services import channel_for_user, queue_message
from tests.factories import UserFactory
from tests.messaging.stub_server import SMSRU_BAD_API_ID, smsru_sent

CODE = "654321"


def queue_otp(user, *, key: str = "otp:test:1", code: str = CODE, channel: str = "sms", to: str | None = None):
    return queue_message(
        kind="otp",
        channel=channel,
        to=to or user.phone,
        template="otp_code",
        language=user.language,
        context={"minutes": 5},
        secret_values={"code": code},
        user_id=user.id,
        occurrence_key=key,
        queue="otp",
        description="send otp",
    )


def otp_jobs():
    return queues.get("otp").get_jobs()


def run_worker(app) -> None:
    build_worker(app, [queues.get("otp")], simple=True).work(burst=True)


def test_a_queued_message_is_logged_without_its_secret_and_enqueued_after_commit(app):
    user = UserFactory(phone="+79161234567")

    message = queue_otp(user)
    assert otp_jobs() == []  # nothing leaves before the transaction commits
    db.session.commit()

    assert message.status == "queued"
    assert message.attempts == 0
    assert (message.kind, message.channel, message.template, message.language) == ("otp", "sms", "otp_code", "ru")
    assert message.recipient_masked == "+7********67"
    assert message.context == {"minutes": 5}
    row_text = json.dumps({c.name: str(getattr(message, c.name)) for c in MessageLog.__table__.columns})
    assert CODE not in row_text and "+79161234567" not in row_text
    (job,) = otp_jobs()
    assert job.description == "send otp"
    assert job.args == (message.id, "+79161234567", {"code": CODE})
    assert job.retries_left == 3


def test_a_rolled_back_message_is_never_enqueued(app):
    user = UserFactory()
    queue_otp(user)
    db.session.rollback()
    db.session.commit()
    assert otp_jobs() == []
    assert db.session.scalar(select(func.count()).select_from(MessageLog)) == 0


def test_the_same_occurrence_is_logged_and_enqueued_once(app):
    user = UserFactory()
    first = queue_otp(user, key="reminder:42:2026")
    db.session.commit()
    second = queue_otp(user, key="reminder:42:2026")
    db.session.commit()

    assert first is not None and second is None
    assert db.session.scalar(select(func.count()).select_from(MessageLog)) == 1
    assert len(otp_jobs()) == 1


def test_a_template_missing_a_value_fails_the_caller_not_the_job(app):
    user = UserFactory()
    with pytest.raises(KeyError):
        queue_message(
            kind="otp",
            channel="sms",
            to=user.phone,
            template="otp_code",
            language="ru",
            context={},
            occurrence_key="k",
        )


def test_templates_speak_russian_and_english():
    values = {"code": CODE, "minutes": 5}
    assert "ваш код: 654321" in templates.render("otp_code", "ru", values)
    assert "your login code: 654321" in templates.render("otp_code", "en", values)
    assert templates.render("otp_code", "de", values) == templates.render("otp_code", "ru", values)


@pytest.mark.parametrize("language", templates.LANGUAGES)
def test_a_code_text_that_reached_a_log_line_would_be_masked(language):
    text = templates.render("otp_code", language, {"code": CODE, "minutes": 5})
    assert CODE not in mask_sensitive(text)


def test_the_send_job_sends_once_and_records_the_provider_id(app, sms_stub):
    user = UserFactory(language="en")
    message = queue_otp(user)
    db.session.commit()

    provider_id = send_message(message.id, user.phone, {"code": CODE})
    again = send_message(message.id, user.phone, {"code": CODE})  # a duplicated job

    (received,) = sms_stub.requests
    assert "your login code: 654321" in received.form["msg"]
    assert again is None
    db.session.refresh(message)
    assert (message.status, message.attempts, message.error) == ("sent", 1, None)
    assert message.provider_message_id == provider_id == smsru_sent(received)["sms"][received.form["to"]]["sms_id"]
    assert message.sent_at is not None


def test_a_failure_on_the_only_try_marks_the_message_failed(app, sms_stub):
    sms_stub.always(200, SMSRU_BAD_API_ID)
    user = UserFactory()
    message = queue_otp(user)
    db.session.commit()

    with pytest.raises(ProviderError):
        send_message(message.id, user.phone, {"code": CODE})

    db.session.refresh(message)
    assert message.status == "failed"
    assert message.attempts == 1
    assert "Неправильный api_id" in message.error
    assert send_message(message.id, user.phone, {"code": CODE}) is None  # a failed message stays failed
    assert len(sms_stub.requests) == 1


def test_the_worker_retries_a_failed_send_until_it_goes_through(app, sms_stub, monkeypatch):
    monkeypatch.setitem(app.config, "MESSAGE_RETRY_INTERVALS", [0, 0])
    sms_stub.then(500, "Internal Server Error", times=2)
    user = UserFactory()
    message_id = queue_otp(user).id
    db.session.commit()

    run_worker(app)

    assert len(sms_stub.requests) == 3
    assert {r.form["msg"] for r in sms_stub.requests} == {
        templates.render("otp_code", "ru", {"code": CODE, "minutes": 5})
    }
    message = db.session.get(MessageLog, message_id)  # the worker closed the test's session
    assert (message.status, message.attempts, message.error) == ("sent", 3, None)


def test_after_the_last_try_the_message_is_failed_with_the_error(app, sms_stub, monkeypatch):
    monkeypatch.setitem(app.config, "MESSAGE_RETRY_INTERVALS", [0, 0])
    sms_stub.always(503, "Service Unavailable")
    user = UserFactory()
    message_id = queue_otp(user).id
    db.session.commit()
    (job,) = otp_jobs()

    run_worker(app)

    assert len(sms_stub.requests) == 3
    message = db.session.get(MessageLog, message_id)
    assert (message.status, message.attempts) == ("failed", 3)
    assert message.error == "SMS.RU answered HTTP 503 without JSON"
    assert job.id in FailedJobRegistry(queue=queues.get("otp"))


def test_users_with_a_linked_telegram_get_telegram(app, telegram_stub):
    user = UserFactory(telegram_chat_id="555000111", language="en")
    channel, address = channel_for_user(user)
    assert (channel, address) == ("telegram", "555000111")

    message = queue_otp(user, channel=channel, to=address)
    db.session.commit()
    send_message(message.id, address, {"code": CODE})

    (received,) = telegram_stub.requests
    assert received.json["chat_id"] == "555000111"
    assert "your login code: 654321" in received.json["text"]
    db.session.refresh(message)
    assert (message.channel, message.recipient_masked, message.status) == ("telegram", "chat …11", "sent")
    assert message.provider_message_id == "4242"


def test_without_a_bot_token_a_linked_telegram_falls_back_to_sms(app, monkeypatch):
    monkeypatch.setitem(app.config, "TELEGRAM_BOT_TOKEN", "")
    user = UserFactory(telegram_chat_id="555000111")
    monkeypatch.setitem(app.config, "SMS_PROVIDER", "smsru")
    assert channel_for_user(user) == ("sms", user.phone)
    monkeypatch.setitem(app.config, "SMS_PROVIDER", "console")
    assert channel_for_user(user) == ("console", user.phone)


@pytest.mark.committed
def test_two_jobs_for_one_message_at_once_send_it_once(app, sms_stub):
    sms_stub.always(200, smsru_sent, delay=0.3)
    user = UserFactory()
    message = queue_otp(user)
    db.session.commit()
    message_id, phone = message.id, user.phone
    barrier = threading.Barrier(2)
    results: list[str | None] = []

    def duplicate_job():
        with app.app_context():
            barrier.wait()
            results.append(send_message(message_id, phone, {"code": CODE}))
            db.session.remove()

    threads = [threading.Thread(target=duplicate_job) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert len(sms_stub.requests) == 1
    assert None in results and any(results)
    db.session.expire_all()
    sent = db.session.get(MessageLog, message_id)
    assert (sent.status, sent.attempts) == ("sent", 1)
