"""The words of the API's `message`s in Russian and English, without Flask.

A message is written in English and raised as is, its varying parts as named parameters
("The order is “{status}”; ..."); the English sentence is the message id. The error handler
picks the caller's language and renders it here: the Russian catalogue (`app/common/ru.py`)
maps each id to its translation, and status names become words of that language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.common.ru import RU

LANGUAGES = ("ru", "en")
FALLBACK_LANGUAGE = "en"  # no user, no Accept-Language, no shop: the language the ids are written in

# Statuses as people say them; a parameter holding one of these values is shown as its word.
TERMS: dict[str, dict[str, str]] = {
    "en": {
        "new": "new",
        "confirmed": "confirmed",
        "in_production": "in production",
        "ready": "ready",
        "out_for_delivery": "out for delivery",
        "delivered": "delivered",
        "completed": "completed",
        "delivery_failed": "delivery failed",
        "cancelled": "cancelled",
        "pending": "pending",
        "in_progress": "in progress",
        "done": "done",
        "accepted": "accepted",
        "declined": "declined",
        "revoked": "revoked",
        "expired": "expired",
        "queued": "queued",
        "sending": "being sent",
        "sent": "sent",
        "failed": "failed",
        "sms": "SMS",
        "email": "e-mail",
        "telegram": "Telegram",
        "console": "console",
        "database": "database",
        "redis": "Redis",
    },
    "ru": {
        "new": "новый",
        "confirmed": "подтверждён",
        "in_production": "в работе",
        "ready": "готов",
        "out_for_delivery": "у курьера",
        "delivered": "доставлен",
        "completed": "выполнен",
        "delivery_failed": "доставка не удалась",
        "cancelled": "отменён",
        "pending": "ожидает",
        "in_progress": "собирается",
        "done": "готово",
        "accepted": "принято",
        "declined": "отклонено",
        "revoked": "отозвано",
        "expired": "истекло",
        "queued": "в очереди",
        "sending": "отправляется",
        "sent": "отправлено",
        "failed": "не отправлено",
        "sms": "SMS",
        "email": "e-mail",
        "telegram": "Telegram",
        "console": "консоль",
        "database": "база данных",
        "redis": "Redis",
    },
}

CATALOGUES: dict[str, Mapping[str, str]] = {"ru": RU, "en": {}}


def known_language(language: str | None) -> str | None:
    return language if language in LANGUAGES else None


def translate(message: str, params: Mapping[str, Any] | None = None, *, language: str) -> str:
    """`message` (an English id) in `language`, its `params` filled in; an id with no translation stays English."""
    template = CATALOGUES.get(language, {}).get(message, message)
    if not params:
        return template
    terms = TERMS.get(language, TERMS[FALLBACK_LANGUAGE])
    return template.format(
        **{key: terms.get(value, value) if isinstance(value, str) else value for key, value in params.items()}
    )
