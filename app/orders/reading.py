"""Reading orders for the lists and the order card: Core rows, not ORM objects.

The day's list is the busiest read of the admin app on a peak day. Loading 50 orders, their lines, customers and
couriers as ORM objects (identity map, instance state, attribute instrumentation) cost about a third of the
request (docs/performance.md). The order's shape (`ORDER_ROW`, `ORDER_CARD`: the response schemas plus where each
field comes from, app/common/shapes.py) makes both the statements and the JSON: the customer and the courier come
in the page's own join (a page is two statements: the page with its count, and its lines; a card is one, its lines and
payments with it: `Together`), and the rows come out as the schemas dump an `Order` (tests/orders/test_reading.py
compares them).

Writes change ORM objects (locked, then committed) and answer with the card read afresh (`answered`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, bindparam, func, or_, select, union

from app.common.pagination import FilteredList, shaped_page, with_count
from app.common.phones import InvalidPhone, normalize_phone
from app.common.schemas import Shaped, UserRefSchema
from app.common.shapes import Computed, Many, Shape, Together
from app.customers.models import Customer
from app.errors import NotFoundError
from app.events import outbox
from app.extensions import db
from app.orders.models import Order, OrderItem, Payment, amount_due, overpaid_amount, pickup_time
from app.orders.schemas import CustomerRefSchema, OrderDetailSchema, OrderItemSchema, OrderSchema, PaymentSchema
from app.shops.models import Shop
from app.users.models import User

# The tables' columns, not the models' attributes: plain Core statements skip the ORM's result processing.
ORDERS, LINES, PAYMENTS, CUSTOMERS, USERS, SHOPS = (
    model.__table__.c for model in (Order, OrderItem, Payment, Customer, User, Shop)
)
# The customer's and the courier's names come along in the page's own statement.
ORDER_FROM = Order.__table__.join(Customer.__table__, CUSTOMERS.id == ORDERS.customer_id).outerjoin(
    User.__table__, USERS.id == ORDERS.courier_id
)
ORDER_ITEM = Shape(OrderItemSchema, OrderItem.__table__)
_ORDER_SOURCES = {
    "customer": Shape(CustomerRefSchema, Customer.__table__),
    "courier": Shape(UserRefSchema, User.__table__),
    "items": Many(ORDER_ITEM, LINES.order_id),
    "amount_due": Computed(amount_due, ORDERS.status, ORDERS.total, ORDERS.paid_amount),
    "overpaid_amount": Computed(overpaid_amount, ORDERS.status, ORDERS.total, ORDERS.paid_amount),
    "pickup_time": Computed(pickup_time, ORDERS.fulfillment, ORDERS.window_start),
}
# An order in the lists, and the order card (with its payments).
ORDER_ROW = Shape(OrderSchema, ORDER_FROM, **_ORDER_SOURCES)
ORDER_CARD = Shape(
    OrderDetailSchema,
    ORDER_FROM,
    **_ORDER_SOURCES,
    payments=Many(Shape(PaymentSchema, Payment.__table__), PAYMENTS.order_id),
)
DAY_ORDER = (ORDERS.delivery_date, ORDERS.window_start, ORDERS.id)
# Built once, run with parameters: building a statement costs about as much CPU as running it.
ONE_ORDER = Together(
    (ORDER_CARD, ORDER_CARD.select().where(ORDERS.id == bindparam("order_id"), ORDERS.shop_id == bindparam("shop_id")))
)


def _orders_matching(shop_id: int, q: str):
    """The ids of the shop's orders whose number, recipient or customer matches `q`.

    Two halves joined by UNION, so that each OR runs over one table and PostgreSQL serves it from that
    table's trigram indexes (ix_orders_*_trgm, ix_customers_*_trgm), not by filtering every order.
    """
    text = q.strip()
    digits = "".join(ch for ch in q if ch.isdigit())
    on_order = [
        ORDERS.number.icontains(text, autoescape=True),
        ORDERS.recipient_name.icontains(text, autoescape=True),
        ORDERS.recipient_phone.icontains(text, autoescape=True),
    ]
    on_customer = [CUSTOMERS.name.icontains(text, autoescape=True), CUSTOMERS.phone.icontains(text, autoescape=True)]
    if len(digits) >= 3:  # "916 123" finds +79161234567
        on_order.append(ORDERS.recipient_phone.contains(digits, autoescape=True))
        on_customer.append(CUSTOMERS.phone.contains(digits, autoescape=True))
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


# The filters of GET /orders on bound parameters: the statements of each combination of filters are built once
# (`FilteredList`) and run with the request's values; building a statement costs about as much CPU as running it.
FILTERS = {
    "statuses": ORDERS.status.in_(bindparam("statuses", expanding=True)),
    "date_from": ORDERS.delivery_date >= bindparam("date_from"),
    "date_to": ORDERS.delivery_date <= bindparam("date_to"),
    "window_start": ORDERS.window_start == bindparam("window_start"),
    "fulfillment": ORDERS.fulfillment == bindparam("fulfillment"),
    "courier_id": ORDERS.courier_id == bindparam("courier_id"),
    "customer_id": ORDERS.customer_id == bindparam("customer_id"),
    "updated_since": ORDERS.updated_at >= bindparam("updated_since"),
    "unassigned": ORDERS.courier_id.is_(None),
    "assigned": ORDERS.courier_id.is_not(None),
}
OF_SHOP = ORDERS.shop_id == bindparam("shop_id")
NEWEST_FIRST = [column.desc() for column in DAY_ORDER]


def _statements(where: list[ColumnElement[bool]], order_by: Iterable[ColumnElement[Any]]) -> tuple[Select, Select]:
    """How many of the shop's orders match, and a page of them (`limit`, `offset`) with their customers and couriers,
    each row carrying that count too (its last column): PostgreSQL counts once for the page, in the same round
    trip."""
    where = [OF_SHOP, *where]
    count = select(func.count()).select_from(Order.__table__).where(*where)
    order_by = list(order_by)
    # The page is chosen from the orders alone; only its rows are joined to their customers and couriers.
    ids = (
        select(ORDERS.id)
        .where(*where)
        .order_by(*order_by)
        .limit(bindparam("limit", type_=BigInteger))
        .offset(bindparam("offset", type_=BigInteger))
    )
    ids = ids.subquery()
    return count, with_count(ORDER_ROW.select(), count).join(ids, ids.c.id == ORDERS.id).order_by(*order_by)


ORDER_LIST = FilteredList(ORDER_ROW, FILTERS, lambda where: _statements(where, DAY_ORDER))
CUSTOMER_ORDERS = FilteredList(ORDER_ROW, FILTERS, lambda where: _statements(where, NEWEST_FIRST))


def _filters(unassigned: bool | None, filters: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    given = {name: value for name, value in filters.items() if value}
    names = [*given] if unassigned is None else [*given, "unassigned" if unassigned else "assigned"]
    return names, given


def list_statements(
    *, shop_id: int, q: str | None = None, unassigned: bool | None = None, **filters: Any
) -> tuple[tuple[Select, Select], dict[str, Any]]:
    """GET /orders' count and page statements for these filters, with the filters' values (the page's `limit` and
    `offset` are bound by `shaped_page`); `q` searches numbers, names and phones."""
    names, given = _filters(unassigned, filters)
    if q:  # a search's conditions depend on its text: built for this request
        where = [*(FILTERS[name] for name in names), ORDERS.id.in_(_orders_matching(shop_id, q))]
        statements = _statements(where, DAY_ORDER)
    else:
        statements = ORDER_LIST.statements(names)
    return statements, {"shop_id": shop_id, **given}


def list_orders(*, page: int, page_size: int, **filters: Any) -> tuple[list[Shaped], int]:
    """A page of the shop's orders matching every filter given (see `list_statements`), by day and window: two
    statements whatever the page size (the page with the count, its lines)."""
    statements, params = list_statements(**filters)
    return shaped_page(ORDER_ROW, statements, params, page=page, page_size=page_size)


def list_customer_orders(*, shop_id: int, customer_id: int, page: int, page_size: int) -> tuple[list[Shaped], int]:
    """A customer's orders, newest delivery first; 404 when the customer is not this shop's."""
    if not db.session.scalar(select(CUSTOMERS.id).where(CUSTOMERS.id == customer_id, CUSTOMERS.shop_id == shop_id)):
        raise NotFoundError("Customer not found.")
    params = {"shop_id": shop_id, "customer_id": customer_id}
    return CUSTOMER_ORDERS.page(["customer_id"], params, page=page, page_size=page_size)


def order_card(*, shop_id: int, order_id: int) -> Shaped:
    """One order of the shop with its lines, customer, courier and payments; 404 for any other shop's."""
    cards = ONE_ORDER.read({"order_id": order_id, "shop_id": shop_id})
    if not cards:
        raise NotFoundError("Order not found.")
    return cards[0]


