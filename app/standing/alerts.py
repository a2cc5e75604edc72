"""Telling the shop's managers and admins that a standing order's date went wrong, in their language.

Queued in the scan's transaction and sent after its commit, through the staff alert path of app/messaging
(the same as `stock_short`): one message per date and person, whatever retries the scan makes.
"""

from __future__ import annotations

from datetime import date

from app.messaging import templates
from app.messaging.scans import managers_of
from app.messaging.services import channel_for_user, queue_message
from app.orders.models import Order
from app.shops.models import Shop

# Why a date's order was placed outside the rules, or not made; codes are kept on the occurrence.
PROBLEMS: dict[str, dict[str, str]] = {
    "workshop_full": {
        "ru": "минуты флористов на этот день исчерпаны: заказ создан без них и займёт их при подтверждении",
        "en": "the florists' minutes that day are spent: the order holds none until it is confirmed",
    },
    "window_full": {
        "ru": "окно доставки заполнено: заказ принят сверх вместимости",
        "en": "the delivery window is full: the order was taken over capacity",
    },
    "window_closed": {
        "ru": "окно доставки уже не принимало заказы: заказ принят сверх правил",
        "en": "the delivery window no longer took orders: the order was taken anyway",
    },
    "window_unknown": {
        "ru": "в этот день у магазина нет такого окна доставки (выходной?): стоимость доставки не начислена",
        "en": "the shop has no such delivery window that day (a closed day?): no delivery fee was charged",
    },
    "product_off_sale": {
        "ru": "часть товаров снята с продажи: они взяты по последней цене",
        "en": "some products are off sale: they were taken at their last price",
    },
    "promo_refused": {
        "ru": "промокод не принят: заказ создан без скидки",
        "en": "the promo code was refused: the order has no discount",
    },
    "pickup_passed": {"ru": "время самовывоза уже прошло", "en": "the pickup time had passed"},
    "date_passed": {
        "ru": "дата уже прошла, когда подошло время создать заказ",
        "en": "the date had passed when its order was due",
    },
    "customer_gone": {"ru": "клиента больше нет (данные удалены)", "en": "the customer's data was erased"},
    "refused": {"ru": "приём заказов отказал", "en": "order intake refused it"},
}


def describe(codes: list[str], language: str) -> str:
    language = templates.language_for(language)
    return "; ".join(PROBLEMS[code][language] for code in codes)


def tell_managers(*, shop: Shop, series_id: int, day: date, codes: list[str], order: Order | None) -> int:
    """Queue one alert per manager and admin of the shop; how many were queued (none twice for one date)."""
    queued = 0
    for person in managers_of([shop.id]).get(shop.id, []):
        channel, to = channel_for_user(person)
        language = templates.language_for(person.language)
        context = {
            "shop": shop.name,
            "series": series_id,
            "date": templates.day_and_month(day, language),
            "problem": describe(codes, language),
            "number": order.number if order is not None else "",
        }
        message = queue_message(
            kind="standing_order",
            channel=channel,
            to=to,
            template="standing_order_problem" if order is not None else "standing_order_failed",
            language=language,
            occurrence_key=f"standing_order:{series_id}:{day.isoformat()}:{person.id}",
            context=context,
            shop_id=shop.id,
            user_id=person.id,
            order_id=order.id if order is not None else None,
            description=f"send standing order alert for series {series_id}",
        )
        queued += message is not None
    return queued
