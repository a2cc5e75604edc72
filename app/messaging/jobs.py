"""The send job: one message log row, sent at most once, retried with backoff by RQ."""

from __future__ import annotations

import logging

from flask import current_app
from rq import get_current_job

from app.messaging import services
from app.messaging.providers import ProviderError, build_provider
from app.messaging.templates import render

log = logging.getLogger(__name__)


def _another_try_follows() -> bool:
    job = get_current_job()  # None when called directly or run inline: this try is the only one
    return bool(job is not None and job.retries_left)


def send_message(message_id: int, to: str, secret_values: dict[str, str] | None = None) -> str | None:
    """Send the logged message `message_id` to `to`; its provider id, or None if it was not ours to send.

    A row that is already sent, being sent by another job, or failed is left alone, so a duplicated
    or late job never sends twice. A provider failure is recorded and re-raised so RQ retries it.
    """
    message = services.claim(message_id)
    if message is None:
        log.info("message %s is not queued (sent, in flight or failed); this job does nothing", message_id)
        return None
    label = f"message {message_id} ({message.kind}, {message.channel}, try {message.attempts})"
    try:
        provider = build_provider(message.channel, current_app.config)
        text = render(message.template, message.language, {**message.context, **(secret_values or {})})
        provider_message_id = provider.send(to, text)
    except ProviderError as exc:
        final = not _another_try_follows()
        services.mark_failed_try(message_id, error=str(exc), final=final)
        log.warning("%s failed%s: %s", label, " for good" if final else ", will retry", exc)
        raise
    except Exception as exc:
        # We cannot tell whether it went out: never risk a second copy, leave it to an admin.
        services.mark_failed_try(message_id, error=f"unexpected error ({type(exc).__name__})", final=True)
        log.error("%s failed unexpectedly (%s); not retried", label, type(exc).__name__)
        raise
    services.mark_sent(message_id, provider_message_id=provider_message_id)
    log.info("%s sent, provider id %s", label, provider_message_id)
    return provider_message_id
