"""OTP login: one answer for every phone, hashed short-lived codes, five tries, a cooldown, rate limits."""

from __future__ import annotations

import logging
import re
import socket
import statistics
import subprocess
import time

import pytest
import redis
from sqlalchemy import func, select

from app.auth import otp
from app.extensions import db, queues, redis_client
from app.jobs.worker import build_worker
from app.messaging import services as messaging
from app.messaging.models import MessageLog
from tests.factories import MembershipFactory, UserFactory
from tests.messaging.stub_server import StubServer, smsru_sent

REQUEST = "/api/v1/auth/otp/request"
VERIFY = "/api/v1/auth/otp/verify"
ME = "/api/v1/auth/me"
UNKNOWN_PHONE = "+79990001122"


@pytest.fixture(autouse=True)
def _no_answer_floor(monkeypatch):
    """Answers wait a fixed time so known and unknown phones look alike; the timing test puts it back."""
    monkeypatch.setattr(otp, "ANSWER_FLOOR_SECONDS", 0)


@pytest.fixture
def http(app):
    return app.test_client()


@pytest.fixture
def courier_user(shop):
    """A courier without a password: OTP is their way in."""
    user = UserFactory(password_hash=None)
    MembershipFactory(user=user, shop=shop, role="courier")
    db.session.commit()
    return user


def otp_jobs():
    return queues.get("otp").get_jobs()


def code_sent() -> str:
    """The code the last send job carries: the one place it exists in clear, besides the message itself."""
    return otp_jobs()[-1].args[2]["code"]


def message_count() -> int:
    return db.session.scalar(select(func.count()).select_from(MessageLog))


def request_code(http, phone: str, **kwargs):
    return http.post(REQUEST, json={"phone": phone}, **kwargs)


def verify(http, phone: str, code: str):
    return http.post(VERIFY, json={"phone": phone, "code": code})


def wrong_code(right: str) -> str:
    return f"{(int(right) + 1) % 10**6:06d}"


def test_a_known_phone_gets_a_code_by_a_job_on_the_otp_queue(http, courier_user):
    response = request_code(http, courier_user.phone)

    assert response.status_code == 202
    assert response.json == {"message": otp.REQUESTED_MESSAGE}
    (job,) = otp_jobs()
    assert job.description == "send otp"
    message_id, to, secret_values = job.args
    assert to == courier_user.phone
    assert re.fullmatch(r"\d{6}", secret_values["code"])
    message = db.session.get(MessageLog, message_id)
    assert (message.kind, message.channel, message.status, message.user_id) == (
        "otp",
        "console",
        "queued",
        courier_user.id,
    )
    assert message.recipient_masked != courier_user.phone and message.recipient_masked.endswith(courier_user.phone[-2:])


def test_the_otp_send_job_is_kept_only_minutes_if_it_fails(http, courier_user):
    assert request_code(http, courier_user.phone).status_code == 202

    (job,) = otp_jobs()
    assert job.failure_ttl == otp.FAILED_SEND_KEPT_SECONDS <= 10 * 60
    assert job.failure_ttl < messaging.FAILED_JOB_KEPT_SECONDS


def test_the_answer_is_identical_for_known_and_unknown_phones(http, courier_user):
    inactive = UserFactory(is_active=False)
    db.session.commit()

    known = request_code(http, courier_user.phone)
    assert message_count() == 1 and len(otp_jobs()) == 1
    unknown = request_code(http, UNKNOWN_PHONE)
    deactivated = request_code(http, inactive.phone)

    for other in (unknown, deactivated):
        assert other.status_code == known.status_code == 202
        assert other.get_data() == known.get_data()
        assert set(other.headers.keys()) == set(known.headers.keys())
    # Nobody is told, and nothing is sent, for the unknown and the deactivated phone.
    assert message_count() == 1
    assert len(otp_jobs()) == 1


