"""What the customer's tracking page shows, and for how long.

The page is public (whoever holds the link), so it shows only what the sender of the flowers may see:
the shop's name and public phone, the order's number, its window, a timeline of its statuses in the shop's
time, the street and house it goes to (never the flat: app/tracking/address.py), that the courier is on
the way, when it was delivered, the proof photo and the florist's photo of the bouquet (signed links).
Never a phone number of the customer or the recipient, an amount, the recipient's name, the card's text or
a member of staff's name.

The link dies TRACKING_DAYS after delivery or cancellation (410), and at once when the customer is
anonymized (`forget_links` clears the token: 404).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from sqlalchemy import select, update

from app.common.types import utcnow
from app.courier.models import Delivery
from app.extensions import db
from app.orders.models import Order, OrderStatus, OrderStatusChange
from app.production.models import ProductionTask
from app.shops.models import Shop
from app.shops.services import effective_settings, shop_language
from app.storage import signed_url
from app.tracking.address import street_and_house
from app.tracking.links import tracking_url

__all__ = ["tracking_url", "forget_links", "page", "words", "TrackingGone", "TrackingNotFound"]

TRACKING_DAYS = 14
# A token is 32 URL-safe characters; anything else is not one of ours (and costs no query).
TOKEN_LENGTHS = range(20, 65)
S = OrderStatus
CLOSING = (S.DELIVERED.value, S.COMPLETED.value, S.CANCELLED.value)

RU_MONTHS = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
             "ноября", "декабря")  # fmt: skip
EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")  # fmt: skip

# What the customer reads for each status (delivery / pickup where they differ).
STATUS_TEXT: dict[str, dict[str, str]] = {
    "new": {"ru": "Заказ принят", "en": "Order received"},
    "confirmed": {"ru": "Заказ подтверждён", "en": "Order confirmed"},
    "in_production": {"ru": "Флорист собирает букет", "en": "The florist is making the bouquet"},
    "ready": {"ru": "Букет готов", "en": "The bouquet is ready"},
    "out_for_delivery": {"ru": "Курьер в пути", "en": "The courier is on the way"},
    "delivered": {"ru": "Доставлен", "en": "Delivered"},
    "completed": {"ru": "Выполнен", "en": "Completed"},
    "delivery_failed": {
        "ru": "Не удалось доставить, магазин свяжется с вами",
        "en": "Delivery failed; the shop will get in touch",
    },
    "cancelled": {"ru": "Заказ отменён", "en": "Order cancelled"},
}
PICKUP_TEXT = {"completed": {"ru": "Заказ получен", "en": "Picked up"}}
# The page's own words.
WORDS: dict[str, dict[str, str]] = {
    "title": {"ru": "Заказ {number}", "en": "Order {number}"},
    "window": {"ru": "Доставка {date}, {window}", "en": "Delivery on {date}, {window}"},
    "pickup": {"ru": "Самовывоз {date}, {window}", "en": "Pickup on {date} at {window}"},
    "to": {"ru": "Адрес", "en": "Address"},
    "on_the_way": {"ru": "Курьер в пути", "en": "The courier is on the way"},
    "delivered_at": {"ru": "Доставлен в {time}", "en": "Delivered at {time}"},
    "picked_up_at": {"ru": "Получен в {time}", "en": "Picked up at {time}"},
    "history": {"ru": "Статусы", "en": "Timeline"},
    "bouquet": {"ru": "Ваш букет", "en": "Your bouquet"},
    "proof": {"ru": "Фото при вручении", "en": "At the door"},
    "call": {"ru": "Вопросы: позвоните в магазин", "en": "Questions? Call the shop"},
    "gone_title": {"ru": "Ссылка больше не действует", "en": "This link has expired"},
    "gone_text": {
        "ru": "Отслеживание заказа доступно {days} дней после доставки или отмены.",
        "en": "An order can be tracked for {days} days after it is delivered or cancelled.",
    },
    "lang": {"ru": "ru", "en": "en"},
}


class TrackingNotFound(LookupError):
    """No order has this token (a guess, a typo, or the customer was anonymized)."""


@dataclass(frozen=True)
class TrackingGone(Exception):
    """The order is closed for longer than TRACKING_DAYS: the page is 410, in the shop's language."""

    language: str
    shop_name: str


def forget_links(shop_id: int, order_ids: list[int]) -> None:
    """The customer is anonymized: their orders' tracking links die at once (404). Does not commit."""
    if order_ids:
        db.session.execute(
            update(Order).where(Order.shop_id == shop_id, Order.id.in_(order_ids)).values(tracking_token=None)
        )


