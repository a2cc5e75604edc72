"""The app's JWTManager: flask-jwt-extended's, verifying a token's signature once per process, not per request."""

from __future__ import annotations

import time

import flask_jwt_extended
import jwt as pyjwt
from flask import current_app
from flask_jwt_extended.config import config as jwt_config

# Tokens whose signature a process has verified, kept so the next request with one skips PyJWT.
VERIFIED_TOKENS_KEPT = 4096


class JWTManager(flask_jwt_extended.JWTManager):
    """flask-jwt-extended's manager, verifying a token's signature once per process instead of on every request.

    The library parses each token four times a request (PyJWT checks every character of every segment in Python),
    about a sixth of an authenticated request's CPU. The same string with the same key verifies the same way, so
    the verified claims are kept per token and only what time changes (the expiry, nbf) is checked on each request.
    Everything that revocation changes (the login, the user, the roles) is still read per request (`_load_subject`).
    """

    def _decode_jwt_from_config(self, encoded_token: str, csrf_value=None, allow_expired: bool = False) -> dict:
        verified = current_app.extensions.setdefault("jwt_verified_tokens", {})
        key = (encoded_token, csrf_value, jwt_config.decode_key)
        claims = verified.get(key)
        if claims is None:
            claims = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired=True)
            if len(verified) >= VERIFIED_TOKENS_KEPT:
                verified.clear()  # simpler than an LRU, and a full cache is rare: a miss only costs a decode
            verified[key] = claims
        now = time.time()
        if claims.get("nbf", now) > now + jwt_config.leeway:  # a clock set back: as PyJWT would answer
            raise pyjwt.ImmatureSignatureError("The token is not yet valid (nbf)")
        if not allow_expired and "exp" in claims and claims["exp"] <= now - jwt_config.leeway:
            # What the library raises itself, with what its expired-token handler reads.
            expired = pyjwt.ExpiredSignatureError("Signature has expired")
            expired.jwt_header = pyjwt.get_unverified_header(encoded_token)
            expired.jwt_data = dict(claims)
            raise expired
        return dict(claims)  # the caller's own copy: flask-jwt-extended keeps it in `g`