# The shop's orders by their ids (the `ids` parameter), for the cards events carry.
CARDS_BY_IDS = ORDER_CARD.select().where(
    ORDERS.id.in_(bindparam("ids", expanding=True)), ORDERS.shop_id == bindparam("shop_id")
)
ORDERS_OF_SHOP = Together((ORDER_CARD, CARDS_BY_IDS))


@outbox.renderer("order")
def order_events_data(shop_id: int, order_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The order cards, as GET /orders/{id} answers them, that events about these orders carry: one statement
    (none when the view has just read the card: outbox.answered)."""
    cards = ORDERS_OF_SHOP.read({"ids": [int(i) for i in order_ids], "shop_id": shop_id})
    return {str(card["id"]): card for card in cards}


def answered(*, shop_id: int, order_id: int, status: int = 200) -> tuple[dict[str, Any], int, dict[str, str]]:
    """A view's answer with the order card: the card, the status and its ETag (after a write, read afresh, or as
    the write's events read it at the commit that just happened)."""
    card = outbox.rendered("order", shop_id, order_id)
    if card is None:
        card = order_card(shop_id=shop_id, order_id=order_id)
        outbox.answered("order", shop_id, order_id, card)  # inside an idempotent request: its events carry it
    return card, status, {"ETag": etag(card["id"], card["version"])}


def etag(order_id: int, version: int) -> str:
    """An order's ETag: it changes with every change of the order, its lines, status or payments."""
    return f'"order-{order_id}-v{version}"'
