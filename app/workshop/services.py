"""Workshop capacity: the florists' minutes of a delivery date, and the minutes its orders hold.

A product takes its `florist_minutes`, or by default (NULL) 5 minutes plus 1 per unit of its recipe (stems,
and metres of ribbon alike, rounded up) when it needs assembly, else 0. An order holds the minutes of its
lines on its delivery date (deliveries and pickups alike) from intake until it is cancelled; the day's
minutes are the date override's `workshop_minutes`, else the shop's `workshop_minutes_per_day`, else
unlimited (counted all the same, so a limit set later starts from the truth).

Taking is one conditional UPDATE of the date's counter row (`minutes + needed <= day's minutes`), so under any
concurrency a day never holds more than it has, as windows do (app/slots). A manager may take them over the
limit (`override_workshop`); that is audited on the order. An order that holds none (`workshop_minutes` NULL: a
standing order's date made when the day was full) takes them when it is confirmed. The counter is locked last
in every transaction (after stock, windows, promo and number), so it never waits in a circle. Nothing here
commits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Integer, bindparam, case, func, select, text, update

from app.audit import services as audit
from app.catalogue.models import Product, RecipeComponent
from app.common import memo
from app.common.types import utcnow
from app.errors import ConflictError
from app.extensions import db
from app.shops.models import Shop
from app.shops.services import effective_settings
from app.slots.models import DeliveryWindowOverride
from app.workshop.models import WorkshopBooking

if TYPE_CHECKING:
    from app.orders.models import Order

BASE_MINUTES = 5
MINUTES_PER_UNIT = 1
SPENT = "The florists have {left} minutes left on {date}; this order needs {needed}."


@dataclass(frozen=True)
class Held:
    """What an order took: its minutes, and the day's minutes when it went over them (a manager's override)."""

    minutes: int
    over_limit: int | None = None
    left_before: int | None = None


def default_minutes(*, needs_assembly: bool, recipe_units: Decimal | int | None) -> int:
    """A product's minutes when it has none of its own."""
    if not needs_assembly:
        return 0
    return BASE_MINUTES + MINUTES_PER_UNIT * math.ceil(Decimal(str(recipe_units or 0)))


def known_minutes() -> dict[int, tuple[int | None, Decimal | None]]:
    """Products' own minutes and recipe units already read in this batch of intakes (app/common/memo.py), by id;
    intake's price read fills it (`recipe_units`), so counting an order's minutes reads nothing more."""
    return memo.once(("product_minutes",), dict)


def recipe_units():
    """The product's recipe units (stems, metres...), a column to read beside the product."""
    return (
        select(func.sum(RecipeComponent.quantity))
        .where(RecipeComponent.product_id == Product.id)
        .correlate(Product)
        .scalar_subquery()
    )


def minutes_of(order: Order) -> int:
    """The minutes the order's lines take now, by their products (one statement, none for products intake has
    just priced in this transaction)."""
    if not order.items:
        return 0
    own = known_minutes()
    missing = {line.product_id for line in order.items} - own.keys()
    if missing:
        rows = db.session.execute(
            select(Product.id, Product.florist_minutes, recipe_units()).where(Product.id.in_(missing))
        )
        own.update({product_id: (minutes, units) for product_id, minutes, units in rows})
    total = 0
    for line in order.items:
        minutes, units = own.get(line.product_id, (None, None))
        if minutes is None:
            minutes = default_minutes(needs_assembly=line.needs_assembly, recipe_units=units)
        total += minutes * line.quantity
    return total


def day_limit(shop: Shop, override: DeliveryWindowOverride | None) -> int | None:
    """The date's florist minutes: its override's, else the shop's; None is unlimited."""
    if override is not None and override.workshop_minutes is not None:
        return override.workshop_minutes
    return effective_settings(shop)["workshop_minutes_per_day"]


def _limit(shop_id: int, day: date) -> int | None:
    # The memo's key is app/slots' for the same row: an intake whose window read the date's override reads it
    # no second time.
    override = memo.once(
        ("override", shop_id, day),
        lambda: db.session.scalars(
            select(DeliveryWindowOverride).where(
                DeliveryWindowOverride.shop_id == shop_id, DeliveryWindowOverride.date == day
            )
        ).first(),
    )
    return day_limit(db.session.get(Shop, shop_id), override)


def _held(shop_id: int, day: date) -> int:
    return (
        db.session.scalar(
            select(WorkshopBooking.minutes).where(
                WorkshopBooking.shop_id == shop_id, WorkshopBooking.delivery_date == day
            )
        )
        or 0
    )


# One statement, compiled once (plain SQL both PostgreSQL and SQLite speak): the date's first order makes its counter
# row, later ones add to it, re-checked under the row lock the upsert takes, so concurrent takers queue there and
# the last ones find the day spent. `:limit` NULL: no limit (a manager's override, or a shop without one).
_TAKE = text(
    """
    INSERT INTO workshop_bookings (shop_id, delivery_date, minutes, created_at, updated_at)
    VALUES (:shop_id, :day, :minutes, :now, :now)
    ON CONFLICT (shop_id, delivery_date) DO UPDATE
        SET minutes = workshop_bookings.minutes + excluded.minutes, updated_at = excluded.updated_at
        WHERE CAST(:limit AS INTEGER) IS NULL OR workshop_bookings.minutes + excluded.minutes <= :limit
    RETURNING id
    """
).bindparams(
    bindparam("day", type_=WorkshopBooking.__table__.c.delivery_date.type),
    bindparam("now", type_=WorkshopBooking.__table__.c.updated_at.type),
    bindparam("limit", type_=Integer()),
)


