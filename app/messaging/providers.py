"""Message providers: one `send(to, text) -> provider message id` per channel, raising ProviderError.

Nothing here logs a recipient, a message text or a code; error texts name what the provider said,
never what was sent or to whom (and never the URL: Telegram's carries the bot token).
"""

from __future__ import annotations

import http.client
import json
import logging
import smtplib
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from typing import IO, Any, Protocol

from app.log import mask_phone, mask_sensitive

log = logging.getLogger(__name__)

CHANNELS = ("console", "sms", "telegram", "email")
HTTP_TIMEOUT = 10  # seconds; a slow provider fails the try and the job retries with backoff


class ProviderError(Exception):
    """The provider did not take the message. The text is safe to log and to store in the message log.

    `permanent` when trying again cannot help (a number with no route, a blocked bot, a refused
    recipient, a wrong configuration); otherwise (network, 5xx, the provider's temporary refusals) a
    later try may succeed.
    """

    def __init__(self, text: str, *, permanent: bool = False):
        super().__init__(text)
        self.permanent = permanent


class MessageProvider(Protocol):
    channel: str

    def send(self, to: str, text: str) -> str:
        """Send `text` to `to`; the provider's message id, or ProviderError."""


def mask_recipient(channel: str, to: str) -> str:
    """What the message log and the logs show of a recipient: enough to recognise, not to reuse."""
    if channel == "telegram":
        return f"chat …{to[-2:]}" if len(to) > 4 else "chat …"
    if "@" in to:
        local, _, domain = to.partition("@")
        return f"{local[:1]}***@{domain}"
    return mask_phone(to)


class ConsoleProvider:
    """Dev mode's "SMS": the message goes to the terminal so the developer can read the code.

    It prints to stdout instead of logging because the log filter masks codes ("код: ******"),
    which is right for logs and useless here; outside development it prints nothing.
    """

    channel = "console"

    def __init__(self, *, echo: bool, stream: IO[str] | None = None):
        self.echo = echo
        self.stream = stream

    def send(self, to: str, text: str) -> str:
        message_id = f"console-{uuid.uuid4().hex[:12]}"
        if self.echo:
            print(
                f"[console message to {mask_recipient('sms', to)}] {text}", file=self.stream or sys.stdout, flush=True
            )
        else:
            log.warning("console provider outside development: message %s was not shown anywhere", message_id)
        return message_id


def _post(
    name: str, url: str, *, form: Mapping[str, Any] | None = None, payload: Any = None, timeout: float
) -> tuple[int, bytes]:
    """POST a form or JSON; (HTTP status, body). Anything that is not an HTTP answer is a ProviderError."""
    if payload is not None:
        data, content_type = json.dumps(payload).encode(), "application/json"
    else:
        data, content_type = urllib.parse.urlencode(form or {}).encode(), "application/x-www-form-urlencoded"
    try:
        request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": content_type})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()
    except OSError as exc:
        raise _network_error(name, exc) from None
    except http.client.HTTPException:
        raise ProviderError(f"{name} answered something that is not HTTP") from None
    except ValueError:  # a malformed URL; its text would show the bot token
        raise ProviderError(f"{name}'s configured URL is not valid", permanent=True) from None


def _http_error_is_permanent(status: int) -> bool:
    """A 5xx or 429 is the provider's passing trouble; any other refusal answers the same next time."""
    return not (status >= 500 or status == 429)


def _network_error(name: str, exc: OSError) -> ProviderError:
    reason = getattr(exc, "reason", exc)  # urllib wraps connection failures in URLError
    if isinstance(reason, TimeoutError) or "timed out" in str(reason):
        return ProviderError(f"{name} did not answer in time")
    return ProviderError(f"{name} is unreachable ({type(reason).__name__})")


def _json_or_none(body: bytes) -> dict | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


