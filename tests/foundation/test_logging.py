"""Request ids on every response and log line; JSON lines; phones, codes and tokens masked wherever they appear."""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime

import pytest

from app.log import MaskingFilter, mask_sensitive

PHONE = "+79161234567"
PHONE_DIGITS = "9161234567"
MASKED_PHONE = "+7********67"
TEXT_LINE_START = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} ")
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")

log = logging.getLogger("app.test_views")


@pytest.fixture
def logging_app(make_app):
    """Test-only views that log the way real services do (keep `make_app` overrides in the test)."""

    def build(**overrides):
        app = make_app(**overrides)

        @app.get("/test/notify")
        def notify():
            app.logger.info("sending the reminder")
            log.warning("SMS to %s failed, will retry", PHONE)
            return {"ok": True}

        @app.get("/test/crash")
        def crash():
            phone = PHONE  # a local variable that shows up in tracebacks
            raise LookupError(f"no customer with phone {phone}")

        return app

    return build


def _records(text: str) -> list[str]:
    """The first line of each text-format log record."""
    return [line for line in text.splitlines() if TEXT_LINE_START.match(line)]


# --- request ids ---------------------------------------------------------------------------------------


def test_each_response_gets_a_fresh_request_id(client):
    first = client.get("/health").headers["X-Request-ID"]
    second = client.get("/no/such/page").headers["X-Request-ID"]
    assert GENERATED_ID.match(first) and GENERATED_ID.match(second)
    assert first != second


def test_a_valid_incoming_request_id_is_echoed(client):
    for incoming in ("abc-123", "9f1c2d3e-aaaa-4bbb-8ccc-0123456789ab", "lb.node-2:req_77"):
        assert client.get("/health", headers={"X-Request-ID": incoming}).headers["X-Request-ID"] == incoming


@pytest.mark.parametrize("incoming", ["has spaces", "x" * 129, "<script>", "id;drop", "ünïcode", ""])
def test_an_invalid_incoming_request_id_is_replaced(client, incoming):
    returned = client.get("/health", headers={"X-Request-ID": incoming}).headers["X-Request-ID"]
    assert returned != incoming
    assert GENERATED_ID.match(returned)


def test_every_log_line_of_a_request_carries_its_id(logging_app, app_log):
    app = logging_app()
    client = app.test_client()
    with app_log() as output:
        assert client.get("/test/notify", headers={"X-Request-ID": "trace-me-42"}).status_code == 200
        logging.getLogger("app.after").info("after the request")

    records = _records(output.getvalue())
    during, after = records[:-1], records[-1]
    assert len(during) >= 3  # the view's two lines and the access line, at least
    assert any("sending the reminder" in line for line in during)
    assert any(f"SMS to {MASKED_PHONE} failed" in line for line in during)
    assert any("app.access" in line and "/test/notify" in line for line in during)
    assert all("[trace-me-42]" in line for line in during)
    assert "trace-me-42" not in after and "after the request" in after


def test_json_format_writes_one_object_per_line(logging_app, app_log):
    app = logging_app(LOG_FORMAT="json")
    client = app.test_client()
    with app_log() as output:
        client.get("/test/notify", headers={"X-Request-ID": "json-req-1"})
        client.get("/test/crash", headers={"X-Request-ID": "json-req-2"})

    lines = output.getvalue().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is a whole JSON object
    assert len(entries) >= 5
    for entry in entries:
        assert {"time", "level", "logger", "request_id", "message"} <= set(entry)
        assert datetime.fromisoformat(entry["time"]).tzinfo is not None
    warning = next(e for e in entries if e["logger"] == "app.test_views")
    assert warning["level"] == "WARNING"
    assert warning["request_id"] == "json-req-1"
    assert warning["message"] == f"SMS to {MASKED_PHONE} failed, will retry"
    crash = next(e for e in entries if "exception" in e)
    assert crash["request_id"] == "json-req-2" and crash["level"] == "ERROR"
    assert "LookupError: no customer with phone " + MASKED_PHONE in crash["exception"]
    assert PHONE_DIGITS not in output.getvalue()


# --- masking -------------------------------------------------------------------------------------------

