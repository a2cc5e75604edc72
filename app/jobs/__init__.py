"""Enqueueing jobs: only after the transaction that caused them commits, never if it rolls back."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from rq import Retry
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from app.extensions import db, queues

log = logging.getLogger(__name__)
_PENDING = "jobs_after_commit"


@dataclass
class _PendingJob:
    queue_name: str
    func: Callable
    args: tuple
    options: dict
    # The innermost transaction (or savepoint) when it was asked for: if that rolls back, so does the job.
    transaction: SessionTransaction


def enqueue_after_commit(queue_name: str, func: Callable, *args: Any, **options: Any) -> None:
    """Enqueue `func(*args)` on `queue_name` once the current transaction commits.

    `options` are RQ's enqueue options (job_id, retry, job_timeout ...). Arguments must be plain
    values (ids, strings), never ORM objects. A job asked for inside a savepoint that rolls back is
    dropped with it; the jobs of the enclosing transaction stay.
    """
    session = db.session()
    # An idle session begins its transaction now, so a rollback before any SQL still drops the job.
    transaction = session.get_nested_transaction() or session.get_transaction() or session.begin()
    session.info.setdefault(_PENDING, []).append(_PendingJob(queue_name, func, args, options, transaction))


def enqueue_now(queue_name: str, func: Callable, *args: Any, **options: Any):
    """Enqueue outside any transaction (cron scans, admin retries). Inline mode runs it at once."""
    queue = queues.get(queue_name)
    if queue.is_async:
        return queue.enqueue(func, *args, **options)
    options.pop("retry", None)  # inline runs once; the message log shows a failure
    # A fresh app context gives the inline job its own database session, as on a worker.
    with current_app.app_context():
        job = queue.enqueue(func, *args, **options)
    if job.is_failed:  # RQ keeps an inline job's exception to itself; say it where a developer looks
        result = job.latest_result()
        log.error("inline job %s failed:\n%s", func.__name__, result.exc_string if result else "(no traceback)")
    return job


def run_now(func: Callable, *args: Any, **kwargs: Any) -> Any:
    """Run a job function here and now (`flask jobs run-due`), in an app context and session of its own."""
    with current_app.app_context():
        return func(*args, **kwargs)


def retry_policy(max_tries: int = 4, *, first_delay: int = 10) -> Retry | None:
    """Exponential backoff: 10 s, 30 s, 90 s ... between tries (`first_delay=0` retries at once)."""
    if max_tries < 2:
        return None  # one try: nothing to retry (RQ refuses a Retry of 0)
    return Retry(max=max_tries - 1, interval=[first_delay * 3**i for i in range(max_tries - 1)])


@event.listens_for(Session, "after_commit")
def _enqueue_pending(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint was released (SQLAlchemy calls that a commit too); the real commit comes later
    for job in session.info.pop(_PENDING, []):
        try:
            enqueue_now(job.queue_name, job.func, *job.args, **job.options)
        except Exception:  # the data is committed; a failed enqueue must not turn the answer into a 500
            log.exception("could not enqueue %s on %s after commit", job.func.__name__, job.queue_name)


def _inside(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)
        return
    pending = session.info.get(_PENDING)
    if pending:
        # Only the rolled-back savepoint's own jobs (and those of savepoints inside it) go.
        session.info[_PENDING] = [job for job in pending if not _inside(job.transaction, previous_transaction)]
