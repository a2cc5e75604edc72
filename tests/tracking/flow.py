"""Shared by the tracking tests: an order taken by phone and moved through the workshop and the courier's
steps by the API, as a shop would, and what its tracking link answers."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from app.extensions import db
from app.orders.models import Order
from tests.helpers import ApiClient
from tests.orders.orderdata import Front, delivery
from tests.production.workshop import DELIVERIES, ORDERS, TASKS, confirmed, ok, photo, tasks_of

# What the order holds that the tracking page must never show.
CUSTOMER = {"name": "Olga Petrova", "phone": "+79161112233"}
RECIPIENT_NAME, RECIPIENT_PHONE = "Irina Sokolova", "+79162223344"
ADDRESS = "Москва, ул. Тверская, д. 7, кв. 45, подъезд 3, этаж 9, домофон 45К"
CARD_TEXT = "С днём рождения, Ира!"
STREET_AND_HOUSE = "ул. Тверская, д. 7"
SECRETS = ("кв. 45", "подъезд", "этаж", "45К", "Москва", RECIPIENT_NAME, "Olga", "Petrova", CARD_TEXT, "Call before")


@dataclass
class Tracked:
    order_id: int
    token: str
    task_id: int
    florist: ApiClient
    courier: ApiClient

    @property
    def path(self) -> str:
        return f"/t/{self.token}"


def order_body(front: Front, **fields: Any) -> dict[str, Any]:
    return delivery(
        front,
        customer=CUSTOMER,
        recipient_name=RECIPIENT_NAME,
        recipient_phone=RECIPIENT_PHONE,
        address=ADDRESS,
        card_text=CARD_TEXT,
        **fields,
    )


def bouquet_photo(client: ApiClient, task_id: int, data: bytes | None = None, filename: str = "bouquet.jpg"):
    return client.put(
        f"{TASKS}/{task_id}/photo",
        data={"photo": (io.BytesIO(data if data is not None else photo()), filename)},
        content_type="multipart/form-data",
    )


def door_photo(client: ApiClient, order_id: int):
    return client.put(
        f"{DELIVERIES}/{order_id}/photo",
        data={"photo": (io.BytesIO(photo("PNG")), "door.png")},
        content_type="multipart/form-data",
    )


def on_the_way(front: Front, boss: ApiClient, as_role, *, with_bouquet_photo: bool = True) -> Tracked:
    """Taken, assembled (the florist photographs the bouquet), given to a courier and picked up."""
    florist, courier = as_role("florist"), as_role("courier")
    order_id = confirmed(front, boss, order_body(front))
    task_id = tasks_of(order_id)[0].id
    ok(florist.post(f"{TASKS}/{task_id}/start"))
    if with_bouquet_photo:
        ok(bouquet_photo(florist, task_id))
    ok(florist.post(f"{TASKS}/{task_id}/complete"))
    ok(boss.post(f"{ORDERS}/{order_id}/courier", json={"courier_id": courier.user.id}))
    ok(courier.post(f"{DELIVERIES}/{order_id}/pickup"))
    db.session.expire_all()
    token = db.session.get(Order, order_id).tracking_token
    return Tracked(order_id, token, task_id, florist, courier)


def deliver(tracked: Tracked) -> None:
    ok(door_photo(tracked.courier, tracked.order_id))
    ok(tracked.courier.post(f"{DELIVERIES}/{tracked.order_id}/deliver", json={}))
