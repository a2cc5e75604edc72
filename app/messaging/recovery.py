"""The message log heals itself: what it says is due and no live job holds is queued again, and a send whose
worker died is settled as its kind allows. `rq cron` runs `recover_messages` every RECOVERY_INTERVAL seconds.

Nothing here depends on RQ's scheduler or its registries being right: a retry stranded by a dead scheduler,
a job lost between the queue and the worker, a send whose worker was killed are all seen from the log.
Each row is owned by one job (`job_id`); handing it to a new job is a conditional UPDATE, so the old job,
should it ever run, finds nothing to claim (docs/jobs.md, "Recovery").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from rq.job import Job, JobStatus
from sqlalchemy import select, update

from app.common.types import utcnow
from app.errors import ConflictError
from app.extensions import db, queues, redis_client
from app.messaging import services
from app.messaging.jobs import PROVIDER_ID_META, failed_for_good
from app.messaging.models import MessageLog
from app.messaging.providers import ProviderError, SmsRuProvider, build_provider

log = logging.getLogger(__name__)

RECOVERY_INTERVAL = 10  # seconds between sweeps (rq cron)
# A queued row this far past its due time with no job waiting for it has lost its job: a healthy worker takes a
# due row within seconds, and RQ's scheduler moves a retry within a second of its time.
DUE_GRACE = timedelta(seconds=10)
# A send job that ran this much longer than its timeout is dead: RQ stops a live one at the timeout.
ABANDON_MARGIN = timedelta(seconds=5)
BATCH = 200

# Sent again when it is unknown whether the provider took it: a second copy does no harm (a login code
# while it is valid: the same code; a reminder or alert to staff). To a customer a second copy costs
# money and goodwill, so there the unknown goes to a person (the row fails with the reason).
RESEND_WHEN_UNKNOWN = frozenset(
    {
        "otp",
        "courier_reminder",
        "florist_reminder",
        "overdue_delivery",
        "overdue_production",
        "stock_digest",
        "stock_short",
        "staff_invitation",
        "webhook_disabled",
        "storefront_order",
        "standing_order",
        "slot_over_booked",
    }
)
# A row whose sends keep dying with their workers (a message that brings its worker down each time) stops here.
MAX_TRIES_RECOVERED = services.DEFAULT_MAX_TRIES + 2
UNKNOWN_OUTCOME = (
    "the worker stopped while the provider was answering; it may have arrived: check with the recipient before retrying"
)


@dataclass
class _Send:
    """What a new send job needs: the address and secret values the lost job carried."""

    to: str
    secret_values: dict[str, str]
    queue: str
    # The lost job's: a login code's failed job is dropped within minutes, not kept the week others are.
    failure_ttl: int = services.FAILED_JOB_KEPT_SECONDS


def recover_messages(now: datetime | None = None) -> dict[str, int]:
    """One sweep over the message log; how many rows were queued again, marked sent, or failed."""
    now = now or utcnow()
    outcome = {"requeued": 0, "sent": 0, "failed": 0}
    # One commit a row: a row's lock is never held while the next one asks SMS.RU, and its job goes out at once.
    for row, job in _lost(now):
        _requeue_or_fail(row, job, now, outcome)
        db.session.commit()
    for row, job in _abandoned(now):
        _settle(row, job, now, outcome)
        db.session.commit()
    if any(outcome.values()):
        log.warning("message recovery: %(requeued)d queued again, %(sent)d found sent, %(failed)d failed", outcome)
    return outcome


def _with_jobs(rows: list[MessageLog]) -> list[tuple[MessageLog, Job | None]]:
    ids = [row.job_id for row in rows if row.job_id]
    fetched = dict(zip(ids, Job.fetch_many(ids, connection=redis_client.client), strict=True)) if ids else {}
    return [(row, fetched.get(row.job_id) if row.job_id else None) for row in rows]


def _lost(now: datetime) -> list[tuple[MessageLog, Job | None]]:
    """Queued rows past their due time whose job is not waiting on a queue nor running."""
    rows = db.session.scalars(
        select(MessageLog)
        .where(MessageLog.status == "queued", MessageLog.next_try_at < now - DUE_GRACE)
        .order_by(MessageLog.next_try_at, MessageLog.id)
        .limit(BATCH)
    ).all()
    if not rows:
        return []
    waiting = {job_id for queue in queues.all() for job_id in queue.get_job_ids()}
    running_since = now - _abandoned_after()
    lost = []
    for row, job in _with_jobs(rows):
        if job is not None and job.id in waiting:
            continue  # on its queue behind others: a backlog, not a loss
        status = job.get_status(refresh=False) if job is not None else None
        if status == JobStatus.STARTED and job.started_at and _aware(job.started_at) > running_since:
            continue  # a worker has just taken it
        # Gone, scheduled past its time (the scheduler is down), or ended without claiming the row.
        lost.append((row, job))
    return lost


def _abandoned(now: datetime) -> list[tuple[MessageLog, Job | None]]:
    """Rows "sending" for longer than any live send job runs."""
    rows = db.session.scalars(
        select(MessageLog)
        .where(MessageLog.status == "sending", MessageLog.updated_at < now - _abandoned_after())
        .order_by(MessageLog.updated_at, MessageLog.id)
        .limit(BATCH)
    ).all()
    return _with_jobs(list(rows))


def _abandoned_after() -> timedelta:
    return timedelta(seconds=services.send_timeout()) + ABANDON_MARGIN


def _settle(row: MessageLog, job: Job | None, now: datetime, outcome: dict[str, int]) -> None:
    """A send whose worker died: what the provider told us, if we heard it, else what the kind allows."""
    provider_id = job.meta.get(PROVIDER_ID_META) if job is not None else None
    if provider_id:
        if row.channel == "sms":
            provider = build_provider("sms", current_app.config)
            assert isinstance(provider, SmsRuProvider)
            try:
                taken = provider.has_message(provider_id)
            except ProviderError as exc:
                log.warning("message %s: SMS.RU's status call failed (%s); asking again next sweep", row.id, exc)
                return
        else:
            taken = True  # Telegram and SMTP answered with an id only for a message they took
        if taken:
            _mark_sent(row, provider_id, now)
            outcome["sent"] += 1
            return
        _requeue_or_fail(row, job, now, outcome)  # SMS.RU has no such message: it never went out
        return
    if row.kind in RESEND_WHEN_UNKNOWN:
        _requeue_or_fail(row, job, now, outcome)
    else:
        _fail(row, UNKNOWN_OUTCOME, now)
        outcome["failed"] += 1


def _requeue_or_fail(row: MessageLog, job: Job | None, now: datetime, outcome: dict[str, int]) -> None:
    if row.attempts >= MAX_TRIES_RECOVERED:
        _fail(row, f"not sent: {row.attempts} tries ended with their worker gone; retry once the cause is fixed", now)
        outcome["failed"] += 1
        return
    try:
        send = _send_for(row, job, now)
    except ConflictError as exc:
        _fail(row, f"not sent: {exc}", now)
        outcome["failed"] += 1
        return
    new_job_id = services.new_job_id()
    moved = db.session.execute(
        update(MessageLog)
        .where(*_unchanged(row))
        .values(status="queued", job_id=new_job_id, next_try_at=now, updated_at=now)
        .returning(MessageLog.id)
    ).scalar()
    if moved is None:
        return  # its job woke up meanwhile: it is live after all
    db.session.refresh(row)
    services.enqueue_send(
        row,
        send.to,
        send.secret_values,
        queue=send.queue,
        description=f"recover message {row.id}",
        failure_ttl=send.failure_ttl,
    )
    outcome["requeued"] += 1


def _send_for(row: MessageLog, job: Job | None, now: datetime) -> _Send:
    """The lost job's address and secret values; the address read again when the job is gone. ConflictError
    when it cannot (or must not) be sent any more."""
    if row.kind == "otp":
        valid_until = row.created_at + timedelta(minutes=int((row.context or {}).get("minutes") or 5))
        if now >= valid_until:
            raise ConflictError("the login code expired before it could be sent; a new one can be asked for")
    queue = services.queue_for(row.kind)
    args = _send_args(job)
    if args is not None:
        to, secret_values = args
        return _Send(to, secret_values, job.origin or queue, job.failure_ttl or services.FAILED_JOB_KEPT_SECONDS)
    if row.kind == "otp":
        raise ConflictError("the login code was lost with its job; a new one can be asked for")
    return _Send(services.address_for_retry(row), {}, queue)


def _send_args(job: Job | None) -> tuple[str, dict[str, str]] | None:
    if job is None:
        return None
    try:
        args: tuple[Any, ...] = tuple(job.args)
    except Exception:  # a job hash RQ cannot read back is as good as gone
        return None
    if len(args) < 2:
        return None
    secret_values = dict(args[2] or {}) if len(args) > 2 else {}
    return str(args[1]), secret_values


def _unchanged(row: MessageLog) -> list:
    """The row as the sweep read it: same status, same owner, not touched since."""
    owner = MessageLog.job_id.is_(None) if row.job_id is None else MessageLog.job_id == row.job_id
    return [MessageLog.id == row.id, MessageLog.status == row.status, owner, MessageLog.updated_at == row.updated_at]


def _mark_sent(row: MessageLog, provider_id: str, now: datetime) -> None:
    db.session.execute(
        update(MessageLog)
        .where(*_unchanged(row))
        .values(status="sent", provider_message_id=provider_id, error=None, sent_at=now, updated_at=now)
    )


def _fail(row: MessageLog, error: str, now: datetime) -> None:
    failed = db.session.execute(
        update(MessageLog)
        .where(*_unchanged(row))
        .values(status="failed", error=error[:1000], next_try_at=None, updated_at=now)
        .returning(MessageLog.id)
    ).first()
    if failed is not None:
        failed_for_good(row.id, row.shop_id, row.customer_id)


def _aware(moment: datetime) -> datetime:
    """RQ's timestamps are UTC, naive or not depending on the version."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
