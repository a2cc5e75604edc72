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
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from rq.job import Job, JobStatus
from sqlalchemy import select, text, update

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
BATCH_PER_JOB = 100  # deliveries one dispatch job hands to one delivery job
_BATCH_KEY = "webhook_job_batch"
_FAST_KEY = "webhook_fast_transaction"
MAX_LOST_ATTEMPTS = 2  # attempts beyond the schedule that may end with their worker before the delivery fails
GAVE_UP = "not delivered: its attempts kept ending with their worker; redeliver once the cause is fixed"
_EVENT_SCHEMA = EventSchema()


def new_job_id() -> str:
    return uuid.uuid4().hex


def timeout() -> float:
    return float(current_app.config["WEBHOOK_TIMEOUT"])


def retry_intervals() -> list[int]:
    return [int(i) for i in current_app.config["WEBHOOK_RETRY_INTERVALS"]]


def schedule_attempt(job_id: str, *, delay: float = 0) -> None:
    """Queue the job `job_id` once the current transaction commits (`delay` seconds later): it attempts every
    pending delivery that names it."""
    after_commit(db.session(), lambda: _enqueue(job_id, delay), what=f"enqueue webhook job {job_id}")


def job_for_new_delivery() -> str:
    """The job id for a delivery the dispatch is writing: deliveries written in one transaction share a job, up to
    BATCH_PER_JOB of them, so a burst of events costs one job per batch, not one per delivery."""
    session = db.session()
    transaction = session.get_transaction()
    batch = session.info.get(_BATCH_KEY)
    if batch is None or batch[0] is not transaction or batch[2] >= BATCH_PER_JOB:
        batch = [transaction, new_job_id(), 0]
        session.info[_BATCH_KEY] = batch
        schedule_attempt(batch[1])  # dropped with a rolled-back savepoint: the sweep then queues its rows anew
    batch[2] += 1
    return batch[1]


def _enqueue(job_id: str, delay: float) -> None:
    options = {
        "job_id": job_id,
        # A job normally holds one delivery, or a dispatch's batch of quick ones; a slow receiver's batch is split
        # up by the sweep (what its job has not claimed yet is due and held by no waiting job).
        "job_timeout": BATCH_PER_JOB * (int(timeout()) + LEASE_MARGIN),
        "result_ttl": 60,
        "failure_ttl": 24 * 3600,
        "description": "deliver webhooks",  # RQ logs it; the default would show the arguments
    }
    queue = queues.get(QUEUE)
    if delay <= 0:
        enqueue_now(QUEUE, run_job, job_id, **options)
    elif queue.is_async:
        queue.enqueue_in(timedelta(seconds=delay), run_job, job_id, **options)
    # Inline mode (dev) has no scheduler: the sweep (`flask jobs run-due`) takes the retry when it is due.


@dataclass
class _Target:
    """What an attempt needs of its delivery and endpoint, read once per job."""

    delivery_id: int
    endpoint_id: int
    event_id: str
    event_position: int | None
    payload: dict | None
    url: str
    enabled: bool
    secret_encrypted: str
    previous_secret_encrypted: str | None
    previous_secret_expires_at: datetime | None

    @property
    def is_ping(self) -> bool:
        return self.event_position is None


_TARGET_COLUMNS = (
    WebhookDelivery.id,
    WebhookDelivery.endpoint_id,
    WebhookDelivery.event_id,
    WebhookDelivery.event_position,
    WebhookDelivery.payload,
    WebhookEndpoint.url,
    WebhookEndpoint.enabled,
    WebhookEndpoint.secret_encrypted,
    WebhookEndpoint.previous_secret_encrypted,
    WebhookEndpoint.previous_secret_expires_at,
)


def run_job(job_id: str) -> dict[str, int]:
    """The RQ job: one attempt of each pending delivery it owns, oldest first; how many went which way."""
    outcomes: dict[str, int] = {}
    for outcome in _run(job_id):
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def deliver(delivery_id: int, job_id: str) -> str:
    """One attempt of one delivery by the job that owns it; what happened, in a word."""
    return next(iter(_run(job_id, only=delivery_id)), "not mine")


