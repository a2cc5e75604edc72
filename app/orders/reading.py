"""Reading orders for the lists and the order card: Core rows, not ORM objects.

The day's list is the busiest read of the admin app on a peak day. Loading 50 orders, their lines, customers and
couriers as ORM objects (identity map, instance state, attribute instrumentation) cost about a third of the
request (docs/performance.md); these readers run the same statements and hand plain rows to the same schemas
(`OrderSchema`, `OrderDetailSchema`), which dump them exactly as they dump an `Order`
(tests/orders/test_reading.py compares the two).

Writes keep using the ORM (`services.get_order`): they need the locked, changed objects anyway.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, or_, select, union

from app.common.pagination import MAX_OFFSET
from app.common.phones import InvalidPhone, normalize_phone
from app.customers.models import Customer
from app.errors import NotFoundError
from app.extensions import db
from app.orders.models import Order, OrderItem, Payment, amount_due, pickup_time
from app.shops.models import Shop
from app.users.models import User

# The tables' columns, not the models' attributes: plain Core statements skip the ORM's result processing.
ORDERS, LINES, PAYMENTS, CUSTOMERS, USERS, SHOPS = (
    model.__table__.c for model in (Order, OrderItem, Payment, Customer, User, Shop)
)
ORDER_COLUMNS = tuple(
    ORDERS[name]
    for name in (
        "id",
        "number",
        "status",
        "fulfillment",
        "source",
        "customer_id",
        "recipient_name",
        "recipient_phone",
        "address",
        "card_text",
        "comment",
        "delivery_date",
        "window_start",
        "window_end",
        "scheduled_at",
        "subtotal",
        "delivery_fee",
        "discount",
        "total",
        "paid_amount",
        "payment_status",
        "promo_code",
        "courier_id",
        "cost_of_goods",
        "version",
        "created_at",
        "updated_at",
    )
)
ITEM_COLUMNS = (
    LINES.order_id,
    LINES.id,
    LINES.product_id,
    LINES.product_name,
    LINES.unit_price,
    LINES.quantity,
    LINES.line_total,
    LINES.needs_assembly,
)
PAYMENT_COLUMNS = (
    PAYMENTS.order_id,
    PAYMENTS.id,
    PAYMENTS.amount,
    PAYMENTS.method,
    PAYMENTS.provider_payment_id,
    PAYMENTS.note,
    PAYMENTS.created_by_id,
    PAYMENTS.created_at,
)
DAY_ORDER = (ORDERS.delivery_date, ORDERS.window_start, ORDERS.id)
# Built once, run with parameters: building a statement costs about as much CPU as running it.
IDS = bindparam("ids", expanding=True)
LINES_OF = select(*ITEM_COLUMNS).where(LINES.order_id.in_(IDS)).order_by(LINES.id)
PAYMENTS_OF = select(*PAYMENT_COLUMNS).where(PAYMENTS.order_id.in_(IDS)).order_by(PAYMENTS.id)
CUSTOMERS_OF = select(CUSTOMERS.id, CUSTOMERS.name, CUSTOMERS.phone).where(CUSTOMERS.id.in_(IDS))
COURIERS_OF = select(USERS.id, USERS.name).where(USERS.id.in_(IDS))
ONE_ORDER = select(*ORDER_COLUMNS).where(ORDERS.id == bindparam("order_id"), ORDERS.shop_id == bindparam("shop_id"))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _orders_matching(shop_id: int, q: str):
    """The ids of the shop's orders whose number, recipient or customer matches `q`.

    Two halves joined by UNION, so that each OR runs over one table and PostgreSQL serves it from that
    table's trigram indexes (ix_orders_*_trgm, ix_customers_*_trgm), not by filtering every order.
    """
    pattern = _like(q.strip())
    digits = "".join(ch for ch in q if ch.isdigit())
    on_order = [
        ORDERS.number.ilike(pattern),
        ORDERS.recipient_name.ilike(pattern),
        ORDERS.recipient_phone.ilike(pattern),
    ]
    on_customer = [CUSTOMERS.name.ilike(pattern), CUSTOMERS.phone.ilike(pattern)]
    if len(digits) >= 3:  # "916 123" finds +79161234567
        on_order.append(ORDERS.recipient_phone.like(f"%{digits}%"))
        on_customer.append(CUSTOMERS.phone.like(f"%{digits}%"))
    try:  # a whole phone as people write it ("8 916 123-45-67") finds its E.164 form
        phone = normalize_phone(q, db.session.scalar(select(SHOPS.country).where(SHOPS.id == shop_id)))
        on_order.append(ORDERS.recipient_phone == phone)
        on_customer.append(CUSTOMERS.phone == phone)
    except InvalidPhone:
        pass
    customers_matching = select(CUSTOMERS.id).where(CUSTOMERS.shop_id == shop_id, or_(*on_customer))
    return union(
        select(ORDERS.id).where(ORDERS.shop_id == shop_id, or_(*on_order)),
        select(ORDERS.id).where(ORDERS.shop_id == shop_id, ORDERS.customer_id.in_(customers_matching)),
    )


def order_filters(
    *,
    shop_id: int,
    statuses: list[str] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    window_start: str | None = None,
    fulfillment: str | None = None,
    courier_id: int | None = None,
    unassigned: bool | None = None,
    customer_id: int | None = None,
    q: str | None = None,
    updated_since: datetime | None = None,
) -> list[ColumnElement[bool]]:
    """The WHERE of GET /orders: the shop's orders matching every filter given."""
    where = [ORDERS.shop_id == shop_id]
    if statuses:
        where.append(ORDERS.status.in_(statuses))
    if date_from:
        where.append(ORDERS.delivery_date >= date_from)
    if date_to:
        where.append(ORDERS.delivery_date <= date_to)
    if window_start:
        where.append(ORDERS.window_start == window_start)
    if fulfillment:
        where.append(ORDERS.fulfillment == fulfillment)
    if courier_id:
        where.append(ORDERS.courier_id == courier_id)
    if unassigned is not None:
        where.append(ORDERS.courier_id.is_(None) if unassigned else ORDERS.courier_id.is_not(None))
    if customer_id:
        where.append(ORDERS.customer_id == customer_id)
    if updated_since:
        where.append(ORDERS.updated_at >= updated_since)
    if q:
        where.append(ORDERS.id.in_(_orders_matching(shop_id, q)))
    return where


