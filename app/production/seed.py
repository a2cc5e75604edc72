"""The demo shop's workshop and couriers: orders taken on through every later state, by the services.

After `seed_orders` (new, confirmed with pending tasks, ready and completed pickups, cancelled), this
step adds today's deliveries (the shop's local day) that a florist is assembling, that are ready, out
with the courier, delivered with cash collected, and back from a failed trip; so every order state,
task state and delivery state is there to click through, and the courier app has a day to show.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.catalogue.models import Product
from app.courier import services as couriers
from app.extensions import db
from app.orders import services as orders
from app.orders.models import Order
from app.production import services as production
from app.production.models import ProductionTask
from app.users import services as users
from app.users.models import Role
from app.warehouse.services import shop_today

DEMO_FLORIST_PHONE = "+79160000003"
DEMO_COURIER_PHONE = "+79160000004"

# customer, recipient, address, product, window, card, the comment the courier reads, and how far it gets.
# What gets consumed avoids the roses and tulips whose expired batches the demo keeps for a write-off
# (consumption takes the batches expiring first).
DEMO_DELIVERIES: list[dict[str, Any]] = [
    {
        "customer": ("Alexei Morozov", "+79035550601"),
        "recipient": ("Vera Morozova", "+79035550602"),
        "address": "Moscow, Myasnitskaya 24, flat 12",
        "product": "15 red roses",
        "window": "14:00",
        "card_text": "Happy anniversary",
        "comment": "Entrance code 12K4; call 10 minutes before",
        "reach": "in_production",
    },
    {
        "customer": ("Ksenia Lebedeva", "+79035550701"),
        "recipient": ("Oksana Lebedeva", "+79035550702"),
        "address": "Moscow, Bolshaya Ordynka 40",
        "product": "Hatbox of white roses",
        "window": "18:00",
        "card_text": "Get well soon",
        "comment": "Hand to the concierge if nobody answers",
        "reach": "ready",
    },
    {
        "customer": ("Roman Popov", "+79035550801"),
        "recipient": ("Yulia Popova", "+79035550802"),
        "address": "Moscow, Sretenka 9, office 3",
        "product": "Pastel mix",
        "window": "10:00",
        "card_text": "Good luck today!",
        "comment": "Reception on the ground floor",
        "reach": "out_for_delivery",
    },
    {
        "customer": ("Maxim Fedorov", "+79035550901"),
        "recipient": ("Daria Fedorova", "+79035550902"),
        "address": "Moscow, Prechistenka 12",
        "product": "Peony cloud",
        "window": "14:00",
        "card_text": "For no reason at all",
        "comment": "Cash on delivery",
        "reach": "delivered",
    },
    {
        "customer": ("Svetlana Kozlova", "+79035551001"),
        "recipient": ("Nina Kozlova", "+79035551002"),
        "address": "Moscow, Malaya Bronnaya 15, flat 7",
        "product": "Hatbox of white roses",
        "window": "10:00",
        "card_text": "Happy birthday, Nina",
        "comment": "Intercom 7",
        "reach": "delivery_failed",
    },
]
# The steps each delivery goes through, in order, to reach its state.
STEPS = ["in_production", "ready", "courier", "out_for_delivery", "delivered"]


def _task_of(order_id: int) -> int:
    return db.session.scalars(select(ProductionTask.id).where(ProductionTask.order_id == order_id)).one()


def _take_to(order_id: int, demo: dict[str, Any], shop_id: int, florist_id: int, courier_id: int) -> None:
    reach = demo["reach"]
    goal = "out_for_delivery" if reach == "delivery_failed" else reach
    florist = {"shop_id": shop_id, "actor_id": florist_id, "actor_role": Role.FLORIST, "commit": False}
    courier = {"shop_id": shop_id, "order_id": order_id, "actor_id": courier_id, "actor_role": Role.COURIER}
    for step in STEPS[: STEPS.index(goal) + 1]:
        if step == "in_production":
            production.start_task(task_id=_task_of(order_id), **florist)
        elif step == "ready":
            production.complete_task(task_id=_task_of(order_id), **florist)
        elif step == "courier":
            couriers.assign_courier(
                shop_id=shop_id, order_id=order_id, courier_id=courier_id, actor_id=None, commit=False
            )
        elif step == "out_for_delivery":
            couriers.pick_up(**courier, commit=False)
        elif step == "delivered":
            due = db.session.get(Order, order_id).amount_due  # cash on delivery: all that is owed
            couriers.deliver(**courier, amount_collected=due, commit=False)
    if reach == "delivery_failed":
        couriers.fail(**courier, reason="nobody_home", comment="Nobody answered the intercom", commit=False)


def seed_workshop_and_deliveries(state: dict) -> None:
    """Five deliveries for today taken as far as the workshop and the courier would."""
    shop, actor_id = state["shop"], state["owner"].id
    florist, courier = users.find_by_phone(DEMO_FLORIST_PHONE), users.find_by_phone(DEMO_COURIER_PHONE)
    products = {p.name: p.id for p in db.session.scalars(select(Product).where(Product.shop_id == shop.id))}
    today = shop_today(shop.id)
    # Taken when the shop's day began, so today's windows are open however late in the evening the demo is seeded.
    morning = datetime.combine(today, time(0), tzinfo=ZoneInfo(shop.timezone))
    for demo in DEMO_DELIVERIES:
        (name, phone), (recipient_name, recipient_phone) = demo["customer"], demo["recipient"]
        data = {
            "customer": {"name": name, "phone": phone},
            "recipient_name": recipient_name,
            "recipient_phone": recipient_phone,
            "fulfillment": "delivery",
            "address": demo["address"],
            "delivery_date": today,
            "window_start": demo["window"],
            "card_text": demo["card_text"],
            "comment": demo["comment"],
            "items": [{"product_id": products[demo["product"]], "quantity": 1}],
            "source": "phone",
        }
        order = orders.create_order(shop_id=shop.id, actor_id=actor_id, data=data, now=morning, commit=False)
        orders.change_status(shop_id=shop.id, order_id=order.id, actor_id=actor_id, status="confirmed", commit=False)
        _take_to(order.id, demo, shop.id, florist.id, courier.id)
    # One of the earlier confirmed orders' tasks goes to the florist; the other stays for anyone to claim.
    pending = db.session.scalars(
        select(ProductionTask.id)
        .where(ProductionTask.shop_id == shop.id, ProductionTask.status == "pending")
        .order_by(ProductionTask.id)
    ).first()
    if pending is not None:
        production.assign_task(
            shop_id=shop.id,
            task_id=pending,
            florist_id=florist.id,
            actor_id=actor_id,
            actor_role=Role.ADMIN,
            commit=False,
        )
