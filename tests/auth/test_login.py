"""Password login: phone or e-mail, one answer for every failure, in about the same time."""

from __future__ import annotations

import statistics
import time

import pytest
from argon2 import PasswordHasher
from flask_jwt_extended import decode_token

from app.auth import passwords
from app.extensions import db
from tests.auth.conftest import LOGIN, ME, bearer
from tests.factories import TEST_PASSWORD, UserFactory


@pytest.mark.parametrize("written", ["phone", "phone_formatted", "email", "email_upper"])
def test_login_by_phone_or_email_gives_a_working_pair(http, staff, written):
    login = {
        "phone": staff.phone,
        "phone_formatted": f"8 ({staff.phone[2:5]}) {staff.phone[5:8]}-{staff.phone[8:10]}-{staff.phone[10:]}",
        "email": staff.email,
        "email_upper": staff.email.upper(),
    }[written]

    response = http.post(LOGIN, json={"login": login, "password": TEST_PASSWORD})

    assert response.status_code == 200
    body = response.json
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 15 * 60
    assert body["user"]["id"] == staff.id
    assert body["user"]["memberships"][0]["role"] == "manager"
    me = http.get(ME, headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json["id"] == staff.id


def test_tokens_live_15_minutes_and_30_days(app, http, staff):
    body = http.post(LOGIN, json={"login": staff.phone, "password": TEST_PASSWORD}).json

    access = decode_token(body["access_token"])
    refresh = decode_token(body["refresh_token"])

    assert access["exp"] - access["iat"] == 15 * 60
    assert refresh["exp"] - refresh["iat"] == 30 * 24 * 3600
    assert access["sid"] == refresh["sid"]
    assert (access["type"], refresh["type"]) == ("access", "refresh")


def test_unknown_user_wrong_password_and_deactivated_user_get_the_same_401(http, staff):
    inactive = UserFactory(is_active=False)
    db.session.commit()

    answers = [
        http.post(LOGIN, json={"login": "+79990000000", "password": TEST_PASSWORD}),
        http.post(LOGIN, json={"login": "nobody@example.test", "password": TEST_PASSWORD}),
        http.post(LOGIN, json={"login": staff.phone, "password": "wrong password"}),
        http.post(LOGIN, json={"login": inactive.phone, "password": TEST_PASSWORD}),
    ]

    assert {r.status_code for r in answers} == {401}
    assert all(r.json == answers[0].json for r in answers)
    assert answers[0].json["message"] == "Wrong phone, e-mail or password."
    assert answers[0].json["errors"] == {}


def test_user_without_password_cannot_log_in_with_any_password(http):
    otp_only = UserFactory(password_hash=None)
    db.session.commit()

    response = http.post(LOGIN, json={"login": otp_only.phone, "password": "not-a-real-password"})

    assert response.status_code == 401


def test_missing_fields_are_named(http):
    response = http.post(LOGIN, json={"login": "+79160000001"})

    assert response.status_code == 422
    assert "password" in response.json["errors"]["json"]


@pytest.fixture
def verifications(monkeypatch):
    """Records which hash every argon2 verification ran against (the real verification still runs)."""
    seen: list[str] = []

    class SpyingHasher(PasswordHasher):
        def verify(self, hash, password):
            seen.append(hash)
            return super().verify(hash, password)

    monkeypatch.setattr(passwords, "_hasher", SpyingHasher())
    return seen


def test_unknown_user_costs_one_argon2_verification_like_a_wrong_password(http, staff, verifications):
    http.post(LOGIN, json={"login": "+79990000000", "password": "whatever"})
    http.post(LOGIN, json={"login": staff.phone, "password": "whatever"})

    assert verifications == [passwords._DUMMY_HASH, staff.password_hash]


def test_unknown_user_and_wrong_password_take_about_the_same_time(app, http, staff, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_PER_IP", "1000 per minute")
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_PER_IDENTIFIER", "1000 per minute")

    def timed(login: str) -> float:
        started = time.perf_counter()
        assert http.post(LOGIN, json={"login": login, "password": "wrong"}).status_code == 401
        return time.perf_counter() - started

    timed(staff.phone)  # warm-up: first statements, first argon2 call
    unknown = statistics.median(timed("+79990000000") for _ in range(5))
    wrong = statistics.median(timed(staff.phone) for _ in range(5))

    # Without the dummy verification the unknown user would answer many times faster than argon2 allows.
    assert 0.5 < unknown / wrong < 2.0


def test_a_password_hashed_with_old_argon2_settings_still_logs_in_and_is_rehashed_lighter(http):
    old_hash = PasswordHasher(memory_cost=65536, time_cost=3, parallelism=4).hash("correct horse battery")
    user = UserFactory(password_hash=old_hash)
    db.session.commit()

    response = http.post(LOGIN, json={"login": user.email, "password": "correct horse battery"})

    assert response.status_code == 200
    db.session.refresh(user)
    assert user.password_hash != old_hash
    assert "m=19456,t=2,p=1" in user.password_hash
    assert passwords.verify_password(user.password_hash, "correct horse battery")
    again = http.post(LOGIN, json={"login": user.email, "password": "correct horse battery"})
    assert again.status_code == 200
