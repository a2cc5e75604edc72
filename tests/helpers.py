"""Test helpers: an API client that speaks as a given user in a given shop."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, has_app_context
from flask_jwt_extended import create_access_token
from sqlalchemy import text

from app.users.models import User


class ApiClient:
    """Flask's test client with the user's Bearer token and X-Shop-Id on every request."""

    def __init__(self, app: Flask, user: User | None = None, shop_id: int | None = None):
        self.app = app
        self.user = user
        self.shop_id = shop_id
        self._client = app.test_client()
        self.token: str | None = None
        if user is not None:
            if has_app_context():  # the test's own context: pushing another would close its session
                self.token = create_access_token(identity=user)
            else:
                with app.app_context():
                    self.token = create_access_token(identity=user)

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.shop_id is not None:
            headers["X-Shop-Id"] = str(self.shop_id)
        headers.update(extra or {})
        return headers

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any):
        return self._client.open(path, method=method, headers=self.headers(headers), **kwargs)

    def get(self, path: str, **kwargs: Any):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any):
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any):
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any):
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any):
        return self.request("DELETE", path, **kwargs)


WAITING_ON_LOCKS = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


def wait_until_blocked(engine, count: int) -> None:
    """Until `count` requests wait on a row lock (10 s at most)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            if connection.execute(WAITING_ON_LOCKS).scalar_one() >= count:
                return
        time.sleep(0.02)
    raise AssertionError(f"fewer than {count} requests waited on the lock")
