"""While PostgreSQL refuses connections, every request that needs it answers 503 with Retry-After in the
one error shape and logs one line, not a traceback; /health/db says so; a failing statement stays a 500."""

from __future__ import annotations

import socket
import time

import pytest
from flask import Blueprint
from sqlalchemy import text

from app.config import DATABASE_CONNECT_TIMEOUT, TestConfig
from app.extensions import db
from tests.foundation.processes import gunicorn, production_env
from tests.helpers import ApiClient

MESSAGE = "The database is unavailable; try again shortly."


def dead_database_url() -> str:
    """A PostgreSQL URL on a port where nothing listens (the OS just handed it out, then it was closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/flowercrm"


@pytest.fixture
def dead_db_app(make_app):
    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = dead_database_url()
    return make_app(config=config)


REQUESTS_NEEDING_THE_DATABASE = {
    "password login": ("POST", "/api/v1/auth/login", {"json": {"login": "+79160000001", "password": "x" * 8}}),
    "code request": ("POST", "/api/v1/auth/otp/request", {"json": {"phone": "+79160000001"}}),
    "signed-in read": ("GET", "/api/v1/orders", {}),
    "create with a key": ("POST", "/api/v1/customers", {"json": {"name": "Anna"}, "headers": {"Idempotency-Key": "k"}}),
}


def log_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


@pytest.mark.committed  # the rolled-back tests share one session bound to the live database
def test_every_request_needing_postgresql_answers_503_with_retry_after_and_logs_one_line(
    dead_db_app, manager, error_body, app_log
):
    client = ApiClient(dead_db_app, user=manager.user, shop_id=manager.shop_id)

    for name, (method, path, kwargs) in REQUESTS_NEEDING_THE_DATABASE.items():
        with app_log() as output:
            response = client.request(method, path, **kwargs)

        body = error_body(response, 503)
        assert body["message"] == MESSAGE, name
        assert int(response.headers["Retry-After"]) > 0, name
        # One line on the outage, then the access line every request has.
        problem, access = log_lines(output.getvalue())
        assert " WARNING " in problem and "database unavailable: OperationalError: connection failed" in problem
        assert "Connection refused" in problem, name
        assert f"app.access: {method} {path} -> 503 in " in access, name


@pytest.mark.committed
def test_a_database_host_that_never_answers_is_a_503_within_the_connect_timeout(make_app, error_body, app_log):
    with socket.socket() as silent:  # the kernel completes the handshake; nobody ever answers PostgreSQL's hello
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        config = TestConfig()
        config.SQLALCHEMY_DATABASE_URI = f"postgresql+psycopg://postgres@127.0.0.1:{silent.getsockname()[1]}/flowercrm"
        client = make_app(config=config).test_client()

        started = time.monotonic()
        with app_log() as output:
            response = client.post("/api/v1/auth/login", json={"login": "+79160000001", "password": "x" * 8})
        waited = time.monotonic() - started

    assert error_body(response, 503)["message"] == MESSAGE
    assert DATABASE_CONNECT_TIMEOUT <= waited < 3 * DATABASE_CONNECT_TIMEOUT  # libpq may try twice (SSL, then not)
    assert "database unavailable: ConnectionTimeout: connection timeout expired" in output.getvalue()
    assert "Traceback" not in output.getvalue()


@pytest.mark.committed
def test_health_reports_the_database_down_in_one_line_and_the_process_up(dead_db_app, error_body, app_log):
    client = dead_db_app.test_client()
    with app_log() as output:
        database = client.get("/health/db")
        process = client.get("/health")

    assert error_body(database, 503)["errors"] == {"database": ["unreachable"]}
    assert process.status_code == 200
    assert "Traceback" not in output.getvalue()
    [line] = [line for line in log_lines(output.getvalue()) if "health:" in line]
    assert "health: database unreachable (OperationalError: connection failed" in line


def test_a_failing_statement_is_still_a_500_with_its_traceback(make_app, error_body, app_log):
    """Only an unreachable database is an outage: a statement PostgreSQL cancels is a bug to see in full."""
    app = make_app()
    probe = Blueprint("slow_probe", __name__)

    @probe.get("/test/slow")
    def slow():
        db.session.execute(text("SET LOCAL statement_timeout = 1"))
        db.session.execute(text("SELECT pg_sleep(1)"))
        return {}

    app.register_blueprint(probe)
    with app_log() as output:
        response = app.test_client().get("/test/slow")

    error_body(response, 500)
    assert "Retry-After" not in response.headers
    assert "unhandled error" in output.getvalue() and "QueryCanceled" in output.getvalue()
    assert "Traceback (most recent call last)" in output.getvalue()


def test_gunicorn_answers_503_json_while_postgresql_refuses_and_logs_one_line_a_request(tmp_path):
    env = production_env(DATABASE_URL=dead_database_url(), SMS_PROVIDER="smsru")
    with gunicorn(env, tmp_path) as server:
        before = len(server.log().splitlines())
        answers = [
            server.request(
                "POST",
                "/api/v1/auth/login",
                body=b'{"login": "+79160000001", "password": "xxxxxxxx"}',
                headers={"Content-Type": "application/json"},
            )
            for _ in range(3)
        ]
        health = server.request("GET", "/health/db")
        after = server.log().splitlines()[before:]

    for status, headers, body in answers:
        assert status == 503 and headers["Content-Type"] == "application/json"
        assert int(headers["Retry-After"]) > 0
        assert b'"message":"The database is unavailable; try again shortly."' in body
    assert health[0] == 503
    problems = [line for line in after if "app.access" not in line]
    assert len([line for line in problems if "database unavailable" in line]) == 3
    assert len([line for line in problems if "health: database unreachable" in line]) == 1
    assert len(problems) == 4, "\n".join(after)
    assert all("Traceback" not in line for line in after)
