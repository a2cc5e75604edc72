"""Separate apps for foundation tests that need views no real blueprint has yet.

`app_with(blueprint, ...)` builds a fresh app with test-only smorest blueprints registered through the
shared `Api`. That `Api` serves the OpenAPI document of the last app it was bound to, so it is pointed
back at the previous app afterwards: test-only routes never leak into another test's /openapi.json.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask

from app import create_app
from app.common.api import Blueprint
from app.config import BaseConfig, TestConfig
from app.extensions import api, db
from app.log import configure_logging
from tests.helpers import ApiClient


@contextmanager
def app_with(*blueprints: Blueprint, config: BaseConfig | None = None) -> Iterator[Flask]:
    saved = (api._app, api.spec, api.config)
    test_app = create_app(config or TestConfig())
    try:
        for blueprint in blueprints:
            api.register_blueprint(blueprint)
        yield test_app
    finally:
        api._app, api.spec, api.config = saved
        if saved[0] is not None:
            configure_logging(saved[0])  # create_app installed the new app's log handler
        with test_app.app_context():
            for engine in db.engines.values():
                engine.dispose()


def client_on(test_app: Flask, client: ApiClient) -> ApiClient:
    """The same user and shop as `client`, speaking to `test_app`."""
    return ApiClient(test_app, user=client.user, shop_id=client.shop_id)
