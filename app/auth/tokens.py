"""JWT wiring: the token pair of a login, the per-request checks, and errors in the one JSON shape.

Every request with a token costs one SQL statement: the user row joined with its login session and
memberships, so a logout, a reuse detection, a deactivation or a role change acts at once, even when
Redis lost everything. Every token the app issues names its login (`sid`), so that statement is the
whole check and Redis is not asked. Only a token without a login (none is issued; one made by hand)
is checked against Redis, where logout keeps its jti for its remaining lifetime.

The statement reads plain values (a `Caller`), not ORM objects: all GET /auth/me and a token pair answer about the
user. The views that change the account itself load its row (`access.current_account`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypeVar

import redis
from flask import Flask, current_app, g, request
from flask_jwt_extended import JWTManager, create_access_token, create_refresh_token
from sqlalchemy import Row, and_, bindparam, select, update

from app.auth.models import LoginSession, RefreshToken
from app.common.types import utcnow
from app.errors import error_response
from app.extensions import db, redis_client
from app.users.models import Membership, User

log = logging.getLogger(__name__)
T = TypeVar("T")

ISSUED_AT_CLAIM = "iat_us"  # microseconds since the epoch: `iat` has whole seconds only
REVOKED_JTI_PREFIX = "revoked-jti:"
INTEGRATION_KEY_PREFIX = "fcrm_"  # app/apikeys: machine clients' keys, refused here with a message saying so
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# After a Redis error, skip Redis for this long so a dead Redis does not slow every request.
REDIS_RETRY_SECONDS = 5.0
_redis_retry_at = 0.0


class Member(NamedTuple):
    """One shop the caller may act in, and their role there."""

    shop_id: int
    role: str


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent the request, as the per-request check read them: plain values, cheaper than ORM objects, and all
    that GET /auth/me and a token pair answer about the user (UserWithMembershipsSchema). `memberships` are the
    active ones only, like `User.memberships`."""

    id: int
    language: str
    is_active: bool
    tokens_valid_after: datetime | None
    phone: str
    email: str | None
    name: str
    telegram_chat_id: str | None
    has_password: bool
    memberships: tuple[Member, ...]

    @classmethod
    def from_rows(cls, rows: Sequence[Row[Any]]) -> Caller:
        """Rows of `_CALLER_COLUMNS` (then anything else), one per active membership (one with NULLs for none)."""
        user = rows[0][:_USER_PLACES]
        members = tuple(Member(*row[_USER_PLACES:_CALLER_PLACES]) for row in rows if row[_USER_PLACES] is not None)
        return cls(*user, members)


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def issued_at_us(jwt_data: dict) -> int:
    if ISSUED_AT_CLAIM in jwt_data:
        return int(jwt_data[ISSUED_AT_CLAIM])
    # A token without the claim counts from the start of its second: it dies rather than outlives a revocation.
    return int(jwt_data["iat"]) * 1_000_000


def issued_before_cutoff(jwt_data: dict, user: User | Caller) -> bool:
    """True when the token predates the user's `tokens_valid_after` (password change, deactivation)."""
    if user.tokens_valid_after is None:
        return False
    return issued_at_us(jwt_data) < _micros(user.tokens_valid_after)


def redis_call(what: str, call: Callable[[], T]) -> T | None:
    """Run `call()` on Redis; None (and Redis skipped for a few seconds) when Redis is unreachable."""
    global _redis_retry_at
    if time.monotonic() < _redis_retry_at:
        return None
    try:
        return call()
    except redis.RedisError as exc:
        _redis_retry_at = time.monotonic() + REDIS_RETRY_SECONDS
        log.warning("Redis unreachable while %s (%s); relying on PostgreSQL", what, type(exc).__name__)
        return None


def _jti_revoked(jti: str | None) -> bool:
    if not jti:
        return False
    return bool(redis_call("checking a revoked token", lambda: redis_client.exists(REVOKED_JTI_PREFIX + jti)))


def revoke_jti(jwt_data: dict) -> None:
    """Keep the token's jti in Redis until the token expires (PostgreSQL already ended its login)."""
    jti = jwt_data.get("jti")
    remaining = int(jwt_data.get("exp", 0) - time.time()) + 1
    if jti and remaining > 0:
        redis_call("revoking a token", lambda: redis_client.set(REVOKED_JTI_PREFIX + jti, 1, ex=remaining))