def test_a_broken_sms_provider_setup_still_answers_a_known_phone_like_an_unknown_one(
    app, http, courier_user, monkeypatch, caplog
):
    monkeypatch.setitem(app.config, "SMS_PROVIDER", "smsr")  # a typo that slipped past startup

    with caplog.at_level(logging.ERROR, logger="app.auth.otp"):
        known = request_code(http, courier_user.phone)
    unknown = request_code(http, UNKNOWN_PHONE)

    assert known.status_code == unknown.status_code == 202
    assert known.get_data() == unknown.get_data()
    assert set(known.headers.keys()) == set(unknown.headers.keys())
    assert message_count() == 0 and otp_jobs() == []
    [error] = [r for r in caplog.records if r.name == "app.auth.otp"]
    assert "could not queue a login code" in error.getMessage() and error.exc_info is not None


def test_known_and_unknown_phones_take_the_same_time_to_answer(app, http, courier_user, monkeypatch):
    monkeypatch.setattr(otp, "ANSWER_FLOOR_SECONDS", 0.15)
    monkeypatch.setitem(app.config, "RATELIMIT_OTP_REQUEST_PER_PHONE", "100 per minute")
    monkeypatch.setitem(app.config, "RATELIMIT_OTP_REQUEST_PER_IP", "100 per minute")
    known, unknown = [], []
    for _ in range(7):
        redis_client.flushdb()  # no cooldown: the known phone gets a code (a row and a job) every time
        for phone, times in ((courier_user.phone, known), (UNKNOWN_PHONE, unknown)):
            started = time.perf_counter()
            assert request_code(http, phone).status_code == 202
            times.append(time.perf_counter() - started)

    assert message_count() == 7
    assert min(known + unknown) >= 0.15
    assert abs(statistics.median(known) - statistics.median(unknown)) < 0.01


def test_a_phone_written_another_way_is_the_same_phone(http, courier_user):
    national = "8" + courier_user.phone[2:]
    assert request_code(http, national).status_code == 202
    assert verify(http, courier_user.phone, code_sent()).status_code == 200