def rows_page(stmt: Select, *, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
    """A page of a Core select as dicts, and how many rows the whole select has: two statements."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    offset = min((page - 1) * page_size, MAX_OFFSET)
    rows = db.session.execute(stmt.limit(page_size).offset(offset)).mappings()
    return [dict(row) for row in rows], total or 0


def _by_id(stmt: Select, ids: list[int]) -> dict[int, Any]:
    return {row["id"]: row for row in db.session.execute(stmt, {"ids": ids}).mappings()}


def _grouped(stmt: Select, ids: list[int]) -> defaultdict[int, list[Any]]:
    groups: defaultdict[int, list[Any]] = defaultdict(list)
    for row in db.session.execute(stmt, {"ids": ids}).mappings():
        groups[row["order_id"]].append(row)
    return groups


def _ids(values: Iterable[int | None]) -> list[int]:
    return sorted({value for value in values if value is not None})


def with_details(orders: Sequence[dict[str, Any]], *, payments: bool = False) -> Sequence[dict[str, Any]]:
    """Each order row completed with its lines, customer, courier (and payments): one statement each."""
    order_ids = [order["id"] for order in orders]
    if not order_ids:
        return orders
    lines = _grouped(LINES_OF, order_ids)
    people = _by_id(CUSTOMERS_OF, _ids(o["customer_id"] for o in orders))
    courier_ids = _ids(o["courier_id"] for o in orders)
    couriers = _by_id(COURIERS_OF, courier_ids) if courier_ids else {}
    if payments:
        paid = _grouped(PAYMENTS_OF, order_ids)
    for order in orders:
        order["items"] = lines[order["id"]]
        order["customer"] = people[order["customer_id"]]
        order["courier"] = couriers.get(order["courier_id"])
        order["amount_due"] = amount_due(order["status"], order["total"], order["paid_amount"])
        order["pickup_time"] = pickup_time(order["fulfillment"], order["window_start"])
        if payments:
            order["payments"] = paid[order["id"]]
    return orders


def orders_select(**filters: Any) -> Select:
    """The shop's orders matching the filters (see `order_filters`), by day and window."""
    return select(*ORDER_COLUMNS).where(*order_filters(**filters)).order_by(*DAY_ORDER)


def list_orders(*, page: int, page_size: int, **filters: Any) -> tuple[Sequence[dict[str, Any]], int]:
    """A page of `orders_select(**filters)` with the details; five statements whatever the page size."""
    orders, total = rows_page(orders_select(**filters), page=page, page_size=page_size)
    return with_details(orders), total


def list_customer_orders(
    *, shop_id: int, customer_id: int, page: int, page_size: int
) -> tuple[Sequence[dict[str, Any]], int]:
    """A customer's orders, newest delivery first; 404 when the customer is not this shop's."""
    if not db.session.scalar(select(CUSTOMERS.id).where(CUSTOMERS.id == customer_id, CUSTOMERS.shop_id == shop_id)):
        raise NotFoundError("Customer not found.")
    stmt = (
        select(*ORDER_COLUMNS)
        .where(ORDERS.shop_id == shop_id, ORDERS.customer_id == customer_id)
        .order_by(*(column.desc() for column in DAY_ORDER))
    )
    orders, total = rows_page(stmt, page=page, page_size=page_size)
    return with_details(orders), total


def order_card(*, shop_id: int, order_id: int) -> dict[str, Any]:
    """One order of the shop with its lines, customer, courier and payments; 404 for any other shop's."""
    row = db.session.execute(ONE_ORDER, {"order_id": order_id, "shop_id": shop_id}).mappings().first()
    if row is None:
        raise NotFoundError("Order not found.")
    return with_details([dict(row)], payments=True)[0]
