"""Who may call what: every endpoint of issue 3 (and the invitations) × every role × own / another shop → status.

"own" acts on the caller's shop (or a colleague in it); "other" acts on a shop the caller does not
belong to: its id in X-Shop-Id for shop-scoped lists and creations, its id in the path for
/shops/{id}, a person of that shop for /users/{id}. Endpoints that need no shop ignore X-Shop-Id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import count

import pytest

from app.common.types import utcnow
from app.extensions import db
from app.users.models import StaffInvitation
from tests.factories import TEST_PASSWORD, MembershipFactory, UserFactory
from tests.helpers import ApiClient

_phones = count(1)


@dataclass
class World:
    shop_id: int
    other_shop_id: int
    colleague_id: int  # a florist of the caller's shop
    stranger_id: int  # a florist of the other shop
    invitation_id: int  # the caller's shop invites the stranger as a florist
    other_invitation_id: int  # the other shop invites the colleague as a florist


def _week() -> datetime:
    return utcnow() + timedelta(days=7)


def _new_phone() -> str:
    return f"+7925{next(_phones):07d}"


def _shop_header(world: World, where: str) -> dict[str, str]:
    return {"X-Shop-Id": str(world.shop_id if where == "own" else world.other_shop_id)}


def _own(world: World) -> dict[str, str]:
    return {"X-Shop-Id": str(world.shop_id)}


def _shop_id(world: World, where: str) -> int:
    return world.shop_id if where == "own" else world.other_shop_id


def _person_id(world: World, where: str) -> int:
    return world.colleague_id if where == "own" else world.stranger_id


def _invitation_id(world: World, where: str) -> int:
    return world.invitation_id if where == "own" else world.other_invitation_id


REQUESTS = {
    "GET /auth/me": lambda c, w, where: c.get("/api/v1/auth/me", headers=_shop_header(w, where)),
    "GET /audit-log": lambda c, w, where: c.get("/api/v1/audit-log", headers=_shop_header(w, where)),
    "GET /shops": lambda c, w, where: c.get("/api/v1/shops", headers=_shop_header(w, where)),
    "POST /shops": lambda c, w, where: c.post("/api/v1/shops", json={"name": "Branch"}, headers=_shop_header(w, where)),
    "GET /shops/{id}": lambda c, w, where: c.get(f"/api/v1/shops/{_shop_id(w, where)}"),
    "PATCH /shops/{id}": lambda c, w, where: c.patch(f"/api/v1/shops/{_shop_id(w, where)}", json={"name": "Renamed"}),
    "GET /users": lambda c, w, where: c.get("/api/v1/users", headers=_shop_header(w, where)),
    "POST /users": lambda c, w, where: c.post(
        "/api/v1/users",
        json={"name": "New Florist", "phone": _new_phone(), "role": "florist"},
        headers=_shop_header(w, where),
    ),
    "GET /users/{id}": lambda c, w, where: c.get(f"/api/v1/users/{_person_id(w, where)}", headers=_own(w)),
    "PATCH /users/{id}": lambda c, w, where: c.patch(
        f"/api/v1/users/{_person_id(w, where)}", json={"name": "Renamed"}, headers=_own(w)
    ),
    "DELETE /users/{id}": lambda c, w, where: c.delete(f"/api/v1/users/{_person_id(w, where)}", headers=_own(w)),
    "GET /invitations": lambda c, w, where: c.get("/api/v1/invitations", headers=_shop_header(w, where)),
    "DELETE /invitations/{id}": lambda c, w, where: c.delete(
        f"/api/v1/invitations/{_invitation_id(w, where)}", headers=_own(w)
    ),
    "GET /users/me/invitations": lambda c, w, where: c.get("/api/v1/users/me/invitations", headers=_own(w)),
    # Never the caller's: an invitation to someone else is 404 to them, whichever shop made it.
    "POST /users/me/invitations/{id}/accept": lambda c, w, where: c.post(
        f"/api/v1/users/me/invitations/{_invitation_id(w, where)}/accept", headers=_own(w)
    ),
    "PATCH /users/me": lambda c, w, where: c.patch(
        "/api/v1/users/me", json={"language": "en"}, headers=_shop_header(w, where)
    ),
    "POST /users/me/password": lambda c, w, where: c.post(
        "/api/v1/users/me/password",
        json={"current_password": TEST_PASSWORD, "new_password": "a brand new secret"},
        headers=_shop_header(w, where),
    ),
}

# endpoint, where, admin, manager, florist, courier
MATRIX = [
    ("GET /auth/me", "own", 200, 200, 200, 200),
    ("GET /auth/me", "other", 200, 200, 200, 200),
    ("GET /audit-log", "own", 200, 403, 403, 403),
    ("GET /audit-log", "other", 404, 404, 404, 404),
    ("GET /shops", "own", 200, 200, 200, 200),
    ("GET /shops", "other", 200, 200, 200, 200),
    ("POST /shops", "own", 201, 403, 403, 403),
    ("POST /shops", "other", 201, 403, 403, 403),
    ("GET /shops/{id}", "own", 200, 200, 200, 200),
    ("GET /shops/{id}", "other", 404, 404, 404, 404),
    ("PATCH /shops/{id}", "own", 200, 403, 403, 403),
    ("PATCH /shops/{id}", "other", 404, 404, 404, 404),
    ("GET /users", "own", 200, 200, 403, 403),
    ("GET /users", "other", 404, 404, 404, 404),
    ("POST /users", "own", 201, 201, 403, 403),
    ("POST /users", "other", 404, 404, 404, 404),
    ("GET /users/{id}", "own", 200, 200, 403, 403),
    ("GET /users/{id}", "other", 404, 404, 403, 403),
    ("PATCH /users/{id}", "own", 200, 200, 403, 403),
    ("PATCH /users/{id}", "other", 404, 404, 403, 403),
    ("DELETE /users/{id}", "own", 204, 204, 403, 403),
    ("DELETE /users/{id}", "other", 404, 404, 403, 403),
    ("GET /invitations", "own", 200, 200, 403, 403),
    ("GET /invitations", "other", 404, 404, 404, 404),
    ("DELETE /invitations/{id}", "own", 204, 204, 403, 403),
    ("DELETE /invitations/{id}", "other", 404, 404, 403, 403),
    ("GET /users/me/invitations", "own", 200, 200, 200, 200),
    ("GET /users/me/invitations", "other", 200, 200, 200, 200),
    ("POST /users/me/invitations/{id}/accept", "own", 404, 404, 404, 404),
    ("POST /users/me/invitations/{id}/accept", "other", 404, 404, 404, 404),
    ("PATCH /users/me", "own", 200, 200, 200, 200),
    ("PATCH /users/me", "other", 200, 200, 200, 200),
    ("POST /users/me/password", "own", 200, 200, 200, 200),
    ("POST /users/me/password", "other", 200, 200, 200, 200),
]
ROLES = ("admin", "manager", "florist", "courier")

CASES = [
    pytest.param(endpoint, role, where, expected, id=f"{endpoint} {role} {where}")
    for endpoint, where, *statuses in MATRIX
    for role, expected in zip(ROLES, statuses, strict=True)
]


def test_the_matrix_covers_every_endpoint_both_ways():
    assert {(endpoint, where) for endpoint, where, *_ in MATRIX} == {
        (endpoint, where) for endpoint in REQUESTS for where in ("own", "other")
    }


@pytest.mark.parametrize(("endpoint", "role", "where", "expected"), CASES)
def test_role_matrix(app, shop, other_shop, endpoint, role, where, expected):
    caller = UserFactory()
    MembershipFactory(user=caller, shop=shop, role=role)
    colleague = MembershipFactory(shop=shop, role="florist").user
    stranger = MembershipFactory(shop=other_shop, role="florist").user
    MembershipFactory(shop=other_shop, role="admin")
    invitations = [
        StaffInvitation(
            shop_id=at.id, user_id=person.id, phone=person.phone, name="Typed", role="florist", expires_at=_week()
        )
        for at, person in ((shop, stranger), (other_shop, colleague))
    ]
    db.session.add_all(invitations)
    db.session.commit()
    world = World(shop.id, other_shop.id, colleague.id, stranger.id, invitations[0].id, invitations[1].id)
    client = ApiClient(app, user=caller)  # no X-Shop-Id by default: each request says where it acts

    response = REQUESTS[endpoint](client, world, where)

    assert response.status_code == expected, response.get_data(as_text=True)
    if expected >= 400:
        assert set(response.json) >= {"code", "status", "message", "errors"}