# SMS.RU's status codes (https://sms.ru/api/send) that mean "not now" rather than "never": 220 the service is
# temporarily unavailable, 231 the per-minute limit for one number, 500 its server error. Every other code
# (200 wrong api_id, 201 no money, 202 bad number, 207 no route, 209 stop list, 230 the number's daily limit ...)
# answers the same on the next try.
SMSRU_TRANSIENT_CODES = frozenset({220, 231, 500})
# SMS.RU's per-message status (https://sms.ru/api/status): -1 it has no such message; 100 and up it has it.
SMSRU_UNKNOWN_MESSAGE = -1


def _smsru_code(data: dict) -> int | None:
    try:
        return int(data.get("status_code"))
    except (TypeError, ValueError):
        return None


def _smsru_refusal(prefix: str, data: dict) -> ProviderError:
    code = _smsru_code(data)
    return ProviderError(f"{prefix}: {_status_text(data)}", permanent=code not in SMSRU_TRANSIENT_CODES)


class SmsRuProvider:
    """SMS.RU HTTP API: POST {url}/sms/send with api_id, to, msg, json=1; its JSON status is the truth."""

    channel = "sms"

    def __init__(self, *, api_url: str, api_id: str, timeout: float = HTTP_TIMEOUT):
        self.api_url = api_url.rstrip("/")
        self.api_id = api_id
        self.timeout = timeout

    def send(self, to: str, text: str) -> str:
        if not self.api_id:
            raise ProviderError("SMS.RU is not configured (SMSRU_API_ID is empty)", permanent=True)
        number = to.lstrip("+")  # SMS.RU keys its answer by the number as digits
        form = {"api_id": self.api_id, "to": number, "msg": text, "json": 1}
        status, body = _post("SMS.RU", f"{self.api_url}/sms/send", form=form, timeout=self.timeout)
        data = self._answer(status, body)
        result = (data.get("sms") or {}).get(number)
        if not isinstance(result, dict):
            raise ProviderError("SMS.RU's answer has no status for the number")
        if result.get("status") != "OK" or not result.get("sms_id"):
            raise _smsru_refusal("SMS.RU refused the message", result)
        return str(result["sms_id"])

    def has_message(self, sms_id: str) -> bool:
        """Whether SMS.RU has the message `sms_id` (queued, on its way, delivered or not): its status call.

        False only when SMS.RU says it has no such message; ProviderError when it cannot tell now.
        """
        form = {"api_id": self.api_id, "sms_id": sms_id, "json": 1}
        status, body = _post("SMS.RU", f"{self.api_url}/sms/status", form=form, timeout=self.timeout)
        result = (self._answer(status, body).get("sms") or {}).get(sms_id)
        if not isinstance(result, dict):
            raise ProviderError("SMS.RU's status answer has no status for the message")
        if result.get("status") == "OK":
            return True
        if _smsru_code(result) == SMSRU_UNKNOWN_MESSAGE:
            return False
        raise _smsru_refusal("SMS.RU could not tell the message's status", result)

    @staticmethod
    def _answer(status: int, body: bytes) -> dict:
        """The JSON of an answer SMS.RU accepted the request with; ProviderError for anything else."""
        data = _json_or_none(body)
        if status != 200 or data is None:
            raise ProviderError(
                f"SMS.RU answered HTTP {status}" + ("" if data is not None else " without JSON"),
                permanent=status != 200 and _http_error_is_permanent(status),
            )
        if data.get("status") != "OK":
            raise _smsru_refusal("SMS.RU refused the request", data)
        return data


def _status_text(data: dict) -> str:
    text = str(data.get("status_text") or "no reason given")
    code = data.get("status_code")
    return mask_sensitive(f"{text} (code {code})" if code is not None else text)[:300]


class TelegramProvider:
    """Telegram Bot API: POST {url}/bot{token}/sendMessage with chat_id and text; "ok": true is sent."""

    channel = "telegram"

    def __init__(self, *, api_url: str, token: str, timeout: float = HTTP_TIMEOUT):
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def send(self, to: str, text: str) -> str:
        if not self.token:
            raise ProviderError("Telegram is not configured (TELEGRAM_BOT_TOKEN is empty)", permanent=True)
        url = f"{self.api_url}/bot{self.token}/sendMessage"
        status, body = _post("Telegram", url, payload={"chat_id": to, "text": text}, timeout=self.timeout)
        data = _json_or_none(body)
        if data is None:
            raise ProviderError(f"Telegram answered HTTP {status} without JSON")
        message_id = (data.get("result") or {}).get("message_id") if data.get("ok") is True else None
        if message_id is None:
            reason = mask_sensitive(str(data.get("description") or "no reason given"))[:300]
            # 400 "chat not found", 403 "bot was blocked by the user" stay so; 429 and 5xx pass.
            raise ProviderError(
                f"Telegram refused the message (HTTP {status}): {reason}", permanent=_http_error_is_permanent(status)
            )
        return str(message_id)


