"""The send job: one message log row, sent at most once, retried with backoff by RQ."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from redis.exceptions import RedisError
from rq import get_current_job
from rq.job import Job
from sqlalchemy import or_, update

from app.common.types import utcnow
from app.events import outbox
from app.extensions import db
from app.messaging.models import MessageLog
from app.messaging.providers import ProviderError, build_provider
from app.messaging.templates import render

log = logging.getLogger(__name__)

# Where the send job keeps the provider's id the moment it has it: if the worker dies before the row says
# "sent", the recovery sweep finds it there (docs/jobs.md, "A worker killed mid-send").
PROVIDER_ID_META = "provider_message_id"


def _owned_by(message_id: int, job_id: str | None, status: str):
    """The row, in `status`, if the job `job_id` owns it (a row from before jobs owned rows belongs to any).

    Without a job (called directly, or inline) the row's status alone decides.
    """
    conditions = [MessageLog.id == message_id, MessageLog.status == status]
    if job_id is not None:
        conditions.append(or_(MessageLog.job_id == job_id, MessageLog.job_id.is_(None)))
    return conditions


def claim(message_id: int, *, job_id: str | None = None) -> MessageLog | None:
    """queued → sending, atomically, counting the try; None when it is not queued or another job owns it."""
    claimed = db.session.execute(
        update(MessageLog)
        .where(*_owned_by(message_id, job_id, "queued"))
        .values(status="sending", attempts=MessageLog.attempts + 1, updated_at=utcnow())
        .returning(MessageLog.id)
    ).scalar()
    db.session.commit()
    return db.session.get(MessageLog, claimed) if claimed is not None else None


def mark_sent(message_id: int, *, provider_message_id: str, job_id: str | None = None) -> None:
    now = utcnow()
    db.session.execute(
        update(MessageLog)
        .where(*_owned_by(message_id, job_id, "sending"))
        .values(status="sent", provider_message_id=provider_message_id, error=None, sent_at=now, updated_at=now)
    )
    db.session.commit()


def failed_for_good(message_id: int, shop_id: int | None, customer_id: int | None) -> None:
    """A shop's message that ends failed (no try follows) is a `message.failed` event for its managers."""
    if shop_id is not None:
        outbox.record(
            "message.failed", shop_id=shop_id, subject_type="message", subject_id=message_id, customer_id=customer_id
        )


def mark_failed_try(message_id: int, *, error: str, final: bool, retry_in: int = 0, job_id: str | None = None) -> None:
    """Record a failed try: back to queued, due again in `retry_in` seconds, or failed for good."""
    db.session.rollback()  # whatever the failed try left in the session is not ours to commit
    now = utcnow()
    failed = db.session.execute(
        update(MessageLog)
        .where(*_owned_by(message_id, job_id, "sending"))
        .values(
            status="failed" if final else "queued",
            error=error[:1000],
            next_try_at=None if final else now + timedelta(seconds=retry_in),
            updated_at=now,
        )
        .returning(MessageLog.shop_id, MessageLog.customer_id)
    ).first()
    if final and failed is not None:
        failed_for_good(message_id, failed.shop_id, failed.customer_id)
    db.session.commit()


def _next_try_in(job: Job | None) -> int | None:
    """Seconds until RQ tries the job again; None when no try follows (or it runs inline, once)."""
    if job is None or not job.retries_left:
        return None
    return job.get_retry_interval()


def _remember_provider_id(job: Job | None, provider_message_id: str) -> None:
    if job is None:
        return
    job.meta[PROVIDER_ID_META] = provider_message_id
    try:
        job.save_meta()
    except RedisError:  # the row is marked sent next; this copy only matters if that fails too
        log.warning("could not keep provider id of job %s in Redis", job.id)


def send_message(message_id: int, to: str, secret_values: dict[str, str] | None = None) -> str | None:
    """Send the logged message `message_id` to `to`; its provider id, or None if it was not ours to send.

    A row that is already sent, being sent, failed, or owned by another job is left alone, so a duplicated,
    stale or late job never sends twice. A permanent provider error fails the row at once; a transient one
    is recorded and re-raised so RQ tries again after its backoff, until the tries run out.
    """
    job = get_current_job()  # None when called directly
    job_id = job.id if job is not None else None
    message = claim(message_id, job_id=job_id)
    if message is None:
        log.info("message %s is not queued for this job (sent, in flight, failed or taken over)", message_id)
        return None
    label = f"message {message_id} ({message.kind}, {message.channel}, try {message.attempts})"
    try:
        provider = build_provider(message.channel, current_app.config)
        text = render(message.template, message.language, {**message.context, **(secret_values or {})})
        provider_message_id = provider.send(to, text)
    except ProviderError as exc:
        retry_in = None if exc.permanent else _next_try_in(job)
        final = retry_in is None
        mark_failed_try(message_id, job_id=job_id, error=str(exc), final=final, retry_in=retry_in or 0)
        if final and job is not None:
            job.retries_left = 0  # a permanent error: RQ must not try again either
        outcome = f"(will retry in {retry_in} s)" if not final else "for good" + (" (permanent)" * exc.permanent)
        log.warning("%s failed %s: %s", label, outcome, exc)
        raise
    except Exception as exc:
        # We cannot tell whether it went out: never risk a second copy, leave it to an admin.
        error = f"unexpected error ({type(exc).__name__})"
        mark_failed_try(message_id, job_id=job_id, error=error, final=True)
        if job is not None:
            job.retries_left = 0
        log.error("%s failed unexpectedly (%s); not retried", label, type(exc).__name__)
        raise
    _remember_provider_id(job, provider_message_id)
    mark_sent(message_id, job_id=job_id, provider_message_id=provider_message_id)
    log.info("%s sent, provider id %s", label, provider_message_id)
    return provider_message_id
