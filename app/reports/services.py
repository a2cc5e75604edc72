"""The owner's evening numbers: every report is a few SQL aggregates over one shop's rows.

Each report runs a fixed number of statements whatever the data (one for the shop's time zone,
then its GROUP BY queries); Python only rounds, divides and fills periods with no sales. See
docs/reports.md for what each number means and why.

When a sale counts: on the shop-local day the order was taken (its `created_at`). That is the
day the owner and the manager saw the money promised, it never moves when a delivery is
rescheduled, and it is the number the till and the order book show for "today". Refunds count on
the day the money went back, so a closed month never changes afterwards. Cost of goods is what
the order's consumed batches cost; orders not yet assembled have none yet (`uncosted_orders`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, literal, or_, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from app.catalogue.models import Category, Product, RecipeComponent
from app.courier.models import CourierAssignment, Delivery, FailureReason
from app.errors import NotFoundError, RuleViolation
from app.extensions import db
from app.messaging.scans import EXPIRY_HORIZON_DAYS
from app.orders.models import Order, OrderItem, OrderStatus, OrderStatusChange, Payment
from app.reports.periods import (
    GroupBy,
    LocalRange,
    as_date,
    is_postgresql,
    local_midnight,
    local_period,
    local_timestamp,
    local_today,
    local_wall_clock,
)
from app.shops.models import Shop
from app.users.models import Membership, Role, User
from app.warehouse.models import ON_HAND_KINDS, Batch, Item, Movement, WriteOff

CENT = Decimal("0.01")
TENTH = Decimal("0.1")
ZERO = Decimal("0")
DEFAULT_DAYS = 30
# Three years of days is the longest range a report reads in one go.
MAX_DAYS = 3 * 366
DEFAULT_EXPIRING_DAYS = EXPIRY_HORIZON_DAYS  # the same horizon as the managers' morning digest
CANCELLED = OrderStatus.CANCELLED.value


@dataclass(frozen=True)
class ShopFacts:
    id: int
    zone: ZoneInfo
    currency: str


def _shop(shop_id: int) -> ShopFacts:
    # Always a statement (never the session's cache), so every report runs the same number of them.
    row = db.session.execute(select(Shop.timezone, Shop.currency).where(Shop.id == shop_id)).first()
    if row is None:
        raise NotFoundError("Shop not found.")
    return ShopFacts(shop_id, ZoneInfo(row.timezone), row.currency)


def _range(shop: ShopFacts, date_from: date | None, date_to: date | None) -> LocalRange:
    """The report's shop-local days: the last 30 days to today unless told otherwise."""
    last = date_to or local_today(shop.zone)
    first = date_from or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise RuleViolation("`from` is after `to`; swap the dates.", errors={"from": ["Must not be after `to`."]})
    if (last - first).days >= MAX_DAYS:
        raise RuleViolation(
            "The range is too long; shorten it.", errors={"to": [f"At most {MAX_DAYS} days from `from`."]}
        )
    return LocalRange(shop.zone, first, last)


def _dec(value: Any, quantum: Decimal = CENT) -> Decimal:
    """An aggregate as money (or `quantum`), rounded half up; SQLite may hand back floats."""
    return Decimal(str(value if value is not None else 0)).quantize(quantum, rounding=ROUND_HALF_UP)


def _percent(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part * 100 / whole).quantize(TENTH, rounding=ROUND_HALF_UP) if whole else None


def _when(condition: ColumnElement, value: Any) -> ColumnElement:
    return case((condition, value), else_=0)


def _with_totals(columns: dict[str, ColumnElement]) -> list[ColumnElement]:
    """SUM per group, and the same over the whole result (a window over the groups) as total_<name>."""
    sums = [func.sum(col).label(name) for name, col in columns.items()]
    totals = [func.sum(func.sum(col)).over().label(f"total_{name}") for name, col in columns.items()]
    return sums + totals


# --- sales -----------------------------------------------------------------------------------

SALES_SUMS = (
    "orders",
    "gross_sales",
    "discounts",
    "delivery_fees",
    "order_totals",
    "refunds",
    "cost_of_goods",
    "uncosted_orders",
    "cancelled_orders",
    "cancelled_total",
    "cancelled_cost",
)


