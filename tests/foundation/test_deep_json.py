"""JSON nested absurdly deep is a 400 in the one error shape, and disturbs nothing: no row, no 500,
and the rate limiter keeps counting in Redis (it once took the parser's RecursionError for a Redis outage)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from app.common.jsonparse import MAX_DEPTH
from app.customers.models import Customer
from app.extensions import db, redis_client
from app.orders.models import Order
from tests.foundation.processes import gunicorn, production_env

LOGIN = "/api/v1/auth/login"
OTP_REQUEST = "/api/v1/auth/otp/request"
OTP_VERIFY = "/api/v1/auth/otp/verify"
TOO_DEEP = f"JSON nested deeper than {MAX_DEPTH} levels."


def arrays(depth: int) -> str:
    return "[" * depth + "]" * depth


def objects(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def in_field(field: str, depth: int) -> str:
    """A plausible body with one field nested `depth` levels deep (the body itself is one more)."""
    return f'{{"{field}": {arrays(depth - 1)}, "password": "x", "code": "123456"}}'


HOSTILE = {
    "10000 arrays": arrays(10_000),
    "10000 objects": objects(10_000),
    # Parsed by the standard library without complaint, yet deeper than any body of ours.
    "900 arrays": arrays(900),
    "one field past the bound": in_field("login", MAX_DEPTH + 1),
}


def limiter_counters() -> dict[str, int]:
    return {key.decode(): int(redis_client.get(key)) for key in redis_client.keys("*LIMITER*")}


def post_json(client, path: str, body: str, **kwargs):
    return client.post(path, data=body, content_type="application/json", **kwargs)


@pytest.mark.parametrize("path", [LOGIN, OTP_REQUEST, OTP_VERIFY])
@pytest.mark.parametrize("body", list(HOSTILE.values()), ids=list(HOSTILE))
def test_auth_endpoints_answer_400_and_the_limiter_still_counts_in_redis(client, error_body, app_log, path, body):
    with app_log() as output:
        response = post_json(client, path, body)

    payload = error_body(response, 400)
    assert payload["errors"] == {"json": [TOO_DEEP]}
    log = output.getvalue()
    assert "ERROR" not in log and "Traceback" not in log
    assert "Rate limit storage unreachable" not in log and "Failed to rate limit" not in log
    # The request went through the limiter, and its counters are in Redis, not in process memory.
    assert limiter_counters() and all(count == 1 for count in limiter_counters().values())


def test_a_body_at_the_bound_is_parsed_and_validated(client, error_body):
    response = post_json(client, LOGIN, in_field("login", MAX_DEPTH))

    body = error_body(response, 422)
    assert "login" in body["errors"]["json"]


def test_after_hostile_bodies_the_login_limit_still_answers_429_at_its_count_from_redis(
    app, client, error_body, app_log, monkeypatch
):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_PER_IP", "5 per minute")

    with app_log() as output:
        hostile = [post_json(client, LOGIN, arrays(10_000)).status_code for _ in range(3)]
        wrong = [client.post(LOGIN, json={"login": "nobody@example.test", "password": "x"}) for _ in range(3)]

    assert hostile == [400, 400, 400]
    assert [r.status_code for r in wrong] == [401, 401, 429]
    error_body(wrong[-1], 429)
    # One per-IP counter, in Redis, saw all six attempts: the hostile ones counted like any other.
    per_ip = [count for key, count in limiter_counters().items() if "127.0.0.1" in key]
    assert per_ip == [6]
    assert "Rate limit storage unreachable" not in output.getvalue()


@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/customers"])
@pytest.mark.parametrize("with_key", [False, True], ids=["plain", "idempotency-key"])
def test_creates_answer_400_and_create_nothing(manager, error_body, app_log, path, with_key):
    before = [db.session.scalar(select(func.count()).select_from(model)) for model in (Order, Customer)]

    with app_log() as output:
        responses = [
            manager.post(
                path,
                data=body,
                content_type="application/json",
                headers={"Idempotency-Key": f"deep-{name}"} if with_key else {},
            )
            for name, body in HOSTILE.items()
        ]

    for response in responses:
        assert error_body(response, 400)["errors"] == {"json": [TOO_DEEP]}
    assert [db.session.scalar(select(func.count()).select_from(model)) for model in (Order, Customer)] == before
    assert "ERROR" not in output.getvalue() and "Traceback" not in output.getvalue()


def test_ordinary_invalid_json_keeps_its_answer(client, error_body):
    body = error_body(post_json(client, LOGIN, '{"login": '), 400)

    assert body["errors"] == {"json": ["Invalid JSON body."]}


def test_on_gunicorn_hostile_bodies_are_400_and_the_login_limit_still_holds_in_redis(tmp_path):
    env = production_env(SMS_PROVIDER="smsru", RATELIMIT_LOGIN_PER_IP="5 per minute")
    json_headers = {"Content-Type": "application/json"}
    with gunicorn(env, tmp_path) as server:
        hostile = [server.request("POST", LOGIN, arrays(10_000).encode(), json_headers) for _ in range(3)]
        wrong = b'{"login": "nobody@example.test", "password": "x"}'
        statuses = [server.request("POST", LOGIN, wrong, json_headers)[0] for _ in range(3)]
        counters = limiter_counters()

    for status, _headers, body in hostile:
        assert status == 400 and json.loads(body)["errors"] == {"json": [TOO_DEEP]}
    assert statuses == [401, 401, 429]
    assert [count for key, count in counters.items() if "127.0.0.1" in key] == [6]
    assert "Rate limit storage unreachable" not in server.log()
    assert "Traceback" not in server.log() and "-> 500" not in server.log()
