"""The send job: one message log row, sent at most once, retried with backoff by RQ."""

from __future__ import annotations

import logging

from flask import current_app
from rq import get_current_job
from sqlalchemy import update

from app.common.types import utcnow
from app.extensions import db
from app.messaging.models import MessageLog
from app.messaging.providers import ProviderError, build_provider
from app.messaging.templates import render

log = logging.getLogger(__name__)


def claim(message_id: int) -> MessageLog | None:
    """queued → sending, atomically, counting the try; None when another job has it or it is done."""
    claimed = db.session.execute(
        update(MessageLog)
        .where(MessageLog.id == message_id, MessageLog.status == "queued")
        .values(status="sending", attempts=MessageLog.attempts + 1, updated_at=utcnow())
        .returning(MessageLog.id)
    ).scalar()
    db.session.commit()
    return db.session.get(MessageLog, claimed) if claimed is not None else None


def mark_sent(message_id: int, *, provider_message_id: str) -> None:
    now = utcnow()
    db.session.execute(
        update(MessageLog)
        .where(MessageLog.id == message_id, MessageLog.status == "sending")
        .values(status="sent", provider_message_id=provider_message_id, error=None, sent_at=now, updated_at=now)
    )
    db.session.commit()


def mark_failed_try(message_id: int, *, error: str, final: bool) -> None:
    """Record a failed try: back to queued for the next try, or failed for good."""
    db.session.rollback()  # whatever the failed try left in the session is not ours to commit
    db.session.execute(
        update(MessageLog)
        .where(MessageLog.id == message_id, MessageLog.status == "sending")
        .values(status="failed" if final else "queued", error=error[:1000], updated_at=utcnow())
    )
    db.session.commit()


def _another_try_follows() -> bool:
    job = get_current_job()  # None when called directly or run inline: this try is the only one
    return bool(job is not None and job.retries_left)


def send_message(message_id: int, to: str, secret_values: dict[str, str] | None = None) -> str | None:
    """Send the logged message `message_id` to `to`; its provider id, or None if it was not ours to send.

    A row that is already sent, being sent by another job, or failed is left alone, so a duplicated
    or late job never sends twice. A provider failure is recorded and re-raised so RQ retries it.
    """
    message = claim(message_id)
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
        mark_failed_try(message_id, error=str(exc), final=final)
        log.warning("%s failed%s: %s", label, " for good" if final else ", will retry", exc)
        raise
    except Exception as exc:
        # We cannot tell whether it went out: never risk a second copy, leave it to an admin.
        mark_failed_try(message_id, error=f"unexpected error ({type(exc).__name__})", final=True)
        log.error("%s failed unexpectedly (%s); not retried", label, type(exc).__name__)
        raise
    mark_sent(message_id, provider_message_id=provider_message_id)
    log.info("%s sent, provider id %s", label, provider_message_id)
    return provider_message_id
