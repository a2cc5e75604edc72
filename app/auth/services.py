"""Logging in, rotating refresh tokens, logging out."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask_jwt_extended import decode_token
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import InvalidTokenError
from sqlalchemy import delete, exists, or_, select, update

from app.audit import services as audit
from app.auth import external
from app.auth.models import LoginSession, RefreshToken
from app.auth.passwords import hash_password, needs_rehash, verify_password
from app.auth.tokens import Caller, issue_pair, revoke_jti, revoke_sessions, start_session
from app.common.phones import InvalidPhone, normalize_phone
from app.common.types import utcnow
from app.errors import Unauthorized
from app.extensions import db
from app.users.models import User
from app.users.services import join_on_first_login

log = logging.getLogger(__name__)

BAD_CREDENTIALS = "Wrong phone, e-mail or password."
REFRESH_REJECTED = "The refresh token is no longer valid; log in again."
LOGIN_SESSION = "login_session"


def _find_by_identifier(identifier: str) -> User | None:
    identifier = identifier.strip()
    conditions = [User.email == identifier.lower()]
    try:
        conditions.append(User.phone == normalize_phone(identifier))
    except InvalidPhone:
        pass
    return db.session.scalars(select(User).where(or_(*conditions))).first()


def authenticate(*, identifier: str, password: str) -> User:
    """The active user with this phone or e-mail and password; one answer for every failure."""
    user = _find_by_identifier(identifier)
    # Always one argon2 verification (against a dummy hash when the user is unknown): equal timing.
    password_ok = verify_password(user.password_hash if user else None, password)
    if user is None or not password_ok or not user.is_active:
        raise Unauthorized(BAD_CREDENTIALS)
    if needs_rehash(user.password_hash):  # committed with the login session that follows
        user.password_hash = hash_password(password)
    return user


def log_in_with_password(*, identifier: str, password: str) -> dict:
    user = authenticate(identifier=identifier, password=password)
    join_on_first_login(user)
    return start_session(user, method="password")


def exchange_identity_token(*, token: str) -> dict:
    """Our own token pair for a valid token of the trusted identity service."""
    user = external.user_for(token)
    join_on_first_login(user)
    return start_session(user, method="external")


def rotate_refresh_token(*, user: Caller, claims: dict) -> dict:
    """Use the refresh token once: a new pair in the same login. A second use ends the whole login."""
    session_id, jti = claims.get("sid"), claims.get("jti")
    # The login row locked first (as logout does), so a rotation and a logout or a twin rotation queue up.
    login = db.session.scalars(
        select(LoginSession)
        .where(LoginSession.id == str(session_id), LoginSession.user_id == user.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if login is None or login.revoked_at is not None:
        raise Unauthorized(REFRESH_REJECTED)
    now = utcnow()
    used = db.session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.jti == str(jti),
            RefreshToken.session_id == login.id,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
            RefreshToken.expires_at > now,
        )
        .values(used_at=now),
        execution_options={"synchronize_session": False},
    )
    if used.rowcount == 1:
        pair = issue_pair(user, login)
        db.session.commit()
        return pair
    known = db.session.scalar(select(RefreshToken.jti).where(RefreshToken.jti == str(jti)))
    if known is not None:
        # Someone replayed a refresh token that was already used: whoever holds the newer one is suspect too.
        revoke_sessions(session_ids=[login.id], reason="reuse")
        # In each of the user's shops: a stolen token is their admins' business.
        audit.record_in_own_shops(
            user,
            action="revoke",
            entity_type=LOGIN_SESSION,
            entity_id=login.id,
            changes={"revoked_reason": [None, "reuse"]},
        )
        db.session.commit()
        log.warning("refresh token reuse detected; login session %s ended", login.id)
        raise Unauthorized(REFRESH_REJECTED)
    raise Unauthorized(REFRESH_REJECTED)  # a token we never issued (a wiped database): nothing to end


def _refresh_token_session(token: str, user: Caller) -> str | None:
    """The login of a refresh token the caller sent along at logout, if it is really theirs."""
    try:
        claims = decode_token(token, allow_expired=True)
    except (InvalidTokenError, JWTExtendedException):
        return None
    if claims.get("type") != "refresh" or claims.get("sub") != str(user.id) or not claims.get("sid"):
        return None
    return str(claims["sid"])


def log_out(*, user: Caller, claims: dict, refresh_token: str | None = None) -> None:
    """End the caller's login: its refresh tokens in PostgreSQL, the presented access token in Redis."""
    session_ids = {str(claims["sid"])} if claims.get("sid") else set()
    if refresh_token:
        extra = _refresh_token_session(refresh_token, user)
        if extra:
            session_ids.add(extra)
    for session_id in revoke_sessions(session_ids=sorted(session_ids), reason="logout"):
        audit.record_in_own_shops(
            user,
            action="logout",
            entity_type=LOGIN_SESSION,
            entity_id=session_id,
            changes={"revoked_reason": [None, "logout"]},
        )
    db.session.commit()
    revoke_jti(claims)


def purge_expired_logins(*, idle_for: timedelta = timedelta(days=1)) -> int:
    """Delete logins whose every refresh token expired (their access tokens died long before); for a cron job.

    Used and revoked tokens of live logins stay: they are what reuse detection recognises.
    """
    now = utcnow()
    live_token = exists().where(RefreshToken.session_id == LoginSession.id, RefreshToken.expires_at > now - idle_for)
    result = db.session.execute(
        delete(LoginSession).where(~live_token, LoginSession.created_at < now - idle_for),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    return result.rowcount
