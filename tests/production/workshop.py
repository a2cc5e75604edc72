"""Shared by the production and courier tests: a shop taking orders, staff per role, and what to look at."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import ExifTags, Image
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.courier.models import Delivery
from app.extensions import db
from app.orders.models import Order, Payment
from app.production.models import ProductionTask
from app.warehouse.models import Movement
from tests.helpers import ApiClient
from tests.orders.orderdata import Front, delivery, open_shop, pickup, place
from tests.warehouse.stockdata import staff_client

ORDERS = "/api/v1/orders"
TASKS = "/api/v1/production-tasks"
DELIVERIES = "/api/v1/courier/deliveries"


@pytest.fixture
def front(shop) -> Front:
    return open_shop(shop)


@pytest.fixture
def as_role(app, shop):
    """`as_role("florist")` → a client of a new florist of `shop` (or `shop=`)."""

    def _as_role(role: str, shop=shop) -> ApiClient:
        client = staff_client(app, shop, role)
        db.session.commit()  # a refused request rolls back; the caller must outlive that
        return client

    return _as_role


@pytest.fixture
def boss(as_role) -> ApiClient:
    return as_role("manager")


def ok(response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_json())
    return response.get_json()


def confirmed(front: Front, boss: ApiClient, body: dict[str, Any] | None = None) -> int:
    """An order taken and confirmed through the API; its id."""
    order = ok(boss.post(ORDERS, json=body or delivery(front)), 201)
    ok(boss.post(f"{ORDERS}/{order['id']}/status", json={"status": "confirmed"}))
    return order["id"]


def tasks_of(order_id: int) -> list[ProductionTask]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(ProductionTask).where(ProductionTask.order_id == order_id).order_by(ProductionTask.id)
        )
    )


def order_row(order_id: int) -> Order:
    db.session.expire_all()
    return db.session.get(Order, order_id)


def trip_of(order_id: int) -> Delivery | None:
    db.session.expire_all()
    return db.session.scalars(select(Delivery).where(Delivery.order_id == order_id)).first()


def payments_of(order_id: int) -> list[Payment]:
    return list(db.session.scalars(select(Payment).where(Payment.order_id == order_id).order_by(Payment.id)))


def audit_of(entity_type: str, entity_id: int) -> list[tuple[str, int | None]]:
    """(action, actor id) of each audit entry about the entity, oldest first."""
    rows = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == str(entity_id))
        .order_by(AuditEntry.id)
    )
    return [(row.action, row.actor_id) for row in rows]


def movements_of(order_id: int) -> list[tuple[str, str]]:
    """(kind, quantity) of the stock movements an order caused, in order."""
    rows = db.session.scalars(select(Movement).where(Movement.order_id == order_id).order_by(Movement.id))
    return [(row.kind, str(row.quantity)) for row in rows]


__all__ = ["Front", "delivery", "pickup", "place", "open_shop"]


def clients_like(app, client: ApiClient, count: int) -> list[ApiClient]:
    """`count` separate test clients speaking as `client`'s user: a test client is not shared across threads."""
    clones = []
    for _ in range(count):
        clone = ApiClient(app, shop_id=client.shop_id)
        clone.user, clone.token = client.user, client.token
        clones.append(clone)
    return clones


def delivery_in(front: Front, status: str, courier: ApiClient | None, **fields: Any) -> int:
    """A delivery order forced into `status` (as the workshop would leave it), with `courier` assigned; its id."""
    from app.courier import services as couriers

    order = place(front, delivery(front, **fields), status="ready")
    if courier is not None:
        couriers.assign_courier(shop_id=front.shop_id, order_id=order.id, courier_id=courier.user.id, actor_id=None)
    order = db.session.get(Order, order.id)
    order.status = status
    db.session.commit()
    return order.id


GPS = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (55.0, 45.0, 21.0),
    ExifTags.GPS.GPSLongitudeRef: "E",
    ExifTags.GPS.GPSLongitude: (37.0, 37.0, 4.0),
}


def photo(image_format: str = "JPEG", *, gps: bool = False) -> bytes:
    """A phone's photo of a door, with its position in the EXIF when `gps`."""
    exif = Image.Exif()
    if gps:
        exif[ExifTags.Base.GPSInfo] = GPS
        exif[ExifTags.Base.Make] = "PhoneCo"
    out = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 60)).save(out, format=image_format, exif=exif.tobytes())
    return out.getvalue()
