"""Integration keys: made by a shop's admins, shown once, kept as a SHA-256 hash, revoked at once.

A key is `fcrm_` and 43 URL-safe characters (32 random bytes, 256 bits): far beyond guessing, so a plain
SHA-256 (not a slow password hash) is the right way to keep it, and a request finds its key by that hash
in one indexed lookup, an exact match of a digest rather than a comparison of secrets.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from app.apikeys.models import ApiKey
from app.audit import services as audit
from app.common.pagination import page_of
from app.common.types import utcnow
from app.errors import NotFoundError
from app.extensions import db

KEY_PREFIX = "fcrm_"
PREFIX_SHOWN = 12  # "fcrm_" and 7 characters: enough to tell keys apart, far too little to guess the rest
# last_used_at is written at most this often per key: a busy website must not write a row per request.
LAST_USE_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class KeyHolder:
    """Who calls with a key: plain values, read once per request."""

    key_id: int
    shop_id: int
    name: str
    scopes: frozenset[str]
    revoked: bool
    last_used_at: datetime | None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_key(token: str | None) -> bool:
    return bool(token) and token.startswith(KEY_PREFIX)


def create_key(*, shop_id: int, actor_id: int | None, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
    """A new key for the shop; `(row, key)`: the key is returned this once and never stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        shop_id=shop_id,
        name=name,
        prefix=key[:PREFIX_SHOWN],
        key_hash=hash_key(key),
        scopes=sorted(set(scopes)),
        created_by_id=actor_id,
    )
    db.session.add(row)
    db.session.flush()
    # The audit log names the key by id and prefix; the key itself is never written anywhere.
    audit.record(
        shop_id=shop_id,
        actor_id=actor_id,
        action="create",
        entity_type="api_key",
        entity_id=row.id,
        changes={"name": [None, name], "prefix": [None, row.prefix], "scopes": [None, row.scopes]},
    )
    db.session.commit()
    return row, key


def list_keys(*, shop_id: int, revoked: bool | None, page: int, page_size: int) -> tuple[list[ApiKey], int]:
    stmt = select(ApiKey).where(ApiKey.shop_id == shop_id)
    if revoked is not None:
        stmt = stmt.where(ApiKey.revoked_at.is_not(None) if revoked else ApiKey.revoked_at.is_(None))
    return page_of(stmt.order_by(ApiKey.id.desc()), page=page, page_size=page_size)


def revoke_key(*, shop_id: int, key_id: int, actor_id: int | None) -> ApiKey:
    """Revoke the key now: its next request is refused (keys are read per request, never cached)."""
    row = db.session.scalars(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.shop_id == shop_id).with_for_update()
    ).first()
    if row is None:
        raise NotFoundError("Integration key not found.")
    if row.revoked_at is None:  # revoking twice answers the same and writes nothing
        row.revoked_at = utcnow()
        row.revoked_by_id = actor_id
        audit.record(
            shop_id=shop_id,
            actor_id=actor_id,
            action="revoke",
            entity_type="api_key",
            entity_id=row.id,
            changes={"revoked_at": [None, row.revoked_at.isoformat()], "prefix": [row.prefix, row.prefix]},
        )
    db.session.commit()
    return row


def holder_of(key: str) -> KeyHolder | None:
    """The key's holder, revoked or not; None for a key nobody made. One statement."""
    row = db.session.execute(
        select(ApiKey.id, ApiKey.shop_id, ApiKey.name, ApiKey.scopes, ApiKey.revoked_at, ApiKey.last_used_at).where(
            ApiKey.key_hash == hash_key(key)
        )
    ).first()
    if row is None:
        return None
    return KeyHolder(
        key_id=row.id,
        shop_id=row.shop_id,
        name=row.name,
        scopes=frozenset(row.scopes or []),
        revoked=row.revoked_at is not None,
        last_used_at=row.last_used_at,
    )


def note_use(holder: KeyHolder, now: datetime | None = None) -> bool:
    """Write the key's last use when the one written is a minute old or more; True when it wrote (and committed).

    The conditional UPDATE keeps concurrent requests of one key to one write a minute between them.
    """
    now = now or utcnow()
    if holder.last_used_at is not None and now - holder.last_used_at < LAST_USE_EVERY:
        return False
    done = db.session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == holder.key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USE_EVERY),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return bool(done.rowcount)
