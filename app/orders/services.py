"""Order rules: intake, changes while the order is new or confirmed, the intake transitions, payments.

Every public function that changes something owns its commit (or takes `commit=False` when a
caller, such as the demo seed, commits several steps together) and rolls back what it did when a
rule says no, so a refused request leaves nothing half done.

Locks are taken in one order everywhere: the order row, then stock items (ascending ids, by the
stock service), then delivery windows (by date and start), then the promo code, then the number
counter, then the day's florist minutes (app/workshop, by date); so concurrent requests queue instead of
deadlocking.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, Select, and_, bindparam, exists, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.audit import services as audit
from app.audit.models import AuditEntry
from app.catalogue.models import Product
from app.common import memo
from app.common.pagination import page_of
from app.common.phones import InvalidPhone, normalize_phone
from app.common.types import utcnow
from app.customers import services as customers
from app.customers.models import Customer
from app.errors import ConflictError, NotFoundError, PreconditionFailed, PreconditionRequired, RuleViolation
from app.extensions import db
from app.orders import reading, transitions
from app.orders.models import (
    EDITABLE_STATUSES,
    ZERO,
    Fulfillment,
    Order,
    OrderItem,
    OrderStatus,
    OrderStatusChange,
    Payment,
    PaymentMethod,
    PaymentStatus,
)
from app.orders.schemas import OrderExportSchema, StatusChangeSchema
from app.orders.transitions import lock_order
from app.production import services as production
from app.promos import services as promos
from app.promos.models import PromoCode
from app.shops.models import Shop
from app.slots import services as slots
from app.users.models import User
from app.warehouse import stock
from app.workshop import services as workshop

MAX_MONEY = Decimal("9999999999.99")  # NUMERIC(12, 2)
# Personal data: the audit log says these changed, never what they said (they are erased on anonymization).
PERSONAL_FIELDS = frozenset({"recipient_name", "recipient_phone", "address", "card_text", "comment"})
# Free text an order's audit entries hold verbatim (a status change's comment, a proof photo's file key).
FREE_TEXT_IN_AUDIT = frozenset({"comment", "photo_key"})
ORDER_AUDIT_FIELDS = [
    "number",
    "status",
    "fulfillment",
    "source",
    "customer_id",
    "delivery_date",
    "window_start",
    "subtotal",
    "delivery_fee",
    "discount",
    "total",
    "promo_code",
]


# --- production (app/production): the florists' tasks follow the order ---------------------------


def on_confirmed(order: Order, actor_id: int | None, recipes: list[Row]) -> None:
    """In the confirming transaction, after the stock is reserved: one task per line that needs assembly."""
    production.plan_tasks(order, actor_id=actor_id, confirming=recipes)


def on_changed(order: Order, actor_id: int | None) -> None:
    """In the transaction of a PATCH that changed a confirmed order: its pending tasks follow the new lines,
    window (due time) and card."""
    if order.status != OrderStatus.CONFIRMED.value:
        return
    production.plan_tasks(order, actor_id=actor_id)


def on_cancelled(order: Order, actor_id: int | None) -> None:
    """In the cancelling transaction, after stock, window and promo use were given back: open tasks cancelled."""
    production.cancel_tasks(order, actor_id=actor_id)


# --- reading ---------------------------------------------------------------------------------


def order_tag(order: Order) -> str:
    """The order's ETag: it changes with every change of the order, its lines, status or payments."""
    return reading.etag(order.id, order.version)


def _matches(if_match: str, tag: str) -> bool:
    candidates = {c.strip().removeprefix("W/") for c in if_match.split(",")}
    return "*" in candidates or tag in candidates


def _with_details(stmt: Select) -> Select:
    return stmt.options(
        selectinload(Order.items),
        selectinload(Order.customer),
        # The courier's shop memberships are not shown: do not let User's eager memberships load.
        selectinload(Order.courier).lazyload(User.memberships),
    )


def list_history(*, shop_id: int, order_id: int, page: int, page_size: int) -> tuple[list[OrderStatusChange], int]:
    """The order's status changes, oldest first."""
    if not db.session.scalar(select(Order.id).where(Order.id == order_id, Order.shop_id == shop_id)):
        raise NotFoundError("Order not found.")
    stmt = (
        select(OrderStatusChange)
        .where(OrderStatusChange.order_id == order_id, OrderStatusChange.shop_id == shop_id)
        .options(selectinload(OrderStatusChange.actor).lazyload(User.memberships))
        .order_by(OrderStatusChange.id)
    )
    return page_of(stmt, page=page, page_size=page_size)


# --- building blocks -------------------------------------------------------------------------


@contextmanager
def _all_or_nothing() -> Iterator[None]:
    """Undo everything this request changed when a rule says no halfway through."""
    try:
        yield
    except Exception:
        db.session.rollback()
        raise


def _shop(shop_id: int) -> Shop:
    shop = db.session.get(Shop, shop_id)
    if shop is None:
        raise NotFoundError("Shop not found.")
    return shop


