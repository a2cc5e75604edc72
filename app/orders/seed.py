"""The demo shop's orders: a day of intake in several states, made through the services."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.catalogue.models import Product
from app.extensions import db
from app.orders import services
from app.slots import services as slots
from app.warehouse.services import shop_today

# Used only when no earlier step gave the demo shop delivery windows.
DEMO_WINDOWS = [("10:00", "14:00", 8, "350.00"), ("14:00", "18:00", 8, "350.00"), ("18:00", "22:00", 5, "450.00")]

# customer, recipient, product and quantity, day offset, window or pickup time, card text, then the status
# steps, the payment (amount, method) and the comment the last step gets.
DEMO_ORDERS: list[dict[str, Any]] = [
    {
        "customer": ("Olga Petrova", "+79161112233"),
        "recipient": ("Irina Sokolova", "+79162223344"),
        "address": "Moscow, Arbat 10, flat 5",
        "items": [("15 red roses", 1)],
        "day": 1,
        "window": "10:00",
        "card_text": "Happy birthday, Ira!",
        "steps": [],
    },
    {
        "customer": ("Pavel Ivanov", "+79163334455"),
        "items": [("Red rose, by the stem", 9)],
        "day": 1,
        "pickup": "12:00",
        "steps": [],
        "source": "shop",
    },
    {
        "customer": ("Elena Smirnova", "+79035550101"),
        "recipient": ("Marina Smirnova", "+79035550102"),
        "address": "Moscow, Leninsky prospekt 32, office 410",
        "items": [("Spring tulips", 1)],
        "day": 1,
        "window": "14:00",
        "card_text": "For the best mum",
        "steps": ["confirmed"],
        "payment": ("2750.00", "card"),
        "source": "website",
    },
    {
        "customer": ("Dmitry Volkov", "+79035550201"),
        "recipient": ("Anna Volkova", "+79035550202"),
        "address": "Moscow, Pokrovka 17",
        "items": [("Peony cloud", 1), ("Gift card 3000", 1)],
        "day": 2,
        "window": "18:00",
        "card_text": "Ten years together",
        "steps": ["confirmed"],
        "payment": ("3000.00", "transfer"),
        "source": "messenger",
    },
    {
        "customer": ("Sergey Kuznetsov", "+79035550301"),
        "items": [("Red rose, by the stem", 5)],
        "day": 1,
        "pickup": "09:00",
        "steps": ["confirmed", "ready"],
        "payment": ("950.00", "cash"),
        "source": "shop",
    },
    {
        "customer": ("Natalia Orlova", "+79035550401"),
        "items": [("Gift card 3000", 1)],
        "day": 1,
        "pickup": "11:00",
        "steps": ["confirmed", "ready", "completed"],
        "payment": ("3000.00", "card"),
        "source": "shop",
    },
    {
        "customer": ("Igor Sokolov", "+79035550501"),
        "recipient": ("Tatiana Sokolova", "+79035550502"),
        "address": "Moscow, Tverskaya 20",
        "items": [("Hatbox of white roses", 1)],
        "day": 2,
        "window": "10:00",
        "card_text": "With love",
        "steps": ["cancelled"],
        "comment": "The customer moved the date; will call again",
    },
]


def _ensure_windows(shop) -> None:
    if slots.list_windows(shop_id=shop.id):
        return
    slots.add_windows(
        shop_id=shop.id,
        windows=[
            {"weekday": weekday, "start": start, "end": end, "capacity": capacity, "delivery_fee": fee}
            for weekday in range(7)
            for start, end, capacity, fee in DEMO_WINDOWS
        ],
    )


def seed_orders(state: dict) -> None:
    """Seven orders: new, confirmed (stock reserved), ready, completed, cancelled; some paid."""
    shop, actor_id = state["shop"], state["owner"].id
    _ensure_windows(shop)
    products = {p.name: p.id for p in db.session.scalars(select(Product).where(Product.shop_id == shop.id))}
    today = shop_today(shop.id)
    for demo in DEMO_ORDERS:
        name, phone = demo["customer"]
        data: dict[str, Any] = {
            "customer": {"name": name, "phone": phone},
            "items": [{"product_id": products[product], "quantity": qty} for product, qty in demo["items"]],
            "delivery_date": today + timedelta(days=demo["day"]),
            "card_text": demo.get("card_text", ""),
            "comment": "",
            "source": demo.get("source", "phone"),
        }
        if "window" in demo:
            recipient_name, recipient_phone = demo["recipient"]
            data.update(
                fulfillment="delivery",
                address=demo["address"],
                window_start=demo["window"],
                recipient_name=recipient_name,
                recipient_phone=recipient_phone,
            )
        else:
            data.update(fulfillment="pickup", pickup_time=demo["pickup"])
        order = services.create_order(shop_id=shop.id, actor_id=actor_id, data=data, commit=False)
        for status in demo["steps"]:
            services.change_status(
                shop_id=shop.id,
                order_id=order.id,
                actor_id=actor_id,
                status=status,
                comment=demo.get("comment", "") if status == "cancelled" else "",
                commit=False,
            )
        if "payment" in demo:
            amount, method = demo["payment"]
            services.record_payment(
                shop_id=shop.id,
                order_id=order.id,
                actor_id=actor_id,
                amount=Decimal(amount),
                method=method,
                commit=False,
            )
