"""`key_access(scope)`: the decorator of every view a machine client calls with an integration key.

It reads `Authorization: Bearer fcrm_...`, finds the key by its hash (one statement), refuses a staff
login token, an unknown or revoked key (401) and a key without the scope (403, naming it), and counts
the request against the key's own rate limit (RATELIMIT_API_KEY, 429 with Retry-After). The view acts
in the key's shop only: `current_key().shop_id`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import wraps

from flask import g, request

from app.apikeys import services
from app.apikeys.models import Scope
from app.apikeys.services import KeyHolder
from app.auth.ratelimits import configured
from app.errors import PermissionDenied, Unauthorized
from app.extensions import limiter

SECURITY_SCHEME = "integrationKey"
BEARER = {"WWW-Authenticate": "Bearer"}
TOO_MANY_FOR_KEY = "Too many requests with this integration key; wait as long as Retry-After says."


def _bucket() -> str:
    return f"api-key:{g.api_key.key_id}"


# One budget per key across every storefront call (a shared scope), not one per endpoint.
per_key = limiter.shared_limit(
    configured("RATELIMIT_API_KEY"), scope="api-key", key_func=_bucket, error_message=TOO_MANY_FOR_KEY
)


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _authenticate() -> KeyHolder:
    token = _bearer()
    if token is None:
        raise Unauthorized(
            "Send an integration key: Authorization: Bearer fcrm_...",
            headers=BEARER,
            errors={"authorization": ["missing"]},
        )
    if not services.looks_like_key(token):
        raise Unauthorized(
            "These endpoints take an integration key (fcrm_...), not a staff login token; an admin makes one "
            "at /api/v1/api-keys.",
            headers=BEARER,
            errors={"authorization": ["not an integration key"]},
        )
    holder = services.holder_of(token)
    if holder is None:
        raise Unauthorized(
            "The integration key is not valid.", headers=BEARER, errors={"authorization": ["unknown key"]}
        )
    if holder.revoked:
        raise Unauthorized(
            "This integration key has been revoked; ask the shop's admin for a new one.",
            headers=BEARER,
            errors={"authorization": ["revoked"]},
        )
    return holder


def _document(view: Callable, scope: Scope) -> None:
    apidoc = view.__dict__.setdefault("_apidoc", {})
    manual = apidoc.setdefault("manual_doc", {})
    manual["security"] = [{SECURITY_SCHEME: []}]
    responses = manual.setdefault("responses", {})
    responses["401"] = "UNAUTHORIZED"
    responses["403"] = "FORBIDDEN"
    responses["429"] = "TOO_MANY_REQUESTS"
    note = f"Integration key with scope `{scope.value}`; staff tokens are refused."
    # The manual description replaces the docstring's: keep what the docstring says below its summary line.
    said = inspect.cleandoc(view.__doc__ or "").partition("\n")[2].strip()
    manual["description"] = "\n\n".join(part for part in (manual.get("description", ""), said, note) if part)


def key_access(scope: Scope) -> Callable:
    """A machine client with a live integration key of its shop that holds `scope`, within its rate limit."""

    def decorator(view: Callable) -> Callable:
        @per_key
        @wraps(view)
        def scoped(*args, **kwargs):
            if scope.value not in g.api_key.scopes:
                raise PermissionDenied(
                    "This integration key lacks the scope {scope}; ask the shop's admin for a key that has it.",
                    params={"scope": scope.value},
                    errors={"scope": [scope.value]},
                )
            return view(*args, **kwargs)

        @wraps(view)
        def wrapper(*args, **kwargs):
            holder = _authenticate()
            g.api_key = holder
            services.note_use(holder)
            return scoped(*args, **kwargs)

        _document(wrapper, scope)
        return wrapper

    return decorator


def current_key() -> KeyHolder:
    return g.api_key
