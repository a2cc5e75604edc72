"""The send job: one message log row, sent at most once, retried with backoff by RQ."""

from __future__ import annotations

import logging

from flask import current_app
from redis.exceptions import RedisError
from rq import get_current_job
from rq.job import Job

from app.messaging import services
from app.messaging.providers import ProviderError, build_provider
from app.messaging.templates import render

log = logging.getLogger(__name__)

# Where the send job keeps the provider's id the moment it has it: if the worker dies before the row says
# "sent", the recovery sweep finds it there (docs/jobs.md, "A worker killed mid-send").
PROVIDER_ID_META = "provider_message_id"


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
    message = services.claim(message_id, job_id=job_id)
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
        services.mark_failed_try(message_id, job_id=job_id, error=str(exc), final=final, retry_in=retry_in or 0)
        if final and job is not None:
            job.retries_left = 0  # a permanent error: RQ must not try again either
        outcome = f"(will retry in {retry_in} s)" if not final else "for good" + (" (permanent)" * exc.permanent)
        log.warning("%s failed %s: %s", label, outcome, exc)
        raise
    except Exception as exc:
        # We cannot tell whether it went out: never risk a second copy, leave it to an admin.
        error = f"unexpected error ({type(exc).__name__})"
        services.mark_failed_try(message_id, job_id=job_id, error=error, final=True)
        if job is not None:
            job.retries_left = 0
        log.error("%s failed unexpectedly (%s); not retried", label, type(exc).__name__)
        raise
    _remember_provider_id(job, provider_message_id)
    services.mark_sent(message_id, job_id=job_id, provider_message_id=provider_message_id)
    log.info("%s sent, provider id %s", label, provider_message_id)
    return provider_message_id
