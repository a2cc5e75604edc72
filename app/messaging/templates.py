"""Message texts in Russian and English, chosen by the recipient's language."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"

# Each later kind of message (reminders, digests, order status) adds its template here.
TEMPLATES: dict[str, dict[str, str]] = {
    "otp_code": {
        # "код: 123456" and "code: 123456" are what the log filter masks, should a text ever reach a log.
        "ru": "Flower CRM, ваш код: {code}. Действует {minutes} мин. Никому его не сообщайте.",
        "en": "Flower CRM, your login code: {code}. Valid for {minutes} min. Do not share it.",
    },
    # Occasion reminders to customers: {name} is never empty (see scans.customer_name).
    "occasion_reminder": {
        "ru": "{shop}: {name}, напоминаем, что {date} — {label}. Закажите цветы заранее, и мы доставим их вовремя.",
        "en": "{shop}: {name}, a reminder: {date} is {label}. Order flowers in advance and we deliver on time.",
    },
    # The first line is an email's subject; SMS and Telegram send the whole text.
    "stock_digest": {
        "ru": (
            "{shop}: складская сводка на {date}\n\n"
            "Ниже минимума ({low_count}):\n{low_stock}\n\n"
            "Срок истекает в ближайшие 2 дня ({expiring_count}):\n{expiring}\n\n"
            "Срок истёк, списать ({expired_count}):\n{expired}"
        ),
        "en": (
            "{shop}: stock digest for {date}\n\n"
            "Below the minimum ({low_count}):\n{low_stock}\n\n"
            "Expiring within 2 days ({expiring_count}):\n{expiring}\n\n"
            "Expired, to write off ({expired_count}):\n{expired}"
        ),
    },
}

RU_MONTHS_GENITIVE = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)
EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class UnknownTemplate(KeyError):
    pass


def language_for(language: str | None) -> str:
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def render(template: str, language: str, values: Mapping[str, Any]) -> str:
    """The text of `template` in `language` (Russian when there is no such translation)."""
    try:
        texts = TEMPLATES[template]
    except KeyError:
        raise UnknownTemplate(template) from None
    return texts.get(language_for(language), texts[DEFAULT_LANGUAGE]).format_map(values)


def day_and_month(day: date, language: str) -> str:
    """ "29 марта" or "29 March": how a reminder names a date (the year is implied)."""
    if language_for(language) == "en":
        return f"{day.day} {EN_MONTHS[day.month - 1]}"
    return f"{day.day} {RU_MONTHS_GENITIVE[day.month - 1]}"
