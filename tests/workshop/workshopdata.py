"""A shop that takes orders with a daily limit of florist minutes."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.extensions import db
from app.shops.models import Shop
from app.workshop.models import WorkshopBooking
from tests.orders.orderdata import Front, open_shop

# The test bouquet: 5 roses + 1 fern, assembled → 5 + 6 = 11 minutes by the default rule.
BOUQUET_MINUTES = 11


def limited_shop(shop, minutes: int | None, **kwargs) -> Front:
    """`shop` takes orders (open_shop) and has `minutes` florist minutes a day."""
    front = open_shop(shop, **kwargs)
    set_daily_minutes(shop.id, minutes)
    return front


def set_daily_minutes(shop_id: int, minutes: int | None) -> None:
    shop = db.session.get(Shop, shop_id)
    shop.settings = {**(shop.settings or {}), "workshop_minutes_per_day": minutes}
    db.session.commit()


def held(shop_id: int, day: date) -> int:
    """The florist minutes the day's orders hold."""
    db.session.expire_all()
    return (
        db.session.scalar(
            select(WorkshopBooking.minutes).where(
                WorkshopBooking.shop_id == shop_id, WorkshopBooking.delivery_date == day
            )
        )
        or 0
    )
