"""The email provider against a local SMTP server speaking real SMTP."""

from __future__ import annotations

import socket

import pytest

from app.messaging.providers import EmailProvider, ProviderError, build_provider
from tests.messaging.smtp_stub import SmtpStub

TEXT = "Цветочная лавка: складская сводка на 29 марта\n\nНиже минимума (1):\n- Роза: 3 stem, минимум 10"


def provider(port: int, **kwargs) -> EmailProvider:
    options = {"use_tls": False, "sender": "Flower CRM <robot@flowers.test>"} | kwargs
    return EmailProvider(host="127.0.0.1", port=port, **options)


def test_the_first_line_is_the_subject_and_the_rest_the_body():
    with SmtpStub() as smtp:
        message_id = provider(smtp.port).send("manager@shop.test", TEXT)

    (mail,) = smtp.mails
    assert mail.mail_from == "robot@flowers.test"
    assert mail.recipients == ["manager@shop.test"]
    assert mail.subject == "Цветочная лавка: складская сводка на 29 марта"
    assert "- Роза: 3 stem, минимум 10" in mail.body
    assert "складская сводка" not in mail.body  # the subject is not repeated in the body
    assert mail.message["Message-ID"] == message_id
    assert message_id.endswith("@flowers.test>")


def test_it_logs_in_when_a_username_is_configured():
    with SmtpStub(password="right") as smtp:
        provider(smtp.port, username="crm", password="right").send("a@shop.test", TEXT)
        with pytest.raises(ProviderError, match=r"refused the login \(code 535\)"):
            provider(smtp.port, username="crm", password="wrong").send("a@shop.test", TEXT)

    assert smtp.logins == ["crm", "crm"]
    assert len(smtp.mails) == 1


def test_a_refused_recipient_is_a_provider_error_that_does_not_name_them():
    with SmtpStub(refuse_recipients=True) as smtp, pytest.raises(ProviderError) as caught:
        provider(smtp.port).send("nobody@shop.test", TEXT)
    assert str(caught.value) == "the mail server refused the recipient"
    assert smtp.mails == []


def test_starttls_required_but_not_offered_is_a_provider_error():
    with SmtpStub() as smtp, pytest.raises(ProviderError, match="does not offer STARTTLS"):
        provider(smtp.port, use_tls=True).send("a@shop.test", TEXT)
    assert smtp.mails == []


def test_an_unreachable_server_or_no_configuration_is_a_provider_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    with pytest.raises(ProviderError, match="the mail server is unreachable"):
        provider(closed_port).send("a@shop.test", TEXT)
    with pytest.raises(ProviderError, match="MAIL_SERVER is empty"):
        EmailProvider(host="", port=25, sender="x@y.test").send("a@shop.test", TEXT)


def test_build_provider_reads_the_mail_settings(app, smtp):
    email = build_provider("email", app.config)
    email.send("owner@shop.test", TEXT)
    (mail,) = smtp.mails
    assert smtp.logins == ["crm"]
    assert mail.recipients == ["owner@shop.test"]


def test_a_long_cyrillic_subject_keeps_its_spaces():
    # Python 3.11's default email policy folds this subject into encoded words and drops a space.
    subject = "Лавка у дома: складская сводка на 26 марта"
    with SmtpStub() as smtp:
        provider(smtp.port).send("a@shop.test", f"{subject}\n\nтекст")
    (mail,) = smtp.mails
    assert mail.subject == subject


def test_a_refused_recipient_is_permanent_an_unreachable_server_transient():
    with SmtpStub(refuse_recipients=True) as smtp, pytest.raises(ProviderError) as refused:
        provider(smtp.port).send("nobody@shop.test", TEXT)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    with pytest.raises(ProviderError) as unreachable:
        provider(closed_port).send("a@shop.test", TEXT)
    assert (refused.value.permanent, unreachable.value.permanent) == (True, False)
