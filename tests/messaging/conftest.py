"""Fixtures for the messaging tests: a stub provider server and the app pointed at it."""

from __future__ import annotations

import pytest

from tests.messaging.smtp_stub import SmtpStub
from tests.messaging.stub_server import StubServer, smsru_sent, telegram_sent

BOT_TOKEN = "123456:test-bot-token"


@pytest.fixture
def stub():
    with StubServer() as server:
        yield server


@pytest.fixture
def sms_stub(app, stub, monkeypatch):
    """SMS goes to SMS.RU, which is the stub; it accepts every message unless a test scripts otherwise."""
    monkeypatch.setitem(app.config, "SMS_PROVIDER", "smsru")
    monkeypatch.setitem(app.config, "SMSRU_API_URL", stub.url)
    monkeypatch.setitem(app.config, "SMSRU_API_ID", "test-api-id")
    stub.always(200, smsru_sent)
    return stub


@pytest.fixture
def telegram_stub(app, stub, monkeypatch):
    monkeypatch.setitem(app.config, "TELEGRAM_API_URL", stub.url)
    monkeypatch.setitem(app.config, "TELEGRAM_BOT_TOKEN", BOT_TOKEN)
    stub.always(200, telegram_sent)
    return stub


@pytest.fixture
def smtp(app, monkeypatch):
    """Email goes to a local SMTP stub (plain SMTP, no STARTTLS) with a login."""
    with SmtpStub(password="mail-password") as server:
        monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
        monkeypatch.setitem(app.config, "MAIL_PORT", server.port)
        monkeypatch.setitem(app.config, "MAIL_USE_TLS", False)
        monkeypatch.setitem(app.config, "MAIL_USERNAME", "crm")
        monkeypatch.setitem(app.config, "MAIL_PASSWORD", "mail-password")
        monkeypatch.setitem(app.config, "MAIL_FROM", "Flower CRM <robot@flowers.test>")
        yield server
