"""The tracking page: GET /t/<token> (HTML) and /t/<token>.json (the same, for the page's polling script).

Not part of the REST API (no login, no OpenAPI operation): a plain Flask blueprint with its own strict
Content-Security-Policy (everything from us, no inline code), `noindex`, and a per-IP limit on misses so
tokens cannot be guessed.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, make_response, render_template, url_for

from app.auth.ratelimits import TOO_MANY, configured
from app.common.net import client_ip
from app.extensions import limiter
from app.tracking import services

blp = Blueprint(
    "tracking",
    __name__,
    url_prefix="/t",
    template_folder="templates",
    static_folder="static",
    static_url_path="/_static",
)

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _missed(response: Response) -> bool:
    """Only misses count towards the per-IP limit: an open page polling its own order never runs into it."""
    return response.status_code in (404, 410)


tracking_limit = limiter.shared_limit(
    configured("RATELIMIT_TRACKING_PER_IP"),
    scope="tracking",
    key_func=client_ip,
    deduct_when=_missed,
    error_message=TOO_MANY,
)


def _private(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = PAGE_CSP
    headers["X-Robots-Tag"] = "noindex, nofollow"
    headers["Cache-Control"] = "no-store"
    headers["Referrer-Policy"] = "no-referrer"
    return response


def _not_found() -> Response:
    return _private(make_response(render_template("tracking/not_found.html", lang="ru"), 404))


def _gone(gone: services.TrackingGone) -> Response:
    say = services.words(gone.language)
    body = render_template(
        "tracking/gone.html",
        say=say,
        lang=gone.language,
        shop_name=gone.shop_name,
        days=services.TRACKING_DAYS,
    )
    return _private(make_response(body, 410))


@blp.get("/<token>")
@tracking_limit
def page(token: str):
    try:
        data = services.page(token)
    except services.TrackingNotFound:
        return _not_found()
    except services.TrackingGone as gone:
        return _gone(gone)
    body = render_template(
        "tracking/page.html",
        data=data,
        lang=data["language"],
        say=services.words(data["language"]),
        poll_url=url_for("tracking.page_json", token=token),
        poll_ms=max(1, int(current_app.config.get("TRACKING_POLL_SECONDS", 20))) * 1000,
    )
    return _private(make_response(body, 200))


@blp.get("/<token>.json")
@tracking_limit
def page_json(token: str):
    try:
        data = services.page(token)
    except services.TrackingNotFound:
        return _private(make_response(jsonify(code="NOT_FOUND", message="No such tracking link."), 404))
    except services.TrackingGone:
        return _private(make_response(jsonify(code="GONE", message="This tracking link has expired."), 410))
    return _private(make_response(jsonify(data), 200))