def take(*, shop_id: int, day: date, minutes: int, override: bool = False) -> Held:
    """Take `minutes` of the date's florist minutes, atomically; the caller's transaction commits it.

    Raises ConflictError (`errors.workshop`: date, minutes_left, minutes_needed, minutes_per_day) when they do
    not fit, unless `override`: then they are taken over the limit and the result says so.
    """
    if minutes == 0:  # nothing a florist makes: always fits, no statement
        return Held(0)
    limit = _limit(shop_id, day)
    values = {"shop_id": shop_id, "day": day, "minutes": minutes, "now": utcnow()}
    fits = limit is None or minutes <= limit  # a first order of the day larger than the day inserts nothing
    if fits and db.session.execute(_TAKE, {**values, "limit": limit}).first() is not None:
        return Held(minutes)
    left = max(limit - _held(shop_id, day), 0)
    if not override:
        raise ConflictError(
            SPENT,
            errors={
                "workshop": {
                    "date": day.isoformat(),
                    "minutes_left": left,
                    "minutes_needed": minutes,
                    "minutes_per_day": limit,
                }
            },
            params={"left": left, "date": day.isoformat(), "needed": minutes},
        )
    db.session.execute(_TAKE, {**values, "limit": None})
    return Held(minutes, over_limit=limit, left_before=left)


def release(*, shop_id: int, day: date, minutes: int) -> None:
    """Give minutes back (an order cancelled, moved or made smaller); never below zero."""
    if not minutes:
        return
    db.session.execute(
        update(WorkshopBooking)
        .where(WorkshopBooking.shop_id == shop_id, WorkshopBooking.delivery_date == day)
        .values(
            minutes=case((WorkshopBooking.minutes > minutes, WorkshopBooking.minutes - minutes), else_=0),
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )


def audit_override(order: Order, held: Held | None, actor_id: int | None) -> None:
    """The audit entry of minutes a manager took over the day's limit (none otherwise)."""
    if held is None or held.over_limit is None:
        return
    audit.record(
        shop_id=order.shop_id,
        actor_id=actor_id,
        action="workshop_override",
        entity_type="order",
        entity_id=order.id,
        changes={
            "workshop": {
                "date": order.delivery_date.isoformat(),
                "minutes_per_day": held.over_limit,
                "minutes_left": held.left_before,
                "minutes_needed": held.minutes,
            }
        },
    )


# --- the order's steps (app/orders/services.py calls these, last in each transaction) --------------------


def hold_for_new_orders(orders: list[Order], *, override: bool, lenient: bool) -> list[Held | None]:
    """Intake: the new orders (numbered, not yet inserted) hold their minutes, each date's for all of them in one
    take, dates in order (the lock order); what each took, for `audit_override` once it has its id. `lenient` (a
    standing order's date found the day spent): they are made holding none (None), and confirming takes them."""
    minutes = [minutes_of(order) for order in orders]
    held: list[Held | None] = [None] * len(orders)
    by_day: dict[date, list[int]] = {}
    for i, order in enumerate(orders):
        by_day.setdefault(order.delivery_date, []).append(i)
    for day, members in sorted(by_day.items()):
        shop_id = orders[members[0]].shop_id
        try:
            taken = take(shop_id=shop_id, day=day, minutes=sum(minutes[i] for i in members), override=override)
        except ConflictError:
            if not lenient:
                raise
            for i in members:
                orders[i].workshop_minutes = None
            continue
        for i in members:
            orders[i].workshop_minutes = minutes[i]
            held[i] = Held(minutes[i], over_limit=taken.over_limit, left_before=taken.left_before)
    return held


def hold_on_confirm(order: Order, *, actor_id: int | None, override: bool) -> None:
    """Confirm: an order that holds no minutes yet takes them now (409 when the day is spent)."""
    if order.workshop_minutes is not None:
        return
    held = take(shop_id=order.shop_id, day=order.delivery_date, minutes=minutes_of(order), override=override)
    order.workshop_minutes = held.minutes
    audit_override(order, held, actor_id)


def follow_change(order: Order, *, old_day: date, actor_id: int | None, override: bool) -> None:
    """A change of the order's lines or date: the minutes it holds move with it (409 when the new day has no
    room for them; becoming smaller on the same day always fits)."""
    if order.workshop_minutes is None:
        return
    old, new = order.workshop_minutes, minutes_of(order)
    day = order.delivery_date
    if day == old_day:
        if new <= old:
            release(shop_id=order.shop_id, day=day, minutes=old - new)
            order.workshop_minutes = new
            return
        release(shop_id=order.shop_id, day=day, minutes=old)
        held = take(shop_id=order.shop_id, day=day, minutes=new, override=override)
    else:  # both days' rows in date order, so two moves the other way round cannot deadlock
        if old_day < day:
            release(shop_id=order.shop_id, day=old_day, minutes=old)
            held = take(shop_id=order.shop_id, day=day, minutes=new, override=override)
        else:
            held = take(shop_id=order.shop_id, day=day, minutes=new, override=override)
            release(shop_id=order.shop_id, day=old_day, minutes=old)
    order.workshop_minutes = held.minutes
    audit_override(order, held, actor_id)


def release_order(order: Order) -> None:
    """Cancel: the order's minutes go back to its day."""
    if order.workshop_minutes:
        release(shop_id=order.shop_id, day=order.delivery_date, minutes=order.workshop_minutes)
    order.workshop_minutes = None
