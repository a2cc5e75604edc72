"""Logout ends the login's tokens, and that holds after Redis loses everything."""

from __future__ import annotations

from flask_jwt_extended import create_access_token, decode_token
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.auth.models import LoginSession
from app.extensions import db, redis_client
from tests.auth.conftest import LOGOUT, ME, REFRESH, bearer, log_in
from tests.factories import MembershipFactory, UserFactory


def test_logout_ends_the_access_and_refresh_token(http, staff):
    pair = log_in(http, staff)

    response = http.post(LOGOUT, headers=bearer(pair["access_token"]))

    assert response.status_code == 204
    assert response.data == b""
    assert http.get(ME, headers=bearer(pair["access_token"])).status_code == 401
    assert http.post(REFRESH, headers=bearer(pair["refresh_token"])).status_code == 401


def test_logout_leaves_the_users_other_logins_alone(http, staff):
    phone = log_in(http, staff)
    tablet = log_in(http, staff)

    http.post(LOGOUT, headers=bearer(phone["access_token"]))

    assert http.get(ME, headers=bearer(tablet["access_token"])).status_code == 200
    assert http.post(REFRESH, headers=bearer(tablet["refresh_token"])).status_code == 200


def test_logout_is_audited_without_the_token(http, staff):
    pair = log_in(http, staff)
    sid = decode_token(pair["access_token"])["sid"]

    http.post(LOGOUT, headers=bearer(pair["access_token"]), json={"refresh_token": pair["refresh_token"]})

    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "login_session")).one()
    assert (entry.action, entry.entity_id, entry.actor_id) == ("logout", sid, staff.id)
    assert entry.changes == {"revoked_reason": [None, "logout"]}
    login = db.session.get(LoginSession, sid, populate_existing=True)
    assert login.revoked_reason == "logout"


def test_logout_with_a_refresh_token_of_another_login_of_mine_ends_both(http, staff):
    current = log_in(http, staff)
    forgotten = log_in(http, staff)

    http.post(LOGOUT, headers=bearer(current["access_token"]), json={"refresh_token": forgotten["refresh_token"]})

    assert http.post(REFRESH, headers=bearer(forgotten["refresh_token"])).status_code == 401
    assert http.get(ME, headers=bearer(forgotten["access_token"])).status_code == 401


def test_logout_ignores_a_refresh_token_that_is_not_mine_or_not_a_token(http, staff, shop):
    other = UserFactory()
    MembershipFactory(user=other, shop=shop)
    db.session.commit()
    mine = log_in(http, staff)
    theirs = log_in(http, other)

    assert http.post(LOGOUT, headers=bearer(mine["access_token"]), json={"refresh_token": "garbage"}).status_code == 204
    mine = log_in(http, staff)
    response = http.post(LOGOUT, headers=bearer(mine["access_token"]), json={"refresh_token": theirs["refresh_token"]})

    assert response.status_code == 204
    assert http.post(REFRESH, headers=bearer(theirs["refresh_token"])).status_code == 200


def test_logout_needs_an_access_token(http, staff):
    pair = log_in(http, staff)

    assert http.post(LOGOUT).status_code == 401
    assert http.post(LOGOUT, headers=bearer(pair["refresh_token"])).status_code == 401
    assert http.get(ME, headers=bearer(pair["access_token"])).status_code == 200


def test_a_token_without_a_login_is_revoked_by_its_jti_in_redis(app, http, staff):
    with app.test_request_context():
        token = create_access_token(identity=staff)  # no login session: only Redis can remember it
    jti = decode_token(token)["jti"]

    assert http.post(LOGOUT, headers=bearer(token)).status_code == 204

    assert http.get(ME, headers=bearer(token)).status_code == 401
    ttl = redis_client.ttl(f"revoked-jti:{jti}")
    assert 0 < ttl <= 15 * 60 + 1  # kept only for the token's remaining lifetime


def test_losing_redis_does_not_bring_logged_out_tokens_back(http, staff):
    pair = log_in(http, staff)
    http.post(LOGOUT, headers=bearer(pair["access_token"]))

    redis_client.flushdb()  # a Redis restart without persistence

    assert http.post(REFRESH, headers=bearer(pair["refresh_token"])).status_code == 401
    assert http.get(ME, headers=bearer(pair["access_token"])).status_code == 401


def test_a_logout_is_in_the_audit_log_of_the_users_shop_and_not_of_another(http, staff, login, shop, other_shop):
    admin, stranger = login("admin", shop=shop), login("admin", shop=other_shop)
    pair = log_in(http, staff)
    sid = decode_token(pair["access_token"])["sid"]

    assert http.post(LOGOUT, headers=bearer(pair["access_token"])).status_code == 204

    seen = admin.get("/api/v1/audit-log", query_string={"entity": "login_session"}).json
    assert [(e["action"], e["entity_id"], e["actor_id"], e["shop_id"]) for e in seen] == [
        ("logout", sid, staff.id, shop.id)
    ]
    assert stranger.get("/api/v1/audit-log", query_string={"entity": "login_session"}).json == []
