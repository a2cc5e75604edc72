"""Fixtures for the foundation tests: extra apps built from an adjusted TestConfig, the app's log output,
and a stub HTTP server that records what is sent to it."""

from __future__ import annotations

import gzip
import http.server
import io
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from flask import Flask
from werkzeug.http import HTTP_STATUS_CODES

from app import create_app
from app.config import BaseConfig, TestConfig
from app.extensions import api, db
from app.log import configure_logging


@pytest.fixture
def make_app(app) -> Iterator[Callable[..., Flask]]:
    """`make_app(LOG_FORMAT="json")` → a new app from a TestConfig (or `config=`) with those attributes set first."""
    built: list[Flask] = []
    # create_app binds the shared extension objects to the newest app; hand them back to the session app after.
    saved_api = (api._app, api.config, api.spec)

    def _make(config: BaseConfig | None = None, **overrides) -> Flask:
        config = config or TestConfig()
        for name, value in overrides.items():
            setattr(config, name, value)
        new_app = create_app(config)
        built.append(new_app)
        return new_app

    yield _make

    api._app, api.config, api.spec = saved_api
    configure_logging(app)
    for extra in built:
        with extra.app_context():
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def error_body() -> Callable:
    """`error_body(response, 404)` asserts the one JSON error shape with that status and returns the body."""

    def check(response, status: int) -> dict:
        assert response.status_code == status, response.get_data(as_text=True)
        assert response.mimetype == "application/json"
        body = response.get_json()
        assert set(body) == {"code", "status", "message", "errors"}
        assert body["code"] == status
        assert body["status"] == HTTP_STATUS_CODES[status]
        assert isinstance(body["message"], str) and body["message"]
        assert isinstance(body["errors"], dict)
        return body

    return check


def _app_handler() -> logging.Handler:
    return next(h for h in logging.getLogger().handlers if getattr(h, "_flowercrm", False))


@pytest.fixture
def app_log() -> Callable:
    """`with app_log() as output:` → the text the app's own log handler writes (its filters and format included).

    Enter it after building any extra app: create_app installs a fresh handler.
    """

    @contextmanager
    def capture() -> Iterator[io.StringIO]:
        handler = _app_handler()
        output = io.StringIO()
        previous = handler.setStream(output)
        try:
            yield output
        finally:
            handler.setStream(previous)

    return capture


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class StubServer:
    url: str
    requests: list[RecordedRequest] = field(default_factory=list)


@pytest.fixture
def stub_server() -> Iterator[StubServer]:
    """A real HTTP server on 127.0.0.1 answering 200 `{}` to every POST and recording it (bodies decompressed)."""
    recorded: list[RecordedRequest] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            encoding = self.headers.get("Content-Encoding")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "br":  # sentry-sdk prefers brotli when it is installed (locust brings it)
                import brotli

                body = brotli.decompress(body)
            recorded.append(RecordedRequest("POST", self.path, dict(self.headers), body))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *_args) -> None:  # keep the test output quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield StubServer(url=f"http://127.0.0.1:{server.server_address[1]}", requests=recorded)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