# The shop with the customers an intake names by id, in one statement: the ones of this shop come along (an outer join
# finds none of another shop's, which `_resolve_customer` then refuses).
_SHOP_AND_CUSTOMERS = (
    select(Shop, Customer)
    .outerjoin(Customer, and_(Customer.shop_id == Shop.id, Customer.id.in_(bindparam("customer_ids", expanding=True))))
    .where(Shop.id == bindparam("shop_id"))
)


def _shop_and_customers(shop_id: int, batch: list[dict[str, Any]]) -> tuple[Shop, dict[int, Customer]]:
    """The shop, and those of the batch's customers named by id that are this shop's, by id."""
    wanted = sorted({data["customer_id"] for data in batch if data.get("customer_id") is not None})
    if not wanted:
        return _shop(shop_id), {}
    rows = db.session.execute(_SHOP_AND_CUSTOMERS, {"shop_id": shop_id, "customer_ids": wanted}).all()
    if not rows:
        raise NotFoundError("Shop not found.")
    return rows[0][0], {customer.id: customer for _, customer in rows if customer is not None}


def _phone(shop: Shop, raw: str, *path: str) -> str:
    """E.164 with the shop's country as the default region, or 422 naming the field."""
    try:
        return normalize_phone(raw, shop.country)
    except InvalidPhone as exc:
        errors: Any = [str(exc)]
        for key in reversed(path):
            errors = {key: errors}
        raise RuleViolation("Not a valid phone number.", errors=errors) from None


def _masked(changes: dict[str, list[Any]]) -> dict[str, list[Any]]:
    return {field: (["***", "***"] if field in PERSONAL_FIELDS else values) for field, values in changes.items()}


def _resolve_customer(shop: Shop, named: dict[int, Customer], data: dict[str, Any], actor_id: int | None) -> Customer:
    """The customer named by id (among `named`, this shop's, read with the shop), or found by phone in this shop, or
    created from name and phone."""
    if data.get("customer_id") is not None:
        customer = named.get(data["customer_id"])
        if customer is None or customer.shop_id != shop.id or customer.anonymized_at is not None:
            raise RuleViolation("No such customer.", errors={"customer_id": ["No such customer in this shop."]})
        return customer
    given = data["customer"]
    phone = _phone(shop, given["phone"], "customer", "phone")  # validated here, so errors name customer.phone
    return customers.find_or_create_customer(shop_id=shop.id, actor_id=actor_id, name=given["name"], phone=phone)


def _products(shop_id: int, wanted: set[int]) -> dict[int, Product]:
    """The shop's products of these ids (one statement; in a batch of intakes each product is read once)."""
    cached: dict[int, Product | None] = memo.once(("products", shop_id), dict)
    missing = wanted - cached.keys()
    if missing:
        rows = db.session.execute(
            select(Product, workshop.recipe_units()).where(Product.shop_id == shop_id, Product.id.in_(missing))
        ).all()
        found = {product.id: product for product, _units in rows}
        cached.update({product_id: found.get(product_id) for product_id in missing})
        # the florist minutes of these products, so taking the order's minutes reads nothing more
        workshop.known_minutes().update({p.id: (p.florist_minutes, units) for p, units in rows})
    return {product_id: product for product_id in wanted if (product := cached[product_id]) is not None}


def _price_lines(
    shop_id: int, lines: list[dict[str, Any]], keep: dict[int, OrderItem] | None = None, off_sale: bool = False
) -> list[OrderItem]:
    """Order lines at the catalogue's prices; a product already on the order keeps the price it was sold at.
    `off_sale`: products taken off sale are sold at their last catalogue price too."""
    keep = keep or {}
    wanted = {line["product_id"] for line in lines}
    products = {
        product_id: product
        for product_id, product in _products(shop_id, wanted).items()
        if off_sale or product_id in keep or (product.is_active and product.archived_at is None)
    }
    unknown = {
        i: {"product_id": ["No such product on sale in this shop."]}
        for i, line in enumerate(lines)
        if line["product_id"] not in products
    }
    if unknown:
        raise RuleViolation(
            "Some products are not on sale here; remove them from the order.", errors={"items": unknown}
        )
    priced = []
    for line in lines:
        product = products[line["product_id"]]
        kept = keep.get(product.id)
        unit_price = kept.unit_price if kept is not None else product.price
        priced.append(
            OrderItem(
                shop_id=shop_id,
                product_id=product.id,
                product_name=kept.product_name if kept is not None else product.name,
                unit_price=unit_price,
                quantity=line["quantity"],
                line_total=unit_price * line["quantity"],
                needs_assembly=kept.needs_assembly if kept is not None else product.needs_assembly,
            )
        )
    _check_total(_subtotal(priced))
    return priced


def price_lines(*, shop_id: int, lines: list[dict[str, Any]]) -> list[OrderItem]:
    """What intake would charge for these lines now (lines of no order, added to nothing): a quote's prices.

    RuleViolation (422) naming each line whose product is not on sale, as intake says it.
    """
    return _price_lines(shop_id, lines)


def subtotal_of(lines: list[OrderItem]) -> Decimal:
    return _subtotal(lines)


def components_needed(lines: list[OrderItem]) -> list[tuple[int, Decimal]]:
    """The stock confirming these lines would reserve, by the recipes: (item id, quantity)."""
    return _components_needed(lines)


