"""Idempotency keys: the first response to a key is kept for 24 h and replayed to every retry.

The claim, the work and the stored answer are one transaction: a crash anywhere rolls all three
back, and the retry simply runs again. A concurrent duplicate waits on the key's unique index
until that transaction ends, then replays the committed answer (or, if it rolled back, runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import TextClause, bindparam, delete, select, text

from app.common.types import utcnow
from app.errors import ConflictError, RuleViolation
from app.extensions import db
from app.idempotency.models import IdempotencyRecord

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADERS = ("Content-Type", "Location", "ETag", "X-Pagination")
# A claim committed without its answer was written by a release that committed them apart, and its
# request died between the two (its answer followed within milliseconds otherwise): the key is free again.
ABANDONED_AFTER = timedelta(minutes=1)


@dataclass
class StoredResponse:
    status_code: int
    body: str
    headers: dict[str, str]


def _typed(sql: str, *times: str, json: tuple[str, ...] = ()) -> TextClause:
    """The statement with these parameters typed as their columns: timestamps in UTC, the headers as JSON."""
    columns = IdempotencyRecord.__table__.c
    return text(sql).bindparams(
        *(bindparam(name, type_=columns.created_at.type) for name in times),
        *(bindparam(name, type_=columns.response_headers.type) for name in json),
    )


# Plain SQL that PostgreSQL and SQLite both speak. Their dialects' INSERT ... ON CONFLICT constructs have no cache key:
# SQLAlchemy would compile them again on every request, about a millisecond of CPU each; text is compiled once.
_CLAIM = _typed(
    """
        INSERT INTO idempotency_records (scope, key, fingerprint, created_at, expires_at)
        VALUES (:scope, :key, :fingerprint, :now, :expires_at)
        ON CONFLICT (scope, key) DO UPDATE SET
            fingerprint = excluded.fingerprint, created_at = excluded.created_at, expires_at = excluded.expires_at,
            status_code = NULL, response_body = NULL, response_headers = NULL
        WHERE idempotency_records.expires_at <= :now
            OR (idempotency_records.status_code IS NULL AND idempotency_records.created_at <= :abandoned_before)
        RETURNING id
        """,
    "now",
    "expires_at",
    "abandoned_before",
)
_STORE = _typed(
    """
        INSERT INTO idempotency_records
            (scope, key, fingerprint, status_code, response_body, response_headers, created_at, expires_at)
        VALUES (:scope, :key, :fingerprint, :status_code, :response_body, :response_headers, :now, :expires_at)
        ON CONFLICT (scope, key) DO UPDATE SET
            fingerprint = excluded.fingerprint, status_code = excluded.status_code,
            response_body = excluded.response_body, response_headers = excluded.response_headers,
            created_at = excluded.created_at, expires_at = excluded.expires_at
        -- our own claim in this transaction, or what a rolled-back claim had taken over
        WHERE idempotency_records.status_code IS NULL OR idempotency_records.expires_at <= :now
        RETURNING id
        """,
    "now",
    "expires_at",
    json=("response_headers",),
)


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
    values = {"scope": scope, "key": key, "fingerprint": fingerprint, "now": now, "expires_at": now + ttl}
    if db.session.execute(_CLAIM, {**values, "abandoned_before": now - ABANDONED_AFTER}).first() is not None:
        return None
    stored = _verdict(scope, key, fingerprint)
    # Nothing was written: a COMMIT ends the transaction, where the request's end would send a ROLLBACK, which
    # makes psycopg forget the connection's prepared statements (docs/decisions.md).
    db.session.commit()
    return stored


def store_response(
    *, scope: str, key: str, fingerprint: str, ttl: timedelta, response: StoredResponse
) -> StoredResponse | None:
    """Keep the answer beside the work and commit both (None); or return the answer the key already has.

    After a rule said no, the work and the claim were rolled back: the key is claimed again here with
    the answer, unless a duplicate took it meanwhile; then its answer is everyone's.
    """
    now = utcnow()
    values = {
        "scope": scope,
        "key": key,
        "fingerprint": fingerprint,
        "status_code": response.status_code,
        "response_body": response.body,
        "response_headers": response.headers,
        "now": now,
        "expires_at": now + ttl,
    }
    if db.session.execute(_STORE, values).first() is None:
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
