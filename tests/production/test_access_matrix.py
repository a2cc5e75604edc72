"""Who may call what: every production endpoint × role × own shop / another shop.

"own": a task of the caller's shop (unassigned, so a florist sees it). "other": another shop's task
in the path (404; 403 first for a role that may not call the endpoint at all), another shop's
florist in the body (422), or another shop in X-Shop-Id (404). Roles are tried least privileged
first, so a manager's step cannot hide a florist's answer; the other shop's task never changes.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from app.extensions import db
from app.orders import services as order_service
from app.production import services as production
from app.production.models import ProductionTask
from app.users.models import Role
from tests.orders.orderdata import delivery, open_shop, place
from tests.production.workshop import TASKS, photo

ROLES = ("admin", "manager", "florist", "courier")


@dataclass
class Side:
    shop_id: int
    task_id: int
    florist_id: int


def _side(shop, prefix: str, as_role, *, started: bool) -> Side:
    front = open_shop(shop, prefix=prefix)
    order = place(front, delivery(front, customer={"name": f"{prefix}Olga", "phone": "+79161112233"}))
    order_service.change_status(shop_id=shop.id, order_id=order.id, actor_id=None, status="confirmed")
    task = db.session.query(ProductionTask).filter_by(order_id=order.id).one()
    if started:  # a manager started it on nobody's behalf: any florist may finish it
        production.start_task(shop_id=shop.id, task_id=task.id, actor_id=None, actor_role=Role.MANAGER)
    florist = as_role("florist", shop=shop)
    return Side(shop.id, task.id, florist.user.id)


Request = Callable[[object, "World", str], object]


@dataclass
class World:
    own: Side
    other: Side

    def side(self, where: str) -> Side:
        return self.own if where == "own" else self.other


REQUESTS: dict[str, Request] = {
    "GET /production-tasks": lambda c, w, where: c.get(TASKS, headers={"X-Shop-Id": str(w.side(where).shop_id)}),
    "GET /production-tasks/{id}": lambda c, w, where: c.get(f"{TASKS}/{w.side(where).task_id}"),
    "POST /production-tasks/{id}/assign": lambda c, w, where: c.post(
        f"{TASKS}/{w.side(where).task_id}/assign", json={"florist_id": w.own.florist_id}
    ),
    "POST /production-tasks/{id}/assign (their florist)": lambda c, w, where: c.post(
        f"{TASKS}/{w.own.task_id}/assign", json={"florist_id": w.side(where).florist_id}
    ),
    "POST /production-tasks/{id}/claim": lambda c, w, where: c.post(f"{TASKS}/{w.side(where).task_id}/claim"),
    "POST /production-tasks/{id}/start": lambda c, w, where: c.post(f"{TASKS}/{w.side(where).task_id}/start"),
    "POST /production-tasks/{id}/complete": lambda c, w, where: c.post(f"{TASKS}/{w.side(where).task_id}/complete"),
    # The bouquet's photo (tests/tracking/test_bouquet_photo.py): a florist adds one to their own task only.
    "PUT /production-tasks/{id}/photo": lambda c, w, where: c.put(
        f"{TASKS}/{w.side(where).task_id}/photo",
        data={"photo": (io.BytesIO(photo()), "bouquet.jpg")},
        content_type="multipart/form-data",
    ),
}

WORKSHOP = (200, 200, 200, 403)
NOT_MEMBER = (404, 404, 404, 404)
OTHER = (404, 404, 404, 403)
MANAGERS = (200, 200, 403, 403)
MANAGERS_OTHER = (404, 404, 403, 403)

# endpoint, own shop (admin, manager, florist, courier), other shop
MATRIX = [
    ("GET /production-tasks", WORKSHOP, NOT_MEMBER),
    ("GET /production-tasks/{id}", WORKSHOP, OTHER),
    ("POST /production-tasks/{id}/assign", MANAGERS, MANAGERS_OTHER),
    ("POST /production-tasks/{id}/assign (their florist)", MANAGERS, (422, 422, 403, 403)),
    ("POST /production-tasks/{id}/claim", (403, 403, 200, 403), (403, 403, 404, 403)),
    ("POST /production-tasks/{id}/start", WORKSHOP, OTHER),
    ("POST /production-tasks/{id}/complete", WORKSHOP, OTHER),
    ("PUT /production-tasks/{id}/photo", (200, 200, 403, 403), OTHER),
]
CASES = [(endpoint, "own", own) for endpoint, own, _ in MATRIX] + [
    (endpoint, "other", other) for endpoint, _, other in MATRIX
]


def test_every_production_endpoint_is_in_the_matrix(app):
    documented = {
        f"{method.upper()} {re.sub(r'{[^}]+}', '{id}', path.removeprefix('/api/v1'))}"
        for path, operations in app.test_client().get("/openapi.json").json["paths"].items()
        if path.startswith("/api/v1/production-tasks")
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert documented == {endpoint.split(" (")[0] for endpoint, _, _ in MATRIX}


def _state(side: Side) -> tuple:
    task = db.session.get(ProductionTask, side.task_id)
    db.session.refresh(task)
    return task.status, task.florist_id, task.updated_at


@pytest.mark.parametrize(("endpoint", "where", "expected"), CASES, ids=[f"{e} [{w}]" for e, w, _ in CASES])
def test_role_matrix_and_shop_isolation(shop, other_shop, as_role, endpoint, where, expected):
    started = endpoint.endswith(("/complete", "/photo"))
    world = World(
        own=_side(shop, "", as_role, started=started), other=_side(other_shop, "Their ", as_role, started=started)
    )
    clients = {role: as_role(role) for role in ROLES}
    before = _state(world.other)

    got = {}
    for role in reversed(ROLES):
        response = REQUESTS[endpoint](clients[role], world, where)
        got[role] = response.status_code
        assert "Their" not in response.get_data(as_text=True)

    assert got == dict(zip(ROLES, expected, strict=True))
    assert _state(world.other) == before
