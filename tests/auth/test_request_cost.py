"""What authentication costs every request: one SQL statement and no Redis round trip for a token of a login.

The statement reads the user, their login session and their memberships together, so a logout, a deactivation or
a role change acts on the very next request (tests/auth/test_logout.py, tests/staff). GET /auth/me is that cost
alone: the view answers from what the statement read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
