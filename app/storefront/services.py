"""The storefront: what a shop's website or marketplace sees and sends, with an integration key.

Nothing here has rules of its own: prices come from the order service's pricing, windows from the slots
service, promo codes from the promo service, stock from the recipes and the warehouse's available stock,
and an order is taken and confirmed by the order service exactly as staff take and confirm one.

- Products "can be made" when, for one unit, every item of the recipe has enough stock available
  (on hand − reserved by confirmed orders); with `date`, only batches still fresh on that date count as on
  hand (a batch expiring before it does not). Supplies not yet received never count.
- A quote takes nothing: it prices the lines, reads the window's places, checks the stock, and tries the
  promo code in a savepoint that is rolled back (the promo service's own rule, its use not counted).
- A storefront order is confirmed at once (its stock reserved, production tasks planned), paid or not:
  the website has told its customer the order is taken. A shortage refuses the order whole (409).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.catalogue.models import Category, Product, RecipeComponent
from app.common.schemas import Shaped
from app.common.shapes import Many, Shape, Together
from app.common.types import utcnow
from app.customers.models import Customer
from app.errors import ConflictError, NotFoundError, RuleViolation, human_message
from app.extensions import db
from app.messaging import order_reminders
from app.orders import services as orders
from app.orders.models import ZERO, Fulfillment, Order, OrderItem, OrderStatus, PaymentMethod
from app.promos import services as promos
from app.shops.models import Shop
from app.shops.services import effective_settings
from app.slots import services as slots
from app.storefront.models import StorefrontOrder
from app.storefront.schemas import StorefrontOrderLineSchema, StorefrontOrderSchema
from app.warehouse.models import Batch, Item

PRODUCT_UNAVAILABLE = "This product is not on sale; remove it from the order."
PICKUP_PASSED = "The pickup time has passed; choose another one."
SHORTAGE = "Not enough {item} in stock for this order; remove or change the products that need it."
DIFFERENT_BODY = "An order with this external_id was already sent with a different body; send a new external_id."


def _shop(shop_id: int) -> Shop:
    shop = db.session.get(Shop, shop_id)
    if shop is None:
        raise NotFoundError("Shop not found.")
    return shop


def shop_today(shop: Shop, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(ZoneInfo(shop.timezone)).date()


# --- products --------------------------------------------------------------------------------------


def _usable_stock(item_ids: list[int], day: date | None) -> dict[int, Decimal]:
    """Per item: what one more order could still reserve (on hand − reserved; on `day`, fresh batches only)."""
    if not item_ids:
        return {}
    if day is None:
        on_hand = Item.on_hand
    else:
        fresh = (
            select(func.coalesce(func.sum(Batch.remaining), 0))
            .where(Batch.item_id == Item.id, or_(Batch.expires_on.is_(None), Batch.expires_on >= day))
            .correlate(Item)
            .scalar_subquery()
        )
        on_hand = case((fresh < Item.on_hand, fresh), else_=Item.on_hand)  # LEAST, on SQLite too
    rows = db.session.execute(
        select(Item.id, (on_hand - Item.reserved).label("usable"), Item.is_active).where(Item.id.in_(item_ids))
    )
    return {row.id: (Decimal(row.usable) if row.is_active else ZERO) for row in rows}


def list_products(*, shop_id: int, day: date | None, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
    """Products on sale, by name, each with its category and whether one can be made: three statements."""
    where = and_(Product.shop_id == shop_id, Product.is_active.is_(True), Product.archived_at.is_(None))
    total = db.session.scalar(select(func.count()).select_from(Product).where(where)) or 0
    rows = db.session.execute(
        select(Product, Category.name.label("category_name"))
        .outerjoin(Category, Category.id == Product.category_id)
        .where(where)
        .order_by(Product.name, Product.id)
        .limit(page_size)
        .offset(min((page - 1) * page_size, 2**62))
    ).all()
    product_ids = [row.Product.id for row in rows]
    recipes: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    usable: dict[int, Decimal] = {}
    if product_ids:
        components = db.session.execute(
            select(RecipeComponent.product_id, RecipeComponent.item_id, RecipeComponent.quantity).where(
                RecipeComponent.product_id.in_(product_ids)
            )
        ).all()
        for component in components:
            recipes[component.product_id].append((component.item_id, component.quantity))
        usable = _usable_stock(sorted({c.item_id for c in components}), day)
    products = []
    for row in rows:
        product = row.Product
        products.append(
            {
                "id": product.id,
                "name": product.name,
                "description": product.description,
                "price": product.price,
                "category_id": product.category_id,
                "category": row.category_name,
                "image_key": product.image_key,
                "needs_assembly": product.needs_assembly,
                "available": all(qty <= usable.get(item_id, ZERO) for item_id, qty in recipes[product.id]),
            }
        )
    return products, total


# --- delivery windows ---------------------------------------------------------------------------------


def delivery_windows(*, shop_id: int, day: date, now: datetime | None = None) -> list[dict[str, Any]]:
    """The day's windows (slots service) with places left, fee, and until when each takes orders."""
    shop = _shop(shop_id)
    zone = ZoneInfo(shop.timezone)
    cutoff = effective_settings(shop)["same_day_cutoff"]
    windows = []
    for window in slots.day_windows(shop_id=shop_id, delivery_date=day, now=now):
        until = window.starts_at
        if cutoff:  # on the day itself, orders stop at the same-day cut-off when it comes first
            hours, minutes = (int(part) for part in cutoff.split(":"))
            until = min(until, datetime.combine(day, time(hours, minutes), tzinfo=zone))
        windows.append({**window.__dict__, "orders_until": until})
    return windows


