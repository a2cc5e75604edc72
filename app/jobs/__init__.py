"""Enqueueing jobs: only after the transaction that caused them commits, never if it rolls back."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import current_app
from rq import Retry

from app.common.session import after_commit
from app.extensions import db, queues

log = logging.getLogger(__name__)


def enqueue_after_commit(queue_name: str, func: Callable, *args: Any, **options: Any) -> None:
    """Enqueue `func(*args)` on `queue_name` once the current transaction commits.

    `options` are RQ's enqueue options (job_id, retry, job_timeout ...). Arguments must be plain
    values (ids, strings), never ORM objects. A job asked for inside a savepoint that rolls back is
    dropped with it; the jobs of the enclosing transaction stay.
    """
    after_commit(
        db.session(),
        lambda: enqueue_now(queue_name, func, *args, **options),
        what=f"enqueue {func.__name__} on {queue_name}",
    )


def enqueue_now(queue_name: str, func: Callable, *args: Any, **options: Any):
    """Enqueue outside any transaction (cron scans, admin retries). Inline mode runs it at once."""
    queue = queues.get(queue_name)
    if queue.is_async:
        return queue.enqueue(func, *args, **options)
    options.pop("retry", None)  # inline runs once; the message log shows a failure
    options.pop("result_ttl", None)  # the job must outlive its run here: its outcome is read below
    # A fresh app context gives the inline job its own database session, as on a worker.
    with current_app.app_context():
        job = queue.enqueue(func, *args, **options)
    if job.is_failed:  # RQ keeps an inline job's exception to itself; say it where a developer looks
        result = job.latest_result()
        log.error("inline job %s failed:\n%s", func.__name__, result.exc_string if result else "(no traceback)")
    return job


def enqueue_later(queue_name: str, delay: int, func: Callable, *args: Any, **options: Any):
    """Enqueue `func(*args)` in `delay` seconds (a worker's scheduler moves it to its queue then, checking every
    second); with no delay, or jobs inline, at once."""
    queue = queues.get(queue_name)
    if delay <= 0 or not queue.is_async:
        return enqueue_now(queue_name, func, *args, **options)
    return queue.enqueue_in(timedelta(seconds=delay), func, *args, **options)


def run_now(func: Callable, *args: Any, **kwargs: Any) -> Any:
    """Run a job function here and now (`flask jobs run-due`), in an app context and session of its own."""
    with current_app.app_context():
        return func(*args, **kwargs)


def retry_policy(max_tries: int = 4, *, first_delay: int = 10) -> Retry | None:
    """Exponential backoff: 10 s, 30 s, 90 s ... between tries (`first_delay=0` retries at once)."""
    if max_tries < 2:
        return None  # one try: nothing to retry (RQ refuses a Retry of 0)
    return Retry(max=max_tries - 1, interval=[first_delay * 3**i for i in range(max_tries - 1)])