def _sales_figures(sums: dict[str, Any]) -> dict[str, Any]:
    orders = int(sums["orders"] or 0)
    order_totals = _dec(sums["order_totals"])
    refunds = _dec(sums["refunds"])
    cost = _dec(sums["cost_of_goods"])
    revenue = order_totals - refunds
    margin = revenue - cost
    return {
        "orders": orders,
        "gross_sales": _dec(sums["gross_sales"]),
        "discounts": _dec(sums["discounts"]),
        "delivery_fees": _dec(sums["delivery_fees"]),
        "refunds": refunds,
        "revenue": revenue,
        "average_order": _dec(order_totals / orders) if orders else None,
        "cost_of_goods": cost,
        "gross_margin": margin,
        "margin_percent": _percent(margin, revenue),
        "uncosted_orders": int(sums["uncosted_orders"] or 0),
        "cancelled_orders": int(sums["cancelled_orders"] or 0),
        "cancelled_total": _dec(sums["cancelled_total"]),
        "cancelled_cost": _dec(sums["cancelled_cost"]),
    }


def sales_report(
    *, shop_id: int, date_from: date | None, date_to: date | None, group_by: GroupBy = GroupBy.DAY
) -> dict[str, Any]:
    """Orders, revenue, discounts, average order, cost of goods and gross margin per shop-local period.

    Two statements: the shop's time zone, and one aggregate over its orders and refunds.
    """
    shop = _shop(shop_id)
    local = _range(shop, date_from, date_to)
    cancelled = Order.status == CANCELLED
    kept = Order.status != CANCELLED
    taken = and_(Order.shop_id == shop_id, Order.created_at >= local.starts_at, Order.created_at < local.ends_at)
    order_rows = select(
        local_period(Order.created_at, local, group_by).label("period"),
        _when(kept, 1).label("orders"),
        _when(kept, Order.subtotal).label("gross_sales"),
        _when(kept, Order.discount).label("discounts"),
        _when(kept, Order.delivery_fee).label("delivery_fees"),
        _when(kept, Order.total).label("order_totals"),
        literal(0).label("refunds"),
        _when(kept, func.coalesce(Order.cost_of_goods, 0)).label("cost_of_goods"),
        _when(and_(kept, Order.cost_of_goods.is_(None)), 1).label("uncosted_orders"),
        _when(cancelled, 1).label("cancelled_orders"),
        _when(cancelled, Order.total).label("cancelled_total"),
        _when(cancelled, func.coalesce(Order.cost_of_goods, 0)).label("cancelled_cost"),
    ).where(taken)
    # Money handed back on a kept order lowers the revenue of the day it went back; a cancelled
    # order's revenue is never counted, so giving its prepayment back changes nothing here.
    refund_rows = (
        select(
            local_period(Payment.created_at, local, group_by).label("period"),
            *((-Payment.amount if name == "refunds" else literal(0)).label(name) for name in SALES_SUMS),
        )
        .join(Order, Order.id == Payment.order_id)
        .where(
            Payment.shop_id == shop_id,
            Order.shop_id == shop_id,
            Payment.amount < 0,
            kept,
            Payment.created_at >= local.starts_at,
            Payment.created_at < local.ends_at,
        )
    )
    rows = union_all(order_rows, refund_rows).subquery("sales_rows")
    stmt = (
        select(rows.c.period, *_with_totals({name: rows.c[name] for name in SALES_SUMS}))
        .group_by(rows.c.period)
        .order_by(rows.c.period)
    )
    found = {as_date(row.period): row._mapping for row in db.session.execute(stmt)}
    empty = dict.fromkeys(SALES_SUMS, 0)
    periods = []
    for period in local.periods(group_by):
        sums = found.get(period.start, empty)
        periods.append({"period_start": period.first, "period_end": period.last, **_sales_figures(sums)})
    totals = next(iter(found.values()), None)
    totals = {name: totals[f"total_{name}"] for name in SALES_SUMS} if totals else empty
    return {
        **_header(shop, local),
        "group_by": group_by.value,
        "periods": periods,
        "totals": _sales_figures(totals),
    }


