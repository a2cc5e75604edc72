"""Rate limits on login (per IP, per identifier) and refresh (per IP): 429 with Retry-After."""

from __future__ import annotations

import pytest

from app.extensions import redis_client
from tests.auth.conftest import LOGIN, REFRESH, bearer, log_in
from tests.factories import TEST_PASSWORD, UserFactory


def _assert_429(response) -> None:
    assert response.status_code == 429
    assert set(response.json) == {"code", "status", "message", "errors"}
    assert response.json["code"] == 429
    assert response.json["message"] == "Too many attempts; wait before trying again."
    assert 0 < int(response.headers["Retry-After"]) <= 60


def test_login_per_ip_limit_is_10_a_minute_by_default(http, staff):
    statuses = [
        http.post(LOGIN, json={"login": f"nobody{i}@example.test", "password": "x"}).status_code for i in range(10)
    ]

    assert statuses == [401] * 10
    _assert_429(http.post(LOGIN, json={"login": staff.phone, "password": TEST_PASSWORD}))
    # Another address is not held back.
    other_ip = http.post(
        LOGIN, json={"login": staff.phone, "password": TEST_PASSWORD}, environ_base={"REMOTE_ADDR": "10.0.0.7"}
    )
    assert other_ip.status_code == 200


def test_failed_logins_per_identifier_stop_at_5_whatever_the_ip_or_spelling(http, staff):
    spellings = [staff.phone, staff.phone.replace("+7", "8"), f"+7 {staff.phone[2:]}"]
    for attempt in range(5):
        response = http.post(
            LOGIN,
            json={"login": spellings[attempt % 3], "password": "guess"},
            environ_base={"REMOTE_ADDR": f"10.0.1.{attempt}"},
        )
        assert response.status_code == 401

    # Even the right password waits now: the guesser cannot tell.
    _assert_429(http.post(LOGIN, json={"login": staff.phone, "password": TEST_PASSWORD}))
    _assert_429(http.post(LOGIN, json={"login": staff.phone.replace("+7", "8"), "password": TEST_PASSWORD}))


def test_successful_logins_do_not_count_against_the_identifier(app, http, staff, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_PER_IP", "100 per minute")

    statuses = [http.post(LOGIN, json={"login": staff.phone, "password": TEST_PASSWORD}).status_code for _ in range(6)]

    assert statuses == [200] * 6


def test_another_identifier_is_not_held_back_by_someone_elses_failures(app, http, staff, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_PER_IP", "100 per minute")
    colleague = UserFactory()
    for _ in range(5):
        http.post(LOGIN, json={"login": staff.phone, "password": "guess"})

    assert http.post(LOGIN, json={"login": colleague.phone, "password": TEST_PASSWORD}).status_code == 200


def test_limit_counters_carry_no_phone_or_email(http, staff):
    http.post(LOGIN, json={"login": staff.phone, "password": "guess"})

    keys = b" ".join(redis_client.keys("*")).decode()
    assert "LIMITER" in keys
    assert staff.phone[2:] not in keys and staff.email not in keys


@pytest.mark.parametrize("setting", ["2 per minute", "2/minute"])
def test_refresh_per_ip_limit_is_configurable(app, http, staff, monkeypatch, setting):
    monkeypatch.setitem(app.config, "RATELIMIT_REFRESH_PER_IP", setting)
    pair = log_in(http, staff)

    for _ in range(2):
        response = http.post(REFRESH, headers=bearer(pair["refresh_token"]))
        assert response.status_code == 200
        pair = response.json

    _assert_429(http.post(REFRESH, headers=bearer(pair["refresh_token"])))
