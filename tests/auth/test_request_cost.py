"""What authentication costs every request: one SQL statement and no Redis round trip for a token of a login,
and a token's signature verified once per process, its expiry on every request.

The statement reads the user, their login session and their memberships together, so a logout, a deactivation or
a role change acts on the very next request (tests/auth/test_logout.py, tests/staff). GET /auth/me is that cost
alone: the view answers from what the statement read.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import jwt
import pytest
import redis.connection
from flask_jwt_extended import create_access_token

from tests.auth.conftest import LOGOUT, ME, bearer, log_in

# One statement: the user joined with the login and the memberships. Fewer is fine.
STATEMENTS = 1
REDIS_ROUND_TRIPS = 0


@pytest.fixture
def redis_round_trips(monkeypatch) -> Iterator[list[bytes]]:
    """Every command (or pipeline) this process sends to Redis, from any client: the app's, the limiter's, RQ's."""
    sent: list[bytes] = []
    send = redis.connection.AbstractConnection.send_packed_command

    def counted(self, command, check_health=True):
        sent.append(command if isinstance(command, bytes) else b"".join(command))
        return send(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted)
    return sent


@contextmanager
def costs(count_queries, redis_round_trips: list[bytes]) -> Iterator[tuple[list[str], list[bytes]]]:
    redis_round_trips.clear()
    with count_queries() as statements:
        yield statements, redis_round_trips


def test_an_authenticated_request_costs_one_statement_and_no_redis_round_trip(
    http, staff, count_queries, redis_round_trips
):
    token = log_in(http, staff)["access_token"]
    http.get(ME, headers=bearer(token))  # warm: the first request of a process builds the statement

    with costs(count_queries, redis_round_trips) as (statements, sent):
        answer = http.get(ME, headers=bearer(token))

    assert answer.status_code == 200
    assert answer.json["memberships"] == [{"role": "manager", "shop_id": staff.memberships[0].shop_id}]
    assert len(statements) <= STATEMENTS, statements
    assert len(sent) <= REDIS_ROUND_TRIPS, sent

    # The same single statement refuses the token as soon as its login ends.
    assert http.post(LOGOUT, headers=bearer(token)).status_code == 204
    with costs(count_queries, redis_round_trips) as (statements, sent):
        assert http.get(ME, headers=bearer(token)).status_code == 401
    assert len(statements) <= STATEMENTS, statements
    assert len(sent) <= REDIS_ROUND_TRIPS, sent


def test_only_a_token_without_a_login_asks_redis(app, http, staff, count_queries, redis_round_trips):
    with app.test_request_context():
        token = create_access_token(identity=staff)  # no login session: its logout lives only in Redis

    with costs(count_queries, redis_round_trips) as (statements, sent):
        assert http.get(ME, headers=bearer(token)).status_code == 200

    assert len(statements) == 1, statements
    assert len(sent) == 1 and b"revoked-jti:" in sent[0], sent


def test_a_token_verified_once_still_dies_at_its_expiry(app, http, staff):
    # The process keeps a token's verified claims (app/auth/verification.py); the expiry is checked every time.
    with app.test_request_context():
        token = create_access_token(identity=staff, expires_delta=timedelta(seconds=1))
    assert http.get(ME, headers=bearer(token)).status_code == 200

    time.sleep(1.1)

    answer = http.get(ME, headers=bearer(token))
    assert answer.status_code == 401
    assert answer.json["message"] == "The token has expired; refresh it or log in again."


def test_a_verified_token_with_another_signature_is_refused(http, staff):
    token = log_in(http, staff)["access_token"]
    assert http.get(ME, headers=bearer(token)).status_code == 200
    header, claims, signature = token.split(".")
    forged = f"{header}.{claims}.{signature[:-2]}{'AA' if not signature.endswith('AA') else 'BB'}"

    answer = http.get(ME, headers=bearer(forged))

    assert answer.status_code == 401
    assert answer.json["message"] == "The token is invalid; log in again."


def test_a_token_is_decoded_by_pyjwt_only_on_its_first_request(http, staff, monkeypatch):
    token = log_in(http, staff)["access_token"]
    decodes = []
    decode = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *args, **kwargs: decodes.append(1) or decode(*args, **kwargs))

    assert [http.get(ME, headers=bearer(token)).status_code for _ in range(3)] == [200, 200, 200]

    assert len(decodes) == 2  # the first request's unverified and verified decodes; none after