def _header(shop: ShopFacts, local: LocalRange) -> dict[str, Any]:
    return {"from": local.first, "to": local.last, "time_zone": shop.zone.key, "currency": shop.currency}


# --- products --------------------------------------------------------------------------------

DEFAULT_TOP = 5


def _sold(shop_id: int, local: LocalRange):
    """Per product sold in the range: units, revenue after the order's discount, and cost of goods.

    An order's cost of goods (what its consumed batches cost) is shared among its lines by what each
    line's recipe takes, valued at the items' average batch cost; when no line of an order has a
    recipe, by price. The lines of an order always add up to its cost of goods.
    """
    item_cost = (
        select(
            Batch.item_id, (func.sum(Batch.unit_cost * Batch.quantity) / func.sum(Batch.quantity)).label("unit_cost")
        )
        .where(Batch.shop_id == shop_id)
        .group_by(Batch.item_id)
        .cte("item_cost")
    )
    recipe_cost = (
        select(RecipeComponent.product_id, func.sum(RecipeComponent.quantity * item_cost.c.unit_cost).label("cost"))
        .join(item_cost, item_cost.c.item_id == RecipeComponent.item_id)
        .where(RecipeComponent.shop_id == shop_id)
        .group_by(RecipeComponent.product_id)
        .cte("recipe_cost")
    )
    weight = OrderItem.quantity * func.coalesce(recipe_cost.c.cost, 0)
    by_order = {"partition_by": OrderItem.order_id}
    lines = (
        select(
            OrderItem.product_id,
            OrderItem.quantity,
            OrderItem.line_total,
            Order.subtotal,
            Order.discount,
            Order.cost_of_goods,
            weight.label("weight"),
            func.sum(weight).over(**by_order).label("order_weight"),
            func.count().over(**by_order).label("order_lines"),
        )
        .join(Order, Order.id == OrderItem.order_id)
        .outerjoin(recipe_cost, recipe_cost.c.product_id == OrderItem.product_id)
        .where(
            Order.shop_id == shop_id,
            OrderItem.shop_id == shop_id,
            Order.status != CANCELLED,
            Order.created_at >= local.starts_at,
            Order.created_at < local.ends_at,
        )
        .cte("lines")
    )
    c = lines.c
    line_cost = case(
        (c.cost_of_goods.is_(None), 0),
        (c.order_weight > 0, c.cost_of_goods * c.weight / c.order_weight),
        (c.subtotal > 0, c.cost_of_goods * c.line_total / c.subtotal),
        else_=c.cost_of_goods / c.order_lines,
    )
    line_revenue = c.line_total - case((c.subtotal > 0, c.discount * c.line_total / c.subtotal), else_=0)
    return (
        select(
            c.product_id,
            func.sum(c.quantity).label("units"),
            func.sum(line_revenue).label("revenue"),
            func.sum(line_cost).label("cost"),
            func.sum(_when(c.cost_of_goods.is_(None), c.quantity)).label("uncosted_units"),
        )
        .group_by(c.product_id)
        .cte("sold")
    )


def _product_figures(row) -> dict[str, Any]:
    revenue, cost = _dec(row.revenue), _dec(row.cost)
    return {
        "units": int(row.units or 0),
        "revenue": revenue,
        "cost": cost,
        "margin": revenue - cost,
        "margin_percent": _percent(revenue - cost, revenue),
        "uncosted_units": int(row.uncosted_units or 0),
    }


