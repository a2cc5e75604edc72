"""Security headers on every answer, errors included; CORS only for the configured origins."""

from __future__ import annotations

import pytest

from app.security import API_CSP, DOCS_CSP

ALLOWED_ORIGIN = "https://admin.example.test"
FOREIGN_ORIGIN = "https://evil.example.test"

# (method, path, expected status): successes and errors, API and non-API paths.
API_RESPONSES = [
    ("GET", "/health", 200),
    ("GET", "/openapi.json", 200),
    ("GET", "/no/such/page", 404),
    ("DELETE", "/health", 405),
    ("GET", "/api/v1/no-such-resource", 404),
    ("GET", "/api/v1/auth/me", 401),
    ("POST", "/api/v1/auth/login", 422),
]


def _common(headers) -> None:
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize(("method", "path", "status"), API_RESPONSES)
def test_api_answers_carry_the_strict_headers(client, method, path, status):
    response = client.request(method, path, json={} if method == "POST" else None)

    assert response.status_code == status
    _common(response.headers)
    assert response.headers["Content-Security-Policy"] == API_CSP
    if path.startswith("/api/"):
        assert "no-store" in response.headers["Cache-Control"]


def test_a_500_answer_carries_the_headers(make_app):
    app = make_app()

    @app.get("/api/v1/test-crash")
    def crash():
        raise RuntimeError("boom")

    response = app.test_client().get("/api/v1/test-crash")
    assert response.status_code == 500
    _common(response.headers)
    assert response.headers["Content-Security-Policy"] == API_CSP
    assert "no-store" in response.headers["Cache-Control"]


def test_the_api_csp_forbids_everything():
    assert "default-src 'none'" in API_CSP
    assert "frame-ancestors 'none'" in API_CSP


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_get_the_docs_csp(client, path):
    response = client.get(path)

    assert response.status_code == 200
    _common(response.headers)
    csp = response.headers["Content-Security-Policy"]
    assert csp == DOCS_CSP
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "http:" not in csp and "https:" not in csp  # nothing may be loaded from elsewhere


def test_docs_assets_get_the_headers(client):
    response = client.get("/_assets/swagger-ui/swagger-ui.css")
    assert response.status_code == 200
    _common(response.headers)


# --- CORS ---------------------------------------------------------------------------------------------


def _listed(value: str | None) -> set[str]:
    return {item.strip().lower() for item in (value or "").split(",") if item.strip()}


def test_allowed_origin_gets_cors_headers(client):
    response = client.get("/health", headers={"Origin": ALLOWED_ORIGIN})

    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert {"x-request-id", "x-pagination"} <= _listed(response.headers.get("Access-Control-Expose-Headers"))


def test_allowed_origin_gets_cors_headers_on_errors_too(client):
    response = client.get("/api/v1/auth/me", headers={"Origin": ALLOWED_ORIGIN})

    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN


def test_preflight_allows_the_api_headers(client):
    response = client.request(
        "OPTIONS",
        "/api/v1/auth/login",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "X-Shop-Id, Idempotency-Key, Authorization, Content-Type",
        },
    )

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    allowed = _listed(response.headers.get("Access-Control-Allow-Headers"))
    assert {"x-shop-id", "idempotency-key", "authorization", "content-type"} <= allowed
    assert "post" in _listed(response.headers.get("Access-Control-Allow-Methods"))


def test_foreign_origin_gets_no_cors_headers(client):
    simple = client.get("/health", headers={"Origin": FOREIGN_ORIGIN})
    preflight = client.request(
        "OPTIONS",
        "/api/v1/auth/login",
        headers={
            "Origin": FOREIGN_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization",
        },
    )

    for response in (simple, preflight):
        assert not [name for name, _value in response.headers.items() if name.lower().startswith("access-control-")]
