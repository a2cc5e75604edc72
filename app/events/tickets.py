"""Stream tickets: a browser's EventSource cannot send a Bearer header, so it shows a single-use ticket instead.

The API hands one out to a logged-in member (`POST /api/v1/events/tickets`); it names the user, the shop, the
role and the login it was asked with, lives 60 s in Redis under its hash (Redis never holds a usable ticket),
and the events service takes it with GETDEL: one stream, once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass

from app.auth.tokens import issued_at_us
from app.extensions import redis_client
from app.users.models import Role

TICKET_SECONDS = 60
_KEY = "events:ticket:{digest}"


@dataclass(frozen=True)
class StreamGrant:
    """Who a stream is for: what the Bearer token or the ticket established, checked again while it runs."""

    user_id: int
    shop_id: int
    role: Role
    session_id: str | None  # the login (`sid`); a token without one is checked by its issue time alone
    issued_at_us: int  # when the token was issued: a later "end every token" (deactivation) cuts it off
    jti: str | None  # the access token's id: a logout revokes it in Redis


def grant_from_token(*, user_id: int, shop_id: int, role: Role, claims: dict) -> StreamGrant:
    """The grant of a request authenticated by a Bearer access token (`claims`: the token's)."""
    return StreamGrant(
        user_id=user_id,
        shop_id=shop_id,
        role=role,
        session_id=claims.get("sid"),
        issued_at_us=issued_at_us(claims),
        jti=claims.get("jti"),
    )


def _key(ticket: str) -> str:
    return _KEY.format(digest=hashlib.sha256(ticket.encode()).hexdigest())


def issue_ticket(grant: StreamGrant) -> str:
    """A new ticket for `grant`, usable once within TICKET_SECONDS."""
    ticket = secrets.token_urlsafe(32)
    redis_client.set(_key(ticket), json.dumps({**asdict(grant), "role": grant.role.value}), ex=TICKET_SECONDS)
    return ticket


def redeem_ticket(ticket: str) -> StreamGrant | None:
    """The ticket's grant, taken so nobody can use it again; None for an unknown, used or expired ticket."""
    raw = redis_client.getdel(_key(ticket))
    if raw is None:
        return None
    fields = json.loads(raw)
    return StreamGrant(**{**fields, "role": Role(fields["role"])})
