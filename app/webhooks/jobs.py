"""Delivering: one attempt per job, the outcome written to the delivery row, the next attempt scheduled.

Each pending row is owned by one job (`job_id`); an attempt first claims the row (attempts + 1, and
`next_attempt_at` moved to the end of the attempt's lease) and commits, then POSTs, then records the outcome
if it still owns the row. A worker killed mid-attempt leaves the row pending with its lease running out: the
sweep (every SWEEP_INTERVAL seconds from rq cron) hands what is due and held by no live job to a new job. So a
delivery is never lost, and may arrive twice: receivers deduplicate by `webhook-id`.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timedelta

from flask import current_app
from rq.job import Job, JobStatus
from sqlalchemy import select, update

from app.common.session import after_commit
from app.common.types import utcnow
from app.events.models import Event
from app.events.schemas import EventSchema
from app.events.services import FEED_COLUMNS, as_message
from app.extensions import db, queues, redis_client
from app.jobs import enqueue_now
from app.webhooks import alerts, sending, signing
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

QUEUE = "webhooks"
SWEEP_INTERVAL = 10  # seconds
LEASE_MARGIN = 5  # seconds an attempt's lease outlasts its HTTP timeout
DUE_GRACE = timedelta(seconds=2)  # a due row's job normally starts within this
FAILING_LIMIT = timedelta(hours=24)  # no success since the first failure this long ago: disabled
SUCCESS_NOTED_EVERY = timedelta(minutes=1)  # last_success_at is refreshed at most this often (one hot row)
BATCH = 500
_EVENT_SCHEMA = EventSchema()


def new_job_id() -> str:
    return uuid.uuid4().hex


def timeout() -> float:
    return float(current_app.config["WEBHOOK_TIMEOUT"])


def retry_intervals() -> list[int]:
    return [int(i) for i in current_app.config["WEBHOOK_RETRY_INTERVALS"]]


def schedule_attempt(delivery_id: int, job_id: str, *, delay: float = 0) -> None:
    """Queue the job `job_id` for the delivery once the current transaction commits (`delay` seconds later)."""
    after_commit(
        db.session(), lambda: _enqueue(delivery_id, job_id, delay), what=f"enqueue webhook delivery {delivery_id}"
    )


def _enqueue(delivery_id: int, job_id: str, delay: float) -> None:
    options = {
        "job_id": job_id,
        "job_timeout": int(timeout()) + LEASE_MARGIN,
        "result_ttl": 60,
        "failure_ttl": 24 * 3600,
        "description": f"deliver webhook {delivery_id}",  # RQ logs it; the default would show the arguments
    }
    queue = queues.get(QUEUE)
    if delay <= 0:
        enqueue_now(QUEUE, deliver, delivery_id, job_id, **options)
    elif queue.is_async:
        queue.enqueue_in(timedelta(seconds=delay), deliver, delivery_id, job_id, **options)
    # Inline mode (dev) has no scheduler: the sweep (`flask jobs run-due`) takes the retry when it is due.


def deliver(delivery_id: int, job_id: str) -> str:
    """One attempt of one delivery, by the job that owns it; what happened, in a word."""
    now = utcnow()
    row = _owned(delivery_id, job_id)
    if row is None:
        db.session.commit()
        return "not mine"
    endpoint = db.session.get(WebhookEndpoint, row.endpoint_id)
    is_ping = row.event_position is None
    if not endpoint.enabled and not is_ping:
        _finish(row, now, status=DeliveryStatus.FAILED, error="endpoint disabled")
        db.session.commit()
        return "endpoint disabled"
    body = _body(row)
    if body is None:
        _finish(row, now, status=DeliveryStatus.FAILED, error="the event is no longer kept")
        db.session.commit()
        return "event gone"
    try:
        signature = signing.signature_header(
            _secrets_in_use(endpoint, now), msg_id=row.event_id, timestamp=now, body=body
        )
    except ValueError as exc:
        _finish(row, now, status=DeliveryStatus.FAILED, error=str(exc))
        db.session.commit()
        return "no secret"
    url, allow_private = endpoint.url, current_app.config["WEBHOOK_ALLOW_PRIVATE"]
    row.attempts += 1
    row.last_attempt_at = now
    row.next_attempt_at = now + timedelta(seconds=timeout() + LEASE_MARGIN)  # the lease: the sweep waits for it
    row.updated_at = now
    attempt = row.attempts
    db.session.commit()

    headers = {
        "webhook-id": row.event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    outcome = sending.post(url, body, headers, timeout=timeout(), allow_private=allow_private)
    return _record(delivery_id, job_id, attempt, outcome, is_ping=is_ping)


def _owned(delivery_id: int, job_id: str) -> WebhookDelivery | None:
    return db.session.scalars(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.job_id == job_id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .with_for_update()
    ).first()


def _body(row: WebhookDelivery) -> bytes | None:
    """The message as the feed gives it, read from the log now (an erased customer's data is not sent again)."""
    if row.payload is not None:
        message = row.payload
    else:
        event = db.session.execute(select(*FEED_COLUMNS).where(Event.position == row.event_position)).mappings().first()
        if event is None:
            return None
        message = _EVENT_SCHEMA.dump(as_message(event))
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


def _secrets_in_use(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The current secret, and for 24 h after a rotation the previous one too."""
    used = [signing.decrypt(endpoint.secret_encrypted)]
    if (
        endpoint.previous_secret_encrypted
        and endpoint.previous_secret_expires_at
        and now < endpoint.previous_secret_expires_at
    ):
        used.append(signing.decrypt(endpoint.previous_secret_encrypted))
    return used


def _finish(row: WebhookDelivery, now: datetime, *, status: str, error: str | None) -> None:
    row.status = status
    row.error = error[:300] if error else None
    row.next_attempt_at = None
    row.updated_at = now


def _record(delivery_id: int, job_id: str, attempt: int, outcome: sending.Outcome, *, is_ping: bool) -> str:
    now = utcnow()
    row = _owned(delivery_id, job_id)
    if row is None or row.attempts != attempt:
        db.session.commit()
        return "taken over"  # the sweep gave it to another job meanwhile; that one's outcome counts
    row.response_status = outcome.status
    row.response_ms = outcome.elapsed_ms
    row.response_body = outcome.body
    if outcome.succeeded:
        _finish(row, now, status=DeliveryStatus.SUCCEEDED, error=None)
        if not is_ping:
            _note_success(row.endpoint_id, now)
        db.session.commit()
        return "delivered"
    error = outcome.error or f"the receiver answered {outcome.status}"
    if outcome.status == 410 and not is_ping:
        _finish(row, now, status=DeliveryStatus.FAILED, error=error)
        alerts.disable_endpoint(row.endpoint_id, why=alerts.GONE, now=now)
        db.session.commit()
        return "gone"
    intervals = [] if is_ping else retry_intervals()
    if attempt <= len(intervals):
        delay = intervals[attempt - 1]
        row.job_id = new_job_id()
        row.next_attempt_at = now + timedelta(seconds=delay)
        row.error = error[:300]
        row.updated_at = now
        schedule_attempt(row.id, row.job_id, delay=delay)
    else:
        _finish(row, now, status=DeliveryStatus.FAILED, error=error)
    if not is_ping:
        _note_failure(row.endpoint_id, now)
    db.session.commit()
    return "failed"


def _note_success(endpoint_id: int, now: datetime) -> None:
    # Conditional, so a steady stream of successes does not queue up on the endpoint's row lock.
    db.session.execute(
        update(WebhookEndpoint)
        .where(
            WebhookEndpoint.id == endpoint_id,
            (WebhookEndpoint.failing_since.is_not(None))
            | (WebhookEndpoint.last_success_at.is_(None))
            | (WebhookEndpoint.last_success_at < now - SUCCESS_NOTED_EVERY),
        )
        .values(failing_since=None, last_success_at=now)
    )


def _note_failure(endpoint_id: int, now: datetime) -> None:
    db.session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.failing_since.is_(None))
        .values(failing_since=now)
    )
    since = db.session.scalar(select(WebhookEndpoint.failing_since).where(WebhookEndpoint.id == endpoint_id))
    if since is not None and since <= now - FAILING_LIMIT:
        alerts.disable_endpoint(endpoint_id, why=alerts.FAILING, now=now, hours=_hours(FAILING_LIMIT))


def _hours(span: timedelta) -> int:
    return int(span.total_seconds() // 3600)


# --- the sweep -------------------------------------------------------------------------------------------


def sweep_deliveries(now: datetime | None = None) -> dict[str, int]:
    """Disable endpoints failing for 24 h; queue again what is due and held by no live job (a killed worker's
    attempt, a retry a dead scheduler never moved). `rq cron` runs it every SWEEP_INTERVAL seconds."""
    now = now or utcnow()
    outcome = {"disabled": 0, "requeued": 0}
    failing = db.session.scalars(
        select(WebhookEndpoint.id).where(
            WebhookEndpoint.enabled.is_(True), WebhookEndpoint.failing_since <= now - FAILING_LIMIT
        )
    ).all()
    for endpoint_id in failing:
        outcome["disabled"] += alerts.disable_endpoint(
            endpoint_id, why=alerts.FAILING, now=now, hours=_hours(FAILING_LIMIT)
        )
    db.session.commit()
    rows = db.session.execute(
        select(WebhookDelivery.id, WebhookDelivery.job_id, WebhookDelivery.next_attempt_at)
        .where(WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at < now - DUE_GRACE)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(BATCH)
    ).all()
    if rows:
        live = _live_jobs([job_id for _id, job_id, _due in rows if job_id])
        for delivery_id, job_id, due in rows:
            if job_id in live:
                continue
            new_id = new_job_id()
            moved = db.session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == delivery_id,
                    WebhookDelivery.status == DeliveryStatus.PENDING,
                    WebhookDelivery.next_attempt_at == due,  # not claimed by its job since we read it
                    WebhookDelivery.job_id.is_(None) if job_id is None else WebhookDelivery.job_id == job_id,
                )
                .values(job_id=new_id, next_attempt_at=now, updated_at=now)
                .returning(WebhookDelivery.id)
            ).scalar()
            if moved is not None:
                schedule_attempt(delivery_id, new_id)
                outcome["requeued"] += 1
        db.session.commit()
    if any(outcome.values()):
        log.warning("webhook sweep: %(requeued)d deliveries queued again, %(disabled)d endpoints disabled", outcome)
    return outcome


def _live_jobs(job_ids: list[str]) -> set[str]:
    """The jobs still waiting on a queue: a backlog, not a loss. (A started job whose row's lease ran out is
    dead or hung past its timeout; a scheduled one past its time has a dead scheduler: neither counts.)"""
    if not job_ids or not queues.get(QUEUE).is_async:
        return set()
    jobs = Job.fetch_many(job_ids, connection=redis_client.client)
    return {job.id for job in jobs if job is not None and job.get_status(refresh=False) == JobStatus.QUEUED}
