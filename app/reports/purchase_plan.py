"""The purchase plan: what to buy from the wholesaler for the shop-local days `from`..`to`.

Per warehouse item, over the range's days (docs/reports.md, "Purchase plan", says it in words):

- ordered: the stems new orders delivering on those days take by their products' recipes, plus what
  confirmed orders still miss (`short` on their reservations: stems written off under them). The
  rest of a confirmed order is already reserved, i.e. already taken out of the stock counted below,
  so counting it again would buy it twice.
- standing: the stems of standing orders' dates in the range whose orders are not made yet (the series
  running, the date neither made, skipped nor failed), by their products' recipes. A date already made
  is an order and counts as one above.
- forecast: last year's stems on the day each day is compared with (app/reports/named_days.py) ×
  `growth`, beyond what is booked for the day already (every order not cancelled, whatever its
  status, and the standing dates still to be made): a day with more booked than the forecast adds nothing.
- stock: on hand minus reserved. Reserved stems are taken from the batches expiring first (as
  consumption does, FEFO); then each day's need is taken from the free stems of batches still good
  that day (a batch expiring on a day is expired that day, as the warehouse counts it), earliest
  expiry first, days in order.
- to buy: what stock cannot cover, rounded up to whole packs of the item's `pack_size`; valued at the
  unit cost of the item's latest batch; the supplier is the item's own or else its latest supply's.

Seven statements whatever the data: the shop, the demand per item and day, the shop's running standing
orders, their dates already recorded in the range, their products' recipes, the items with their latest batch,
the free stock per item and expiry date.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_UP, Decimal
from typing import Any

from sqlalchemy import and_, case, func, literal, select, union_all

from app.catalogue.models import RecipeComponent
from app.errors import RuleViolation
from app.extensions import db
from app.orders.models import Order, OrderItem, OrderStatus
from app.reports.named_days import compared_with
from app.reports.periods import as_date, local_today
from app.reports.services import _dec, _shop
from app.standing import rules
from app.standing.models import StandingOccurrence, StandingOrder
from app.warehouse.models import Batch, Item, Reservation, ReservationState, Supply

QUANTUM = Decimal("0.001")
ZERO = Decimal("0")
DEFAULT_DAYS = 7
MAX_DAYS = 31
DEFAULT_GROWTH = Decimal("1")
NEW = OrderStatus.NEW.value
CONFIRMED = OrderStatus.CONFIRMED.value
CANCELLED = OrderStatus.CANCELLED.value


def _qty(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else 0)).quantize(QUANTUM)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _demand(shop_id: int, days: list[date], history: list[date]):
    """Per (day, item): stems new orders need, stems confirmed orders miss, and stems booked by all kept orders.

    The days are the range's and the days of last year they are compared with, in one pass.
    """
    stems = OrderItem.quantity * RecipeComponent.quantity
    lines = (
        select(
            Order.delivery_date.label("day"),
            RecipeComponent.item_id.label("item_id"),
            case((Order.status == NEW, stems), else_=0).label("new"),
            literal(0).label("short"),
            stems.label("booked"),
        )
        .join(OrderItem, OrderItem.order_id == Order.id)
        .join(RecipeComponent, RecipeComponent.product_id == OrderItem.product_id)
        .where(
            Order.shop_id == shop_id,
            OrderItem.shop_id == shop_id,
            RecipeComponent.shop_id == shop_id,
            Order.delivery_date.in_(sorted(set(days) | set(history))),
            Order.status != CANCELLED,
        )
    )
    shorts = (
        select(
            Order.delivery_date.label("day"),
            Reservation.item_id.label("item_id"),
            literal(0).label("new"),
            Reservation.short.label("short"),
            literal(0).label("booked"),
        )
        .join(Reservation, and_(Reservation.order_id == Order.id, Reservation.state == ReservationState.ACTIVE.value))
        .where(
            Order.shop_id == shop_id,
            Reservation.shop_id == shop_id,
            Order.delivery_date.in_(days),
            Order.status == CONFIRMED,
            Reservation.short > 0,
        )
    )
    rows = union_all(lines, shorts).subquery("demand_rows")
    return db.session.execute(
        select(
            rows.c.day,
            rows.c.item_id,
            func.sum(rows.c.new).label("new"),
            func.sum(rows.c.short).label("short"),
            func.sum(rows.c.booked).label("booked"),
        ).group_by(rows.c.day, rows.c.item_id)
    ).all()


def _standing(shop_id: int, first: date, last: date) -> dict[tuple[date, int], Decimal]:
    """Per (day, item): the stems of the standing orders' dates from `first` to `last` not made yet.

        Three statements whatever the number of series: the shop's running series whose next date not yet made
        is by `last`, the dates of those series in the range already recorded (made, skipped or failed: never made
        again), and the recipes of their products. The dates come from each series' rule from its next date on
        (the dates before it are made or passed over): the dates the scan's rrule makes, found by calendar arithmetic
    over the range's days (app/standing/rules.py `dates_in`).
    """
    running = and_(
        StandingOrder.shop_id == shop_id,
        StandingOrder.paused.is_(False),
        StandingOrder.next_date.is_not(None),
        StandingOrder.next_date <= last,
    )
    series = db.session.execute(
        select(
            StandingOrder.id,
            StandingOrder.rule,
            StandingOrder.starts_on,
            StandingOrder.ends_on,
            StandingOrder.count,
            StandingOrder.next_date,
            StandingOrder.template,
        ).where(running)
    ).all()
    recorded = {
        (series_id, as_date(day))
        for series_id, day in db.session.execute(
            select(StandingOccurrence.standing_order_id, StandingOccurrence.date)
            .join(StandingOrder, StandingOrder.id == StandingOccurrence.standing_order_id)
            .where(running, StandingOccurrence.date >= first, StandingOccurrence.date <= last)
        )
    }
    products: dict[tuple[date, int], Decimal] = defaultdict(lambda: ZERO)
    for row in series:
        starts_on, ends_on = as_date(row.starts_on), as_date(row.ends_on) if row.ends_on else None
        since = max(as_date(row.next_date), first)
        for day in rules.dates_in(
            row.rule, starts_on=starts_on, ends_on=ends_on, count=row.count, first=since, last=last
        ):
            if (row.id, day) in recorded:
                continue
            for line in row.template["items"]:
                products[(day, int(line["product_id"]))] += _qty(line["quantity"])
    recipes = defaultdict(list)
    for product_id, item_id, quantity in db.session.execute(
        select(RecipeComponent.product_id, RecipeComponent.item_id, RecipeComponent.quantity).where(
            RecipeComponent.shop_id == shop_id, RecipeComponent.product_id.in_(sorted({p for _, p in products}))
        )
    ):
        recipes[product_id].append((item_id, _qty(quantity)))
    stems: dict[tuple[date, int], Decimal] = defaultdict(lambda: ZERO)
    for (day, product_id), quantity in products.items():
        for item_id, per_product in recipes[product_id]:
            stems[(day, item_id)] += quantity * per_product
    return stems


def _items(shop_id: int):
    """The shop's items with the unit cost and the supplier of each one's latest batch."""
    latest = (
        select(
            Batch.item_id,
            Batch.unit_cost,
            Supply.supplier,
            func.row_number()
            .over(partition_by=Batch.item_id, order_by=(Batch.received_on.desc(), Batch.id.desc()))
            .label("place"),
        )
        .outerjoin(Supply, Supply.id == Batch.supply_id)
        .where(Batch.shop_id == shop_id)
        .subquery("latest")
    )
    return db.session.execute(
        select(
            Item.id,
            Item.name,
            Item.kind,
            Item.unit,
            Item.pack_size,
            Item.reserved,
            func.coalesce(func.nullif(Item.supplier, ""), latest.c.supplier).label("supplier"),
            latest.c.unit_cost,
        )
        .outerjoin(latest, and_(latest.c.item_id == Item.id, latest.c.place == 1))
        .where(Item.shop_id == shop_id)
    ).all()


def _stock(shop_id: int):
    """(item, expiry date, stems on hand) of the shop's batches holding stems."""
    return db.session.execute(
        select(Batch.item_id, Batch.expires_on, func.sum(Batch.remaining).label("remaining"))
        .where(Batch.shop_id == shop_id, Batch.remaining > 0)
        .group_by(Batch.item_id, Batch.expires_on)
    ).all()