JWT_SAMPLE = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsInR5cGUiOiJhY2Nlc3MifQ.c2lnbmF0dXJlLXNhbXBsZQ"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("calling +79161234567 now", "9161234567"),
        ("phone 8 (916) 123-45-67.", "123-45-67"),
        ("tel: 8-916-123-45-67", "123-45-67"),
        ("+7 916 123 45 67 did not answer", "916 123 45"),
        ("PHONE:89161234567", "89161234567"),
        ("SMS.RU got 79161234567", "9161234567"),
        ("call +44 20 7946 0958", "7946 0958"),
        ("otp 1234 for the courier", "1234"),
        ("code: 123456", "123456"),
        ("Код 123456", "123456"),
        ("Ваш код для входа: 654321", "654321"),
        (f"issued {JWT_SAMPLE} for user 42", "c2lnbmF0dXJlLXNhbXBsZQ"),
        ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
        ("bearer opaque-token-value", "opaque-token-value"),
        ("password=hunter2&remember=1", "hunter2"),
        ('{"login": "anna", "password": "hunter2"}', "hunter2"),
        ("refresh_token='r-123-secret'", "r-123-secret"),
        ("reset sent to anna.petrova@example.com", "anna.petrova"),
    ],
)
def test_mask_sensitive_hides_the_secret(text, secret):
    masked = mask_sensitive(text)
    assert secret not in masked
    assert masked != text


def test_mask_sensitive_keeps_enough_to_recognise():
    assert mask_sensitive("calling +79161234567 now") == f"calling {MASKED_PHONE} now"
    assert mask_sensitive("code: 123456") == "code: ******"
    assert mask_sensitive("Код 123456") == "Код ******"
    assert mask_sensitive("reset sent to anna.petrova@example.com") == "reset sent to a***@example.com"


@pytest.mark.parametrize(
    "text",
    [
        "order 42",
        "2026-03-08 10:00",
        "delivery 2026-03-08T10:00:00+03:00",
        "window 08.03.2026 10:00-12:00",
        "window 08-03-2026 10:00",
        "2026-11-23 18:29:09,408 INFO [abc] app.access: GET /health -> 200 in 0.3 ms",
        "total 1250.00 RUB for 15 stems",
        "from 10.0.0.15 port 5432",
        "request 3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "uuid 12345678-1234-1234-1234-123456789012",
        "pi is 3.14159265358979",
        "code review for 2026-03-08",
        # SMS.RU message ids, process ids, timestamps and big ids are not phones.
        "message 12 sent, provider id 202236-1000007",
        "provider id 000000-10000007",
        "Scheduler for otp,status,messages,default started with PID 2345678",
        "otp: send otp (ab1234cd) horse pid 4194304",
        "job 1733434343434 ended",
        "order 12345678901234",
    ],
)
def test_mask_sensitive_leaves_dates_times_and_ordinary_numbers(text):
    assert mask_sensitive(text) == text


def test_a_phone_logged_by_a_view_is_masked(logging_app, app_log):
    app = logging_app()
    with app_log() as output:
        app.test_client().get("/test/notify")

    text = output.getvalue()
    assert f"SMS to {MASKED_PHONE} failed" in text
    assert PHONE_DIGITS not in text


def test_a_phone_inside_a_traceback_is_masked(logging_app, app_log):
    app = logging_app()
    with app_log() as output:
        response = app.test_client().get("/test/crash")

    assert response.status_code == 500
    text = output.getvalue()
    assert "Traceback (most recent call last)" in text
    assert f"LookupError: no customer with phone {MASKED_PHONE}" in text
    assert PHONE_DIGITS not in text  # neither in the message nor in the quoted source lines


def test_the_masking_filter_survives_a_log_call_with_wrong_arguments():
    # Handlers swallow formatting errors, filters do not: a bad log call must not become a 500.
    record = logging.LogRecord("app.x", logging.INFO, __file__, 1, "sent %s to %s", (PHONE,), None)

    assert MaskingFilter().filter(record) is True
    assert "sent %s to %s" in record.getMessage()
    assert PHONE_DIGITS not in record.getMessage()