# --- quote ----------------------------------------------------------------------------------------------


@dataclass
class Quote:
    items: list[dict[str, Any]]
    subtotal: Decimal
    delivery_fee: Decimal
    discount: Decimal
    total: Decimal
    window: dict[str, Any] | None
    problems: list[dict[str, Any]]
    currency: str

    @property
    def ok(self) -> bool:
        return not self.problems


def _problem(code: str, message: str, *, field: str, params: dict | None = None, **details: Any) -> dict[str, Any]:
    """One reason the order cannot be taken, its message in the caller's language."""
    return {"code": code, "message": human_message(message, params), "field": field, "details": details}


def _priced(shop_id: int, lines: list[dict[str, Any]], problems: list[dict[str, Any]]):
    """The lines intake would take, at its prices; a line not on sale is a problem and left out."""
    try:
        return orders.price_lines(shop_id=shop_id, lines=lines)
    except RuleViolation as refused:
        unknown = (refused.errors or {}).get("items")
        if not isinstance(unknown, dict):
            raise
        for index in sorted(unknown):
            problems.append(
                _problem(
                    "product_unavailable",
                    PRODUCT_UNAVAILABLE,
                    field=f"items.{index}.product_id",
                    product_id=lines[index]["product_id"],
                )
            )
        known = [line for index, line in enumerate(lines) if index not in unknown]
        return orders.price_lines(shop_id=shop_id, lines=known) if known else []


def _window_problems(shop: Shop, data: dict[str, Any], now: datetime, problems: list) -> tuple[Decimal, dict | None]:
    day = data["delivery_date"]
    if data["fulfillment"] == Fulfillment.PICKUP.value:
        hours, minutes = (int(p) for p in data["pickup_time"].split(":"))
        at = datetime.combine(day, time(hours, minutes), tzinfo=ZoneInfo(shop.timezone)).astimezone(UTC)
        if at < now:
            problems.append(_problem("pickup_time_passed", PICKUP_PASSED, field="pickup_time"))
        return ZERO, None
    start = data["window_start"]
    where = {"date": day.isoformat(), "start": start}
    for window in slots.day_windows(shop_id=shop.id, delivery_date=day, now=now):
        if window.start != start:
            continue
        described = {"date": day, "start": window.start, "end": window.end}
        if not window.open:
            problems.append(_problem("window_closed", slots.CLOSED_MESSAGES["closed"], field="window_start", **where))
        elif window.left <= 0:
            problems.append(_problem("window_full", slots.CLOSED_MESSAGES["full"], field="window_start", **where))
        return window.delivery_fee, described
    problems.append(_problem("window_unknown", slots.CLOSED_MESSAGES["unknown"], field="window_start", **where))
    return ZERO, None