def _subtotal(lines: list[OrderItem]) -> Decimal:
    return sum((line.line_total for line in lines), ZERO)


def _check_total(total: Decimal) -> None:
    if total > MAX_MONEY:
        raise RuleViolation(
            "The order is too large for the books; split it into several orders.",
            errors={"items": [f"At most {MAX_MONEY}."]},
        )


def _at(shop: Shop, day: date, hh_mm: str) -> datetime:
    hours, minutes = (int(part) for part in hh_mm.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=ZoneInfo(shop.timezone)).astimezone(UTC)


def _pickup_at(shop: Shop, day: date, hh_mm: str, now: datetime) -> datetime:
    moment = _at(shop, day, hh_mm)
    if moment < now:
        raise RuleViolation(
            "The pickup time has passed; choose another one.", errors={"pickup_time": ["That time has passed."]}
        )
    return moment


# Plain SQL that PostgreSQL and SQLite both speak: their dialects' INSERT ... ON CONFLICT constructs have no cache
# key, so SQLAlchemy would compile them again for every order; text is compiled once.
_NEXT_NUMBERS = text(
    """
    INSERT INTO order_number_counters (shop_id, month_day, last_number) VALUES (:shop_id, :month_day, :count)
    ON CONFLICT (shop_id, month_day) DO UPDATE SET last_number = order_number_counters.last_number + :count
    RETURNING last_number
    """
)


def _next_numbers(shop: Shop, now: datetime, count: int) -> list[str]:
    """The next `count` numbers, "MMDD-NNNN", from the shop's counter for today, taken atomically in one statement
    (and locked to commit)."""
    month_day = now.astimezone(ZoneInfo(shop.timezone)).strftime("%m%d")
    last = db.session.execute(_NEXT_NUMBERS, {"shop_id": shop.id, "month_day": month_day, "count": count}).scalar_one()
    return [f"{month_day}-{number:04d}" for number in range(last - count + 1, last + 1)]


def _components_needed(lines: list[OrderItem], recipes: list[Row] | None = None) -> list[tuple[int, Decimal]]:
    """Stock the lines take by their products' recipes (read unless given, `production.recipe_rows`):
    (item id, quantity), each item once."""
    per_product: dict[int, int] = defaultdict(int)
    for line in lines:
        per_product[line.product_id] += line.quantity
    if not per_product:
        return []
    needed: dict[int, Decimal] = defaultdict(lambda: Decimal(0))
    for row in production.recipe_rows(set(per_product)) if recipes is None else recipes:
        needed[row.item_id] += row.per_unit * per_product[row.product_id]
    return sorted(needed.items())


def _has_payments(order: Order) -> bool:
    return bool(db.session.scalar(select(exists().where(Payment.order_id == order.id))))


def _settle_payment_status(order: Order, *, has_payments: bool) -> None:
    if order.overpaid_amount > 0:  # never silent: the order says money is to go back
        order.payment_status = PaymentStatus.OVERPAID.value
    elif order.paid_amount > 0:
        paid = order.paid_amount >= order.total
        order.payment_status = (PaymentStatus.PAID if paid else PaymentStatus.PARTLY_PAID).value
    elif has_payments:  # money came in and all of it went back
        order.payment_status = PaymentStatus.REFUNDED.value
    else:
        order.payment_status = (PaymentStatus.PAID if order.total == 0 else PaymentStatus.UNPAID).value


# --- create ----------------------------------------------------------------------------------


def create_order(
    *,
    shop_id: int,
    actor_id: int | None,
    data: dict[str, Any],
    now: datetime | None = None,
    commit: bool = True,
    lenient: bool = False,
    workshop_lenient: bool = False,
) -> Order:
    """Take an order: prices from the catalogue, the window's capacity and the promo's use taken,
    totals computed, a number given, all in one transaction (`create_orders` with a batch of one).

    `lenient` (a standing order's date, whose order is never dropped: app/standing): a full, closed or gone
    window is booked over its capacity (a gone one with no fee), products off sale are sold at their last
    price and a pickup time already past is kept; the caller says why in the order's comment.
    `workshop_lenient` (such a date on a day whose florist minutes are spent): the order holds none until it is
    confirmed. `data["override_workshop"]` (a manager's choice) takes the minutes over the day's limit."""
    return create_orders(
        shop_id=shop_id,
        actor_id=actor_id,
        batch=[data],
        now=now,
        commit=commit,
        lenient=lenient,
        workshop_lenient=workshop_lenient,
    )[0]


