"""One-time login codes for staff without passwords (SPEC §8).

A code is 6 digits, lives 5 minutes, is kept in Redis only as an HMAC, dies after 5 wrong tries or
its one good use, and a new one for the same phone waits 60 s. Known and unknown phones go through
the same Redis steps and get the same answer; only a known, active phone gets a message.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
import uuid

from flask import current_app
from redis.exceptions import RedisError

from app.auth.tokens import start_session
from app.errors import ServiceUnavailable, Unauthorized
from app.extensions import db, redis_client
from app.messaging.services import channel_for_user, queue_message
from app.users.models import User
from app.users.services import find_by_phone, join_on_first_login

log = logging.getLogger(__name__)

CODE_DIGITS = 6
CODE_TTL_SECONDS = 5 * 60
RESEND_AFTER_SECONDS = 60
# A failed send job keeps its arguments (the code in clear) in RQ's failed registry: gone soon after the code dies.
FAILED_SEND_KEPT_SECONDS = 10 * 60
MAX_WRONG_TRIES = 5
# A known phone costs a few more milliseconds (a row, a job); every answer waits until this much has passed.
ANSWER_FLOOR_SECONDS = 0.2

REQUESTED_MESSAGE = "If this phone belongs to staff, a code is on its way."
WRONG_CODE = "The code is wrong or has expired; ask for a new one."
UNAVAILABLE = "Login codes are unavailable right now; try again shortly or log in with a password."
UNAVAILABLE_RETRY_AFTER = "30"

# Atomically: no new code within the cooldown; otherwise the new code replaces any older one.
_ISSUE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], 'hash', ARGV[1], 'wrong', 0)
  redis.call('EXPIRE', KEYS[2], ARGV[2])
  return 1
end
return 0
"""

# Atomically: 1 = right (and now used up), 0 = wrong (the last allowed wrong try kills it), -1 = none.
_CHECK = """
local stored = redis.call('HGET', KEYS[1], 'hash')
if not stored then return -1 end
if stored == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
if redis.call('HINCRBY', KEYS[1], 'wrong', 1) >= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
end
return 0
"""


def _digest(purpose: str, value: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def phone_fingerprint(phone: str) -> str:
    """A stable, secret-keyed name for a phone, so Redis keys (codes, rate limits) hold no phone number."""
    return _digest("otp-phone", phone)[:32]


def _keys(phone: str) -> tuple[str, str]:
    fingerprint = phone_fingerprint(phone)
    return f"otp:cooldown:{fingerprint}", f"otp:code:{fingerprint}"


def _code_hash(phone: str, code: str) -> str:
    return _digest("otp-code", f"{phone}:{code}")


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def _staff_member(phone: str) -> User | None:
    user = find_by_phone(phone)
    return user if user is not None and user.is_active else None


def request_code(*, phone: str) -> None:
    """Send a login code to `phone` (E.164) if it belongs to active staff. Nothing tells the caller which,
    not even the time the answer takes."""
    answer_at = time.monotonic() + ANSWER_FLOOR_SECONDS
    try:
        _issue_code(phone)
    finally:
        time.sleep(max(0.0, answer_at - time.monotonic()))


def _issue_code(phone: str) -> None:
    cooldown_key, code_key = _keys(phone)
    code = new_code()
    try:
        issued = redis_client.register_script(_ISSUE)(
            keys=[cooldown_key, code_key],
            args=[_code_hash(phone, code), CODE_TTL_SECONDS, RESEND_AFTER_SECONDS],
        )
    except RedisError:
        raise ServiceUnavailable(UNAVAILABLE, headers={"Retry-After": UNAVAILABLE_RETRY_AFTER}) from None
    if not issued:
        return  # a code went out less than a minute ago
    user = _staff_member(phone)
    if user is None:
        # The unknown phone's code sits in Redis like any other and reaches nobody. The lookup's transaction ends
        # with a COMMIT, not the request's ROLLBACK, which would drop the connection's prepared statements.
        db.session.commit()
        return
    user_id = user.id
    try:
        _send_code(user, code)
    except Exception:
        # A broken provider setup must not answer a known phone differently from an unknown one.
        db.session.rollback()
        log.exception("could not queue a login code for user %s; answered as usual", user_id)


def _send_code(user: User, code: str) -> None:
    channel, address = channel_for_user(user)
    queue_message(
        kind="otp",
        channel=channel,
        to=address,
        template="otp_code",
        language=user.language,
        context={"minutes": CODE_TTL_SECONDS // 60},
        secret_values={"code": code},
        user_id=user.id,
        occurrence_key=f"otp:{user.id}:{uuid.uuid4().hex}",
        queue="otp",
        description="send otp",
        failure_ttl=FAILED_SEND_KEPT_SECONDS,
    )
    db.session.commit()


def log_in_with_code(*, phone: str, code: str) -> dict:
    """The token pair of a new login for the staff member whose code this is; 401 for anything else."""
    _cooldown_key, code_key = _keys(phone)
    try:
        outcome = redis_client.register_script(_CHECK)(keys=[code_key], args=[_code_hash(phone, code), MAX_WRONG_TRIES])
    except RedisError:
        raise ServiceUnavailable(UNAVAILABLE, headers={"Retry-After": UNAVAILABLE_RETRY_AFTER}) from None
    user = _staff_member(phone) if outcome == 1 else None
    if user is None:
        raise Unauthorized(WRONG_CODE)
    join_on_first_login(user)
    return start_session(user, method="otp")
