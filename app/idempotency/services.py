"""Idempotency keys: the first response to a key is kept for 24 h and replayed to every retry."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.common.types import utcnow
from app.errors import ConflictError, RuleViolation
from app.extensions import db
from app.idempotency.models import IdempotencyRecord

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADERS = ("Content-Type", "Location", "ETag", "X-Pagination")
WAIT_FOR_FIRST = 3.0  # seconds a duplicate waits for the first request's answer
POLL_EVERY = 0.1


@dataclass
class StoredResponse:
    status_code: int
    body: str
    headers: dict[str, str]


def _find(scope: str, key: str) -> IdempotencyRecord | None:
    return db.session.scalars(
        select(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
    ).first()


def _verdict(record: IdempotencyRecord, fingerprint: str) -> StoredResponse | None:
    if record.fingerprint != fingerprint:
        raise RuleViolation(
            "This Idempotency-Key was used with another request body.",
            errors={"headers": {KEY_HEADER: ["Already used with a different request."]}},
        )
    if record.status_code is None:
        return None
    return StoredResponse(record.status_code, record.response_body or "", record.response_headers or {})


def claim(*, scope: str, key: str, fingerprint: str, ttl: timedelta) -> StoredResponse | None:
    """Claim the key for this request, or return the response of the request that already has it.

    The claim is a row flushed into the caller's transaction: a concurrent request with the same
    key blocks on the unique index until this one commits, then finds the row and replays it.
    """
    now = utcnow()
    existing = _find(scope, key)
    if existing is not None and existing.expires_at <= now:
        db.session.delete(existing)
        db.session.flush()
        existing = None
    if existing is None:
        try:
            with db.session.begin_nested():
                db.session.add(IdempotencyRecord(scope=scope, key=key, fingerprint=fingerprint, expires_at=now + ttl))
            return None
        except IntegrityError:
            pass  # someone else claimed it first; their answer follows
    return _wait_for_response(scope, key, fingerprint)


def _wait_for_response(scope: str, key: str, fingerprint: str) -> StoredResponse:
    deadline = time.monotonic() + WAIT_FOR_FIRST
    while True:
        db.session.rollback()  # a fresh snapshot on each look
        record = _find(scope, key)
        if record is not None:
            stored = _verdict(record, fingerprint)
            if stored is not None:
                return stored
        if time.monotonic() >= deadline:
            raise ConflictError(
                "A request with this Idempotency-Key is still being processed; retry shortly.",
                errors={"headers": {KEY_HEADER: ["In progress."]}},
            )
        time.sleep(POLL_EVERY)


def store_response(*, scope: str, key: str, fingerprint: str, ttl: timedelta, response: StoredResponse) -> None:
    """Keep the first answer. Runs after the view's own commit (or rollback)."""
    try:
        record = _find(scope, key)
        if record is None:
            record = IdempotencyRecord(scope=scope, key=key, fingerprint=fingerprint, expires_at=utcnow() + ttl)
            db.session.add(record)
        elif record.status_code is not None:
            return
        record.status_code = response.status_code
        record.response_body = response.body
        record.response_headers = response.headers
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # a concurrent retry claimed the key after our rollback: it owns the answer


def forget(*, scope: str, key: str) -> None:
    """Drop an unanswered claim so the client may retry (the request failed with a server error)."""
    db.session.rollback()
    db.session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope, IdempotencyRecord.key == key, IdempotencyRecord.status_code.is_(None)
        )
    )
    db.session.commit()


def purge_expired(now: datetime | None = None) -> int:
    result = db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= (now or utcnow())))
    db.session.commit()
    return result.rowcount or 0
