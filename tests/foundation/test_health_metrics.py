"""Health checks answer 200 when their dependency is up and 503 naming it when down; /metrics counts by endpoint."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import scoped_session, sessionmaker

from app.extensions import db

DEAD_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"
DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.mark.parametrize(
    ("path", "component"), [("/health", "process"), ("/health/db", "database"), ("/health/redis", "redis")]
)
def test_health_is_200_when_up(client, path, component):
    response = client.get(path)

    assert response.status_code == 200
    assert response.json == {"status": "ok", "component": component}


def test_health_db_is_503_naming_the_database_when_it_is_down(make_app, error_body, monkeypatch):
    down = make_app(SQLALCHEMY_DATABASE_URI=DEAD_DATABASE)
    with down.app_context():
        dead_engine = db.engine
    # The test's rolled-back transaction binds db.session to the live database: give this app its own engine.
    monkeypatch.setattr(db, "session", scoped_session(sessionmaker(bind=dead_engine)))
    client = down.test_client()

    body = error_body(client.get("/health/db"), 503)
    assert list(body["errors"]) == ["database"]
    assert "database" in body["message"]
    # The process itself is still up, and Redis is not blamed.
    assert client.get("/health").status_code == 200
    assert client.get("/health/redis").status_code == 200


def test_health_redis_is_503_naming_redis_when_it_is_down(make_app, error_body):
    client = make_app(REDIS_URL=DEAD_REDIS).test_client()

    body = error_body(client.get("/health/redis"), 503)
    assert list(body["errors"]) == ["redis"]
    assert "redis" in body["message"].lower()
    assert client.get("/health/db").status_code == 200


# --- /metrics -------------------------------------------------------------------------------------------


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of the sample `name` whose labels include `labels` (0 when absent)."""
    for line in text.splitlines():
        match = re.match(r"^(\w+)\{(.*)\} (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2)))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(match.group(3))
    return 0.0


def test_metrics_count_requests_and_latency_by_endpoint(client):
    before = client.get("/metrics").get_data(as_text=True)
    for _ in range(3):
        client.get("/health")
    client.get("/api/v1/auth/me")  # a 401, counted under its own endpoint and status

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    after = response.get_data(as_text=True)

    ok = {"endpoint": "health.Process", "method": "GET", "status": "200"}
    assert _sample(after, "flask_http_request_total", **ok) - _sample(before, "flask_http_request_total", **ok) == 3
    count = "flask_http_request_duration_seconds_count"
    assert _sample(after, count, **ok) - _sample(before, count, **ok) == 3
    bucket = "flask_http_request_duration_seconds_bucket"
    assert _sample(after, bucket, le="+Inf", **ok) - _sample(before, bucket, le="+Inf", **ok) == 3
    assert _sample(after, "flask_http_request_duration_seconds_sum", **ok) > 0

    unauthorized = {"endpoint": "auth.Me", "status": "401"}
    delta = _sample(after, "flask_http_request_total", **unauthorized)
    delta -= _sample(before, "flask_http_request_total", **unauthorized)
    assert delta == 1
