"""Tokens of a trusted identity service (a partner site sharing its logins), off unless configured.

A token whose `iss` is EXTERNAL_JWT_ISSUER is verified with the configured HS256 secret or RS256
public key (the algorithm pinned, `exp` required) and its EXTERNAL_JWT_USER_CLAIM matched against
`users.external_id`. POST /auth/exchange trades it for one of our own token pairs, so every later
request, refresh and revocation works exactly as for a password login.
"""

from __future__ import annotations

import logging

import jwt
from flask import current_app
from sqlalchemy import select

from app.errors import NotFoundError, Unauthorized
from app.extensions import db
from app.users.models import User

log = logging.getLogger(__name__)

REJECTED = "The identity token was rejected; log in to the identity service again."
BEARER = {"WWW-Authenticate": "Bearer"}


def enabled() -> bool:
    return bool(current_app.config.get("EXTERNAL_JWT_ISSUER"))


def _verification_key(algorithm: str) -> str:
    config = current_app.config
    return config["EXTERNAL_JWT_SECRET"] if algorithm == "HS256" else config["EXTERNAL_JWT_PUBLIC_KEY"]


def verify(token: str) -> dict:
    """The verified claims of an identity service token; Unauthorized for anything else."""
    config = current_app.config
    if not enabled():
        raise NotFoundError("Trusted identity service tokens are not enabled.")
    if not token:
        raise Unauthorized("Send the identity service's token as the Bearer token.", headers=BEARER)
    algorithm = config["EXTERNAL_JWT_ALGORITHM"]
    user_claim = config["EXTERNAL_JWT_USER_CLAIM"]
    try:
        return jwt.decode(
            token,
            _verification_key(algorithm),
            algorithms=[algorithm],  # pinned: no `none`, no HS256-signed-with-the-public-key confusion
            issuer=config["EXTERNAL_JWT_ISSUER"],
            audience=config["EXTERNAL_JWT_AUDIENCE"] or None,
            options={"require": ["exp", "iss", user_claim]},
            leeway=30,
        )
    except jwt.InvalidTokenError as exc:
        log.info("identity service token rejected: %s", type(exc).__name__)
        raise Unauthorized(REJECTED, headers=BEARER) from None


def user_for(token: str) -> User:
    """The active user the identity service token names (by `users.external_id`)."""
    claims = verify(token)
    external_id = claims[current_app.config["EXTERNAL_JWT_USER_CLAIM"]]
    if not isinstance(external_id, str | int) or isinstance(external_id, bool):
        raise Unauthorized(REJECTED, headers=BEARER)
    user = db.session.scalars(select(User).where(User.external_id == str(external_id))).first()
    if user is None or not user.is_active:
        raise Unauthorized(REJECTED, headers=BEARER)
    return user