def test_the_right_code_logs_in_once(http, courier_user):
    request_code(http, courier_user.phone)
    code = code_sent()

    response = verify(http, courier_user.phone, code)

    assert response.status_code == 200
    body = response.json
    assert body["token_type"] == "Bearer"
    assert body["user"]["id"] == courier_user.id
    me = http.get(ME, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json["id"] == courier_user.id
    assert verify(http, courier_user.phone, code).status_code == 401  # used up


def test_brute_force_stops_after_five_wrong_tries(http, courier_user):
    request_code(http, courier_user.phone)
    code = code_sent()

    wrong = [verify(http, courier_user.phone, wrong_code(code)).status_code for _ in range(5)]
    right_too_late = verify(http, courier_user.phone, code)

    assert wrong == [401] * 5
    assert right_too_late.status_code == 401


def test_four_wrong_tries_still_leave_the_right_code_working(http, courier_user):
    request_code(http, courier_user.phone)
    code = code_sent()
    for _ in range(4):
        assert verify(http, courier_user.phone, wrong_code(code)).status_code == 401
    assert verify(http, courier_user.phone, code).status_code == 200


def test_every_failed_verify_looks_the_same(http, courier_user):
    request_code(http, courier_user.phone)
    request_code(http, UNKNOWN_PHONE)
    code = code_sent()

    answers = [
        verify(http, courier_user.phone, wrong_code(code)),
        verify(http, UNKNOWN_PHONE, code),
        verify(http, "+79990003344", code),  # never asked for a code
    ]

    assert {a.status_code for a in answers} == {401}
    assert {a.get_data() for a in answers} == {answers[0].get_data()}
    assert set(answers[0].json) == {"code", "status", "message", "errors"}


def test_a_deactivated_user_cannot_use_a_code_sent_before(http, courier_user):
    request_code(http, courier_user.phone)
    code = code_sent()
    courier_user.is_active = False
    db.session.commit()
    assert verify(http, courier_user.phone, code).status_code == 401


def test_no_resend_within_60_seconds_then_a_new_code_replaces_the_old(http, courier_user, monkeypatch):
    first = request_code(http, courier_user.phone)
    again = request_code(http, courier_user.phone)

    assert again.status_code == 202 and again.get_data() == first.get_data()
    assert len(otp_jobs()) == 1 and message_count() == 1
    cooldown_key, _ = otp._keys(courier_user.phone)
    assert 55 <= redis_client.ttl(cooldown_key) <= 60

    monkeypatch.setattr(otp, "RESEND_AFTER_SECONDS", 1)
    redis_client.delete(cooldown_key)
    request_code(http, courier_user.phone)  # a 1-second cooldown now
    old_code = code_sent()
    request_code(http, courier_user.phone)
    assert len(otp_jobs()) == 2
    time.sleep(1.1)
    request_code(http, courier_user.phone)
    new_code = code_sent()
    assert len(otp_jobs()) == 3 and message_count() == 3
    if new_code != old_code:
        assert verify(http, courier_user.phone, old_code).status_code == 401
    assert verify(http, courier_user.phone, new_code).status_code == 200


def test_a_code_lives_five_minutes(http, courier_user, monkeypatch):
    request_code(http, courier_user.phone)
    _, code_key = otp._keys(courier_user.phone)
    assert 295 <= redis_client.ttl(code_key) <= 300

    redis_client.flushdb()
    monkeypatch.setattr(otp, "CODE_TTL_SECONDS", 1)
    request_code(http, courier_user.phone)
    code = code_sent()
    time.sleep(1.1)
    assert verify(http, courier_user.phone, code).status_code == 401


def test_redis_holds_neither_the_code_nor_the_phone(http, courier_user):
    request_code(http, courier_user.phone)
    code = code_sent()
    digits = courier_user.phone.lstrip("+")

    for key in redis_client.scan_iter("otp:*"):
        dump = key.decode() + repr(
            redis_client.hgetall(key) if redis_client.type(key) == b"hash" else redis_client.get(key)
        )
        assert code not in dump
        assert digits not in dump and digits[1:] not in dump


def test_malformed_input_is_422_naming_the_field(http):
    bad_phone = request_code(http, "call me maybe")
    bad_code = verify(http, "+79161234567", "12ab56")

    assert bad_phone.status_code == 422 and "phone" in bad_phone.json["errors"]["json"]
    assert bad_code.status_code == 422 and "code" in bad_code.json["errors"]["json"]


def _assert_429(response) -> None:
    assert response.status_code == 429
    assert set(response.json) == {"code", "status", "message", "errors"}
    assert response.json["code"] == 429
    assert int(response.headers["Retry-After"]) > 0


def test_requests_per_phone_are_limited(http, courier_user):
    statuses = [request_code(http, courier_user.phone).status_code for _ in range(5)]
    assert statuses == [202] * 5
    _assert_429(request_code(http, courier_user.phone))
    # Written another way, still the same phone; from another address, still the same phone.
    _assert_429(request_code(http, "8" + courier_user.phone[2:], environ_base={"REMOTE_ADDR": "10.0.0.9"}))
    assert request_code(http, UNKNOWN_PHONE).status_code == 202


def test_requests_per_ip_are_limited(app, http, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_OTP_REQUEST_PER_IP", "3 per hour")
    statuses = [request_code(http, f"+7999000{i:04d}").status_code for i in range(3)]
    assert statuses == [202] * 3
    _assert_429(request_code(http, "+79990009999"))
    assert request_code(http, "+79990009999", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 202


def test_verify_per_phone_is_limited(http, courier_user):
    request_code(http, courier_user.phone)
    statuses = [verify(http, courier_user.phone, "000000").status_code for _ in range(10)]
    assert set(statuses) == {401}
    _assert_429(verify(http, courier_user.phone, "000000"))


def test_verify_per_ip_is_limited_whatever_the_phone(app, http, courier_user, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_OTP_VERIFY_PER_IP", "5 per hour")
    assert request_code(http, courier_user.phone, environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 202
    code = code_sent()

    # One client guessing across many phones: each phone is fresh, the address is not.
    guesses = [verify(http, f"+7999000{i:04d}", "000000").status_code for i in range(5)]

    assert guesses == [401] * 5
    _assert_429(verify(http, "+79990009999", "000000"))
    _assert_429(verify(http, courier_user.phone, code))
    # The address may still ask for codes (a counter of its own), and the courier elsewhere logs in with theirs.
    assert request_code(http, UNKNOWN_PHONE).status_code == 202
    elsewhere = http.post(
        VERIFY, json={"phone": courier_user.phone, "code": code}, environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert elsewhere.status_code == 200 and elsewhere.json["user"]["id"] == courier_user.id


def test_wrong_codes_per_phone_are_capped_for_the_day_from_any_address(app, http, courier_user, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_OTP_VERIFY_PER_PHONE_DAILY", "3 per day")
    request_code(http, courier_user.phone)
    code = code_sent()

    def verify_from(address: str, phone: str, guess: str):
        return http.post(VERIFY, json={"phone": phone, "code": guess}, environ_base={"REMOTE_ADDR": address})

    wrong = [verify_from(f"10.0.2.{i}", courier_user.phone, wrong_code(code)).status_code for i in range(3)]

    assert wrong == [401] * 3
    capped = verify_from("10.0.2.9", "8" + courier_user.phone[2:], code)
    _assert_429(capped)
    assert int(capped.headers["Retry-After"]) > 15 * 60  # the day's cap, not the 15-minute window
    # Another phone is not held back.
    assert verify_from("10.0.2.9", UNKNOWN_PHONE, "000000").status_code == 401


def test_right_codes_do_not_count_towards_the_days_cap(app, http, courier_user, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_OTP_VERIFY_PER_PHONE_DAILY", "1 per day")
    request_code(http, courier_user.phone)

    assert verify(http, courier_user.phone, code_sent()).status_code == 200
    assert verify(http, courier_user.phone, "000000").status_code == 401  # the first wrong code of the day
    _assert_429(verify(http, courier_user.phone, "000000"))


class RawRecords(logging.Handler):
    """Every log record's text as it was logged, before any masking filter rewrites it."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(record.getMessage() + (record.exc_text or "") + repr(getattr(record, "args", "")))


@pytest.fixture
def raw_logs():
    """Capture everything any logger says, at every level, ahead of the app's masking handler."""
    root = logging.getLogger()
    handler = RawRecords()
    previous_level = root.level
    root.handlers.insert(0, handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(previous_level)


def test_the_code_never_reaches_a_log_or_the_message_log(app, http, courier_user, raw_logs, capfd, monkeypatch):
    phone = courier_user.phone
    with StubServer() as sms:
        sms.always(200, smsru_sent)
        monkeypatch.setitem(app.config, "SMS_PROVIDER", "smsru")
        monkeypatch.setitem(app.config, "SMSRU_API_URL", sms.url)
        monkeypatch.setitem(app.config, "SMSRU_API_ID", "test-api-id")

        assert request_code(http, phone).status_code == 202
        code = code_sent()
        build_worker(app, [queues.get("otp")], simple=True).work(burst=True)
        assert verify(http, phone, code).status_code == 200

    (received,) = sms.requests
    assert code in received.form["msg"]  # it did go out, to SMS.RU only
    assert raw_logs.texts, "the capture saw nothing: it is not capturing"
    assert any("sent, provider id" in text for text in raw_logs.texts)
    for text in raw_logs.texts:
        assert code not in text
    output = capfd.readouterr()
    assert code not in output.out + output.err
    assert phone not in output.out + output.err
    message = db.session.scalars(select(MessageLog)).one()
    assert message.status == "sent"
    row = " ".join(str(getattr(message, column.key)) for column in MessageLog.__table__.columns)
    assert code not in row and phone not in row


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def own_redis(app, monkeypatch):
    """A Redis server of the test's own, serving the app's OTP codes, that the test can stop."""
    port = _free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    # Built as app/extensions.py builds the app's client.
    client = redis.Redis.from_url(
        f"redis://127.0.0.1:{port}/0", socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
    )
    for _ in range(50):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    monkeypatch.setitem(app.extensions, "redis", client)
    yield server
    if server.poll() is None:
        server.terminate()
    server.wait(timeout=10)


def test_with_redis_stopped_a_code_request_is_503_for_every_phone(http, courier_user, own_redis):
    assert request_code(http, UNKNOWN_PHONE).status_code == 202
    own_redis.terminate()
    own_redis.wait(timeout=10)

    known = request_code(http, courier_user.phone)
    unknown = request_code(http, "+79990005566")
    verifying = verify(http, courier_user.phone, "123456")

    assert known.status_code == unknown.status_code == verifying.status_code == 503
    assert known.get_data() == unknown.get_data()
    assert known.json == {"code": 503, "status": "Service Unavailable", "message": otp.UNAVAILABLE, "errors": {}}
    assert int(known.headers["Retry-After"]) > 0
    assert message_count() == 0 and otp_jobs() == []