def create_orders(
    *,
    shop_id: int,
    actor_id: int | None,
    batch: list[dict[str, Any]],
    now: datetime | None = None,
    commit: bool = True,
    lenient: bool = False,
    workshop_lenient: bool = False,
) -> list[Order]:
    """The intake of several orders of one shop in one transaction, all or nothing (the standing orders' scan;
    POST /orders is a batch of one). Each order is priced and its window checked as alone; then the counters are
    taken in the lock order, each key once for the whole batch: a window's places (`taken + n <= capacity`,
    refused as full when they do not all fit), each promo use, the shop's numbers, a date's florist minutes; then
    the orders and their lines are inserted together (one flush), their history, audit rows and `order.created`
    events after them (one more)."""
    now = now or utcnow()
    if not batch:
        return []
    with _all_or_nothing(), memo.batch():
        shop, named = _shop_and_customers(shop_id, batch)
        drafts = [_draft(shop, named, actor_id, data, now, lenient=lenient) for data in batch]
        _take_windows(shop_id, drafts)
        for (order, _window), data in zip(drafts, batch, strict=True):
            _redeem(order, data, now)
            _check_total(order.total)
        orders = [order for order, _window in drafts]
        for order, number in zip(orders, _next_numbers(shop, now, len(orders)), strict=True):
            order.number = number
        held = workshop.hold_for_new_orders(
            orders, override=any(data.get("override_workshop") for data in batch), lenient=workshop_lenient
        )
        db.session.add_all(orders)
        db.session.flush()
        for order, order_held in zip(orders, held, strict=True):
            transitions.record_history(order=order, source=None, target=OrderStatus.NEW.value, actor_id=actor_id)
            workshop.audit_override(order, order_held, actor_id)
            audit.record(
                shop_id=shop_id,
                actor_id=actor_id,
                action="create",
                entity_type="order",
                entity_id=order.id,
                changes={
                    **audit.snapshot(order, ORDER_AUDIT_FIELDS),
                    "items": [None, _line_key(order.items)],
                },
            )
            transitions.order_event(order, "order.created")
        _commit_or_flush(commit)
    return orders


def _draft(
    shop: Shop, named: dict[int, Customer], actor_id: int | None, data: dict[str, Any], now: datetime, *, lenient: bool
) -> tuple[Order, slots.SlotInfo | None]:
    """One order of `create_orders`, not yet added and with no number: priced, and the window it is to take a
    place of (None: nothing to take, or already taken over capacity by a `lenient` date)."""
    shop_id = shop.id
    customer = _resolve_customer(shop, named, data, actor_id)
    recipient_phone = (
        _phone(shop, data["recipient_phone"], "recipient_phone") if data.get("recipient_phone") else customer.phone
    )
    lines = _price_lines(shop_id, data["items"], off_sale=lenient)
    subtotal = _subtotal(lines)
    day = data["delivery_date"]
    window = None
    if data["fulfillment"] == Fulfillment.DELIVERY.value and lenient:
        booked = slots.take_over_capacity(shop_id=shop_id, delivery_date=day, window_start=data["window_start"])
        window_start = data["window_start"]
        window_end = booked.end if booked else None
        delivery_fee = booked.delivery_fee if booked else ZERO
        scheduled_at = booked.starts_at_utc if booked else _at(shop, day, window_start)
    elif data["fulfillment"] == Fulfillment.DELIVERY.value:
        window = slots.open_window(shop_id=shop_id, delivery_date=day, window_start=data["window_start"], now=now)
        window_start, window_end = window.start, window.end
        delivery_fee, scheduled_at = window.delivery_fee, window.starts_at_utc
    elif lenient:
        window_start, window_end = data["pickup_time"], None
        delivery_fee, scheduled_at = ZERO, _at(shop, day, data["pickup_time"])
    else:
        window_start, window_end = data["pickup_time"], None
        delivery_fee, scheduled_at = ZERO, _pickup_at(shop, day, data["pickup_time"], now)
    order = Order(
        shop_id=shop_id,
        status=OrderStatus.NEW.value,
        fulfillment=data["fulfillment"],
        source=data.get("source") or "phone",
        customer=customer,
        recipient_name=data.get("recipient_name") or customer.name,
        recipient_phone=recipient_phone,
        address=data.get("address") if data["fulfillment"] == Fulfillment.DELIVERY.value else None,
        card_text=data.get("card_text") or "",
        comment=data.get("comment") or "",
        delivery_date=day,
        window_start=window_start,
        window_end=window_end,
        scheduled_at=scheduled_at,
        subtotal=subtotal,
        delivery_fee=delivery_fee,
        discount=ZERO,
        total=subtotal + delivery_fee,
        paid_amount=ZERO,
        created_by_id=actor_id,
        version=1,
        items=lines,
    )
    _settle_payment_status(order, has_payments=False)
    return order, window


def _take_windows(shop_id: int, drafts: list[tuple[Order, slots.SlotInfo | None]]) -> None:
    """The drafts' window places, each window's in one statement, in (date, start) order (the lock order)."""
    taken = [((order.delivery_date, window.start), window) for order, window in drafts if window is not None]
    windows = dict(taken)
    for (day, start), places in sorted(Counter(key for key, _window in taken).items()):
        slots.take_places(shop_id=shop_id, delivery_date=day, window=windows[(day, start)], places=places)


def _redeem(order: Order, data: dict[str, Any], now: datetime) -> None:
    """The promo code's use counted and its discount given."""
    if not data.get("promo_code"):
        return
    redemption = promos.redeem(shop_id=order.shop_id, code=data["promo_code"], subtotal=order.subtotal, now=now)
    order.discount = min(redemption.discount, order.subtotal)
    order.promo_code_id, order.promo_code = redemption.promo_code_id, redemption.code
    order.total = order.subtotal - order.discount + order.delivery_fee
    _settle_payment_status(order, has_payments=False)


