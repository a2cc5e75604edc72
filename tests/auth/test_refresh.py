"""Refresh tokens rotate: each is used once; a second use ends the whole login."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from flask_jwt_extended import decode_token
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.auth.models import LoginSession, RefreshToken
from app.auth.services import purge_expired_logins
from app.auth.tokens import start_session
from app.common.types import utcnow
from app.extensions import db
from tests.auth.conftest import ME, REFRESH, bearer, log_in
from tests.factories import MembershipFactory, ShopFactory

AUDIT_LOG = "/api/v1/audit-log"


def test_refresh_rotates_within_the_same_login(http, staff):
    first = log_in(http, staff)

    response = http.post(REFRESH, headers=bearer(first["refresh_token"]))

    assert response.status_code == 200
    second = response.json
    assert second["user"]["id"] == staff.id
    assert second["refresh_token"] != first["refresh_token"]
    assert decode_token(second["refresh_token"])["sid"] == decode_token(first["refresh_token"])["sid"]
    used = db.session.get(RefreshToken, decode_token(first["refresh_token"])["jti"], populate_existing=True)
    assert used.used_at is not None
    assert http.get(ME, headers=bearer(second["access_token"])).status_code == 200
    # The chain goes on: the new refresh token works once too.
    assert http.post(REFRESH, headers=bearer(second["refresh_token"])).status_code == 200


def test_reused_refresh_token_ends_the_whole_login(http, staff):
    first = log_in(http, staff)
    second = http.post(REFRESH, headers=bearer(first["refresh_token"])).json
    elsewhere = log_in(http, staff)  # another device of the same user

    replay = http.post(REFRESH, headers=bearer(first["refresh_token"]))

    assert replay.status_code == 401
    assert replay.json["message"] == "The refresh token is no longer valid; log in again."
    # Every token of that login is dead, the live access token included ...
    assert http.get(ME, headers=bearer(second["access_token"])).status_code == 401
    assert http.get(ME, headers=bearer(first["access_token"])).status_code == 401
    assert http.post(REFRESH, headers=bearer(second["refresh_token"])).status_code == 401
    # ... and the other login is untouched.
    assert http.get(ME, headers=bearer(elsewhere["access_token"])).status_code == 200
    sid = decode_token(first["refresh_token"])["sid"]
    login = db.session.get(LoginSession, sid, populate_existing=True)
    assert (login.revoked_reason, login.revoked_at is not None) == ("reuse", True)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_id == sid)).one()
    assert (entry.action, entry.entity_type, entry.actor_id) == ("revoke", "login_session", staff.id)
    assert first["refresh_token"] not in str(entry.changes)


def test_refresh_token_of_a_wiped_database_is_401(http, staff):
    pair = log_in(http, staff)
    db.session.execute(RefreshToken.__table__.delete())
    db.session.commit()

    assert http.post(REFRESH, headers=bearer(pair["refresh_token"])).status_code == 401


@pytest.mark.committed
def test_concurrent_refreshes_with_the_same_token_have_exactly_one_winner(app, staff):
    pair = log_in(app.test_client(), staff)
    racers = 4
    barrier = threading.Barrier(racers)
    statuses: list[int] = []

    def refresh() -> None:
        client = app.test_client()  # its own app context, session and connection
        barrier.wait()
        statuses.append(client.post(REFRESH, headers=bearer(pair["refresh_token"])).status_code)

    threads = [threading.Thread(target=refresh) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(statuses) == [200] + [401] * (racers - 1)
    sid = decode_token(pair["refresh_token"])["sid"]
    issued = db.session.scalar(select(func.count()).select_from(RefreshToken).where(RefreshToken.session_id == sid))
    assert issued == 2  # the login's first token and exactly one successor


def test_purge_deletes_only_logins_whose_refresh_tokens_all_expired(http, staff):
    forgotten = log_in(http, staff)
    in_use = log_in(http, staff)
    with time_machine.travel(utcnow() + timedelta(days=29), tick=False):
        assert http.post(REFRESH, headers=bearer(in_use["refresh_token"])).status_code == 200

    with time_machine.travel(utcnow() + timedelta(days=32), tick=False):
        recent_sid = decode_token(start_session(staff, method="password")["refresh_token"])["sid"]
        purged = purge_expired_logins()

    assert purged == 1
    remaining = set(db.session.scalars(select(LoginSession.id)))
    assert decode_token(forgotten["refresh_token"], allow_expired=True)["sid"] not in remaining
    assert decode_token(in_use["refresh_token"], allow_expired=True)["sid"] in remaining
    assert recent_sid in remaining


def test_the_reuse_entry_reaches_the_admins_of_every_shop_of_the_user_and_no_other(http, staff, shop, login):
    second_shop = ShopFactory(name="Second Shop")
    MembershipFactory(user=staff, shop=second_shop, role="courier")
    stranger_shop = ShopFactory(name="Stranger Shop")
    db.session.commit()
    admins = [login("admin", shop=shop), login("admin", shop=second_shop)]
    stranger = login("admin", shop=stranger_shop)
    first = log_in(http, staff)
    sid = decode_token(first["refresh_token"])["sid"]
    assert http.post(REFRESH, headers=bearer(first["refresh_token"])).status_code == 200

    assert http.post(REFRESH, headers=bearer(first["refresh_token"])).status_code == 401

    for admin in admins:
        seen = admin.get(AUDIT_LOG, query_string={"entity": "login_session"})
        assert seen.status_code == 200
        assert [(e["action"], e["entity_id"], e["actor_id"], e["changes"]) for e in seen.json] == [
            ("revoke", sid, staff.id, {"revoked_reason": [None, "reuse"]})
        ]
        assert seen.json[0]["shop_id"] == admin.shop_id
    assert stranger.get(AUDIT_LOG, query_string={"entity": "login_session"}).json == []
