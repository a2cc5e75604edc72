"""The one JSON error shape, `{code, status, message, errors}`, for every error the app answers."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, g, got_request_exception, has_request_context, jsonify, request
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from app.common.i18n import FALLBACK_LANGUAGE, LANGUAGES, known_language, translate

log = logging.getLogger(__name__)

DATABASE_RETRY_AFTER = "5"  # seconds: PostgreSQL restarting or failing over is back within a few


class DomainError(Exception):
    """A business rule said no. Services raise these; the handler below turns them into JSON."""

    status_code = 409

    def __init__(
        self,
        message: str,
        *,
        errors: dict[str, Any] | None = None,
        headers: dict | None = None,
        params: dict[str, Any] | None = None,
    ):
        """`message`: an English sentence for people, its varying parts `{named}` and given in `params`;
        it is translated into the caller's language when answered. `errors` is for machines, never translated."""
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.headers = headers or {}
        self.params = params or {}

    def __str__(self) -> str:  # in English with its parameters: for logs and reasons kept in the database
        return translate(self.message, self.params, language=FALLBACK_LANGUAGE)


class ConflictError(DomainError):
    """The request is valid but conflicts with the current state (a shortage, a full slot ...)."""

    status_code = 409


class RuleViolation(DomainError):
    """The input is well-formed but a rule rejects it (an expired promo code ...)."""

    status_code = 422


class NotFoundError(DomainError):
    status_code = 404


class PermissionDenied(DomainError):
    status_code = 403


class Unauthorized(DomainError):
    status_code = 401


class PreconditionFailed(DomainError):
    status_code = 412


class PreconditionRequired(DomainError):
    """A conditional header (If-Match) is required here and was not sent."""

    status_code = 428


class ServiceUnavailable(DomainError):
    status_code = 503


# What an HTTP error means to a person and what to do, when nothing more particular is said.
HTTP_MESSAGES = {
    400: "The request could not be read; send valid JSON.",
    401: "Log in to continue.",
    403: "You may not do this.",
    404: "Nothing is here; check the address.",
    405: "This address does not take this method; the Allow header lists the ones it takes.",
    413: "The request is too large; send a smaller one.",
    415: "This content type is not accepted here; send JSON.",
    422: "Some fields are not valid; correct the ones named in errors and send again.",
    429: "Too many requests; wait as long as Retry-After says, then try again.",
    500: "Something went wrong on our side; try again, and tell support if it keeps happening.",
    503: "The service is unavailable for a moment; try again shortly.",
}


def request_language() -> str:
    """The caller's language: their own if logged in (a user's language defaults to their shop's), else
    Accept-Language's, else English."""
    if not has_request_context():
        return FALLBACK_LANGUAGE
    language = g.get("language")  # set when the access token is verified
    if language is None and request.accept_languages:
        language = request.accept_languages.best_match(LANGUAGES)
    return known_language(language) or FALLBACK_LANGUAGE


def human_message(message: str, params: dict[str, Any] | None = None) -> str:
    return translate(message, params, language=request_language())


def http_message(error: HTTPException) -> str:
    """An HTTP error's sentence (untranslated): what was said on raising it, else what its status means."""
    said = error.description if error.description != type(error).description else None
    return said or HTTP_MESSAGES.get(error.code or 500, HTTP_MESSAGES[500])


def error_body(status_code: int, message: str, errors: dict | None = None) -> dict[str, Any]:
    return {
        "code": status_code,
        "status": HTTP_STATUS_CODES.get(status_code, "Error"),
        "message": message,
        "errors": errors or {},
    }


def error_response(
    status_code: int, message: str, errors: dict | None = None, headers: dict | None = None, params: dict | None = None
):
    response = jsonify(error_body(status_code, human_message(message, params), errors))
    response.status_code = status_code
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def database_unavailable(error: Exception) -> bool:
    """PostgreSQL refused or dropped the connection, or the pool had none to give: an outage, not a bug."""
    if isinstance(error, PoolTimeout):
        return True
    if not isinstance(error, OperationalError):
        return False
    # Invalidated: the server went away under a statement. Neither a statement nor a SQLSTATE: it failed
    # while connecting (a failed COMMIT has no statement either, but the server's SQLSTATE says why).
    return error.connection_invalidated or (error.statement is None and getattr(error.orig, "sqlstate", None) is None)


def short_reason(error: Exception) -> str:
    """`OperationalError: connection to server ... failed: Connection refused`: the driver's first line."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}"


def register_error_handlers(app: Flask) -> None:
    @app.before_request
    def forget_language() -> None:  # a test's requests may share one app context, and `g` with it
        g.pop("language", None)

    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError):
        return error_response(error.status_code, error.message, error.errors, error.headers, error.params)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        if isinstance(error, HTTPException):  # raised outside smorest's reach
            return error_response(error.code or 500, http_message(error), {})
        if database_unavailable(error):  # one line each: an outage would otherwise bury the log in tracebacks
            log.warning("database unavailable: %s", short_reason(error))
            return error_response(
                503, "The database is unavailable; try again shortly.", headers={"Retry-After": DATABASE_RETRY_AFTER}
            )
        # Flask only signals exceptions it handles itself; error reporters (Sentry) listen to this signal.
        got_request_exception.send(
            current_app._get_current_object(), _async_wrapper=current_app.ensure_sync, exception=error
        )
        log.exception("unhandled error (request_id=%s)", g.get("request_id", "-"))
        return error_response(500, HTTP_MESSAGES[500])