# --- change ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Schedule:
    delivery_date: date
    window_start: str


def _require_editable(order: Order) -> None:
    if order.status not in EDITABLE_STATUSES:
        raise ConflictError(
            "The order is “{status}” and can no longer be changed; only new and confirmed orders change.",
            errors={"status": [f"The order is {order.status}; only new and confirmed orders change."]},
            params={"status": order.status},
        )


def _move_window(order: Order, new: _Schedule, now: datetime) -> tuple[dict[str, list[Any]], Decimal]:
    """Free the old window and take the new one, in (date, start) order so two swaps cannot deadlock;
    the changes and the new window's fee."""
    old = _Schedule(order.delivery_date, order.window_start)
    steps = sorted([(old, "release"), (new, "take")], key=lambda step: (step[0].delivery_date, step[0].window_start))
    info = None
    for schedule, action in steps:
        where = {
            "shop_id": order.shop_id,
            "delivery_date": schedule.delivery_date,
            "window_start": schedule.window_start,
        }
        if action == "release":
            slots.release(**where)
        else:
            info = slots.take(**where, now=now)
    changes = audit.apply_changes(
        order,
        {
            "delivery_date": new.delivery_date,
            "window_start": info.start,
            "window_end": info.end,
            "scheduled_at": info.starts_at_utc,
        },
    )
    return changes, info.delivery_fee


def _reschedule(order: Order, shop: Shop, data: dict[str, Any], now: datetime) -> tuple[dict[str, list[Any]], Decimal]:
    """Another day, window or pickup time; the changes and the delivery fee that goes with them."""
    delivery = order.fulfillment == Fulfillment.DELIVERY.value
    if delivery and "pickup_time" in data:
        raise RuleViolation("A delivery has a window, not a pickup time.", errors={"pickup_time": ["Only for pickup."]})
    if not delivery and "window_start" in data:
        raise RuleViolation("A pickup has a time, not a window.", errors={"window_start": ["Only for delivery."]})
    if delivery:
        new = _Schedule(data.get("delivery_date", order.delivery_date), data.get("window_start", order.window_start))
        if new == _Schedule(order.delivery_date, order.window_start):
            return {}, order.delivery_fee
        return _move_window(order, new, now)
    day = data.get("delivery_date", order.delivery_date)
    at = data.get("pickup_time", order.window_start)
    if (day, at) == (order.delivery_date, order.window_start):
        return {}, order.delivery_fee
    moment = _pickup_at(shop, day, at, now)
    return audit.apply_changes(order, {"delivery_date": day, "window_start": at, "scheduled_at": moment}), ZERO


def _line_key(lines: list[OrderItem]) -> list[list[Any]]:
    return [[line.product_id, line.quantity, str(line.unit_price)] for line in lines]


def _discount_on(order: Order, subtotal: Decimal) -> Decimal:
    """The order's promo discount on a new subtotal; below the code's minimum is 422."""
    if order.promo_code_id is None:
        return ZERO
    promo = db.session.get(PromoCode, order.promo_code_id)
    if promo is None:  # the code was deleted: the discount given stands, within the subtotal
        return min(order.discount, subtotal)
    if subtotal < promo.min_order_total:
        params = {"code": promo.code, "minimum": f"{promo.min_order_total:.2f}"}
        raise RuleViolation(
            "The promo code {code} needs a subtotal of at least {minimum}; add items or remove the code.",
            errors={"items": ["The promo code {code} needs a subtotal of at least {minimum}.".format(**params)]},
            params=params,
        )
    return promos.discount_for(promo, subtotal)


def _rereserve(order: Order, actor_id: int | None) -> None:
    """A confirmed order's stock follows its new lines: all released, all reserved again, or 409.

    The old and the new items are locked together in ascending order first: releasing (old items) and
    then reserving (new ones) would otherwise take a lower id after a higher one, and deadlock with a
    confirm that locks the same items in ascending order.
    """
    needed = _components_needed(order.items)
    held = stock.held_item_ids(shop_id=order.shop_id, order_id=order.id)
    stock.lock_items(shop_id=order.shop_id, item_ids=held | {item_id for item_id, _ in needed})
    stock.release(shop_id=order.shop_id, order_id=order.id, actor_id=actor_id, reason="order lines changed")
    if needed:
        stock.reserve(shop_id=order.shop_id, order_id=order.id, lines=needed, actor_id=actor_id)
    order.stock_short = False  # every line is held in full again