def _run(job_id: str, *, only: int | None = None) -> list[str]:
    stmt = (
        select(*_TARGET_COLUMNS)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.job_id == job_id, WebhookDelivery.status == DeliveryStatus.PENDING)
        .order_by(WebhookDelivery.id)
    )
    if only is not None:
        stmt = stmt.where(WebhookDelivery.id == only)
    targets = [_Target(*row) for row in db.session.execute(stmt)]
    bodies = _bodies(targets)
    db.session.commit()
    secrets_of: dict[int, list[str] | ValueError] = {}
    noted: set[int] = set()
    outcomes = []
    connections = sending.Connections()
    try:
        for target in targets:
            if target.endpoint_id not in secrets_of:
                try:
                    secrets_of[target.endpoint_id] = _secrets_in_use(target, utcnow())
                except ValueError as exc:
                    secrets_of[target.endpoint_id] = exc
            body, secrets_in_use = bodies.get(target.delivery_id), secrets_of[target.endpoint_id]
            outcomes.append(_attempt(target, job_id, body, secrets_in_use, noted, connections))
    finally:
        connections.close()
    db.session.commit()
    return outcomes


def _bodies(targets: list[_Target]) -> dict[int, bytes]:
    """Each message as the feed gives it, read from the log now (an erased customer's data is not sent again)."""
    positions = [t.event_position for t in targets if t.event_position is not None]
    events = {}
    if positions:
        for event in db.session.execute(select(*FEED_COLUMNS).where(Event.position.in_(positions))).mappings():
            events[event["position"]] = _EVENT_SCHEMA.dump(as_message(event))
    bodies = {}
    for target in targets:
        message = target.payload if target.is_ping else events.get(target.event_position)
        if message is not None:
            bodies[target.delivery_id] = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
    return bodies


def _secrets_in_use(target: _Target, now: datetime) -> list[str]:
    """The current secret, and for 24 h after a rotation the previous one too."""
    used = [signing.decrypt(target.secret_encrypted)]
    expires = target.previous_secret_expires_at
    if target.previous_secret_encrypted and expires and now < expires:
        try:
            used.append(signing.decrypt(target.previous_secret_encrypted))
        except ValueError:
            pass  # replaced after a SECRET_KEY change: the new secret alone signs
    return used


_ROWS = WebhookDelivery.__table__  # the hot statements go through Core: nothing of these rows is loaded


def _mine(delivery_id: int, job_id: str, *extra) -> list:
    """The WHERE of a row this job still owns."""
    return [_ROWS.c.id == delivery_id, _ROWS.c.job_id == job_id, _ROWS.c.status == DeliveryStatus.PENDING, *extra]


def _end(target: _Target, job_id: str, error: str) -> str:
    """The delivery cannot be attempted at all: failed, with the reason."""
    now = utcnow()
    db.session.execute(
        update(_ROWS)
        .where(*_mine(target.delivery_id, job_id))
        .values(status=DeliveryStatus.FAILED, error=error[:300], next_attempt_at=None, updated_at=now)
    )
    db.session.commit()
    return error


def _attempt(
    target: _Target,
    job_id: str,
    body: bytes | None,
    secrets_in_use: list[str] | ValueError,
    noted: set[int],
    connections: sending.Connections,
) -> str:
    if not target.enabled and not target.is_ping:
        return _end(target, job_id, "endpoint disabled")
    if body is None:
        return _end(target, job_id, "the event is no longer kept")
    if isinstance(secrets_in_use, ValueError):
        return _end(target, job_id, str(secrets_in_use))
    now = utcnow()
    _fast_transaction()
    # The claim, committed before the POST (with the previous delivery's success, if any): the attempt counts,
    # and its lease keeps the sweep away until it ends.
    attempt = db.session.execute(
        update(_ROWS)
        .where(*_mine(target.delivery_id, job_id))
        .values(
            attempts=_ROWS.c.attempts + 1,
            last_attempt_at=now,
            next_attempt_at=now + timedelta(seconds=timeout() + LEASE_MARGIN),
            updated_at=now,
        )
        .returning(_ROWS.c.attempts)
    ).scalar()
    db.session.commit()
    if attempt is None:
        return "not mine"  # the sweep or a redelivery gave it to another job, or it was ended meanwhile
    headers = {
        "webhook-id": target.event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signing.signature_header(secrets_in_use, msg_id=target.event_id, timestamp=now, body=body),
    }
    try:
        outcome = sending.post(
            target.url,
            body,
            headers,
            timeout=timeout(),
            allow_private=current_app.config["WEBHOOK_ALLOW_PRIVATE"],
            connections=connections,
        )
    except Exception as exc:  # a URL we could not use, or a fault of ours: a failed attempt all the same
        log.exception("webhook delivery %s: the attempt broke", target.delivery_id)
        outcome = sending.Outcome(None, 0, None, f"the attempt broke ({type(exc).__name__})")
    if outcome.succeeded:
        return _record_success(target, job_id, attempt, outcome, noted)
    return _record_failure(target, job_id, attempt, outcome)


