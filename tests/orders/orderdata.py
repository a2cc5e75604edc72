"""A shop ready to take orders: delivery windows, stock, bouquets with recipes; and order payloads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text

from app.catalogue import services as catalogue
from app.catalogue.models import Product
from app.extensions import db
from app.orders import services as orders
from app.orders.models import Order, OrderStatusChange
from app.orders.schemas import OrderCreateSchema
from app.promos.models import PromoCode
from app.shops.models import Shop
from app.slots.models import SlotBooking
from app.warehouse.models import Item
from tests.helpers import wait_until_blocked
from tests.slots.slotdata import set_windows
from tests.warehouse.stockdata import D, make_item, supply

MORNING, EVENING = "10:00", "14:00"


def windows(capacity: int = 5, morning_fee: str = "300.00", evening_fee: str = "450.00") -> list[dict[str, Any]]:
    """Two windows every day of the week."""
    return [
        slot
        for weekday in range(7)
        for slot in (
            {"weekday": weekday, "start": MORNING, "end": "14:00", "capacity": capacity, "delivery_fee": morning_fee},
            {"weekday": weekday, "start": EVENING, "end": "18:00", "capacity": capacity, "delivery_fee": evening_fee},
        )
    ]


def shop_tomorrow(shop) -> date:
    return datetime.now(ZoneInfo(shop.timezone)).date() + timedelta(days=1)


@dataclass
class Front:
    """What a shop sells and holds, by the names the tests use."""

    shop_id: int
    day: date
    rose: Item
    fern: Item
    bouquet: Product  # 5 roses + 1 fern, assembled by a florist, 2900.00
    stem: Product  # one rose off the shelf, 190.00
    gift_card: Product  # nothing from stock, 3000.00


def open_shop(shop, *, roses: int = 100, ferns: int = 20, capacity: int = 5, prefix: str = "") -> Front:
    """Give `shop` delivery windows, stock and three products."""
    set_windows(shop, *windows(capacity))
    rose, fern = make_item(shop, f"{prefix}Red rose"), make_item(shop, f"{prefix}Fern", kind="greenery")
    lines = [(item, qty, cost) for item, qty, cost in ((rose, roses, "40.00"), (fern, ferns, "12.00")) if qty]
    if lines:
        supply(shop, *lines)

    def product(name: str, price: str, needs_assembly: bool, recipe: list[tuple[Item, int]]) -> Product:
        made = catalogue.create_product(
            shop_id=shop.id,
            actor_id=None,
            data={"name": f"{prefix}{name}", "price": D(price), "needs_assembly": needs_assembly},
        )
        if recipe:
            components = [{"item_id": item.id, "quantity": D(qty)} for item, qty in recipe]
            catalogue.set_recipe(shop_id=shop.id, product_id=made.id, actor_id=None, components=components)
        return made

    front = Front(
        shop_id=shop.id,
        day=shop_tomorrow(shop),
        rose=rose,
        fern=fern,
        bouquet=product("Bouquet of roses", "2900.00", True, [(rose, 5), (fern, 1)]),
        stem=product("Rose by the stem", "190.00", False, [(rose, 1)]),
        gift_card=product("Gift card", "3000.00", False, []),
    )
    db.session.commit()
    return front


def delivery(front: Front, **fields: Any) -> dict[str, Any]:
    """The body of POST /orders for a delivery of one bouquet tomorrow morning."""
    body = {
        "customer": {"name": "Olga Petrova", "phone": "+79161112233"},
        "recipient_name": "Irina Sokolova",
        "recipient_phone": "+79162223344",
        "fulfillment": "delivery",
        "address": "Moscow, Arbat 10, flat 5",
        "delivery_date": front.day.isoformat(),
        "window_start": MORNING,
        "card_text": "Happy birthday, Ira!",
        "comment": "Call before",
        "items": [{"product_id": front.bouquet.id, "quantity": 1}],
        "source": "phone",
    }
    body.update(fields)
    return body


def pickup(front: Front, **fields: Any) -> dict[str, Any]:
    """The body of POST /orders for a pickup of two stems tomorrow at noon."""
    body = {
        "customer": {"name": "Pavel Ivanov", "phone": "+79163334455"},
        "fulfillment": "pickup",
        "delivery_date": front.day.isoformat(),
        "pickup_time": "12:00",
        "items": [{"product_id": front.stem.id, "quantity": 2}],
        "source": "shop",
    }
    body.update(fields)
    return body


def place(front: Front, body: dict[str, Any], *, status: str | None = None) -> Order:
    """An order made through the service (as POST /orders would), optionally forced into `status`.

    Forcing stands in for the production and delivery steps of a later issue.
    """
    order = orders.create_order(shop_id=front.shop_id, actor_id=None, data=OrderCreateSchema().load(body))
    if status is not None and status != order.status:
        order.status = status
        db.session.commit()
    return order


def history_of(order_id: int) -> list[tuple[str | None, str]]:
    rows = db.session.scalars(
        select(OrderStatusChange).where(OrderStatusChange.order_id == order_id).order_by(OrderStatusChange.id)
    )
    return [(row.from_status, row.to_status) for row in rows]


def count_orders(shop_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Order).where(Order.shop_id == shop_id))


def fresh(model, row_id: int):
    db.session.expire_all()
    return db.session.get(model, row_id)


def run_in_parallel(attempts: list[Callable[[], object]]) -> list[object]:
    """Start every attempt at the same moment, each in its own thread (an API request has its own session)."""
    barrier = threading.Barrier(len(attempts))
    results: list[object] = [None] * len(attempts)

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = attempts[index]()
        except Exception as exc:  # the test looks at what each thread met
            results[index] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return results


def answered_behind_a_lock(statements: list[tuple[str, dict[str, Any]]], request: Callable[[], Any]) -> Any:
    """`request`'s answer when it had to wait for another transaction: that one runs `statements` (SQL, parameters),
    taking their row locks and making their changes, and commits once the request waits on a lock."""
    engine = db.engine  # the threads have no app context
    holder = engine.connect()
    holder.begin()
    for sql, params in statements:
        holder.execute(text(sql), params)

    def let_go() -> None:
        try:
            wait_until_blocked(engine, 1)
            holder.commit()
        finally:
            holder.close()

    answer, _ = run_in_parallel([request, let_go])
    return answer


def taken(shop_id: int, day: date, start: str) -> int:
    """How much of the window's capacity orders hold."""
    row = db.session.scalars(
        select(SlotBooking)
        .where(SlotBooking.shop_id == shop_id, SlotBooking.delivery_date == day, SlotBooking.window_start == start)
        .execution_options(populate_existing=True)
    ).first()
    return row.taken if row else 0


def uses(promo_id: int) -> int:
    return db.session.scalars(
        select(PromoCode.uses).where(PromoCode.id == promo_id).execution_options(populate_existing=True)
    ).one()


def stock_of(item: Item) -> tuple[Decimal, Decimal]:
    """(on hand, reserved) as the database holds them now."""
    row = db.session.scalars(select(Item).where(Item.id == item.id).execution_options(populate_existing=True)).one()
    return row.on_hand, row.reserved


def shop_of(front: Front) -> Shop:
    return db.session.get(Shop, front.shop_id)