def _stock_problems(lines, problems: list) -> None:
    needed = orders.components_needed(lines)
    if not needed:
        return
    usable = _usable_stock([item_id for item_id, _ in needed], None)
    short = [(item_id, qty) for item_id, qty in needed if qty > usable.get(item_id, ZERO)]
    if not short:
        return
    short_ids = [item_id for item_id, _ in short]
    names = dict(db.session.execute(select(Item.id, Item.name).where(Item.id.in_(short_ids))).all())
    users: dict[int, list[int]] = defaultdict(list)
    for product_id, item_id in db.session.execute(
        select(RecipeComponent.product_id, RecipeComponent.item_id).where(
            RecipeComponent.item_id.in_(short_ids), RecipeComponent.product_id.in_([line.product_id for line in lines])
        )
    ):
        users[item_id].append(product_id)
    for item_id, qty in short:
        problems.append(
            _problem(
                "shortage",
                SHORTAGE,
                field="items",
                params={"item": names.get(item_id, "")},
                item_id=item_id,
                name=names.get(item_id, ""),
                needed=f"{qty:f}",
                available=f"{max(usable.get(item_id, ZERO), ZERO):f}",
                product_ids=sorted(users[item_id]),
            )
        )


def _promo(shop_id: int, code: str, subtotal: Decimal, now: datetime, problems: list) -> Decimal:
    """The promo service's own check, in a savepoint rolled back: the code's use is not counted by a quote."""
    attempt = db.session.begin_nested()
    try:
        return min(promos.redeem(shop_id=shop_id, code=code, subtotal=subtotal, now=now).discount, subtotal)
    except RuleViolation as refused:
        reason = next((r for r, text in promos.REASONS.items() if text == refused.message), None)
        if reason is None:
            raise
        problems.append(
            _problem("promo_code", promos.REASONS[reason], field="promo_code", params=refused.params, reason=reason)
        )
        return ZERO
    finally:
        attempt.rollback()


def quote(*, shop_id: int, data: dict[str, Any], now: datetime | None = None) -> Quote:
    """What the order would cost, and every reason it could not be taken now, in one answer; takes nothing."""
    now = now or utcnow()
    shop = _shop(shop_id)
    problems: list[dict[str, Any]] = []
    lines = _priced(shop_id, data["items"], problems)
    subtotal = orders.subtotal_of(lines)
    fee, window = _window_problems(shop, data, now, problems)
    _stock_problems(lines, problems)
    discount = _promo(shop_id, data["promo_code"], subtotal, now, problems) if data.get("promo_code") else ZERO
    items = [
        {
            "product_id": line.product_id,
            "name": line.product_name,
            "unit_price": line.unit_price,
            "quantity": line.quantity,
            "line_total": line.line_total,
        }
        for line in lines
    ]
    return Quote(
        items=items,
        subtotal=subtotal,
        delivery_fee=fee,
        discount=discount,
        total=subtotal - discount + fee,
        window=window,
        problems=problems,
        currency=shop.currency,
    )


# --- orders ---------------------------------------------------------------------------------------------