def _fast_transaction() -> None:
    """Claims and successes are committed without waiting for the WAL flush (PostgreSQL's `synchronous_commit =
    off`, for the transaction only): a database crash may forget the last moment's, and then a delivery is sent
    once more, which at-least-once allows (receivers deduplicate); a disk flush per step would bound the rate."""
    session = db.session()
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(_FAST_KEY) is transaction:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    session.info[_FAST_KEY] = session.get_transaction()


def _record_success(target: _Target, job_id: str, attempt: int, outcome: sending.Outcome, noted: set[int]) -> str:
    now = utcnow()
    _fast_transaction()
    recorded = db.session.execute(
        update(_ROWS)
        .where(*_mine(target.delivery_id, job_id, _ROWS.c.attempts == attempt))
        .values(
            status=DeliveryStatus.SUCCEEDED,
            response_status=outcome.status,
            response_ms=outcome.elapsed_ms,
            response_body=outcome.body,
            error=None,
            next_attempt_at=None,
            updated_at=now,
        )
        .returning(_ROWS.c.id)
    ).scalar()
    if recorded is not None and not target.is_ping and target.endpoint_id not in noted:
        _note_success(target.endpoint_id, now)
        noted.add(target.endpoint_id)
    # Committed with the next delivery's claim (or at the job's end): a crash before that only sends it again.
    return "delivered" if recorded is not None else "taken over"


def _record_failure(target: _Target, job_id: str, attempt: int, outcome: sending.Outcome) -> str:
    now = utcnow()
    row = db.session.scalars(
        select(WebhookDelivery)
        .where(*_mine(target.delivery_id, job_id, WebhookDelivery.attempts == attempt))
        .with_for_update()
    ).first()
    if row is None:
        db.session.commit()
        return "taken over"  # the sweep gave it to another job meanwhile; that one's outcome counts
    row.response_status = outcome.status
    row.response_ms = outcome.elapsed_ms
    row.response_body = outcome.body
    row.error = (outcome.error or f"the receiver answered {outcome.status}")[:300]
    row.updated_at = now
    if outcome.status == 410 and not target.is_ping:
        row.status, row.next_attempt_at = DeliveryStatus.FAILED, None
        alerts.disable_endpoint(row.endpoint_id, why=alerts.GONE, now=now)
        db.session.commit()
        return "gone"
    intervals = [] if target.is_ping else retry_intervals()
    if attempt <= len(intervals):
        delay = intervals[attempt - 1]
        row.job_id = new_job_id()
        row.next_attempt_at = now + timedelta(seconds=delay)
        schedule_attempt(row.job_id, delay=delay)
    else:
        row.status, row.next_attempt_at = DeliveryStatus.FAILED, None
    if not target.is_ping:
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
    outcome = {"disabled": 0, "requeued": 0, "failed": 0}
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
        select(WebhookDelivery.id, WebhookDelivery.job_id, WebhookDelivery.next_attempt_at, WebhookDelivery.attempts)
        .where(WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at < now - DUE_GRACE)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(BATCH)
    ).all()
    if rows:
        live = _live_jobs([job_id for _id, job_id, _due, _attempts in rows if job_id])
        most = len(retry_intervals()) + 1 + MAX_LOST_ATTEMPTS
        for delivery_id, job_id, due, attempts in rows:
            if job_id in live:
                continue
            if attempts >= most:  # each attempt ended with its worker (a delivery that brings it down): stop
                db.session.execute(
                    update(_ROWS)
                    .where(
                        _ROWS.c.id == delivery_id, _ROWS.c.status == DeliveryStatus.PENDING, _ROWS.c.job_id == job_id
                    )
                    .values(status=DeliveryStatus.FAILED, next_attempt_at=None, error=GAVE_UP, updated_at=now)
                )
                outcome["failed"] += 1
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
                schedule_attempt(new_id)
                outcome["requeued"] += 1
        db.session.commit()
    if any(outcome.values()):
        log.warning(
            "webhook sweep: %(requeued)d deliveries queued again, %(failed)d given up, %(disabled)d endpoints disabled",
            outcome,
        )
    return outcome


def _live_jobs(job_ids: list[str]) -> set[str]:
    """The jobs still waiting on a queue: a backlog, not a loss. (A started job whose row's lease ran out is
    dead or hung past its timeout; a scheduled one past its time has a dead scheduler: neither counts.)"""
    if not job_ids or not queues.get(QUEUE).is_async:
        return set()
    jobs = Job.fetch_many(job_ids, connection=redis_client.client)
    return {job.id for job in jobs if job is not None and job.get_status(refresh=False) == JobStatus.QUEUED}