def products_report(
    *, shop_id: int, date_from: date | None, date_to: date | None, top: int = DEFAULT_TOP
) -> dict[str, Any]:
    """Per product and per category: units, revenue, cost, margin; the top and bottom sellers.

    Two statements: the time zone, then products and categories together (one pass over the lines).
    Products on sale that sold nothing are listed with zeros: they are the bottom sellers an owner
    wants to see.
    """
    shop = _shop(shop_id)
    local = _range(shop, date_from, date_to)
    sold = _sold(shop_id, local)
    products = (
        select(
            literal("product").label("level"),
            Product.id.label("product_id"),
            Product.name.label("product_name"),
            Product.category_id,
            Category.name.label("category_name"),
            func.coalesce(sold.c.units, 0).label("units"),
            func.coalesce(sold.c.revenue, 0).label("revenue"),
            func.coalesce(sold.c.cost, 0).label("cost"),
            func.coalesce(sold.c.uncosted_units, 0).label("uncosted_units"),
        )
        .select_from(Product)
        .outerjoin(sold, sold.c.product_id == Product.id)
        .outerjoin(Category, Category.id == Product.category_id)
        .where(
            Product.shop_id == shop_id,
            or_(sold.c.product_id.is_not(None), and_(Product.archived_at.is_(None), Product.is_active)),
        )
    )
    categories = (
        select(
            literal("category").label("level"),
            literal(None).label("product_id"),
            literal(None).label("product_name"),
            Product.category_id,
            func.min(Category.name).label("category_name"),
            func.sum(sold.c.units).label("units"),
            func.sum(sold.c.revenue).label("revenue"),
            func.sum(sold.c.cost).label("cost"),
            func.sum(sold.c.uncosted_units).label("uncosted_units"),
        )
        .select_from(sold)
        .join(Product, Product.id == sold.c.product_id)
        .outerjoin(Category, Category.id == Product.category_id)
        .group_by(Product.category_id)
    )
    rows = union_all(products, categories).subquery("product_rows")
    found = db.session.execute(
        select(rows).order_by(
            rows.c.level.desc(),  # products first
            func.round(rows.c.revenue, 2).desc(),
            rows.c.units.desc(),
            func.coalesce(rows.c.product_name, rows.c.category_name),
            rows.c.product_id,
        )
    ).all()
    product_lines = [
        {
            "product_id": row.product_id,
            "product_name": row.product_name,
            "category_id": row.category_id,
            "category_name": row.category_name,
            **_product_figures(row),
        }
        for row in found
        if row.level == "product"
    ]
    category_lines = [
        {"category_id": row.category_id, "category_name": row.category_name, **_product_figures(row)}
        for row in found
        if row.level == "category"
    ]
    # The rows come sorted by revenue: the ends of the list are the top and the bottom sellers.
    return {
        **_header(shop, local),
        "products": product_lines,
        "categories": category_lines,
        "top_sellers": [p for p in product_lines if p["units"] > 0][:top],
        "bottom_sellers": product_lines[::-1][:top],
    }


# --- stock -----------------------------------------------------------------------------------


def _held_batches(shop_id: int, until) -> Any:
    """(batch_id, quantity) of the batches holding stock: now from the batches, in the past from the movements."""
    if until is None:
        return (
            select(Batch.id.label("batch_id"), Batch.remaining.label("quantity"))
            .where(Batch.shop_id == shop_id, Batch.remaining > 0)
            .cte("held")
        )
    quantity = func.sum(Movement.quantity)
    return (
        select(Movement.batch_id, quantity.label("quantity"))
        .where(
            Movement.shop_id == shop_id,
            Movement.kind.in_([k.value for k in ON_HAND_KINDS]),
            Movement.batch_id.is_not(None),
            Movement.created_at < until,
        )
        .group_by(Movement.batch_id)
        .having(quantity > 0)
        .cte("held")
    )


