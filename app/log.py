"""Logging: JSON lines or readable lines, a request id on every line, secrets and PII masked."""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
import uuid
from datetime import UTC, datetime

from flask import Flask, g, request

from app.common.context import request_id_var

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_API_KEY = re.compile(r"fcrm_[A-Za-z0-9_-]+")  # integration keys, wherever they appear (a body, a URL, a header)
_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s\"',]+")
_SECRET_PAIR = re.compile(
    r"(?i)\b(password|passwd|secret|token|api_id|refresh_token|access_token|authorization)"
    r"(\"?'?\s*[:=]\s*\"?'?)([^\s\"',&}]+)"
)
# "code: 123456", "Код 123456", "Ваш код для входа: 654321"; not a year or a time ("code for 2026-03-08"), not
# digits inside an id ("otp: job ab1234cd"), not a number another word claims ("queue otp ... PID 4567").
_CODE = re.compile(
    r"(?i)\b(code|otp|pin|код)((?:(?!\b(?:pid|id|job|port|process|worker|order)\b)[^\d\n]){1,30}?)"
    r"(?<![A-Za-z0-9])(\d{4,8})(?![\dA-Za-z])(?![-.:/]\d)"
)
# Digits with spaces, dashes and brackets; not glued to words, decimals, IP addresses or UUID groups.
_PHONE_CANDIDATE = re.compile(r"(?<!\w)(?<!\w[-.])\+?\d[\d \t\u00a0()\-]{7,20}\d(?!\w)(?![-.]\w)")
_DATE_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{2}[-./]\d{2}[-./]\d{4}|\d{2}:\d{2}")
_EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def mask_phone(phone: str | None) -> str:
    """`+79161234567` → `+7*******67`: enough for a person to recognise, useless to anyone else."""
    if not phone:
        return ""
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 5:
        return "*" * len(digits)
    return f"+{digits[0]}{'*' * (len(digits) - 3)}{digits[-2:]}"


def _looks_like_phone(text: str) -> bool:
    """A phone as people and SMS.RU write it, not any long number (an SMS.RU message id "202236-1000007", a
    process id, a timestamp): with "+", 10 to 15 digits; without, a Russian number (11 digits from 7 or 8,
    10 from 9); written in groups, the groups after the first short (3-2-2, 4-4, or a last group of 7)."""
    if _DATE_LIKE.search(text):
        return False
    groups = re.findall(r"\d+", text)
    digits = "".join(groups)
    if text.startswith("+"):
        shaped = 10 <= len(digits) <= 15
    else:
        shaped = (len(digits) == 11 and digits[0] in "78") or (len(digits) == 10 and digits[0] == "9")
    if not shaped or len(groups) == 1:
        return shaped
    first, *rest = groups
    return len(first) <= 4 and (all(len(g) <= 4 for g in rest) or (len(rest) == 2 and len(rest[-1]) == 7))


def _mask_phone_match(match: re.Match) -> str:
    text = match.group(0)
    return mask_phone(text) if _looks_like_phone(text) else text


def mask_sensitive(text: str) -> str:
    """Mask tokens, secrets, one-time codes, phone numbers and e-mail addresses in free text."""
    text = _JWT.sub("eyJ***", text)
    text = _API_KEY.sub("fcrm_***", text)
    text = _BEARER.sub(r"\1***", text)
    text = _SECRET_PAIR.sub(r"\1\2***", text)
    text = _CODE.sub(lambda m: f"{m.group(1)}{m.group(2)}{'*' * len(m.group(3))}", text)
    text = _PHONE_CANDIDATE.sub(_mask_phone_match, text)
    text = _EMAIL.sub(r"\1***@\2", text)
    return text


class MaskingFilter(logging.Filter):
    """Rewrites each record's message and traceback with `mask_sensitive` before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_masked", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # bad %-args must not turn a log call into a crash of the request
            message = f"{record.msg} {record.args!r}"
        record.msg = mask_sensitive(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.exc_text:
            record.exc_text = mask_sensitive(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_sensitive(record.stack_info)
        record._masked = True
        return True


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or getattr(record, "request_id", "-")
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


def build_handler(log_format: str) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RequestIdFilter())
    handler.addFilter(MaskingFilter())
    handler._flowercrm = True  # so a second create_app in one process replaces, not duplicates, it
    return handler


def configure_logging(app: Flask) -> None:
    root = logging.getLogger()
    for existing in [h for h in root.handlers if getattr(h, "_flowercrm", False)]:
        root.removeHandler(existing)
    root.addHandler(build_handler(app.config["LOG_FORMAT"]))
    root.setLevel(app.config["LOG_LEVEL"])
    # Flask's own handler would print a second, unmasked copy.
    app.logger.handlers.clear()
    app.logger.propagate = True
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def _incoming_request_id() -> str:
    candidate = request.headers.get("X-Request-ID", "")
    return candidate if _REQUEST_ID.match(candidate) else uuid.uuid4().hex


def register_request_logging(app: Flask) -> None:
    access_log = logging.getLogger("app.access")

    def assign_request_id():
        g.request_id = _incoming_request_id()
        request_id_var.set(g.request_id)
        g.request_started = datetime.now(UTC)

    # Before the extensions' hooks: a 429 from the limiter's hook must carry the id too.
    app.before_request_funcs.setdefault(None, []).insert(0, assign_request_id)

    @app.after_request
    def log_request(response):
        if "request_id" not in g:  # a hook placed before ours answered first
            assign_request_id()
        response.headers["X-Request-ID"] = g.request_id
        elapsed_ms = (datetime.now(UTC) - g.request_started).total_seconds() * 1000
        access_log.info("%s %s -> %s in %.1f ms", request.method, request.path, response.status_code, elapsed_ms)
        return response

    @app.teardown_request
    def forget_request_id(_exc):
        request_id_var.set(None)