def update_order(
    *,
    shop_id: int,
    order_id: int,
    actor_id: int | None,
    data: dict[str, Any],
    if_match: str | None,
    now: datetime | None = None,
) -> Order:
    """Change a new or confirmed order, only if nobody changed it since the version the caller read."""
    now = now or utcnow()
    if if_match is None:
        raise PreconditionRequired(
            "Send If-Match with the ETag you read, so nobody's change is overwritten.",
            errors={"headers": {"If-Match": ["Required."]}},
        )
    with _all_or_nothing():
        order = lock_order(shop_id=shop_id, order_id=order_id)
        if not _matches(if_match, order_tag(order)):
            raise PreconditionFailed(
                "The order was changed since you read it; reload it and try again.",
                errors={"headers": {"If-Match": ["Does not match the current version."]}},
            )
        _require_editable(order)
        shop = _shop(shop_id)
        if "address" in data and order.fulfillment == Fulfillment.PICKUP.value:
            raise RuleViolation("A pickup has no address.", errors={"address": ["Only for delivery."]})
        simple = {k: data[k] for k in ("recipient_name", "address", "card_text", "comment") if k in data}
        if "recipient_phone" in data:
            simple["recipient_phone"] = _phone(shop, data["recipient_phone"], "recipient_phone")
        schedule = {k: data[k] for k in ("delivery_date", "window_start", "pickup_time") if k in data}

        changes = audit.apply_changes(order, simple)
        subtotal, discount = order.subtotal, order.discount
        if "items" in data:
            priced = _price_lines(shop_id, data["items"], keep={line.product_id: line for line in order.items})
            if sorted(_line_key(priced)) != sorted(_line_key(order.items)):
                changes["items"] = [_line_key(order.items), _line_key(priced)]
                subtotal = _subtotal(priced)
                discount = _discount_on(order, subtotal)
                order.items = priced
                if order.status == OrderStatus.CONFIRMED.value:
                    _rereserve(order, actor_id)
        # Stock before windows, as cancelling takes them: two requests never wait on each other in a circle.
        old_day = order.delivery_date
        moved, delivery_fee = _reschedule(order, shop, schedule, now)
        changes.update(moved)
        if "items" in changes or order.delivery_date != old_day:  # the florist minutes follow
            workshop.follow_change(
                order, old_day=old_day, actor_id=actor_id, override=bool(data.get("override_workshop"))
            )
        total = subtotal - discount + delivery_fee
        _check_total(total)
        # Money changes together: the row's CHECK holds total = subtotal − discount + fee at every flush.
        money = {"subtotal": subtotal, "discount": discount, "delivery_fee": delivery_fee, "total": total}
        changes.update(audit.apply_changes(order, money))
        if changes:
            _settle_payment_status(order, has_payments=_has_payments(order))
            order.version += 1
            order.updated_at = now
            audit.record(
                shop_id=shop_id,
                actor_id=actor_id,
                action="update",
                entity_type="order",
                entity_id=order.id,
                changes=_masked(changes),
            )
            transitions.order_changed(order, "order.updated")
            on_changed(order, actor_id)
        db.session.commit()
    return order


# --- status ----------------------------------------------------------------------------------


def allowed_for(order: Order) -> list[str]:
    """The statuses POST /orders/{id}/status can move this order to now."""
    targets = transitions.allowed_targets(order.status, by_status_endpoint=True)
    if OrderStatus.READY.value in targets and any(line.needs_assembly for line in order.items):
        targets.remove(OrderStatus.READY.value)  # it becomes ready when the florists finish
    if order.fulfillment != Fulfillment.PICKUP.value and OrderStatus.COMPLETED.value in targets:
        targets.remove(OrderStatus.COMPLETED.value)  # only a pickup is handed over in the shop
    return targets


def _confirm(order: Order, actor_id: int | None, comment: str) -> None:
    recipes = production.lines_with_recipes(order)  # for the stock and the tasks
    needed = _components_needed(order.items, recipes)
    if needed:
        stock.reserve(shop_id=order.shop_id, order_id=order.id, lines=needed, actor_id=actor_id)
    on_confirmed(order, actor_id, recipes)


def _make_ready(order: Order, actor_id: int | None, comment: str) -> None:
    # Nothing to assemble: the reserved stems leave the shelf with the order now.
    order.cost_of_goods = stock.consume(shop_id=order.shop_id, order_id=order.id, actor_id=actor_id)


def _hand_over(order: Order, actor_id: int | None, comment: str) -> None:
    """A pickup leaves the shop: nothing more to do than the status."""


def _cancel(order: Order, actor_id: int | None, comment: str) -> None:
    stock.release(shop_id=order.shop_id, order_id=order.id, actor_id=actor_id, reason=f"order {order.number} cancelled")
    order.stock_short = False
    if order.fulfillment == Fulfillment.DELIVERY.value:
        slots.release(shop_id=order.shop_id, delivery_date=order.delivery_date, window_start=order.window_start)
    if order.promo_code_id is not None:
        promos.return_use(shop_id=order.shop_id, promo_code_id=order.promo_code_id)
    workshop.release_order(order)
    on_cancelled(order, actor_id)


STATUS_STEPS = {
    OrderStatus.CONFIRMED: _confirm,
    OrderStatus.READY: _make_ready,
    OrderStatus.COMPLETED: _hand_over,
    OrderStatus.CANCELLED: _cancel,
}


