"""Rate limits of the auth endpoints: limits read from config, keys by client IP or by a hashed identifier.

flask-limiter keeps the counters in Redis (RATELIMIT_STORAGE_URI) and falls back to per-process
memory while Redis is down (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED), so the limits hold either way.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from flask import current_app, request

from app.common.net import client_ip
from app.common.phones import InvalidPhone, normalize_phone
from app.extensions import limiter

TOO_MANY = "Too many attempts; wait before trying again."


def configured(name: str) -> Callable[[], str]:
    """The limit in config key `name`, read per request so tests and operators can change it."""
    return lambda: current_app.config[name]


def hashed(scope: str, value: str) -> str:
    # Counter keys in Redis carry no phone or e-mail in clear.
    secret = current_app.config["JWT_SECRET_KEY"].encode()
    return f"{scope}:" + hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()[:32]


def normalized_identifier(raw: str) -> str:
    raw = raw.strip()
    try:
        return normalize_phone(raw)
    except InvalidPhone:
        return raw.lower()


def login_identifier_key() -> str:
    """One bucket per phone or e-mail, however it is written."""
    body = request.get_json(silent=True)
    raw = body.get("login") if isinstance(body, dict) else None
    return hashed("login", normalized_identifier(raw) if isinstance(raw, str) else "-")


def failed_login(response) -> bool:
    return response.status_code == 401


login_per_ip = limiter.limit(configured("RATELIMIT_LOGIN_PER_IP"), key_func=client_ip, error_message=TOO_MANY)
# Only failed attempts count per identifier: a user who logs in fine is never locked out.
login_per_identifier = limiter.limit(
    configured("RATELIMIT_LOGIN_PER_IDENTIFIER"),
    key_func=login_identifier_key,
    deduct_when=failed_login,
    error_message=TOO_MANY,
)
refresh_per_ip = limiter.limit(configured("RATELIMIT_REFRESH_PER_IP"), key_func=client_ip, error_message=TOO_MANY)
exchange_per_ip = limiter.limit(configured("RATELIMIT_EXCHANGE_PER_IP"), key_func=client_ip, error_message=TOO_MANY)
