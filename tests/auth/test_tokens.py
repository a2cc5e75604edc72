"""Which tokens open the API: forged, expired, misused, revoked and outdated ones answer 401."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
import pytest
import redis
import time_machine
from flask_jwt_extended import create_access_token, decode_token

from app.auth import tokens
from app.auth.tokens import revoke_all_for_user, start_session
from app.common.types import utcnow
from app.extensions import db
from tests.auth.conftest import LOGOUT, ME, REFRESH, bearer, log_in


def _unverified(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _assert_401(response, message: str | None = None) -> None:
    assert response.status_code == 401
    assert set(response.json) == {"code", "status", "message", "errors"}
    assert response.headers["WWW-Authenticate"] == "Bearer"
    if message:
        assert response.json["message"] == message


def test_a_fresh_access_token_opens_me(http, staff):
    pair = log_in(http, staff)

    assert http.get(ME, headers=bearer(pair["access_token"])).status_code == 200


def test_no_token_is_401_in_the_error_shape(http):
    _assert_401(http.get(ME), "Authentication required: send a Bearer access token.")


def test_access_token_expires_after_15_minutes(http, staff):
    pair = log_in(http, staff)

    with time_machine.travel(utcnow() + timedelta(minutes=14), tick=False):
        assert http.get(ME, headers=bearer(pair["access_token"])).status_code == 200
    with time_machine.travel(utcnow() + timedelta(minutes=16), tick=False):
        _assert_401(
            http.get(ME, headers=bearer(pair["access_token"])), "The token has expired; refresh it or log in again."
        )


def test_refresh_token_expires_after_30_days(http, staff):
    pair = log_in(http, staff)

    with time_machine.travel(utcnow() + timedelta(days=31), tick=False):
        _assert_401(
            http.post(REFRESH, headers=bearer(pair["refresh_token"])),
            "The token has expired; refresh it or log in again.",
        )


def test_token_signed_with_another_key_is_401(app, http, staff):
    claims = _unverified(log_in(http, staff)["access_token"])

    forged = jwt.encode(claims, "another-secret-key-that-is-long-enough-for-hs256", algorithm="HS256")

    _assert_401(http.get(ME, headers=bearer(forged)), "The token is invalid; log in again.")


def test_token_with_a_changed_payload_is_401(http, staff):
    other = log_in(http, staff)  # a real signature over a payload we then swap
    header, _payload, signature = other["access_token"].split(".")
    claims = _unverified(other["access_token"])
    claims["sub"] = str(staff.id + 1000)

    _assert_401(
        http.get(ME, headers=bearer(f"{header}.{_b64(claims)}.{signature}")), "The token is invalid; log in again."
    )


def test_alg_none_token_is_401(http, staff):
    claims = _unverified(log_in(http, staff)["access_token"])

    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."

    _assert_401(http.get(ME, headers=bearer(unsigned)), "The token is invalid; log in again.")


def test_refresh_token_is_not_an_access_token(http, staff):
    pair = log_in(http, staff)

    _assert_401(http.get(ME, headers=bearer(pair["refresh_token"])), "The token is invalid; log in again.")


def test_access_token_is_not_a_refresh_token(http, staff):
    pair = log_in(http, staff)

    _assert_401(http.post(REFRESH, headers=bearer(pair["access_token"])), "The token is invalid; log in again.")


def test_deactivated_users_live_tokens_are_401(http, staff):
    pair = log_in(http, staff)
    staff.is_active = False
    db.session.commit()

    _assert_401(http.get(ME, headers=bearer(pair["access_token"])))
    _assert_401(http.post(REFRESH, headers=bearer(pair["refresh_token"])))


def test_deleted_users_token_is_401(app, http, staff):
    with app.test_request_context():
        token = create_access_token(identity=staff)
    db.session.delete(staff)
    db.session.commit()

    _assert_401(http.get(ME, headers=bearer(token)), "The token's user is unknown or inactive.")


def test_tokens_valid_after_ends_older_tokens_but_not_a_pair_issued_the_same_second(app, http, staff):
    second = utcnow().replace(microsecond=0) - timedelta(seconds=5)
    with time_machine.travel(second, tick=True):  # the clock runs, from the start of a second
        old_pair = start_session(staff, method="password")
        with app.test_request_context():
            old_sessionless = create_access_token(identity=staff)
        # What a password change does: end everything, then hand the changer a fresh pair.
        revoke_all_for_user(staff, reason="password")
        new_pair = start_session(staff, method="password")

    # `iat` cannot tell them apart; the microsecond claim can.
    assert decode_token(new_pair["access_token"])["iat"] == decode_token(old_sessionless)["iat"]
    assert http.get(ME, headers=bearer(new_pair["access_token"])).status_code == 200
    _assert_401(http.get(ME, headers=bearer(old_pair["access_token"])), "The token has been revoked; log in again.")
    _assert_401(http.get(ME, headers=bearer(old_sessionless)), "The token has been revoked; log in again.")
    _assert_401(http.post(REFRESH, headers=bearer(old_pair["refresh_token"])))
    assert http.post(REFRESH, headers=bearer(new_pair["refresh_token"])).status_code == 200


def test_revoke_all_holds_even_when_the_clock_stands_still(app, http, staff):
    with time_machine.travel(utcnow(), tick=False):  # every timestamp below is the same microsecond
        with app.test_request_context():
            old = create_access_token(identity=staff)
        revoke_all_for_user(staff, reason="password")
        new = start_session(staff, method="password")

        _assert_401(http.get(ME, headers=bearer(old)), "The token has been revoked; log in again.")
        assert http.get(ME, headers=bearer(new["access_token"])).status_code == 200


@pytest.mark.parametrize(("issued_later_by", "alive"), [(timedelta(0), False), (timedelta(seconds=1), True)])
def test_token_without_the_microsecond_claim_falls_back_to_iat_on_the_safe_side(
    app, http, staff, issued_later_by, alive
):
    start = utcnow().replace(microsecond=500_000)
    with time_machine.travel(start, tick=False):
        revoke_all_for_user(staff, reason="password")
        db.session.commit()
    with time_machine.travel(start + issued_later_by, tick=False), app.test_request_context():
        claims = decode_token(create_access_token(identity=staff))
        del claims["iat_us"]
        legacy = jwt.encode(claims, app.config["JWT_SECRET_KEY"], algorithm="HS256")
        # A token of the same second cannot prove it came after the cutoff, so it is dead.
        response = http.get(ME, headers=bearer(legacy))

    assert response.status_code == (200 if alive else 401)


def test_checking_a_token_costs_one_statement_for_user_and_login(http, staff, count_queries):
    pair = log_in(http, staff)

    with count_queries() as statements:
        assert http.get(ME, headers=bearer(pair["access_token"])).status_code == 200

    token_checks = [s for s in statements if "login_sessions" in s]
    assert len(token_checks) == 1 and "users" in token_checks[0]
    assert len(statements) <= 2  # that one, and the user's memberships


def test_token_with_a_subject_that_is_no_user_id_is_401(app, http, staff):
    claims = _unverified(log_in(http, staff)["access_token"])
    claims["sub"] = "admin"

    forged = jwt.encode(claims, app.config["JWT_SECRET_KEY"], algorithm="HS256")

    _assert_401(http.get(ME, headers=bearer(forged)), "The token's user is unknown or inactive.")


def test_with_redis_unreachable_tokens_are_checked_against_postgresql_alone(app, http, staff, monkeypatch, caplog):
    live = log_in(http, staff)
    ended = log_in(http, staff)
    http.post(LOGOUT, headers=bearer(ended["access_token"]))
    monkeypatch.setitem(app.extensions, "redis", redis.Redis.from_url("redis://127.0.0.1:1/0"))
    monkeypatch.setattr(tokens, "_redis_retry_at", 0.0)

    answers = [http.get(ME, headers=bearer(t)).status_code for t in (live["access_token"], ended["access_token"])] * 2

    assert answers == [200, 401, 200, 401]
    # A login's token is checked against PostgreSQL alone: Redis is not even dialled.
    assert not [r for r in caplog.records if "Redis unreachable" in r.getMessage()]

    with app.test_request_context():
        sessionless = create_access_token(identity=staff)  # only Redis could know its logout
    assert [http.get(ME, headers=bearer(sessionless)).status_code for _ in range(2)] == [200, 200]
    # One warning, then Redis is left alone for a while instead of being dialled on every request.
    warnings = [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
    assert len(warnings) == 1