def change_status(
    *,
    shop_id: int,
    order_id: int,
    actor_id: int | None,
    status: str,
    comment: str = "",
    commit: bool = True,
    override_workshop: bool = False,
) -> Order:
    """Move the order along the intake part of the lifecycle; a repeat of the move just made answers as is.
    Confirming an order that holds no florist minutes takes them (`override_workshop`: over the day's limit)."""
    target = OrderStatus(status)
    with _all_or_nothing():
        # Confirming reads the shop's settings (due times, the workshop's limits): the shop comes with the lock.
        order = lock_order(shop_id=shop_id, order_id=order_id, with_shop=target == OrderStatus.CONFIRMED)
        if order.status == target.value:  # a retry: nothing changes, no second history row
            if commit:
                db.session.commit()
            return order
        allowed = allowed_for(order)
        if target.value not in allowed:
            raise transitions.forbidden(order, target.value, allowed=allowed)
        if target == OrderStatus.CANCELLED and not comment.strip():
            raise RuleViolation("Say why the order is cancelled.", errors={"comment": ["Required to cancel."]})
        STATUS_STEPS[target](order, actor_id, comment)
        if target == OrderStatus.CONFIRMED:
            workshop.hold_on_confirm(order, actor_id=actor_id, override=override_workshop)
        transitions.move(order=order, target=target, actor_id=actor_id, comment=comment)
        if target == OrderStatus.CANCELLED:  # a cancelled order costs nothing: what was paid is now to give back
            _settle_payment_status(order, has_payments=_has_payments(order))
        _commit_or_flush(commit)
    return order


# --- payments --------------------------------------------------------------------------------


def _by_provider_id(shop_id: int, provider_payment_id: str) -> Payment | None:
    return db.session.scalars(
        select(Payment).where(Payment.shop_id == shop_id, Payment.provider_payment_id == provider_payment_id)
    ).first()


def _same_payment(order: Order, existing: Payment) -> Payment:
    if existing.order_id != order.id:
        raise ConflictError(
            "This provider payment is already recorded on another order.",
            errors={"provider_payment_id": ["Already recorded on another order."]},
        )
    return existing


def record_payment(
    *,
    shop_id: int,
    order_id: int,
    actor_id: int | None,
    amount: Decimal,
    method: str,
    provider_payment_id: str | None = None,
    note: str = "",
    commit: bool = True,
    locked: Order | None = None,
) -> tuple[Payment, bool]:
    """Money staff took in (or a refund, negative); `(payment, created)`.

    Staff are held to the order: a payment is at most the amount due (422) and a cancelled order takes
    none (409), whatever the request carries. A `provider_payment_id` typed in is a reference, not a
    provider's confirmation: it keeps one payment per id (seen before, that payment is answered and nothing
    is recorded), and lifts no cap. Only `record_provider_payment` may take more than is due.

    `locked`: the order, when the caller holds its row lock (`lock_order`) in this transaction already; the changes
    then go in with the caller's own, at its flush.
    """
    if locked is not None and (locked.id, locked.shop_id) != (order_id, shop_id):
        raise ValueError("`locked` is another order than the one named")
    with _all_or_nothing():
        order = locked if locked is not None else lock_order(shop_id=shop_id, order_id=order_id)
        if provider_payment_id:
            existing = _by_provider_id(shop_id, provider_payment_id)
            if existing is not None:
                return _same_payment(order, existing), False
        if amount > 0:
            if order.status == OrderStatus.CANCELLED.value:
                raise ConflictError(
                    "A cancelled order takes no payments, only refunds.",
                    errors={"amount": ["The order is cancelled; a refund is a negative amount."]},
                )
            if amount > order.amount_due:
                raise RuleViolation(
                    "That is more than the amount due; check the amount.",
                    errors={"amount": [f"At most {order.amount_due:.2f} is due."]},
                )
        payment, created = _record(
            order, actor_id=actor_id, amount=amount, method=method, provider_payment_id=provider_payment_id, note=note
        )
        if commit or locked is None:
            _commit_or_flush(commit)
    return payment, created


def record_provider_payment(
    *,
    shop_id: int,
    order_id: int,
    amount: Decimal,
    provider_payment_id: str,
    method: str = PaymentMethod.ONLINE.value,
    note: str = "",
    commit: bool = True,
) -> tuple[Payment, bool]:
    """A payment provider's own confirmation that money arrived; `(payment, created)`.

    For the code that talks to the provider (its webhook or status check), never for a staff request:
    the money has already moved, so it is recorded whatever the order says, above the amount due or on a
    cancelled order, and the order shows it as `overpaid` until a refund gives it back. The same provider id
    again answers the payment recorded first.
    """
    if amount <= 0 or not provider_payment_id:
        raise ValueError("a provider's confirmation carries its payment id and a positive amount")
    with _all_or_nothing():
        order = lock_order(shop_id=shop_id, order_id=order_id)
        existing = _by_provider_id(shop_id, provider_payment_id)
        if existing is not None:
            return _same_payment(order, existing), False
        payment, created = _record(
            order,
            actor_id=None,
            amount=amount,
            method=method,
            provider_payment_id=provider_payment_id,
            note=note,
            provider_confirmed=True,
        )
        _commit_or_flush(commit)
    return payment, created


def _commit_or_flush(commit: bool) -> None:
    if commit:
        db.session.commit()
    else:
        db.session.flush()