def _checked_subject(jwt_data: dict) -> tuple[Caller | None, str | None]:
    """The token's user and why the token is dead (None when it is alive), kept for the user lookup that follows."""
    result = _load_subject(jwt_data)
    g._token_subject = (jwt_data.get("jti"), result)
    return result


def _subject_for_lookup(jwt_data: dict) -> tuple[Caller | None, str | None]:
    # flask-jwt-extended looks the user up right after the blocklist check: reuse that one statement.
    cached = g.pop("_token_subject", None)
    if cached is not None and cached[0] == jwt_data.get("jti"):
        return cached[1]
    return _load_subject(jwt_data)


# Every authenticated request runs one of these: the user, their active memberships and (by the token's `sid`) their
# login. Core columns, built once: building a statement per request cost more than running it.
_USERS, _MEMBERSHIPS, _LOGINS = User.__table__.c, Membership.__table__.c, LoginSession.__table__.c
_CALLER_COLUMNS = (
    _USERS.id,
    _USERS.language,
    _USERS.is_active,
    _USERS.tokens_valid_after,
    _USERS.phone,
    _USERS.email,
    _USERS.name,
    _USERS.telegram_chat_id,
    _USERS.password_hash.is_not(None),  # whether there is one: the hash itself stays in the database
    _MEMBERSHIPS.shop_id,
    _MEMBERSHIPS.role,
)
_USER_PLACES, _CALLER_PLACES = len(_CALLER_COLUMNS) - 2, len(_CALLER_COLUMNS)
_WITH_MEMBERSHIPS = User.__table__.outerjoin(
    Membership.__table__, and_(_MEMBERSHIPS.user_id == _USERS.id, _MEMBERSHIPS.deactivated_at.is_(None))
)
_WITH_LOGIN = (
    select(*_CALLER_COLUMNS, _LOGINS.id, _LOGINS.revoked_at)
    .select_from(
        _WITH_MEMBERSHIPS.outerjoin(
            LoginSession.__table__, and_(_LOGINS.id == bindparam("session_id"), _LOGINS.user_id == _USERS.id)
        )
    )
    .where(_USERS.id == bindparam("user_id"))
)
_SESSIONLESS = select(*_CALLER_COLUMNS).select_from(_WITH_MEMBERSHIPS).where(_USERS.id == bindparam("user_id"))


def load_caller(user_id: int) -> Caller | None:
    """The user as the session sees them now (flushed changes included), as plain values; None if there is none."""
    rows = db.session.execute(_SESSIONLESS, {"user_id": user_id}).all()
    return Caller.from_rows(rows) if rows else None


def _load_subject(jwt_data: dict) -> tuple[Caller | None, str | None]:
    try:
        user_id = int(jwt_data["sub"])
    except (KeyError, TypeError, ValueError):
        return None, "unknown user"
    sid = jwt_data.get("sid")
    if sid:
        rows = db.session.execute(_WITH_LOGIN, {"user_id": user_id, "session_id": str(sid)}).all()
        if not rows:
            return None, "unknown user"
        user = Caller.from_rows(rows)
        session_id, session_revoked_at = rows[0][-2:]
        if session_id is None or session_revoked_at is not None:
            return user, "login ended"
        # Logout ends the login in PostgreSQL (committed before its jti reaches Redis): no need to ask Redis.
        revoked = False
    else:
        user = load_caller(user_id)
        if user is None:
            return None, "unknown user"
        revoked = _jti_revoked(jwt_data.get("jti"))
    if issued_before_cutoff(jwt_data, user):
        return user, "issued before the user's tokens were ended"
    if revoked:
        return user, "revoked"
    return user, None


