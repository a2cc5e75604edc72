"""Standing orders for tests: a shop that takes orders (tests/orders/orderdata.py), series made by the service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.orders.models import Order
from app.standing import services as standing
from app.standing.models import StandingOccurrence, StandingOrder
from app.standing.schemas import StandingOrderCreateSchema
from tests.orders.orderdata import MORNING, Front

FRIDAYS = {"frequency": "weekly", "weekdays": [4]}


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
