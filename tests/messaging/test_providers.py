"""The providers against a local stub server speaking real HTTP."""

from __future__ import annotations

import io
import socket

import pytest

from app.messaging.providers import (
    ConsoleProvider,
    ProviderError,
    SmsRuProvider,
    TelegramProvider,
    build_provider,
    mask_recipient,
    sms_channel,
)
from tests.messaging.stub_server import (
    SMSRU_BAD_API_ID,
    TELEGRAM_CHAT_NOT_FOUND,
    StubServer,
    smsru_number_refused,
    smsru_sent,
    smsru_status,
    telegram_sent,
)

PHONE = "+79161234567"
TEXT = "Flower CRM: код для входа 123456."
BOT_TOKEN = "123456:SECRET-bot-token"


@pytest.fixture
def stub():
    with StubServer() as server:
        yield server


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def smsru(stub, **kwargs) -> SmsRuProvider:
    return SmsRuProvider(api_url=stub.url, api_id="test-api-id", **kwargs)


def telegram(stub, **kwargs) -> TelegramProvider:
    return TelegramProvider(api_url=stub.url, token=BOT_TOKEN, **kwargs)


def test_smsru_posts_the_message_and_returns_its_sms_id(stub):
    stub.always(200, smsru_sent)

    message_id = smsru(stub).send(PHONE, TEXT)

    (received,) = stub.requests
    assert received.method == "POST"
    assert received.path == "/sms/send"
    assert received.form == {"api_id": "test-api-id", "to": "79161234567", "msg": TEXT, "json": "1"}
    assert message_id == smsru_sent(received)["sms"]["79161234567"]["sms_id"]


def test_smsru_top_level_error_is_a_provider_error_with_its_status_text(stub):
    stub.always(200, SMSRU_BAD_API_ID)
    with pytest.raises(ProviderError, match="Неправильный api_id"):
        smsru(stub).send(PHONE, TEXT)


def test_smsru_refusing_the_number_is_a_provider_error(stub):
    stub.always(200, smsru_number_refused)
    with pytest.raises(ProviderError, match="нельзя отправлять") as caught:
        smsru(stub).send(PHONE, TEXT)
    assert "79161234567" not in str(caught.value)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (500, "Internal Server Error", "HTTP 500"),
        (502, {"status": "OK"}, "HTTP 502"),
        (200, "<html>maintenance</html>", "without JSON"),
        (200, {"status": "OK", "sms": {}}, "no status for the number"),
    ],
)
def test_smsru_bad_answers_are_provider_errors(stub, status, body, expected):
    stub.always(status, body)
    with pytest.raises(ProviderError, match=expected):
        smsru(stub).send(PHONE, TEXT)


def test_smsru_timeout_is_a_provider_error(stub):
    stub.always(200, smsru_sent, delay=1.5)
    with pytest.raises(ProviderError, match="did not answer in time"):
        smsru(stub, timeout=0.3).send(PHONE, TEXT)


def test_smsru_unreachable_is_a_provider_error():
    provider = SmsRuProvider(api_url=_closed_port_url(), api_id="test-api-id", timeout=2)
    with pytest.raises(ProviderError, match="unreachable"):
        provider.send(PHONE, TEXT)


def test_smsru_without_api_id_sends_nothing(stub):
    with pytest.raises(ProviderError, match="SMSRU_API_ID"):
        SmsRuProvider(api_url=stub.url, api_id="").send(PHONE, TEXT)
    assert stub.requests == []


def test_telegram_sends_to_the_chat_and_returns_the_message_id(stub):
    stub.always(200, telegram_sent)

    message_id = telegram(stub).send("987654321", TEXT)

    (received,) = stub.requests
    assert received.path == f"/bot{BOT_TOKEN}/sendMessage"
    assert received.json == {"chat_id": "987654321", "text": TEXT}
    assert message_id == "4242"


def test_telegram_ok_false_is_a_provider_error_without_the_token(stub):
    stub.always(400, TELEGRAM_CHAT_NOT_FOUND)
    with pytest.raises(ProviderError, match="chat not found") as caught:
        telegram(stub).send("987654321", TEXT)
    assert BOT_TOKEN not in str(caught.value)
    assert "SECRET" not in str(caught.value)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (500, "Internal Server Error", "HTTP 500 without JSON"),
        (200, {"ok": True}, "refused"),
        (200, {"ok": "yes", "result": {"message_id": 1}}, "refused"),
    ],
)
def test_telegram_bad_answers_are_provider_errors(stub, status, body, expected):
    stub.always(status, body)
    with pytest.raises(ProviderError, match=expected):
        telegram(stub).send("987654321", TEXT)


def test_telegram_timeout_is_a_provider_error(stub):
    stub.always(200, telegram_sent, delay=1.5)
    with pytest.raises(ProviderError, match="did not answer in time"):
        telegram(stub, timeout=0.3).send("987654321", TEXT)