def _record(
    order: Order,
    *,
    actor_id: int | None,
    amount: Decimal,
    method: str,
    provider_payment_id: str | None,
    note: str,
    provider_confirmed: bool = False,
) -> tuple[Payment, bool]:
    """The payment added to the locked order, its paid amount and status, and the audit entry; `(payment, created)`."""
    if amount < 0 and -amount > order.paid_amount:
        raise RuleViolation(
            "A refund cannot exceed what was paid.",
            errors={"amount": [f"At most {order.paid_amount:.2f} was paid."]},
        )
    payment = Payment(
        shop_id=order.shop_id,
        order_id=order.id,
        amount=amount,
        method=method,
        provider_payment_id=provider_payment_id or None,
        note=note or "",
        created_by_id=actor_id,
    )
    if provider_payment_id:
        try:
            with db.session.begin_nested():
                db.session.add(payment)
        except IntegrityError:  # the same provider payment recorded by a concurrent request on another order
            existing = _by_provider_id(order.shop_id, provider_payment_id)
            if existing is None:
                raise
            return _same_payment(order, existing), False
    else:  # nothing unique to collide with: no savepoint (two round trips) around it
        db.session.add(payment)
        db.session.flush()
    before = (str(order.paid_amount), order.payment_status)
    order.paid_amount += amount
    _settle_payment_status(order, has_payments=True)
    order.version += 1
    order.updated_at = utcnow()
    transitions.order_changed(order, "order.payment_recorded")
    audit.record(
        shop_id=order.shop_id,
        actor_id=actor_id,
        action="refund" if amount < 0 else "payment",
        entity_type="order",
        entity_id=order.id,
        changes={
            "payment_id": [None, payment.id],
            "amount": [None, str(amount)],
            "method": [None, method],
            "paid_amount": [before[0], str(order.paid_amount)],
            "payment_status": [before[1], order.payment_status],
            **({"provider_confirmed": [None, True]} if provider_confirmed else {}),
        },
    )
    return payment, True


# --- customers' data -------------------------------------------------------------------------


def orders_for_export(shop_id: int, customer_id: int) -> list[dict[str, Any]]:
    """Every order of the customer in this shop, with lines, payments and history, as JSON-ready dicts
    (the API's schemas shape them, so the export shows orders exactly as the API does)."""
    orders = db.session.scalars(
        _with_details(select(Order).where(Order.shop_id == shop_id, Order.customer_id == customer_id))
        .options(selectinload(Order.payments))
        .order_by(Order.created_at, Order.id)
    ).all()
    history: dict[int, list[OrderStatusChange]] = defaultdict(list)
    if orders:
        changes = db.session.scalars(
            select(OrderStatusChange)
            .where(OrderStatusChange.order_id.in_([o.id for o in orders]))
            .order_by(OrderStatusChange.id)
        )
        for change in changes:
            history[change.order_id].append(change)
    order_schema, history_schema = OrderExportSchema(), StatusChangeSchema(many=True)
    return [{**order_schema.dump(order), "history": history_schema.dump(history[order.id])} for order in orders]


def anonymize_orders_of(shop_id: int, customer_id: int, actor_id: int | None = None) -> list[str]:
    """Erase the personal part of the customer's orders; amounts, lines and history stay for the books.

    Gone: the recipient's name, phone and address, the card text (on the florists' tasks too) and the
    comment; the couriers' failure comments and proof photos; the free text of history rows and of the
    orders' audit entries. Does not commit: returns the stored files (photos) to delete once it has.
    """

    orders = db.session.scalars(
        select(Order)
        .where(Order.shop_id == shop_id, Order.customer_id == customer_id)
        .order_by(Order.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    for order in orders:
        changes = audit.apply_changes(
            order, {"recipient_name": "", "recipient_phone": None, "address": None, "card_text": "", "comment": ""}
        )
        if not changes:
            continue
        order.version += 1
        audit.record(
            shop_id=shop_id,
            actor_id=actor_id,
            action="anonymize",
            entity_type="order",
            entity_id=order.id,
            changes={field: ["***", None] for field in changes},
        )
    order_ids = [order.id for order in orders]
    if not order_ids:
        return []
    db.session.execute(
        update(OrderStatusChange)
        .where(
            OrderStatusChange.shop_id == shop_id,
            OrderStatusChange.order_id.in_(order_ids),
            OrderStatusChange.comment != "",
        )
        .values(comment=customers.ERASED)
    )
    for entry in db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.shop_id == shop_id,
            AuditEntry.entity_type == "order",
            AuditEntry.entity_id.in_([str(i) for i in order_ids]),
            AuditEntry.action != "anonymize",
        )
    ):
        scrubbed = {
            field: _erased(value) if field in FREE_TEXT_IN_AUDIT else value for field, value in entry.changes.items()
        }
        if scrubbed != entry.changes:
            entry.changes = scrubbed  # a new dict, so the JSON column saves
    db.session.flush()
    return order_ids


def _erased(value: Any) -> Any:
    """A value of the audit log erased; already masked ("***") or empty values stay as they are."""
    if isinstance(value, list):
        return [_erased(v) for v in value]
    return value if value in (None, "", "***") else customers.ERASED