class EmailProvider:
    """SMTP (MAIL_SERVER ...): the text's first line is the subject, the rest the body; its Message-ID is the id."""

    channel = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str = "",
        password: str = "",
        use_tls: bool = True,
        timeout: float = HTTP_TIMEOUT,
    ):
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.use_tls = use_tls
        self.timeout = timeout

    def send(self, to: str, text: str) -> str:
        if not self.host:
            raise ProviderError("email is not configured (MAIL_SERVER is empty)", permanent=True)
        subject, _, body = text.partition("\n")
        # The legacy Header splits a long Cyrillic subject into encoded words without losing spaces,
        # which the newer email policy's folding does on Python 3.11 ("складская сводка" → "складскаясводка").
        message = MIMEText(body.strip() or subject, "plain", "utf-8")
        message["Subject"] = Header(subject.strip(), "utf-8")
        message["From"] = formataddr(parseaddr(self.sender), charset="utf-8")
        message["To"] = to
        message["Date"] = formatdate()
        # Our own domain, not socket.getfqdn(): that can wait seconds on DNS.
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or "flower-crm.invalid"
        message["Message-ID"] = make_msgid(domain=domain)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.use_tls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused:
            raise ProviderError("the mail server refused the recipient", permanent=True) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise ProviderError(f"the mail server refused the login (code {exc.smtp_code})", permanent=True) from None
        except smtplib.SMTPNotSupportedError:
            raise ProviderError(
                "the mail server does not offer STARTTLS (MAIL_USE_TLS is on)", permanent=True
            ) from None
        except smtplib.SMTPResponseException as exc:
            # SMTP's own rule: 4xx is "try again later", 5xx is "no".
            raise ProviderError(
                f"the mail server refused the message (code {exc.smtp_code})", permanent=exc.smtp_code >= 500
            ) from None
        except smtplib.SMTPException as exc:
            raise ProviderError(f"the mail server failed ({type(exc).__name__})") from None
        except (OSError, ssl.SSLError) as exc:
            raise _network_error("the mail server", exc) from None
        return message["Message-ID"]


def build_provider(channel: str, config: Mapping[str, Any]) -> MessageProvider:
    """The provider for a message log row's channel, configured from the app's config."""
    if channel == "console":
        return ConsoleProvider(echo=config.get("ENV_NAME") == "development")
    if channel == "sms":
        return SmsRuProvider(api_url=config["SMSRU_API_URL"], api_id=config["SMSRU_API_ID"])
    if channel == "telegram":
        return TelegramProvider(api_url=config["TELEGRAM_API_URL"], token=config["TELEGRAM_BOT_TOKEN"])
    if channel == "email":
        return EmailProvider(
            host=config.get("MAIL_SERVER") or "",
            port=int(config.get("MAIL_PORT") or 587),
            sender=config.get("MAIL_FROM") or "Flower CRM <noreply@example.com>",
            username=config.get("MAIL_USERNAME") or "",
            password=config.get("MAIL_PASSWORD") or "",
            use_tls=bool(config.get("MAIL_USE_TLS", True)),
        )
    raise ValueError(f"no provider for channel {channel!r}")


def sms_channel(config: Mapping[str, Any]) -> str:
    """The channel SMS_PROVIDER selects for phone messages."""
    provider = config.get("SMS_PROVIDER", "console")
    if provider == "smsru":
        return "sms"
    if provider == "console":
        return "console"
    raise ValueError(f"SMS_PROVIDER={provider!r} is not one of console, smsru")