def test_telegram_with_a_broken_url_does_not_show_the_token():
    provider = TelegramProvider(api_url="not a url", token=BOT_TOKEN)
    with pytest.raises(ProviderError) as caught:
        provider.send("987654321", TEXT)
    assert "SECRET" not in str(caught.value)


def test_console_in_dev_mode_prints_the_text_with_the_phone_masked():
    stream = io.StringIO()
    message_id = ConsoleProvider(echo=True, stream=stream).send(PHONE, TEXT)
    printed = stream.getvalue()
    assert "123456" in printed  # the developer reads the code here
    assert PHONE not in printed and "+7********67" in printed
    assert message_id.startswith("console-")


def test_console_outside_dev_mode_shows_nothing(capsys, caplog):
    ConsoleProvider(echo=False).send(PHONE, TEXT)
    captured = capsys.readouterr()
    assert "123456" not in captured.out + captured.err + caplog.text
    assert "1234567" not in captured.out + captured.err + caplog.text


def test_provider_is_built_from_the_channel_and_the_config():
    config = {
        "ENV_NAME": "development",
        "SMSRU_API_URL": "http://sms.example",
        "SMSRU_API_ID": "id",
        "TELEGRAM_API_URL": "http://tg.example",
        "TELEGRAM_BOT_TOKEN": "t",
    }
    assert build_provider("console", config).echo is True
    assert build_provider("console", {**config, "ENV_NAME": "production"}).echo is False
    assert isinstance(build_provider("sms", config), SmsRuProvider)
    assert isinstance(build_provider("telegram", config), TelegramProvider)
    with pytest.raises(ValueError):
        build_provider("pigeon", config)
    assert sms_channel({"SMS_PROVIDER": "smsru"}) == "sms"
    assert sms_channel({"SMS_PROVIDER": "console"}) == "console"
    with pytest.raises(ValueError):
        sms_channel({"SMS_PROVIDER": "twilio"})


def test_recipients_are_masked_per_channel():
    assert mask_recipient("sms", PHONE) == "+7********67"
    assert mask_recipient("telegram", "987654321") == "chat …21"
    assert mask_recipient("email", "anna@example.com") == "a***@example.com"


# --- permanent or transient: whether another try can help ---------------------------------------------


def _refusal(code: int, text: str) -> dict:
    return {"status": "ERROR", "status_code": code, "status_text": text}


@pytest.mark.parametrize(
    ("status", "body", "permanent"),
    [
        (200, smsru_number_refused, True),  # 207: no route to this number
        (200, SMSRU_BAD_API_ID, True),  # 200: wrong api_id, the same next time
        (200, _refusal(201, "Не хватает средств на лицевом счету"), True),
        (200, _refusal(220, "Сервис временно недоступен"), False),
        (200, _refusal(231, "Превышен лимит одинаковых сообщений на этот номер в минуту"), False),
        (500, "Internal Server Error", False),
        (503, "Service Unavailable", False),
        (429, "Too Many Requests", False),
        (404, "Not Found", True),  # a wrong SMSRU_API_URL answers so every time
        (200, "<html>maintenance</html>", False),
    ],
)
def test_smsru_errors_say_whether_another_try_can_help(stub, status, body, permanent):
    stub.always(status, body)
    with pytest.raises(ProviderError) as caught:
        smsru(stub).send(PHONE, TEXT)
    assert caught.value.permanent is permanent


def test_network_trouble_is_transient(stub):
    stub.always(200, smsru_sent, delay=1.0)
    with pytest.raises(ProviderError) as slow:
        smsru(stub, timeout=0.2).send(PHONE, TEXT)
    with pytest.raises(ProviderError) as refused:
        SmsRuProvider(api_url=_closed_port_url(), api_id="test-api-id").send(PHONE, TEXT)
    assert (slow.value.permanent, refused.value.permanent) == (False, False)


@pytest.mark.parametrize(
    ("status", "body", "permanent"),
    [
        (400, TELEGRAM_CHAT_NOT_FOUND, True),
        (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}, True),
        (429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 5"}, False),
        (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}, False),
    ],
)
def test_telegram_errors_say_whether_another_try_can_help(stub, status, body, permanent):
    stub.always(status, body)
    with pytest.raises(ProviderError) as caught:
        telegram(stub).send("4242", TEXT)
    assert caught.value.permanent is permanent


@pytest.mark.parametrize(
    ("code", "text", "known"),
    [
        (103, "Сообщение доставлено", True),
        (102, "Сообщение отправлено (в пути)", True),
        (-1, "Сообщение не найдено", False),
    ],
)
def test_smsru_status_call_tells_whether_it_has_the_message(stub, code, text, known):
    stub.always(200, smsru_status(code, text))

    assert smsru(stub).has_message("000000-10000007") is known

    (received,) = stub.requests
    assert received.path == "/sms/status"
    assert received.form == {"api_id": "test-api-id", "sms_id": "000000-10000007", "json": "1"}


def test_smsru_status_call_that_cannot_tell_is_a_provider_error(stub):
    stub.always(503, "Service Unavailable")
    with pytest.raises(ProviderError):
        smsru(stub).has_message("000000-10000007")
