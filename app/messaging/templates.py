"""Message texts in Russian and English, chosen by the recipient's language."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"

TEMPLATES: dict[str, dict[str, str]] = {
    "otp_code": {
        # "код: 123456" and "code: 123456" are what the log filter masks, should a text ever reach a log.
        "ru": "Flower CRM, ваш код: {code}. Действует {minutes} мин. Никому его не сообщайте.",
        "en": "Flower CRM, your login code: {code}. Valid for {minutes} min. Do not share it.",
    },
    # To a person who already has an account: they join the shop only by accepting in the app.
    "staff_invitation": {
        "ru": "Flower CRM: магазин «{shop}» приглашает вас в команду. Откройте приложение, чтобы принять "
        "или отклонить приглашение (действует {days} дн.).",
        "en": "Flower CRM: the shop {shop} invites you to its staff. Open the app to accept or decline "
        "(valid for {days} days).",
    },
    # Occasion reminders to customers: {name} is never empty (see scans.customer_name).
    "occasion_reminder": {
        "ru": "{shop}: {name}, напоминаем, что {date} — {label}. Закажите цветы заранее, и мы доставим их вовремя.",
        "en": "{shop}: {name}, a reminder: {date} is {label}. Order flowers in advance and we deliver on time.",
    },
    # Staff reminders: times are the shop's local time.
    "courier_reminder": {
        "ru": "{shop}: заказ {number} — доставка {date}, окно {window}. Через час открывается: пора забирать букет.",
        "en": "{shop}: order {number} is delivered {date}, window {window}. It opens in an hour: time to pick it up.",
    },
    "florist_reminder": {
        "ru": "{shop}: «{product}» ×{quantity} к заказу {number} должен быть готов к {due}. Сборка ещё не начата.",
        "en": "{shop}: {product} ×{quantity} for order {number} is due at {due} and not started yet.",
    },
    "florist_reminder_unclaimed": {
        "ru": "{shop}: «{product}» ×{quantity} к заказу {number} нужно собрать к {due}, но задачу никто не взял.",
        "en": "{shop}: {product} ×{quantity} for order {number} is due at {due} and nobody has claimed it.",
    },
    "overdue_delivery": {
        "ru": "{shop}: заказ {number} не доставлен, окно {window} {date} закрылось в {since}. Статус: {status}.",
        "en": "{shop}: order {number} is not delivered; window {window} on {date} closed at {since}. Status: {status}.",
    },
    "overdue_production": {
        "ru": "{shop}: заказ {number} ({date}, {window}): сборка должна была начаться к {since}, но не начата.",
        "en": "{shop}: order {number} ({date}, {window}) was due in the workshop at {since} and is not started.",
    },
    # Order status messages to the customer, when the shop turns them on.
    "order_out_for_delivery": {
        "ru": "{shop}: заказ {number} у курьера, доставка {date}, {window}. {link}",
        "en": "{shop}: order {number} is on its way, arrives {date}, {window}. {link}",
    },
    "order_delivered": {
        "ru": "{shop}: заказ {number} доставлен. Спасибо! {link}",
        "en": "{shop}: order {number} has been delivered. Thank you! {link}",
    },
    # To the managers: stems a confirmed order held were written off (or counted missing) and nothing stood in.
    "stock_short": {
        "ru": "{shop}: заказ {number} ({date}, {window}) остался без части цветов после списания или "
        "инвентаризации: {items}. Примите поставку или измените заказ, иначе его не собрать.",
        "en": "{shop}: order {number} ({date}, {window}) is short after a write-off or a count: {items}. "
        "Receive a supply or change the order; it cannot be assembled until then.",
    },
    # To the managers: windows with more orders than their capacity after a change of the windows (app/slots).
    "slot_over_booked": {
        "ru": "{shop}: в окнах доставки заказов больше, чем мест, после изменения окон: {windows}. "
        "Заказы сохранены; перенесите часть из них или увеличьте вместимость.",
        "en": "{shop}: delivery windows now hold more orders than their capacity: {windows}. "
        "No order was dropped; move some of them or raise the capacity.",
    },
    # To the shop's admins: a webhook endpoint stopped receiving events (app/webhooks/alerts.py).
    "webhook_disabled_failing": {
        "ru": "Flower CRM, {shop}: вебхук на {host} отключён — получатель не принимает события уже {hours} ч. "
        "Исправьте получателя и включите вебхук снова; пропущенные события можно отправить повторно.",
        "en": "Flower CRM, {shop}: the webhook to {host} is disabled: the receiver has failed for {hours} h. "
        "Fix the receiver and enable the webhook again; missed events can be redelivered.",
    },
    "webhook_disabled_gone": {
        "ru": "Flower CRM, {shop}: вебхук на {host} отключён — получатель ответил 410 Gone. "
        "Если это ошибка, исправьте получателя и включите вебхук снова.",
        "en": "Flower CRM, {shop}: the webhook to {host} is disabled: the receiver answered 410 Gone. "
        "If that was a mistake, fix the receiver and enable the webhook again.",
    },
    # To the managers: an order the shop's website or a marketplace sent in (app/storefront), already confirmed.
    "storefront_order_website": {
        "ru": "{shop}: новый заказ {number} с сайта — {date}, {window}, на сумму {total} (оплачено {paid}). "
        "Заказ подтверждён, цветы зарезервированы.",
        "en": "{shop}: new order {number} from the website: {date}, {window}, total {total} (paid {paid}). "
        "It is confirmed and its flowers reserved.",
    },
    "storefront_order_marketplace": {
        "ru": "{shop}: новый заказ {number} с маркетплейса — {date}, {window}, на сумму {total} (оплачено {paid}). "
        "Заказ подтверждён, цветы зарезервированы.",
        "en": "{shop}: new order {number} from a marketplace: {date}, {window}, total {total} (paid {paid}). "
        "It is confirmed and its flowers reserved.",
    },
    # To the managers: a standing order's date was made outside the rules, or could not be made (app/standing).
    "standing_order_problem": {
        "ru": "{shop}: постоянный заказ №{series} на {date}: заказ {number} создан как новый, но {problem}. "
        "Проверьте его.",
        "en": "{shop}: standing order #{series} for {date}: order {number} was made as new, but {problem}. "
        "Please check it.",
    },
    "standing_order_failed": {
        "ru": "{shop}: постоянный заказ №{series} на {date}: заказ не создан — {problem}.",
        "en": "{shop}: standing order #{series} for {date}: no order was made: {problem}.",
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


OPTIONAL_VALUES = {"link": ""}


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
    # A message queued before its template gained a value (the tracking link) still renders, without it.
    values = {**OPTIONAL_VALUES, **values}
    return texts.get(language_for(language), texts[DEFAULT_LANGUAGE]).format_map(values).rstrip()


def day_and_month(day: date, language: str) -> str:
    """ "29 марта" or "29 March": how a reminder names a date (the year is implied)."""
    if language_for(language) == "en":
        return f"{day.day} {EN_MONTHS[day.month - 1]}"
    return f"{day.day} {RU_MONTHS_GENITIVE[day.month - 1]}"