def _cover(batches: list[list], reserved: Decimal, needs: list[tuple[date, Decimal]]) -> tuple[Decimal, Decimal]:
    """(free stems still good on the first day, stems of `needs` the batches cover).

    `batches` are [expires_on or None, stems] in FEFO order; reserved stems leave the earliest first.
    """
    left = reserved
    for batch in batches:
        taken = min(batch[1], left)
        batch[1] -= taken
        left -= taken
    first = needs[0][0]
    available = sum((stems for expires, stems in batches if expires is None or expires > first), ZERO)
    covered = ZERO
    for day, need in needs:
        for batch in batches:
            if need <= 0:
                break
            if batch[0] is not None and batch[0] <= day:
                continue
            taken = min(batch[1], need)
            batch[1] -= taken
            need -= taken
            covered += taken
    return available, covered


def _round_up(quantity: Decimal, pack: int) -> Decimal:
    if quantity <= 0:
        return ZERO
    return (quantity / pack).to_integral_value(rounding=ROUND_CEILING) * pack


def purchase_plan(
    *, shop_id: int, date_from: date | None, date_to: date | None, growth: Decimal = DEFAULT_GROWTH
) -> dict[str, Any]:
    """Per item needed in the range: ordered, forecast, covered by stock, to buy in whole packs, its cost."""
    shop = _shop(shop_id)
    first = date_from or local_today(shop.zone)
    last = date_to or first + timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise RuleViolation("`from` is after `to`; swap the dates.", errors={"from": ["Must not be after `to`."]})
    if (last - first).days >= MAX_DAYS:
        raise RuleViolation(
            "The range is too long; shorten it.", errors={"to": [f"At most {MAX_DAYS} days from `from`."]}
        )
    days = _days(first, last)
    compared = {day: compared_with(day) for day in days}

    new: dict[int, dict[date, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    short, booked = defaultdict(lambda: defaultdict(lambda: ZERO)), defaultdict(lambda: defaultdict(lambda: ZERO))
    for row in _demand(shop_id, days, [source for source, _ in compared.values()]):
        day = as_date(row.day)
        new[row.item_id][day] += _qty(row.new)
        short[row.item_id][day] += _qty(row.short)
        booked[row.item_id][day] += _qty(row.booked)
    standing = _standing(shop_id, first, last)
    items = _items(shop_id)
    batches: dict[int, list[list]] = defaultdict(list)
    for row in _stock(shop_id):
        expires = as_date(row.expires_on) if row.expires_on is not None else None
        batches[row.item_id].append([expires, _qty(row.remaining)])
    for found in batches.values():
        found.sort(key=lambda batch: (batch[0] is None, batch[0] or date.min))

    lines = []
    total = ZERO
    for item in sorted(items, key=lambda row: (row.name, row.id)):
        ordered = from_standing = forecast = ZERO
        needs = []
        for day in days:
            from_orders = new[item.id][day] + short[item.id][day]
            to_make = standing.get((day, item.id), ZERO)
            expected = (booked[item.id][compared[day][0]] * growth).quantize(QUANTUM, rounding=ROUND_UP)
            beyond = max(expected - booked[item.id][day] - to_make, ZERO)
            ordered += from_orders
            from_standing += to_make
            forecast += beyond
            needs.append((day, from_orders + to_make + beyond))
        needed = ordered + from_standing + forecast
        if needed <= 0:
            continue
        available, covered = _cover(batches[item.id], _qty(item.reserved), needs)
        shortfall = needed - covered
        pack = int(item.pack_size or 1)
        to_buy = _round_up(shortfall, pack)
        unit_cost = _dec(item.unit_cost) if item.unit_cost is not None else None
        cost = _dec(to_buy * unit_cost) if unit_cost is not None else None
        total += cost or ZERO
        lines.append(
            {
                "item_id": item.id,
                "item_name": item.name,
                "kind": item.kind,
                "unit": item.unit,
                "supplier": item.supplier,
                "ordered": ordered,
                "standing": from_standing,
                "forecast": forecast,
                "needed": needed,
                "available": available,
                "from_stock": covered,
                "shortfall": shortfall,
                "pack_size": pack,
                "packs": int(to_buy / pack),
                "to_buy": to_buy,
                "unit_cost": unit_cost,
                "cost": cost,
            }
        )
    return {
        "from": first,
        "to": last,
        "time_zone": shop.zone.key,
        "currency": shop.currency,
        "growth": growth,
        "days": [{"day": day, "compared_with": source, "named_day": name} for day, (source, name) in compared.items()],
        "items": lines,
        "totals": {"cost": _dec(total)},
    }
