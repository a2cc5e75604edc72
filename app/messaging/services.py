"""The message log: every message is a row first, then a job that sends it exactly once.

`queue_message` is the one way to send anything (OTP codes now; reminders and digests later). A
secret value (an OTP code) travels only in the send job's arguments, never in the row or a log line.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from redis.exceptions import RedisError
from rq import Queue, Retry, Worker
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.audit import services as audit
from app.common.pagination import page_of
from app.common.types import utcnow
from app.customers.models import Customer
from app.errors import ConflictError, NotFoundError, ServiceUnavailable
from app.extensions import db, queues, redis_client
from app.jobs import enqueue_after_commit, retry_policy
from app.log import mask_sensitive
from app.messaging import templates
from app.messaging.jobs import send_message
from app.messaging.models import MessageLog
from app.messaging.providers import CHANNELS, ProviderError, mask_recipient, sms_channel
from app.shops.models import Shop
from app.shops.services import effective_settings
from app.users.models import User

DEFAULT_MAX_TRIES = 4
# Which queue carries which kind: login codes and the customers' order status messages each have their own,
# ahead of the bulk (reminders, alerts, digests), so a scan's burst never delays them (docs/jobs.md).
QUEUE_FOR_KIND = {"otp": "otp", "order_status": "status"}
BULK_QUEUE = "messages"
# The outcome lives in the message log; RQ keeps a failed job (its arguments: address, code) a week for /queues.
FAILED_JOB_KEPT_SECONDS = 7 * 24 * 3600
SHOP_META = "shop_id"  # a job's shop, in its RQ meta


def channel_for_user(user: User) -> tuple[str, str]:
    """(channel, address) for a member of staff: their linked Telegram chat, else their phone by SMS."""
    config = current_app.config
    if user.telegram_chat_id and config.get("TELEGRAM_BOT_TOKEN"):
        return "telegram", user.telegram_chat_id
    return sms_channel(config), user.phone


def channel_for_customer(customer: Customer) -> tuple[str, str] | None:
    """(channel, address) for a customer: their linked Telegram chat, else their phone by SMS; None if neither."""
    config = current_app.config
    if customer.telegram_chat_id and config.get("TELEGRAM_BOT_TOKEN"):
        return "telegram", customer.telegram_chat_id
    if customer.phone:
        return sms_channel(config), customer.phone
    return None


def queue_for(kind: str) -> str:
    return QUEUE_FOR_KIND.get(kind, BULK_QUEUE)


def send_timeout() -> int:
    """Seconds a send job may run (MESSAGE_SEND_TIMEOUT); each provider call is bounded by its HTTP timeout (10 s)."""
    return int(current_app.config.get("MESSAGE_SEND_TIMEOUT") or 30)


def send_retry(tries_made: int = 0) -> Retry | None:
    """The tries left after `tries_made`, with the backoff of MESSAGE_RETRY_INTERVALS (seconds) when configured,
    else the app's default; None when no try is left."""
    intervals = current_app.config.get("MESSAGE_RETRY_INTERVALS")
    if not intervals:
        policy = retry_policy(DEFAULT_MAX_TRIES)
        intervals = policy.intervals if policy else []
    left = [int(i) for i in intervals][tries_made:]
    return Retry(max=len(left), interval=left) if left else None


def queue_message(
    *,
    kind: str,
    channel: str,
    to: str,
    template: str,
    language: str,
    occurrence_key: str,
    context: Mapping[str, Any] | None = None,
    secret_values: Mapping[str, str] | None = None,
    shop_id: int | None = None,
    user_id: int | None = None,
    customer_id: int | None = None,
    order_id: int | None = None,
    queue: str | None = None,
    description: str | None = None,
    failure_ttl: int = FAILED_JOB_KEPT_SECONDS,
) -> MessageLog | None:
    """Log a message as queued and send it once the caller's transaction commits. The caller commits.

    `context` fills the template and is kept in the log; `secret_values` fill it too but exist only in
    the job's arguments. None when a message with this `occurrence_key` already exists: it is not
    queued again, whoever asks. The queue is the kind's (`queue_for`) unless `queue` names another.
    """
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    context = dict(context or {})
    language = templates.language_for(language)
    # Render once now, so a missing value fails the caller instead of every try of the job.
    templates.render(template, language, {**context, **(secret_values or {})})
    now = utcnow()
    values = {
        "shop_id": shop_id,
        "user_id": user_id,
        "customer_id": customer_id,
        "order_id": order_id,
        "kind": kind,
        "channel": channel,
        "recipient_masked": mask_recipient(channel, to),
        "template": template,
        "language": language,
        "status": "queued",
        "attempts": 0,
        "occurrence_key": occurrence_key,
        "context": context,
        "job_id": new_job_id(),
        "next_try_at": now,
        "created_at": now,
        "updated_at": now,
    }
    # One statement: the row comes back from the INSERT itself (nothing when the key was taken).
    message = db.session.scalars(_insert_once(values).returning(MessageLog)).first()
    if message is None:
        return None
    enqueue_send(
        message,
        to,
        secret_values,
        queue=queue or queue_for(kind),
        description=description,
        failure_ttl=failure_ttl,
    )
    return message


