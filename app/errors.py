"""The one JSON error shape, `{code, status, message, errors}`, for every error the app answers."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, g, got_request_exception, jsonify
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import HTTP_STATUS_CODES

log = logging.getLogger(__name__)

DATABASE_RETRY_AFTER = "5"  # seconds: PostgreSQL restarting or failing over is back within a few


class DomainError(Exception):
    """A business rule said no. Services raise these; the handler below turns them into JSON."""

    status_code = 409

    def __init__(self, message: str, *, errors: dict[str, Any] | None = None, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.headers = headers or {}


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


def error_body(status_code: int, message: str, errors: dict | None = None) -> dict[str, Any]:
    return {
        "code": status_code,
        "status": HTTP_STATUS_CODES.get(status_code, "Error"),
        "message": message,
        "errors": errors or {},
    }


def error_response(status_code: int, message: str, errors: dict | None = None, headers: dict | None = None):
    response = jsonify(error_body(status_code, message, errors))
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
    return error.connection_invalidated or (error.statement is None and getattr(error.orig, "pgcode", None) is None)


def short_reason(error: Exception) -> str:
    """`OperationalError: connection to server ... failed: Connection refused`: the driver's first line."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}"


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError):
        return error_response(error.status_code, error.message, error.errors, error.headers)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        if isinstance(error, HTTPException):  # raised outside smorest's reach
            return error_response(error.code or 500, error.description or "", {})
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
        return error_response(500, InternalServerError.description)
