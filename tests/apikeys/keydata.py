"""Integration keys for tests, and a client that calls with one."""

from __future__ import annotations

from typing import Any

from flask import Flask

from app.apikeys import services as apikeys
from app.apikeys.models import Scope

ALL_SCOPES = [s.value for s in Scope]


class KeyClient:
    """Flask's test client sending `Authorization: Bearer fcrm_...` on every request."""

    def __init__(self, app: Flask, key: str):
        self.key = key
        self._client = app.test_client()

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any):
        return self._client.open(
            path, method=method, headers={"Authorization": f"Bearer {self.key}", **(headers or {})}, **kwargs
        )

    def get(self, path: str, **kwargs: Any):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any):
        return self.request("POST", path, **kwargs)


def make_key(shop, scopes: list[str] | None = None, name: str = "website") -> tuple[int, str]:
    """(id, key) of a new key of `shop`, made by the service as POST /api-keys does."""
    row, key = apikeys.create_key(shop_id=shop.id, actor_id=None, name=name, scopes=scopes or ALL_SCOPES)
    return row.id, key
