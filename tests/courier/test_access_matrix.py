"""Who may call what: every delivery endpoint × role × own shop / another shop.

"own": a delivery of the caller's shop given to the courier who calls. "other": another shop's
delivery in the path (404; 403 first for a florist), another shop's courier in the body (422), or
another shop in X-Shop-Id (404). Roles are tried least privileged first (the courier before the
managers, whose repeat of the step then answers the state reached); the other shop's order never changes.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from app.extensions import db
from app.orders.models import Order
from tests.orders.orderdata import open_shop
from tests.production.workshop import DELIVERIES, ORDERS, delivery_in, photo

ROLES = ("admin", "manager", "florist", "courier")

# The status each endpoint's order is in beforehand.
STARTING = {"pickup": "ready", "deliver": "out_for_delivery", "fail": "out_for_delivery", "return": "delivery_failed"}


@dataclass
class Side:
    shop_id: int
    order_id: int
    spare_courier_id: int


@dataclass
class World:
    own: Side
    other: Side

    def side(self, where: str) -> Side:
        return self.own if where == "own" else self.other


def _side(shop, prefix: str, courier, spare, status: str) -> Side:
    front = open_shop(shop, prefix=prefix)
    order_id = delivery_in(front, status, courier, customer={"name": f"{prefix}Olga", "phone": "+79161112233"})
    return Side(shop.id, order_id, spare.user.id)


def _step(step: str, body: dict | None = None) -> Callable:
    return lambda c, w, where: c.post(f"{DELIVERIES}/{w.side(where).order_id}/{step}", json=body)


Request = Callable[[object, World, str], object]
REQUESTS: dict[str, Request] = {
    "GET /courier/deliveries": lambda c, w, where: c.get(DELIVERIES, headers={"X-Shop-Id": str(w.side(where).shop_id)}),
    "GET /courier/deliveries/{id}": lambda c, w, where: c.get(f"{DELIVERIES}/{w.side(where).order_id}"),
    "POST /courier/deliveries/{id}/pickup": _step("pickup"),
    "POST /courier/deliveries/{id}/deliver": _step("deliver", {"completed_at": "2025-01-02T12:00:00+03:00"}),
    "POST /courier/deliveries/{id}/fail": _step("fail", {"reason": "nobody_home"}),
    "POST /courier/deliveries/{id}/return": _step("return"),
    "PUT /courier/deliveries/{id}/photo": lambda c, w, where: c.put(
        f"{DELIVERIES}/{w.side(where).order_id}/photo",
        data={"photo": (io.BytesIO(photo()), "door.jpg")},
        content_type="multipart/form-data",
    ),
    "POST /orders/{id}/courier": lambda c, w, where: c.post(
        f"{ORDERS}/{w.side(where).order_id}/courier", json={"courier_id": w.own.spare_courier_id}
    ),
    "POST /orders/{id}/courier (their courier)": lambda c, w, where: c.post(
        f"{ORDERS}/{w.own.order_id}/courier", json={"courier_id": w.side(where).spare_courier_id}
    ),
}

DELIVERY_STAFF = (200, 200, 403, 200)
NOT_MEMBER = (404, 404, 404, 404)
OTHER = (404, 404, 403, 404)
MANAGERS = (200, 200, 403, 403)

# endpoint, own shop (admin, manager, florist, courier), other shop
MATRIX = [
    ("GET /courier/deliveries", DELIVERY_STAFF, NOT_MEMBER),
    ("GET /courier/deliveries/{id}", DELIVERY_STAFF, OTHER),
    ("POST /courier/deliveries/{id}/pickup", DELIVERY_STAFF, OTHER),
    ("POST /courier/deliveries/{id}/deliver", DELIVERY_STAFF, OTHER),
    ("POST /courier/deliveries/{id}/fail", DELIVERY_STAFF, OTHER),
    ("POST /courier/deliveries/{id}/return", DELIVERY_STAFF, OTHER),
    ("PUT /courier/deliveries/{id}/photo", DELIVERY_STAFF, OTHER),
    ("POST /orders/{id}/courier", MANAGERS, (404, 404, 403, 403)),
    ("POST /orders/{id}/courier (their courier)", MANAGERS, (422, 422, 403, 403)),
]
CASES = [(endpoint, "own", own) for endpoint, own, _ in MATRIX] + [
    (endpoint, "other", other) for endpoint, _, other in MATRIX
]


def test_every_delivery_endpoint_is_in_the_matrix(app):
    documented = {
        f"{method.upper()} {re.sub(r'{[^}]+}', '{id}', path.removeprefix('/api/v1'))}"
        for path, operations in app.test_client().get("/openapi.json").json["paths"].items()
        if path.startswith("/api/v1/courier") or path.endswith("/courier")
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert documented == {endpoint.split(" (")[0] for endpoint, _, _ in MATRIX}


def _state(side: Side) -> tuple:
    order = db.session.get(Order, side.order_id)
    db.session.refresh(order)
    return order.status, order.courier_id, order.updated_at


@pytest.mark.parametrize(("endpoint", "where", "expected"), CASES, ids=[f"{e} [{w}]" for e, w, _ in CASES])
def test_role_matrix_and_shop_isolation(shop, other_shop, as_role, tmp_media, endpoint, where, expected):
    clients = {role: as_role(role) for role in ROLES}
    step = re.search(r"/(pickup|deliver|fail|return)$", endpoint)
    status = STARTING[step.group(1)] if step else ("confirmed" if "/orders/" in endpoint else "out_for_delivery")
    their_courier = as_role("courier", shop=other_shop)
    world = World(
        own=_side(shop, "", clients["courier"], as_role("courier"), status),
        other=_side(other_shop, "Their ", their_courier, as_role("courier", shop=other_shop), status),
    )
    before = _state(world.other)

    got = {}
    for role in reversed(ROLES):
        response = REQUESTS[endpoint](clients[role], world, where)
        got[role] = response.status_code
        assert "Their" not in response.get_data(as_text=True)

    assert got == dict(zip(ROLES, expected, strict=True))
    assert _state(world.other) == before
