"""Requests gunicorn refuses before the app sees them answer the one JSON error shape, never HTML, on
the real server (gunicorn.conf.py); the worker keeps serving afterwards."""

from __future__ import annotations

import json

import pytest
from gunicorn.http import errors
from werkzeug.http import HTTP_STATUS_CODES

from app.gunicorn_worker import json_error, status_for
from tests.foundation.processes import gunicorn, production_env

MALFORMED = {
    "URI too long": (b"GET /api/v1/orders?q=" + b"a" * 5000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
    "header too large": (b"GET /health HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431),
    "too many headers": (
        b"GET /health HTTP/1.1\r\nHost: t\r\n" + b"".join(b"X-H%d: 1\r\n" % i for i in range(150)) + b"\r\n",
        431,
    ),
    "bad request line": (b"GARBAGE\r\n\r\n", 400),
    "bad HTTP version": (b"GET /health HTTP/9.x\r\nHost: t\r\n\r\n", 400),
    "bad method": (b"G(T /health HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    "bad header name": (b"GET /health HTTP/1.1\r\nHost: t\r\nBad Header: 1\r\n\r\n", 400),
    "unknown expectation": (b"POST /health HTTP/1.1\r\nHost: t\r\nExpect: 200-ok\r\nContent-Length: 0\r\n\r\n", 417),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = production_env(SMS_PROVIDER="smsru", LOG_LEVEL="info")
    with gunicorn(env, tmp_path_factory.mktemp("gunicorn")) as running:
        yield running


def split_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in header_lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(("request_bytes", "status"), list(MALFORMED.values()), ids=list(MALFORMED))
def test_a_request_gunicorn_refuses_answers_the_json_error_shape(server, request_bytes, status):
    answer, headers, body = split_response(server.raw(request_bytes))

    assert answer == status
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    payload = json.loads(body)
    assert set(payload) == {"code", "status", "message", "errors"}
    assert payload["code"] == status and payload["status"] == HTTP_STATUS_CODES[status]
    assert payload["message"] and payload["errors"] == {}
    assert b"<html" not in body.lower()


def test_after_the_refusals_the_same_server_serves_and_logged_no_traceback(server):
    for request_bytes, _status in MALFORMED.values():
        server.raw(request_bytes)

    status, headers, body = server.request("GET", "/health")

    assert status == 200 and json.loads(body) == {"status": "ok", "component": "process"}
    assert "Traceback" not in server.log() and "[ERROR]" not in server.log()
    assert "Invalid request from ip=127.0.0.1: Request Line is too large" in server.log()


def test_a_response_header_the_app_got_wrong_is_a_json_500_not_the_clients_fault():
    status, _headers, body = split_response(json_error(status_for(errors.InvalidResponseHeader("X\r\nY"))))

    assert status == 500
    assert json.loads(body)["code"] == 500
