"""Who may call what: every orders endpoint × role × own shop / another shop.

"own": the caller's shop and its orders. "other": another shop's order or customer in the path
(404), another shop's product or customer in the body (422), or another shop's id in X-Shop-Id
(404). A role that may not call the endpoint at all is 403 first. Nothing of the other shop
changes, and no answer carries its names ("Their ...").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from app.extensions import db
from app.orders.models import Order
from tests.orders.orderdata import Front, delivery, open_shop, pickup, place

ROLES = ("admin", "manager", "florist", "courier")
ORDERS = "/api/v1/orders"


@dataclass
class Side:
    front: Front
    order_id: int
    customer_id: int


@dataclass
class World:
    own: Side
    other: Side


def _side(shop, prefix: str) -> Side:
    front = open_shop(shop, prefix=prefix)
    order = place(front, delivery(front, customer={"name": f"{prefix}Olga", "phone": "+79161112233"}))
    return Side(front, order.id, order.customer_id)


def _target(world: World, where: str) -> Side:
    return world.own if where == "own" else world.other


def _shop_header(world: World, where: str) -> dict:
    return {"X-Shop-Id": str(_target(world, where).front.shop_id)}


def _new_pickup(world: World, where: str, **fields) -> dict:
    # Always a body for the caller's own shop; `where` picks whose product or customer it names.
    body = pickup(world.own.front, **fields)
    body["items"] = [{"product_id": _target(world, where).front.stem.id, "quantity": 1}]
    return body


def _with_customer_id(world: World, where: str) -> dict:
    body = pickup(world.own.front, customer_id=_target(world, where).customer_id)
    del body["customer"]
    return body


Request = Callable[[object, World, str], object]
REQUESTS: dict[str, Request] = {
    "GET /orders": lambda c, w, where: c.get(ORDERS, headers=_shop_header(w, where)),
    "POST /orders": lambda c, w, where: c.post(ORDERS, json=pickup(w.own.front), headers=_shop_header(w, where)),
    "POST /orders (their product)": lambda c, w, where: c.post(ORDERS, json=_new_pickup(w, where)),
    "POST /orders (their customer)": lambda c, w, where: c.post(ORDERS, json=_with_customer_id(w, where)),
    "GET /orders/{id}": lambda c, w, where: c.get(f"{ORDERS}/{_target(w, where).order_id}"),
    "PATCH /orders/{id}": lambda c, w, where: c.patch(
        f"{ORDERS}/{_target(w, where).order_id}", json={"comment": "changed"}, headers={"If-Match": "*"}
    ),
    "POST /orders/{id}/status": lambda c, w, where: c.post(
        f"{ORDERS}/{_target(w, where).order_id}/status", json={"status": "confirmed"}
    ),
    "GET /orders/{id}/history": lambda c, w, where: c.get(f"{ORDERS}/{_target(w, where).order_id}/history"),
    "POST /orders/{id}/payments": lambda c, w, where: c.post(
        f"{ORDERS}/{_target(w, where).order_id}/payments", json={"amount": "10.00", "method": "cash"}
    ),
    "GET /customers/{id}/orders": lambda c, w, where: c.get(
        f"/api/v1/customers/{_target(w, where).customer_id}/orders"
    ),
}

READ = (200, 200, 403, 403)
CREATE = (201, 201, 403, 403)
NOT_MEMBER = (404, 404, 404, 404)  # X-Shop-Id of a shop the caller does not belong to
OTHER = (404, 404, 403, 403)
BODY_OTHER = (422, 422, 403, 403)

# endpoint, own shop (admin, manager, florist, courier), other shop (same order)
MATRIX = [
    ("GET /orders", READ, NOT_MEMBER),
    ("POST /orders", CREATE, NOT_MEMBER),
    ("POST /orders (their product)", CREATE, BODY_OTHER),
    ("POST /orders (their customer)", CREATE, BODY_OTHER),
    ("GET /orders/{id}", READ, OTHER),
    ("PATCH /orders/{id}", READ, OTHER),
    ("POST /orders/{id}/status", READ, OTHER),
    ("GET /orders/{id}/history", READ, OTHER),
    ("POST /orders/{id}/payments", CREATE, OTHER),
    ("GET /customers/{id}/orders", READ, OTHER),
]
CASES = [(endpoint, "own", own) for endpoint, own, _ in MATRIX] + [
    (endpoint, "other", other) for endpoint, _, other in MATRIX
]


def test_every_orders_endpoint_is_in_the_matrix(app):
    documented = {
        f"{method.upper()} {re.sub(r'{[^}]+}', '{id}', path.removeprefix('/api/v1'))}"
        for path, operations in app.test_client().get("/openapi.json").json["paths"].items()
        if path.startswith("/api/v1/orders") or re.fullmatch(r"/api/v1/customers/{[^}]+}/orders", path)
        if not path.endswith("/courier")  # the delivery issue's endpoint, in tests/courier/test_access_matrix.py
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert documented == {endpoint.split(" (")[0] for endpoint, _, _ in MATRIX}


def _state(side: Side) -> tuple:
    order = db.session.get(Order, side.order_id)
    db.session.refresh(order)
    return order.status, order.comment, order.paid_amount, order.version


@pytest.mark.parametrize(("endpoint", "where", "expected"), CASES, ids=[f"{e} [{w}]" for e, w, _ in CASES])
def test_role_matrix_and_shop_isolation(shop, other_shop, as_role, endpoint, where, expected):
    world = World(own=_side(shop, ""), other=_side(other_shop, "Their "))
    clients = {role: as_role(role) for role in ROLES}
    before = _state(world.other)

    got = {}
    for role in reversed(ROLES):  # least privileged first, so a manager's change cannot hide a courier's answer
        response = REQUESTS[endpoint](clients[role], world, where)
        got[role] = response.status_code
        assert "Their" not in response.get_data(as_text=True)

    assert got == dict(zip(ROLES, expected, strict=True))
    assert _state(world.other) == before