def fingerprint(data: dict[str, Any]) -> str:
    """The body as loaded (dates, decimals, defaults filled in), canonical JSON, SHA-256."""
    canonical = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _claim(shop_id: int, external_id: str, print_: str, key_id: int | None) -> int | None:
    """Insert the external id's row; None when it exists. A concurrent insert of the same id waits here
    until the first transaction ends, then finds its row (committed) or takes the id (rolled back)."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return db.session.execute(
        dialect.insert(StorefrontOrder)
        .values(shop_id=shop_id, external_id=external_id, fingerprint=print_, api_key_id=key_id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["shop_id", "external_id"])
        .returning(StorefrontOrder.id)
    ).scalar_one_or_none()


def _existing(shop_id: int, external_id: str, print_: str) -> int:
    row = db.session.scalars(
        select(StorefrontOrder).where(StorefrontOrder.shop_id == shop_id, StorefrontOrder.external_id == external_id)
    ).one()
    if row.fingerprint != print_:
        raise ConflictError(DIFFERENT_BODY, errors={"external_id": [external_id]})
    return row.order_id


def place_order(
    *, shop_id: int, key_id: int | None, data: dict[str, Any], now: datetime | None = None
) -> tuple[int, bool]:
    """Take and confirm the website's order, with its online payment, in one transaction; `(order id, created)`.

    The same `external_id` again answers the order it made (created False); with another body, 409.
    """
    print_ = fingerprint(data)
    body = {key: value for key, value in data.items() if key not in ("external_id", "payment")}
    customer_data = dict(body["customer"])
    email = customer_data.pop("email", None)
    body["customer"] = customer_data
    payment = data.get("payment")
    try:
        claim_id = _claim(shop_id, data["external_id"], print_, key_id)
        if claim_id is None:
            order_id = _existing(shop_id, data["external_id"], print_)
            db.session.rollback()
            return order_id, False
        order = orders.create_order(shop_id=shop_id, actor_id=None, data=body, now=now, commit=False)
        if email:
            _keep_email(order.customer, email)
        orders.change_status(
            shop_id=shop_id, order_id=order.id, actor_id=None, status=OrderStatus.CONFIRMED.value, commit=False
        )
        if payment:
            orders.record_provider_payment(
                shop_id=shop_id,
                order_id=order.id,
                amount=payment["amount"],
                provider_payment_id=payment["provider_payment_id"],
                method=PaymentMethod.ONLINE.value,
                note=payment["provider"],
                commit=False,
            )
        db.session.execute(update(StorefrontOrder).where(StorefrontOrder.id == claim_id).values(order_id=order.id))
        order_reminders.new_storefront_order(order)
        order_id = order.id
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return order_id, True


def _keep_email(customer: Customer, email: str) -> None:
    """A customer found by phone keeps the e-mail they have; one without gets the one the website sent."""
    if not customer.email and customer.anonymized_at is None:
        customer.email = email


def order_status(*, shop_id: int, external_id: str) -> dict[str, Any]:
    """The order the website sent under `external_id`, as the storefront shows it; 404 for any other."""
    order_id = db.session.scalar(
        select(StorefrontOrder.order_id).where(
            StorefrontOrder.shop_id == shop_id, StorefrontOrder.external_id == external_id
        )
    )
    if order_id is None:
        raise NotFoundError("Order not found.")
    return answer(shop_id=shop_id, order_id=order_id, external_id=external_id)


# An order as the shop's site sees it: a part of the card, with the site's own id for it.
STOREFRONT_ORDERS, ORDERS = StorefrontOrder.__table__.c, Order.__table__.c
STOREFRONT_ORDER = Shape(
    StorefrontOrderSchema,
    Order.__table__.join(StorefrontOrder.__table__, STOREFRONT_ORDERS.order_id == ORDERS.id),
    items=Many(Shape(StorefrontOrderLineSchema, OrderItem.__table__), OrderItem.__table__.c.order_id),
)
ONE_STOREFRONT_ORDER = Together(
    (
        STOREFRONT_ORDER,
        STOREFRONT_ORDER.select().where(
            ORDERS.id == bindparam("order_id"),
            ORDERS.shop_id == bindparam("shop_id"),
            STOREFRONT_ORDERS.external_id == bindparam("external_id"),
        ),
    )
)


def answer(*, shop_id: int, order_id: int, external_id: str) -> Shaped:
    found = ONE_STOREFRONT_ORDER.read({"order_id": order_id, "shop_id": shop_id, "external_id": external_id})
    if not found:
        raise NotFoundError("Order not found.")
    return found[0]
