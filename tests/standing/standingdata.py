"""Standing orders for tests: a shop that takes orders (tests/orders/orderdata.py), series made by the service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select

from app.catalogue.models import Product
from app.extensions import db
from app.messaging.models import MessageLog
from app.orders import services as orders
from app.orders.models import Order
from app.orders.schemas import OrderCreateSchema
from app.standing import services as standing
from app.standing.models import StandingOccurrence, StandingOrder
from app.standing.schemas import StandingOrderCreateSchema
from app.users.models import User
from tests.factories import MembershipFactory, UserFactory
from tests.orders.orderdata import MORNING, Front

FRIDAYS = {"frequency": "weekly", "weekdays": [4]}
NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)  # Monday 4 January 2027, 12:00 in Moscow
FRIDAY = date(2027, 1, 8)


def template(front: Front, **fields: Any) -> dict[str, Any]:
    """POST /orders' body without the date: a bouquet delivered in the morning window."""
    body = {
        "customer": {"name": "Olga Petrova", "phone": "+79161112233"},
        "recipient_name": "Irina Sokolova",
        "recipient_phone": "+79162223344",
        "fulfillment": "delivery",
        "address": "Moscow, Arbat 10, flat 5",
        "window_start": MORNING,
        "card_text": "For you, as every Friday",
        "items": [{"product_id": front.bouquet.id, "quantity": 1}],
    }
    body.update(fields)
    return body


def body(front: Front, *, starts_on: date, rule: dict | None = None, **fields: Any) -> dict[str, Any]:
    """The JSON body of POST /standing-orders."""
    return {
        "template": fields.pop("template", None) or template(front),
        "rule": rule or FRIDAYS,
        "starts_on": starts_on.isoformat(),
        **fields,
    }


def make_series(front: Front, *, now: datetime, starts_on: date, **fields: Any) -> StandingOrder:
    data = StandingOrderCreateSchema().load(body(front, starts_on=starts_on, **fields))
    return standing.create_standing_order(shop_id=front.shop_id, actor_id=None, data=data, now=now)


@dataclass(frozen=True)
class OrderedFriday:
    """A Friday series whose first date, the 8th, finds an order already in its morning window."""

    manager: User  # the one the scan tells of what it could not place
    first: Order  # the one-off order that came before the series
    series: StandingOrder


def series_after_a_friday_order(shop, front: Front, *, product: Product) -> OrderedFriday:
    """An English-speaking manager; a one-off delivery of `product` on Friday the 8th in the morning window,
    ordered at NOW; then a Friday series from the 1st, not yet scanned."""
    manager = UserFactory(language="en")
    MembershipFactory(user=manager, shop=shop, role="manager")
    first = orders.create_order(
        shop_id=shop.id,
        actor_id=None,
        data=OrderCreateSchema().load(
            {
                "customer": {"name": "Somebody", "phone": "+79165556677"},
                "fulfillment": "delivery",
                "address": "Tverskaya 1",
                "delivery_date": FRIDAY.isoformat(),
                "window_start": MORNING,
                "items": [{"product_id": product.id, "quantity": 1}],
            }
        ),
        now=NOW,
    )
    series = make_series(front, now=NOW, starts_on=date(2027, 1, 1))
    return OrderedFriday(manager=manager, first=first, series=series)


def alerts_for(shop_id: int) -> list[MessageLog]:
    """What the managers were told of the shop's standing orders."""
    return list(
        db.session.scalars(select(MessageLog).where(MessageLog.shop_id == shop_id, MessageLog.kind == "standing_order"))
    )


def occurrences_of(series_id: int) -> list[StandingOccurrence]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(StandingOccurrence)
            .where(StandingOccurrence.standing_order_id == series_id)
            .order_by(StandingOccurrence.date)
        )
    )


def orders_of(shop_id: int) -> list[Order]:
    db.session.expire_all()
    return list(db.session.scalars(select(Order).where(Order.shop_id == shop_id).order_by(Order.delivery_date)))


def count_rows(model, **where: Any) -> int:
    stmt = select(func.count()).select_from(model)
    for name, value in where.items():
        stmt = stmt.where(getattr(model, name) == value)
    return db.session.scalar(stmt)
