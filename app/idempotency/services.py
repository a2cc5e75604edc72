"""Idempotency keys: the first response to a key is kept for 24 h and replayed to every retry.

The claim, the work and the stored answer are one transaction: a crash anywhere rolls all three
back, and the retry simply runs again. A concurrent duplicate waits on the key's unique index
until that transaction ends, then replays the committed answer (or, if it rolled back, runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from app.common.types import utcnow
from app.errors import ConflictError, RuleViolation
from app.extensions import db
from app.idempotency.models import IdempotencyRecord

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADERS = ("Content-Type", "Location", "ETag", "X-Pagination")
# A claim committed without its answer was written by a release that committed them apart, and its
# request died between the two (its answer followed within milliseconds otherwise): the key is free again.
ABANDONED_AFTER = timedelta(minutes=1)

_KEY = ["scope", "key"]


@dataclass
class StoredResponse:
    status_code: int
    body: str
    headers: dict[str, str]


def _insert(values: dict):
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(IdempotencyRecord).values(values)


def _verdict(scope: str, key: str, fingerprint: str) -> StoredResponse:
    """The committed answer of the request that holds the key (the statement before waited for it to end)."""
    record = db.session.scalars(
        select(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
    ).one()
    if record.fingerprint != fingerprint:
        raise RuleViolation(
            "This Idempotency-Key was used with another request body; use a new key for a new request.",
            errors={"headers": {KEY_HEADER: ["Already used with a different request."]}},
        )
    if record.status_code is None:  # written by the previous release, its answer still to come
        raise ConflictError(
            "A request with this Idempotency-Key is still being processed; retry shortly.",
            errors={"headers": {KEY_HEADER: ["In progress."]}},
        )
    return StoredResponse(record.status_code, record.response_body or "", record.response_headers or {})


def claim(*, scope: str, key: str, fingerprint: str, ttl: timedelta) -> StoredResponse | None:
    """Claim the key in the request's transaction (None), or return the answer of the request that has it.

    A concurrent request with the same key blocks on the unique index until this transaction ends.
    An expired key, or one abandoned by a request that died before this release, is taken over.
    """
    now = utcnow()
    record = IdempotencyRecord.__table__.c
    values = {"scope": scope, "key": key, "fingerprint": fingerprint, "created_at": now, "expires_at": now + ttl}
    statement = _insert(values)
    statement = statement.on_conflict_do_update(
        index_elements=_KEY,
        set_={
            "fingerprint": statement.excluded.fingerprint,
            "created_at": statement.excluded.created_at,
            "expires_at": statement.excluded.expires_at,
            "status_code": None,
            "response_body": None,
            "response_headers": None,
        },
        where=or_(
            record.expires_at <= now,
            and_(record.status_code.is_(None), record.created_at <= now - ABANDONED_AFTER),
        ),
    ).returning(record.id)
    if db.session.execute(statement).first() is not None:
        return None
    return _verdict(scope, key, fingerprint)


def store_response(
    *, scope: str, key: str, fingerprint: str, ttl: timedelta, response: StoredResponse
) -> StoredResponse | None:
    """Keep the answer beside the work and commit both (None); or return the answer the key already has.

    After a rule said no, the work and the claim were rolled back: the key is claimed again here with
    the answer, unless a duplicate took it meanwhile; then its answer is everyone's.
    """
    now = utcnow()
    record = IdempotencyRecord.__table__.c
    values = {
        "scope": scope,
        "key": key,
        "fingerprint": fingerprint,
        "status_code": response.status_code,
        "response_body": response.body,
        "response_headers": response.headers,
        "created_at": now,
        "expires_at": now + ttl,
    }
    statement = _insert(values)
    statement = statement.on_conflict_do_update(
        index_elements=_KEY,
        set_={name: statement.excluded[name] for name in values if name not in _KEY},
        # our own claim in this transaction, or what a rolled-back claim had taken over
        where=or_(record.status_code.is_(None), record.expires_at <= now),
    ).returning(record.id)
    if db.session.execute(statement).first() is None:
        try:
            return _verdict(scope, key, fingerprint)
        finally:
            db.session.rollback()  # nothing of ours is kept
    db.session.commit()
    return None


def purge_expired(now: datetime | None = None) -> int:
    result = db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= (now or utcnow())))
    db.session.commit()
    return result.rowcount or 0