def stock_report(
    *, shop_id: int, as_of: date | None = None, expiring_within_days: int = DEFAULT_EXPIRING_DAYS
) -> dict[str, Any]:
    """Stock value at cost per item and in total, now or at the end of a past shop-local day; and the
    batches that expire within `expiring_within_days` of that day (or already have), with their value.

    Three statements: the time zone, the items, the expiring batches.
    """
    shop = _shop(shop_id)
    today = local_today(shop.zone)
    if as_of is not None and as_of > today:
        raise RuleViolation(
            "The stock of a future day is not known yet; choose today or earlier.",
            errors={"as_of": ["Today or earlier."]},
        )
    until = local_midnight(as_of + timedelta(days=1), shop.zone) if as_of is not None else None
    day = as_of or today
    held = _held_batches(shop_id, until)
    value = func.round(held.c.quantity * Batch.unit_cost, 2)
    stocked = (
        select(
            Batch.item_id,
            func.sum(held.c.quantity).label("quantity"),
            func.sum(value).label("value"),
            func.count().label("batches"),
        )
        .select_from(held)
        .join(Batch, Batch.id == held.c.batch_id)
        .group_by(Batch.item_id)
        .cte("stocked")
    )
    item_value = func.coalesce(stocked.c.value, 0)
    existed = Item.created_at < until if until is not None else True
    item_rows = db.session.execute(
        select(
            Item.id,
            Item.name,
            Item.kind,
            Item.unit,
            func.coalesce(stocked.c.quantity, 0).label("quantity"),
            item_value.label("value"),
            func.coalesce(stocked.c.batches, 0).label("batches"),
            func.sum(item_value).over().label("total_value"),
        )
        .select_from(Item)
        .outerjoin(stocked, stocked.c.item_id == Item.id)
        .where(Item.shop_id == shop_id, or_(stocked.c.item_id.is_not(None), and_(Item.is_active, existed)))
        .order_by(Item.name, Item.id)
    ).all()
    batch_rows = db.session.execute(
        select(
            Batch.id,
            Batch.item_id,
            Item.name,
            Item.unit,
            Batch.received_on,
            Batch.expires_on,
            held.c.quantity,
            Batch.unit_cost,
            value.label("value"),
            func.sum(value).over().label("total_value"),
        )
        .select_from(held)
        .join(Batch, Batch.id == held.c.batch_id)
        .join(Item, Item.id == Batch.item_id)
        .where(Batch.expires_on.is_not(None), Batch.expires_on <= day + timedelta(days=expiring_within_days))
        .order_by(Batch.expires_on, Item.name, Batch.id)
    ).all()
    items = [
        {
            "item_id": row.id,
            "item_name": row.name,
            "kind": row.kind,
            "unit": row.unit,
            "quantity": _dec(row.quantity, Decimal("0.001")),
            "value": _dec(row.value),
            "batches": int(row.batches),
        }
        for row in item_rows
    ]
    expiring = [
        {
            "batch_id": row.id,
            "item_id": row.item_id,
            "item_name": row.name,
            "unit": row.unit,
            "received_on": as_date(row.received_on),
            "expires_on": as_date(row.expires_on),
            "days_left": (as_date(row.expires_on) - day).days,
            "quantity": _dec(row.quantity, Decimal("0.001")),
            "unit_cost": _dec(row.unit_cost),
            "value": _dec(row.value),
        }
        for row in batch_rows
    ]
    return {
        "as_of": day,
        "time_zone": shop.zone.key,
        "currency": shop.currency,
        "expiring_within_days": expiring_within_days,
        "total_value": _dec(item_rows[0].total_value if item_rows else 0),
        "expiring_value": _dec(batch_rows[0].total_value if batch_rows else 0),
        "items": items,
        "expiring": expiring,
    }


# --- write-offs ------------------------------------------------------------------------------