def _zone(shop: Shop) -> ZoneInfo:
    try:
        return ZoneInfo(shop.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _day(value, language: str) -> str:
    months = RU_MONTHS if language == "ru" else EN_MONTHS
    return f"{value.day} {months[value.month - 1]}"


def _status_text(status: str, fulfillment: str, language: str) -> str:
    texts = PICKUP_TEXT.get(status, STATUS_TEXT.get(status, {})) if fulfillment == "pickup" else STATUS_TEXT[status]
    return texts.get(language) or STATUS_TEXT[status][language]


def find_order(token: str) -> tuple[Order, Shop]:
    """The order and its shop behind a token; TrackingNotFound or TrackingGone."""
    if len(token) not in TOKEN_LENGTHS:
        raise TrackingNotFound(token)
    found = db.session.execute(
        select(Order, Shop).join(Shop, Shop.id == Order.shop_id).where(Order.tracking_token == token)
    ).first()
    if found is None:
        raise TrackingNotFound(token)
    return found[0], found[1]


def language_of(shop: Shop) -> str:
    return shop_language(shop.country)


def page(token: str, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything the page (and its JSON) shows: four statements whatever the order's history."""
    order, shop = find_order(token)
    language = language_of(shop)
    zone = _zone(shop)
    history = db.session.execute(
        select(OrderStatusChange.to_status, OrderStatusChange.created_at)
        .where(OrderStatusChange.order_id == order.id)
        .order_by(OrderStatusChange.created_at, OrderStatusChange.id)
    ).all()
    closed_at = next((at for status, at in history if status in CLOSING), None)
    if order.status in CLOSING:
        closed_at = closed_at or order.updated_at
        expires_at = closed_at + timedelta(days=TRACKING_DAYS)
        if (now or utcnow()) >= expires_at:
            raise TrackingGone(language=language, shop_name=shop.name)
    else:
        expires_at = None
    proof_key = db.session.scalar(select(Delivery.photo_key).where(Delivery.order_id == order.id))
    bouquet_key = db.session.scalar(
        select(ProductionTask.photo_key)
        .where(ProductionTask.order_id == order.id, ProductionTask.photo_key.is_not(None))
        .order_by(ProductionTask.photo_uploaded_at.desc(), ProductionTask.id.desc())
        .limit(1)
    )

    timeline = []
    for status, at in history:
        local = at.astimezone(zone)
        timeline.append(
            {
                "status": status,
                "text": _status_text(status, order.fulfillment, language),
                "at": local.isoformat(timespec="seconds"),
                "date": _day(local, language),
                "time": local.strftime("%H:%M"),
            }
        )
    delivered = next((step for step in timeline if step["status"] in (S.DELIVERED.value, S.COMPLETED.value)), None)
    is_pickup = order.fulfillment == "pickup"
    window = f"{order.window_start}–{order.window_end}" if order.window_end else order.window_start
    say = words(language)
    delivered_at = delivered["time"] if delivered and order.status in (S.DELIVERED.value, S.COMPLETED.value) else None
    when = (say["pickup"] if is_pickup else say["window"]).format(
        date=_day(order.delivery_date, language), window=window
    )
    data = {
        "language": language,
        "shop": {"name": shop.name, "phone": effective_settings(shop)["public_phone"]},
        "order": {
            "number": order.number,
            "status": order.status,
            "status_text": _status_text(order.status, order.fulfillment, language),
            "fulfillment": order.fulfillment,
            "date": order.delivery_date.isoformat(),
            "window": window,
            "when": when,
        },
        "address": None if is_pickup else street_and_house(order.address),
        "on_the_way": order.status == S.OUT_FOR_DELIVERY.value,
        "delivered_at": delivered_at,
        "delivered_text": (
            (say["picked_up_at"] if is_pickup else say["delivered_at"]).format(time=delivered_at)
            if delivered_at
            else None
        ),
        "timeline": timeline,
        "delivery_photo_url": signed_url(proof_key),
        "bouquet_photo_url": signed_url(bouquet_key),
        "expires_at": expires_at.isoformat(timespec="seconds") if expires_at else None,
        "poll_seconds": int(current_app.config.get("TRACKING_POLL_SECONDS", 20)),
    }
    # What the page's script compares to know the page is out of date (signed links change hourly: not in it).
    state = "|".join([order.status, str(len(timeline)), proof_key or "", bouquet_key or ""])
    data["state"] = hashlib.sha256(state.encode()).hexdigest()[:16]
    return data


def words(language: str) -> dict[str, str]:
    return {name: texts[language] for name, texts in WORDS.items()}
