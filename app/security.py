"""CORS and the security headers every response carries."""

from flask import Flask, current_app, request
from flask_cors import CORS
from werkzeug.exceptions import RequestEntityTooLarge

API_CSP = "default-src 'none'; frame-ancestors 'none'"
# The docs pages run their bundled scripts (and ReDoc its web worker); everything comes from us.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; font-src 'self' data:; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc", "/_assets/")


def _refuse_oversized_body() -> None:
    # Hooks that read the body (the limiter's key functions) would hit the 413 themselves, and the limiter
    # takes any error in its hook for a Redis outage and falls back to per-process memory.
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()


def register_security(app: Flask) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_oversized_body)
    CORS(
        app,
        origins=app.config["CORS_ORIGINS"],
        expose_headers=["X-Pagination", "X-Request-ID", "ETag", "Retry-After", "Idempotent-Replayed", "X-Total-Cost"],
        allow_headers=["Authorization", "Content-Type", "X-Shop-Id", "Idempotency-Key", "If-Match", "X-Request-ID"],
        max_age=600,
    )

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        is_docs = request.path.startswith(DOCS_PATHS)
        headers.setdefault("Content-Security-Policy", DOCS_CSP if is_docs else API_CSP)
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if not is_docs and request.path.startswith("/api/"):
            headers.setdefault("Cache-Control", "no-store")
        return response
