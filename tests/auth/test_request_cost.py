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

from app.common.types import utcnow
from app.extensions import db
from app.users.models import User
from app.users.schemas import UserWithMembershipsSchema
from tests.auth.conftest import LOGOUT, ME, bearer, log_in
from tests.factories import MembershipFactory, ShopFactory, UserFactory

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
    db.session.expire_all()  # the test's session holds the user: an ORM load of them would still run its SELECT

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


def test_me_answers_what_the_schema_makes_of_the_users_row(app, http, staff, shop):
    """/auth/me and a token pair answer from the token check's plain values: the same as the user's row dumped, its
    active shops only, and whether there is a password (not the hash)."""
    MembershipFactory(user=staff, shop=ShopFactory(), role="florist", deactivated_at=utcnow())
    courier_in = ShopFactory()
    MembershipFactory(user=staff, shop=courier_in, role="courier")
    otp_only = UserFactory(password_hash=None, email=None, telegram_chat_id="4242", language="en")
    MembershipFactory(user=otp_only, shop=shop, role="florist")
    staff.telegram_chat_id = "123456"
    db.session.commit()
    pair = log_in(http, staff)
    with app.test_request_context():
        otp_token = create_access_token(identity=otp_only)  # no login: the other statement

    answers = {
        staff.id: http.get(ME, headers=bearer(pair["access_token"])).json,
        otp_only.id: http.get(ME, headers=bearer(otp_token)).json,
    }

    def by_shop(user: dict) -> dict:
        return {**user, "memberships": sorted(user["memberships"], key=lambda m: m["shop_id"])}

    db.session.expire_all()
    for user_id, answer in answers.items():
        assert by_shop(answer) == by_shop(UserWithMembershipsSchema().dump(db.session.get(User, user_id)))
    assert by_shop(pair["user"]) == by_shop(answers[staff.id])
    assert {m["shop_id"] for m in answers[staff.id]["memberships"]} == {shop.id, courier_in.id}
    assert answers[staff.id]["has_password"] is True and answers[staff.id]["telegram_chat_id"] == "123456"
    assert (answers[otp_only.id]["has_password"], answers[otp_only.id]["email"]) == (False, None)
