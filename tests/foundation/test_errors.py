"""Every error answers the one JSON shape `{code, status, message, errors}`, never HTML or a traceback."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from flask import Blueprint, request

from app.errors import ConflictError, PreconditionFailed, RuleViolation
from app.extensions import limiter


class SlotFull(ConflictError):
    """A domain error a later blueprint might define: the handler must know it through its base class."""


@pytest.fixture
def error_app(make_app):
    """A separate app with test-only routes that fail in the ways a real view can."""
    app = make_app()

    @app.get("/test/boom")
    def boom():
        raise RuntimeError("the vase fell over")

    @app.post("/test/upload")
    def upload():
        return {"size": len(request.get_data())}

    @app.post("/test/slot")
    def take_slot():
        raise SlotFull("The 10:00-12:00 slot is full.", errors={"slot": {"capacity": 3, "taken": 3}})

    @app.post("/test/promo")
    def apply_promo():
        raise RuleViolation("The promo code has expired.", errors={"promo_code": ["Expired on 2026-03-01."]})

    @app.patch("/test/order")
    def patch_order():
        raise PreconditionFailed("The order changed since you read it.", headers={"ETag": '"v2"'})

    # A limit on a whole blueprint is enforced by the limiter's before_request hook, before any view runs.
    limited = Blueprint("test_limited", __name__)
    limited.add_url_rule("/test/limited", view_func=lambda: {"ok": True})
    limiter.limit("1 per minute")(limited)
    app.register_blueprint(limited)
    return app


def test_unknown_route_is_json_404(client, error_body):
    for path in ("/no/such/page", "/api/v1/no-such-resource"):
        body = error_body(client.get(path), 404)
        assert body["errors"] == {}


@pytest.mark.parametrize("row_id", [2**31 - 1, 2**31, 10**20])
def test_an_id_past_what_postgresql_holds_is_404_like_any_id_nobody_has(admin, error_body, row_id):
    """Ids are PostgreSQL integers: a larger one in a path names no row (and is not sent to the database)."""
    for path in (f"/api/v1/orders/{row_id}", f"/api/v1/customers/{row_id}", f"/api/v1/standing-orders/{row_id}"):
        error_body(admin.get(path), 404)
    error_body(
        admin.patch(f"/api/v1/delivery-windows/{row_id}", json={"capacity": 3}, headers={"If-Match": '"1"'}), 404
    )


def test_query_ids_and_instants_the_database_cannot_hold_are_422_naming_the_parameter(admin, error_body):
    for path, name in (
        ("/api/v1/audit-log?actor=2147483648", "actor"),
        ("/api/v1/notifications?order_id=2147483648", "order_id"),
        ("/api/v1/notifications?from=0001-01-01T00:00:00%2B00:01", "from"),  # no UTC time: year 0
        ("/api/v1/orders?updated_since=0001-01-01T00:00:00%2B05:00", "updated_since"),
    ):
        body = error_body(admin.get(path), 422)
        assert name in body["errors"]["query"], body


def test_wrong_method_is_405_with_allow_header(client, error_body):
    response = client.delete("/health")
    error_body(response, 405)
    assert "GET" in {m.strip() for m in response.headers["Allow"].split(",")}

    response = client.get("/api/v1/auth/login")
    error_body(response, 405)
    assert "POST" in {m.strip() for m in response.headers["Allow"].split(",")}


def test_validation_error_names_the_missing_field(client, error_body):
    response = client.post("/api/v1/auth/login", json={"login": "anna@example.test"})

    body = error_body(response, 422)
    assert "password" in body["errors"]["json"]
    assert "login" not in body["errors"]["json"]


def test_body_over_the_limit_is_413_on_a_test_route(error_app, error_body):
    limit = error_app.config["MAX_CONTENT_LENGTH"]
    client = error_app.test_client()

    assert client.post("/test/upload", data=b"x" * 1024).json == {"size": 1024}
    response = client.post("/test/upload", data=b"x" * (limit + 1), content_type="application/octet-stream")
    error_body(response, 413)


def test_body_over_the_limit_is_413_on_an_api_endpoint(app, client, error_body, app_log):
    too_big = b"{" + b" " * app.config["MAX_CONTENT_LENGTH"] + b"}"
    with app_log() as output:
        response = client.post(
            "/api/v1/auth/login", data=too_big, content_type="application/json", headers={"X-Request-ID": "big-1"}
        )

    error_body(response, 413)
    assert response.headers["X-Request-ID"] == "big-1"
    # Refused before the login rate limit reads the body: that must not look like a Redis outage to the limiter.
    assert "Rate limit storage unreachable" not in output.getvalue()
    assert "Failed to rate limit" not in output.getvalue()


def test_unexpected_exception_is_json_500_and_the_log_keeps_the_traceback(error_app, app_log, error_body):
    client = error_app.test_client()
    with app_log() as output:
        response = client.get("/test/boom", headers={"X-Request-ID": "req-500-check"})

    error_body(response, 500)
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "vase" not in text and "RuntimeError" not in text
    assert response.headers["X-Request-ID"] == "req-500-check"

    log = output.getvalue()
    error_line = next(line for line in log.splitlines() if "unhandled error" in line)
    assert "ERROR" in error_line and "[req-500-check]" in error_line
    after = log[log.index(error_line) :]
    assert "Traceback (most recent call last)" in after
    assert "RuntimeError: the vase fell over" in after


def test_domain_error_subclass_answers_its_status_and_errors(error_app, error_body):
    client = error_app.test_client()

    body = error_body(client.post("/test/slot"), 409)
    assert body["message"] == "The 10:00-12:00 slot is full."
    assert body["errors"] == {"slot": {"capacity": 3, "taken": 3}}

    body = error_body(client.post("/test/promo"), 422)
    assert body["errors"] == {"promo_code": ["Expired on 2026-03-01."]}

    response = client.patch("/test/order")
    error_body(response, 412)
    assert response.headers["ETag"] == '"v2"'


def test_rate_limit_is_json_429_with_retry_after(error_app, error_body):
    client = error_app.test_client()
    assert client.get("/test/limited").status_code == 200

    response = client.get("/test/limited", headers={"X-Request-ID": "req-429-check"})
    error_body(response, 429)
    assert int(response.headers["Retry-After"]) > 0
    # The limiter's hook rejects it before the view: the request id must be assigned before that hook runs.
    assert response.headers["X-Request-ID"] == "req-429-check"


# --- 401 from the JWT layer ---------------------------------------------------------------------------


def _claims(user_id: int, *, expires_in: timedelta = timedelta(minutes=15)) -> dict:
    now = datetime.now(UTC)
    return {
        "sub": str(user_id),
        "type": "access",
        "fresh": False,
        "jti": str(uuid.uuid4()),
        "iat": now - timedelta(hours=1),
        "nbf": now - timedelta(hours=1),
        "exp": now + expires_in,
    }


def _token(app, kind: str, user_id: int) -> str | None:
    secret = app.config["JWT_SECRET_KEY"]
    if kind == "none":
        return None
    if kind == "garbage":
        return "not-a-jwt-at-all"
    if kind == "other_key":
        return jwt.encode(_claims(user_id), "another-secret-key-that-is-long-enough-for-hs256", algorithm="HS256")
    if kind == "alg_none":
        return jwt.encode(_claims(user_id), None, algorithm="none")
    if kind == "expired":
        return jwt.encode(_claims(user_id, expires_in=-timedelta(minutes=1)), secret, algorithm="HS256")
    if kind == "valid":
        return jwt.encode(_claims(user_id), secret, algorithm="HS256")
    raise AssertionError(kind)


def test_a_well_formed_token_is_accepted(app, client, admin):
    """The control for the 401 cases below: the same claims, signed right, reach the view."""
    token = _token(app, "valid", admin.user.id)
    response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json["id"] == admin.user.id


@pytest.mark.parametrize("kind", ["none", "garbage", "other_key", "alg_none", "expired"])
def test_bad_token_is_json_401(app, client, admin, error_body, kind):
    token = _token(app, kind, admin.user.id)
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    response = client.get("/api/v1/auth/me", headers=headers)

    body = error_body(response, 401)
    assert body["errors"] == {}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
