"""gunicorn's gthread worker, with the errors gunicorn answers itself in the app's JSON error shape.

A request line or headers too long, too many headers, a malformed request: gunicorn refuses these
before the app sees them, with an HTML page of its own, and has no setting to change that page
(benoitc/gunicorn#993). `handle_error` is where its workers answer them; this one answers JSON.
"""

from __future__ import annotations

import json
from ssl import SSLError

from gunicorn import util
from gunicorn.http import errors
from gunicorn.workers.gthread import ThreadWorker
from werkzeug.exceptions import default_exceptions
from werkzeug.http import HTTP_STATUS_CODES

from app.errors import error_body

# The status gunicorn gives each error it raises; any other malformed request is a 400.
STATUS_BY_ERROR = (
    # A header the app tried to send is the app's fault, not the client's.
    ((errors.InvalidResponseHeader, errors.InvalidResponseHeaderName), 500),
    (errors.LimitRequestLine, 414),
    (errors.LimitRequestHeaders, 431),
    (errors.ExpectationFailed, 417),
    (errors.UnsupportedTransferCoding, 501),
    (errors.ConfigurationProblem, 500),
    ((errors.ForbiddenProxyRequest, SSLError), 403),
    (errors.ParseException, 400),
)


def status_for(exc: BaseException) -> int:
    return next((status for kinds, status in STATUS_BY_ERROR if isinstance(exc, kinds)), 500)


def json_error(status: int) -> bytes:
    """A whole HTTP response: the status, and the error shape with werkzeug's words for it (as Flask says them)."""
    body = json.dumps(error_body(status, default_exceptions[status].description), separators=(",", ":")).encode()
    head = (
        f"HTTP/1.1 {status} {HTTP_STATUS_CODES[status]}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class JsonErrorWorker(ThreadWorker):
    def handle_error(self, req, client, addr, exc):
        status = status_for(exc)
        if status == 500:
            self.log.exception("Error handling request %s", getattr(req, "uri", "(no URI read)"))
        else:
            self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        try:
            util.write_nonblock(client, json_error(status))
        except OSError:
            self.log.debug("Failed to send error message.")
