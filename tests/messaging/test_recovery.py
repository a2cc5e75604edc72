"""The recovery sweep called directly (the real-stack kills are in test_worker_kills_e2e.py): it takes over only
what no live job holds, never what a backlog merely delays, and fails what must not go out any more."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from app.common.types import utcnow
from app.extensions import db, queues
from app.messaging.jobs import send_message
from app.messaging.models import MessageLog
from app.messaging.recovery import DUE_GRACE, MAX_TRIES_RECOVERED, recover_messages
from app.messaging.services import queue_message
from tests.factories import ShopFactory, UserFactory
from tests.messaging.factories import CustomerFactory


def sends_queued(name: str = "status") -> list:
    """The send jobs waiting on a queue (a message failed for good also queues the event log's dispatch there)."""
    return [job for job in queues.get(name).jobs if job.func_name.endswith("send_message")]


def status_message(customer) -> MessageLog:
    message = queue_message(
        kind="order_status",
        channel="sms",
        to=customer.phone,
        template="order_delivered",
        language="ru",
        occurrence_key=f"order_status:{customer.id}:delivered:1",
        context={"shop": "Лавка", "number": "A-1"},
        shop_id=customer.shop_id,
        customer_id=customer.id,
    )
    db.session.commit()
    return message


def overdue(message: MessageLog, *, by: timedelta = DUE_GRACE + timedelta(seconds=1), **values) -> None:
    db.session.execute(
        update(MessageLog).where(MessageLog.id == message.id).values(next_try_at=utcnow() - by, **values)
    )
    db.session.commit()
    db.session.refresh(message)


def test_a_message_waiting_on_its_queue_behind_others_is_left_alone(app):
    message = status_message(CustomerFactory(shop=ShopFactory()))
    overdue(message, by=timedelta(minutes=2))  # a backlog: due long ago, its job still on the queue

    assert recover_messages() == {"requeued": 0, "sent": 0, "failed": 0}
    assert [job.id for job in queues.get("status").get_jobs()] == [message.job_id]


def test_a_lost_job_is_replaced_and_the_old_one_finds_nothing_to_send(app, sms_stub):
    customer = CustomerFactory(shop=ShopFactory())
    message = status_message(customer)
    lost = queues.get("status").get_jobs()[0]
    queues.get("status").remove(lost)
    overdue(message)

    assert recover_messages()["requeued"] == 1
    db.session.refresh(message)
    (new_job,) = queues.get("status").get_jobs()
    assert message.job_id == new_job.id != lost.id
    assert new_job.args[1] == customer.phone  # the lost job's own address

    lost.perform()  # the old job, should RQ ever run it: the row is not its own any more
    assert db.session.get(MessageLog, message.id).status == "queued"
    new_job.perform()
    db.session.expire_all()
    assert (db.session.get(MessageLog, message.id).status, len(sms_stub.requests)) == ("sent", 1)


def test_a_lost_message_to_a_customer_who_was_anonymized_meanwhile_is_failed(app):
    customer = CustomerFactory(shop=ShopFactory())
    message = status_message(customer)
    queues.get("status").empty()  # the job and its hash are gone
    customer.anonymized_at = utcnow()
    db.session.commit()
    overdue(message)

    assert recover_messages()["failed"] == 1
    db.session.refresh(message)
    assert message.status == "failed"
    assert message.error == "not sent: The customer was anonymized; nothing is sent to them."
    assert sends_queued() == []


def test_a_login_code_that_expired_while_its_send_was_abandoned_is_failed_not_sent(app, sms_stub):
    user = UserFactory()
    message = queue_message(
        kind="otp",
        channel="sms",
        to=user.phone,
        template="otp_code",
        language="ru",
        context={"minutes": 5},
        secret_values={"code": "123456"},
        user_id=user.id,
        occurrence_key="otp:expired",
    )
    db.session.commit()
    six_minutes_ago = utcnow() - timedelta(minutes=6)
    db.session.execute(
        update(MessageLog)
        .where(MessageLog.id == message.id)
        .values(status="sending", attempts=1, created_at=six_minutes_ago, updated_at=six_minutes_ago)
    )
    db.session.commit()

    assert recover_messages()["failed"] == 1
    db.session.refresh(message)
    assert message.status == "failed"
    assert message.error.startswith("not sent: the login code expired")
    send_message(message.id, user.phone, {"code": "123456"})  # a late job
    assert sms_stub.requests == []


def invitation_message(user) -> MessageLog:
    """A staff invitation: to a person, from no shop (the inviting shop's log never shows how they are reached)."""
    message = queue_message(
        kind="staff_invitation",
        channel="sms",
        to=user.phone,
        template="staff_invitation",
        language="en",
        occurrence_key=f"staff_invitation:{user.id}:1",
        context={"shop": "Flowers", "days": 7},
        user_id=user.id,
    )
    db.session.commit()
    return message


def test_an_invitation_whose_job_was_lost_goes_out_to_the_person(app, sms_stub):
    user = UserFactory()
    message = invitation_message(user)
    queues.get("messages").empty()  # the job and its hash are gone: the address is read again
    overdue(message)

    assert recover_messages()["requeued"] == 1
    (job,) = queues.get("messages").get_jobs()
    assert job.args[1] == user.phone
    job.perform()
    db.session.expire_all()
    assert (db.session.get(MessageLog, message.id).status, len(sms_stub.requests)) == ("sent", 1)


def test_an_abandoned_invitation_is_sent_again_not_left_to_a_person(app, sms_stub):
    message = invitation_message(UserFactory())
    queues.get("messages").empty()
    long_ago = utcnow() - timedelta(minutes=5)
    db.session.execute(
        update(MessageLog)
        .where(MessageLog.id == message.id)
        .values(status="sending", attempts=1, updated_at=long_ago, next_try_at=long_ago)
    )
    db.session.commit()

    assert recover_messages()["requeued"] == 1
    assert db.session.get(MessageLog, message.id).status == "queued"


def test_a_message_whose_workers_keep_dying_is_given_up_with_the_reason(app, sms_stub):
    message = status_message(CustomerFactory(shop=ShopFactory()))
    queues.get("status").empty()
    overdue(message, attempts=MAX_TRIES_RECOVERED)

    assert recover_messages() == {"requeued": 0, "sent": 0, "failed": 1}
    db.session.refresh(message)
    assert message.status == "failed" and "worker gone" in message.error
    assert sends_queued() == [] and sms_stub.requests == []