def write_offs_report(
    *, shop_id: int, date_from: date | None, date_to: date | None, group_by: GroupBy = GroupBy.DAY
) -> dict[str, Any]:
    """What was thrown away: quantity and cost per period, reason, item and person; and by each alone.

    Five statements: the time zone, the detailed rows, and the totals by reason, by item, by person.
    """
    shop = _shop(shop_id)
    local = _range(shop, date_from, date_to)
    lines = (
        select(
            local_period(WriteOff.created_at, local, group_by).label("period"),
            WriteOff.id.label("write_off_id"),
            WriteOff.reason,
            WriteOff.created_by_id.label("user_id"),
            Movement.item_id,
            (-Movement.quantity).label("quantity"),
            func.coalesce(Movement.cost, 0).label("cost"),
        )
        # A write-off's lines are its movements: the document is the shop's, so are they. (Filtering the
        # movements by shop and kind as well led PostgreSQL to walk the whole write_off_id index.)
        .join(Movement, Movement.write_off_id == WriteOff.id)
        .where(
            WriteOff.shop_id == shop_id,
            WriteOff.created_at >= local.starts_at,
            WriteOff.created_at < local.ends_at,
        )
        .cte("lines")
    )
    quantity, cost = func.sum(lines.c.quantity).label("quantity"), func.sum(lines.c.cost).label("cost")
    documents = func.count(lines.c.write_off_id.distinct()).label("write_offs")
    detail = db.session.execute(
        select(
            lines.c.period,
            lines.c.reason,
            lines.c.item_id,
            Item.name,
            Item.unit,
            lines.c.user_id,
            User.name.label("user_name"),
            quantity,
            cost,
        )
        .join(Item, Item.id == lines.c.item_id)
        .outerjoin(User, User.id == lines.c.user_id)
        .group_by(lines.c.period, lines.c.reason, lines.c.item_id, Item.name, Item.unit, lines.c.user_id, User.name)
        .order_by(lines.c.period, lines.c.reason, Item.name, lines.c.item_id, User.name, lines.c.user_id)
    ).all()
    reasons = db.session.execute(
        select(
            lines.c.reason,
            documents,
            cost,
            func.sum(func.sum(lines.c.cost)).over().label("total_cost"),
            # A write-off has one reason, so the reasons' counts add up to the documents.
            func.sum(func.count(lines.c.write_off_id.distinct())).over().label("total_write_offs"),
        )
        .group_by(lines.c.reason)
        .order_by(cost.desc(), lines.c.reason)
    ).all()
    items = db.session.execute(
        select(lines.c.item_id, Item.name, Item.unit, documents, quantity, cost)
        .join(Item, Item.id == lines.c.item_id)
        .group_by(lines.c.item_id, Item.name, Item.unit)
        .order_by(cost.desc(), Item.name, lines.c.item_id)
    ).all()
    people = db.session.execute(
        select(lines.c.user_id, User.name.label("user_name"), documents, cost)
        .outerjoin(User, User.id == lines.c.user_id)
        .group_by(lines.c.user_id, User.name)
        .order_by(cost.desc(), User.name, lines.c.user_id)
    ).all()
    periods = {period.start: period for period in local.periods(group_by)}
    return {
        **_header(shop, local),
        "group_by": group_by.value,
        "total_cost": _dec(reasons[0].total_cost if reasons else 0),
        "total_write_offs": int(reasons[0].total_write_offs if reasons else 0),
        "rows": [
            {
                "period_start": periods[as_date(row.period)].first,
                "period_end": periods[as_date(row.period)].last,
                "reason": row.reason,
                "item_id": row.item_id,
                "item_name": row.name,
                "unit": row.unit,
                "user_id": row.user_id,
                "user_name": row.user_name,
                "quantity": _dec(row.quantity, Decimal("0.001")),
                "cost": _dec(row.cost),
            }
            for row in detail
        ],
        "by_reason": [{"reason": row.reason, "write_offs": row.write_offs, "cost": _dec(row.cost)} for row in reasons],
        "by_item": [
            {
                "item_id": row.item_id,
                "item_name": row.name,
                "unit": row.unit,
                "write_offs": row.write_offs,
                "quantity": _dec(row.quantity, Decimal("0.001")),
                "cost": _dec(row.cost),
            }
            for row in items
        ],
        "by_person": [
            {"user_id": row.user_id, "user_name": row.user_name, "write_offs": row.write_offs, "cost": _dec(row.cost)}
            for row in people
        ],
    }


# --- couriers --------------------------------------------------------------------------------

FAILURE_REASONS = tuple(reason.value for reason in FailureReason)
COURIER_SUMS = ("deliveries", "on_time", "late", "failed", *(f"failed_{r}" for r in FAILURE_REASONS), "cash_collected")


def _failure_reason(comment: ColumnElement) -> ColumnElement:
    """The reason a failed trip's history row starts with ("nobody_home: rang twice" -> "nobody_home")."""
    if is_postgresql():
        return func.split_part(comment, ":", 1)
    return func.substr(comment, 1, func.instr(comment.concat(":"), ":") - 1)


def _courier_figures(sums: dict[str, Any]) -> dict[str, Any]:
    deliveries, on_time = int(sums["deliveries"] or 0), int(sums["on_time"] or 0)
    return {
        "deliveries": deliveries,
        "on_time": on_time,
        "late": int(sums["late"] or 0),
        "on_time_percent": _percent(Decimal(on_time), Decimal(deliveries)),
        "failed": int(sums["failed"] or 0),
        **{f"failed_{r}": int(sums[f"failed_{r}"] or 0) for r in FAILURE_REASONS},
        "cash_collected": _dec(sums["cash_collected"]),
    }