def init_jwt(jwt: JWTManager, app: Flask) -> None:
    @jwt.user_identity_loader
    def identity(user: User | Caller) -> str:
        return str(user.id)

    @jwt.additional_claims_loader
    def issued_at(user: User | Caller) -> dict:
        # Never before the user's cutoff, so a pair issued in the same instant as a revocation lives.
        now = _micros(utcnow())
        valid_after = getattr(user, "tokens_valid_after", None)
        cutoff = _micros(valid_after) if valid_after else 0
        return {ISSUED_AT_CLAIM: max(now, cutoff)}

    @jwt.token_in_blocklist_loader
    def revoked(_header: dict, jwt_data: dict) -> bool:
        user, dead = _checked_subject(jwt_data)
        return user is not None and dead is not None

    @jwt.user_lookup_loader
    def lookup(_header: dict, jwt_data: dict) -> Caller | None:
        user, dead = _subject_for_lookup(jwt_data)
        if user is None or dead is not None or not user.is_active:
            return None
        return user

    def unauthorized(message: str):
        return error_response(401, message, headers={"WWW-Authenticate": "Bearer"})

    def invalid_token(_reason: str):
        if request.headers.get("Authorization", "").partition(" ")[2].strip().startswith(INTEGRATION_KEY_PREFIX):
            return error_response(
                401,
                "An integration key (fcrm_...) works only on the storefront endpoints; staff endpoints need a "
                "staff login.",
                errors={"authorization": ["integration key on a staff endpoint"]},
                headers={"WWW-Authenticate": "Bearer"},
            )
        return unauthorized("The token is invalid; log in again.")

    jwt.unauthorized_loader(lambda reason: unauthorized("Authentication required: send a Bearer access token."))
    jwt.invalid_token_loader(invalid_token)
    jwt.expired_token_loader(lambda _h, _d: unauthorized("The token has expired; refresh it or log in again."))
    jwt.revoked_token_loader(lambda _h, _d: unauthorized("The token has been revoked; log in again."))
    jwt.user_lookup_error_loader(lambda _h, _d: unauthorized("The token's user is unknown or inactive."))
    jwt.needs_fresh_token_loader(lambda _h, _d: unauthorized("A fresh login is required."))
    jwt.token_verification_failed_loader(lambda _h, _d: unauthorized("The token was rejected; log in again."))


def start_session(user: User, *, method: str) -> dict:
    """A new login for `user` (method: password, otp, external): its first token pair, committed.

    The pair's user is read before the commit, with what this login changed (a first login's membership): read
    after it, the expired row would open a transaction that only the request's end closes, with a ROLLBACK.
    """
    login = LoginSession(id=str(uuid.uuid4()), user_id=user.id, method=method)
    db.session.add(login)
    db.session.flush()
    pair = issue_pair(load_caller(user.id), login)
    db.session.commit()
    return pair


def issue_pair(user: User | Caller, login: LoginSession) -> dict:
    """A new access token and a new refresh token (a row) in `login`; the caller commits."""
    claims = {"sid": login.id}
    refresh_jti = str(uuid.uuid4())
    lifetime = current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    db.session.add(
        RefreshToken(
            jti=refresh_jti,
            session_id=login.id,
            user_id=user.id,
            expires_at=utcnow() + lifetime,
        )
    )
    return {
        "access_token": create_access_token(identity=user, additional_claims=claims),
        "refresh_token": create_refresh_token(identity=user, additional_claims={**claims, "jti": refresh_jti}),
        "token_type": "Bearer",
        "expires_in": int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds()),
        "user": user,
    }


def revoke_sessions(*, session_ids: list[str], reason: str) -> list[str]:
    """End these logins and every refresh token of them; the ids that were still live. The caller commits."""
    if not session_ids:
        return []
    now = utcnow()
    ended = list(
        db.session.scalars(
            update(LoginSession)
            .where(LoginSession.id.in_(session_ids), LoginSession.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
            .returning(LoginSession.id),
            execution_options={"synchronize_session": False},
        )
    )
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.session_id.in_(session_ids), RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now),
        execution_options={"synchronize_session": False},
    )
    return ended


def revoke_all_for_user(user: User, *, reason: str) -> None:
    """End every token of `user` (password change, deactivation). The caller commits."""
    now = utcnow()
    # One microsecond ahead: a token stamped in this very instant is older, the next pair (stamped at least
    # this) is not.
    user.tokens_valid_after = now + _MICROSECOND
    db.session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason),
        execution_options={"synchronize_session": False},
    )
    user_sessions = select(LoginSession.id).where(LoginSession.user_id == user.id)
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.session_id.in_(user_sessions), RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now),
        execution_options={"synchronize_session": False},
    )