def new_job_id() -> str:
    return uuid.uuid4().hex


def enqueue_send(
    message: MessageLog,
    to: str,
    secret_values: Mapping[str, str] | None,
    *,
    queue: str,
    description: str | None,
    failure_ttl: int = FAILED_JOB_KEPT_SECONDS,
    tries_made: int | None = None,
) -> None:
    """Enqueue the send job that owns `message` (its `job_id`) after the caller's commit, with the tries left
    after `tries_made` (default: the row's attempts; an admin's retry starts afresh with 0)."""
    enqueue_after_commit(
        queue,
        send_message,
        message.id,
        to,
        dict(secret_values or {}),
        job_id=message.job_id,
        retry=send_retry(message.attempts if tries_made is None else tries_made),
        job_timeout=send_timeout(),
        failure_ttl=failure_ttl,
        meta={SHOP_META: message.shop_id},  # whose job it is, for /queues
        # RQ logs a job's description; the default one would be the call with its arguments.
        description=description or f"send message {message.id}",
    )


def _insert_once(values: dict[str, Any]):
    """INSERT ... ON CONFLICT (occurrence_key) DO NOTHING, on PostgreSQL and the dev mode's SQLite."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        return pg_insert(MessageLog).values(values).on_conflict_do_nothing(index_elements=["occurrence_key"])
    if dialect == "sqlite":
        return sqlite_insert(MessageLog).values(values).on_conflict_do_nothing(index_elements=["occurrence_key"])
    return insert(MessageLog).values(values)


# --- the message log as admins and managers see it ------------------------------------------------

# A row "sending" for longer than this lost its worker (a send job times out after 60 s): it is stuck.
STUCK_AFTER = timedelta(minutes=5)
# Kinds that go to a customer only with their consent, on a retry as on the first try.
CONSENT_KINDS = frozenset({"occasion_reminder"})
STUCK_SHOWN = 20


def is_stuck(message: MessageLog, *, now: datetime | None = None) -> bool:
    """Sending, or queued, with nothing heard from a worker for STUCK_AFTER: its job is gone."""
    return message.status in ("sending", "queued") and message.updated_at < (now or utcnow()) - STUCK_AFTER


def list_messages(
    *,
    shop_id: int,
    kind: str | None = None,
    status: str | None = None,
    channel: str | None = None,
    user_id: int | None = None,
    customer_id: int | None = None,
    order_id: int | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    page: int,
    page_size: int,
) -> tuple[list[MessageLog], int]:
    """The shop's message log, newest first."""
    stmt = select(MessageLog).where(MessageLog.shop_id == shop_id)
    for column, value in (
        (MessageLog.kind, kind),
        (MessageLog.status, status),
        (MessageLog.channel, channel),
        (MessageLog.user_id, user_id),
        (MessageLog.customer_id, customer_id),
        (MessageLog.order_id, order_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if date_from:
        stmt = stmt.where(MessageLog.created_at >= date_from)
    if date_to:
        stmt = stmt.where(MessageLog.created_at < date_to)
    return page_of(stmt.order_by(MessageLog.created_at.desc(), MessageLog.id.desc()), page=page, page_size=page_size)


def stuck_messages(*, shop_id: int) -> tuple[list[MessageLog], int]:
    """The shop's stuck messages (oldest first, at most STUCK_SHOWN) and how many there are."""
    stmt = select(MessageLog).where(
        MessageLog.shop_id == shop_id,
        MessageLog.status.in_(("sending", "queued")),
        MessageLog.updated_at < utcnow() - STUCK_AFTER,
    )
    return page_of(stmt.order_by(MessageLog.updated_at, MessageLog.id), page=1, page_size=STUCK_SHOWN)


def retry_message(*, shop_id: int, message_id: int, actor_id: int) -> MessageLog:
    """Queue a failed or stuck message again, under its own occurrence key; 409 once it is sent.

    A stuck "sending" row may have reached the provider before its worker died: retrying it is the
    admin's call, and may send a second copy. A stuck "queued" row is safe to retry: whichever of its
    jobs claims it first sends it, the other does nothing.
    """
    message = db.session.scalars(
        select(MessageLog).where(MessageLog.id == message_id, MessageLog.shop_id == shop_id)
    ).first()
    if message is None:
        raise NotFoundError("Message not found.")
    before = message.status
    if before == "sent":
        raise ConflictError("This message was sent; it is not sent again.", errors={"status": [before]})
    if before in ("queued", "sending") and not is_stuck(message):
        raise ConflictError(
            "This message is “{status}” right now; retry it once it has failed or is stuck.",
            errors={"status": [before]},
            params={"status": before},
        )
    to = address_for_retry(message)
    # Only if nobody moved it meanwhile (a late worker, another admin): the row's status is the lock.
    now = utcnow()
    moved = db.session.execute(
        update(MessageLog)
        .where(
            MessageLog.id == message.id,
            MessageLog.status == before,
            MessageLog.updated_at == message.updated_at,
        )
        .values(status="queued", job_id=new_job_id(), next_try_at=now, updated_at=now)
        .returning(MessageLog.id)
    ).scalar()
    if moved is None:
        db.session.rollback()
        raise ConflictError("This message changed meanwhile; reload it and try again.")
    db.session.refresh(message)
    enqueue_send(
        message, to, None, queue=queue_for(message.kind), description=f"retry message {message.id}", tries_made=0
    )
    audit.record(
        shop_id=shop_id,
        actor_id=actor_id,
        action="retry",
        entity_type="message",
        entity_id=message.id,
        changes={"status": [before, "queued"]},
    )
    db.session.commit()
    db.session.refresh(message)
    return message


def address_for_retry(message: MessageLog) -> str:
    """The recipient's address on the message's channel, read again (the log keeps only a masked one)."""
    if message.kind == "otp":
        raise ConflictError("A login code is never sent again; ask for a new one.", errors={"kind": ["otp"]})
    address: str | None = None
    if message.customer_id is not None:
        customer = db.session.get(Customer, message.customer_id)
        if customer is None or customer.anonymized_at is not None:
            raise ConflictError("The customer was anonymized; nothing is sent to them.", errors={"customer": ["gone"]})
        if message.kind in CONSENT_KINDS and not customer.marketing_consent:
            raise ConflictError(
                "The customer no longer agrees to reminders.", errors={"customer": ["no marketing consent"]}
            )
        address = _address_of(customer, message.channel)
    elif message.user_id is not None and message.shop_id is None:  # to a person, from no shop (an invitation)
        user = db.session.get(User, message.user_id)
        address = _address_of(user, message.channel) if user is not None else None
    elif message.user_id is not None:
        user = db.session.get(User, message.user_id)
        works_here = user is not None and user.is_active and any(m.shop_id == message.shop_id for m in user.memberships)
        if not works_here:
            raise ConflictError("The recipient no longer works in this shop.", errors={"user": ["inactive"]})
        address = _address_of(user, message.channel)
    elif message.channel == "email" and message.shop_id is not None:
        shop = db.session.get(Shop, message.shop_id)
        address = effective_settings(shop)["notification_email"]
    if not address:
        raise ConflictError(
            "No {channel} address is known for this recipient any more; add one, then retry.",
            errors={"channel": [message.channel]},
            params={"channel": message.channel},
        )
    return address


def _address_of(person: Any, channel: str) -> str | None:
    if channel == "telegram":
        return person.telegram_chat_id
    if channel == "email":
        return person.email
    return person.phone


# --- the queues -----------------------------------------------------------------------------------

FAILED_JOBS_SHOWN = 5


def queue_overview(*, shop_id: int) -> dict[str, Any]:
    """Each RQ queue as one shop sees it: its own jobs waiting, running, waiting for a retry and failed, its
    last failed jobs (no arguments), and the live workers.

    A job carries its shop in `meta` from the moment it is enqueued; other shops' jobs and jobs of no shop
    (the periodic scans over every shop) are not counted, so no shop learns another's activity. Each job's
    hash is read in one pipelined round trip per registry. Read-only: registries are read without RQ's
    cleanup. 503 when Redis does not answer.
    """
    try:
        return {
            "queues": [_queue_state(queue, shop_id) for queue in queues.all()],
            "workers": _workers(),
        }
    except RedisError:
        raise ServiceUnavailable("Redis is unavailable, so the queues cannot be read; try again shortly.") from None


def _queue_state(queue: Queue, shop_id: int) -> dict[str, Any]:
    def mine(job_ids: list[str]) -> list[Job]:
        jobs = Job.fetch_many(job_ids, connection=queue.connection)
        return [job for job in jobs if job is not None and job.meta.get(SHOP_META) == shop_id]

    failed = mine(FailedJobRegistry(queue=queue).get_job_ids(cleanup=False))
    failed.sort(key=lambda job: _aware(job.ended_at) or datetime.min.replace(tzinfo=UTC), reverse=True)
    return {
        "name": queue.name,
        "queued": len(mine(queue.get_job_ids())),
        "started": len(mine(StartedJobRegistry(queue=queue).get_job_ids(cleanup=False))),
        "scheduled": len(mine(ScheduledJobRegistry(queue=queue).get_job_ids(cleanup=False))),
        "failed": len(failed),
        "failed_jobs": [_failed_job(job) for job in failed[:FAILED_JOBS_SHOWN]],
    }


def _failed_job(job: Job) -> dict[str, Any]:
    result = job.latest_result()
    return {
        "id": job.id,
        "func_name": job.func_name,
        "error": _error_summary(result.exc_string if result else None),
        "ended_at": _aware(job.ended_at),
    }


def _error_summary(exc_string: str | None) -> str | None:
    """The exception's type; with its text only for ProviderError, whose text is safe by design.

    Other exceptions may carry another shop's data (a constraint's key values), and the queues are
    shared by every shop.
    """
    if not exc_string:
        return None
    last = exc_string.strip().splitlines()[-1]
    kind, _, text = last.partition(":")
    name = kind.strip().rsplit(".", 1)[-1]
    if name == ProviderError.__name__ and text.strip():
        return f"{name}: {mask_sensitive(text.strip())[:300]}"
    return name[:100] or None


def _workers() -> list[dict[str, Any]]:
    workers = Worker.all(connection=redis_client.client)
    return [
        {
            "name": worker.name,
            "state": str(getattr(worker.get_state(), "value", worker.get_state())),
            "queues": worker.queue_names(),
            "last_heartbeat": _aware(worker.last_heartbeat),
        }
        for worker in sorted(workers, key=lambda w: w.name)
    ]


def _aware(moment: datetime | None) -> datetime | None:
    """RQ's timestamps are UTC, naive or not depending on the version."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


# --- anonymization ---------------------------------------------------------------------------------------

# What a message's template context keeps once its customer is anonymized: nothing that names or reaches them.
CONTEXT_KEPT_ON_ERASURE = frozenset({"shop", "number", "window", "status", "since", "order_id", "occasion_id"})
ERASED = "[erased]"


def customer_messages(shop_id: int, customer_id: int) -> list[MessageLog]:
    """The message log rows of messages to the customer, oldest first (for their export)."""
    return list(
        db.session.scalars(
            select(MessageLog)
            .where(MessageLog.shop_id == shop_id, MessageLog.customer_id == customer_id)
            .order_by(MessageLog.created_at, MessageLog.id)
        )
    )


def forget_customer(shop_id: int, customer_id: int) -> int:
    """The customer is anonymized: their message log rows keep kind, channel, template, status, attempts and
    times for the books; the recipient and the personal values of the context (name, occasion, date) are
    erased, and a message still queued is failed so it never goes out. Does not commit; how many rows."""
    rows = db.session.scalars(
        select(MessageLog)
        .where(MessageLog.shop_id == shop_id, MessageLog.customer_id == customer_id)
        .order_by(MessageLog.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    for row in rows:
        row.context = {
            key: value if key in CONTEXT_KEPT_ON_ERASURE else ERASED for key, value in (row.context or {}).items()
        }
        row.recipient_masked = ERASED
        if row.status == "queued":  # its send job finds nothing to claim
            row.status = "failed"
            row.error = "not sent: the customer was anonymized"
    return len(rows)