def couriers_report(*, shop_id: int, date_from: date | None, date_to: date | None) -> dict[str, Any]:
    """Per courier: deliveries made in the range, on time (the courier's own completion time inside the
    window), late, failed trips by reason, and cash collected at the door. The shop's couriers with
    nothing in the range are listed with zeros.

    Two statements: the time zone, and one aggregate over deliveries, failed trips and the roster.
    """
    shop = _shop(shop_id)
    local = _range(shop, date_from, date_to)
    zeros = {name: literal(0) for name in COURIER_SUMS}

    def part(courier_id: ColumnElement, **figures: Any):
        return select(courier_id.label("courier_id"), *({**zeros, **figures}[n].label(n) for n in COURIER_SUMS))

    roster = part(Membership.user_id).where(
        Membership.shop_id == shop_id,
        Membership.role == Role.COURIER.value,
        Membership.deactivated_at.is_(None),
    )
    # The phone's own time when it sent one (it may have been offline at the door), else the server's; never
    # later than the server's, so a phone clock ahead cannot turn a late delivery into one on time.
    handed_over = case(
        (Delivery.client_completed_at <= Delivery.delivered_at, Delivery.client_completed_at),
        else_=Delivery.delivered_at,
    )
    done_at = local_timestamp(handed_over, local)
    opens = local_wall_clock(Order.delivery_date, Order.window_start)
    closes = local_wall_clock(Order.delivery_date, func.coalesce(Order.window_end, Order.window_start))
    delivered = (
        part(
            Order.courier_id,
            deliveries=literal(1),
            on_time=_when(and_(done_at >= opens, done_at <= closes), 1),
            late=_when(done_at > closes, 1),
            cash_collected=func.coalesce(Delivery.amount_collected, 0),
        )
        .join(Order, Order.id == Delivery.order_id)
        .where(
            Delivery.shop_id == shop_id,
            Order.shop_id == shop_id,
            Order.courier_id.is_not(None),
            Delivery.delivered_at >= local.starts_at,
            Delivery.delivered_at < local.ends_at,
        )
    )
    # A failed trip is the courier's who had the order then, whoever pressed the button.
    reason = _failure_reason(OrderStatusChange.comment)
    failed = (
        part(
            CourierAssignment.courier_id,
            failed=literal(1),
            **{f"failed_{r}": _when(reason == r, 1) for r in FAILURE_REASONS},
        )
        .join(
            CourierAssignment,
            and_(
                CourierAssignment.order_id == OrderStatusChange.order_id,
                CourierAssignment.assigned_at <= OrderStatusChange.created_at,
                or_(CourierAssignment.ended_at.is_(None), CourierAssignment.ended_at > OrderStatusChange.created_at),
            ),
        )
        .where(
            OrderStatusChange.shop_id == shop_id,
            CourierAssignment.shop_id == shop_id,
            OrderStatusChange.to_status == OrderStatus.DELIVERY_FAILED.value,
            OrderStatusChange.created_at >= local.starts_at,
            OrderStatusChange.created_at < local.ends_at,
        )
    )
    rows = union_all(roster, delivered, failed).subquery("courier_rows")
    stmt = (
        select(rows.c.courier_id, User.name, *_with_totals({name: rows.c[name] for name in COURIER_SUMS}))
        .join(User, User.id == rows.c.courier_id)
        .group_by(rows.c.courier_id, User.name)
        .order_by(User.name, rows.c.courier_id)
    )
    found = db.session.execute(stmt).all()
    couriers = [
        {"courier_id": row.courier_id, "courier_name": row.name, **_courier_figures(row._mapping)} for row in found
    ]
    totals = (
        {name: found[0]._mapping[f"total_{name}"] for name in COURIER_SUMS} if found else dict.fromkeys(COURIER_SUMS, 0)
    )
    return {**_header(shop, local), "couriers": couriers, "totals": _courier_figures(totals)}
