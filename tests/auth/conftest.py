"""Fixtures for the token tests: a member of staff with a password, and a plain HTTP client."""

from __future__ import annotations

import pytest

from app.extensions import db
from tests.factories import TEST_PASSWORD, MembershipFactory, UserFactory

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"
EXCHANGE = "/api/v1/auth/exchange"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def log_in(http, user, password: str = TEST_PASSWORD) -> dict:
    response = http.post(LOGIN, json={"login": user.phone, "password": password})
    assert response.status_code == 200, response.json
    return response.json


@pytest.fixture
def staff(shop):
    """A committed manager of `shop` who logs in with TEST_PASSWORD."""
    user = UserFactory()
    MembershipFactory(user=user, shop=shop, role="manager")
    db.session.commit()
    return user


@pytest.fixture
def http(app):
    """Flask's test client, no token attached."""
    return app.test_client()
