"""Who may call what on customers: every endpoint × role × own shop / another shop.

Customers are for admins and managers; florists and couriers get 403. Another shop's customer
(or date) in the path is 404, another shop in X-Shop-Id is 404, and nothing of it changes or shows.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from app.customers.models import Customer, OccasionDate
from app.extensions import db
from tests.customers.customerdata import make_customer, make_date
from tests.warehouse.stockdata import staff_client

ROLES = ("admin", "manager", "florist", "courier")
URL = "/api/v1/customers"
_unique = itertools.count(1)


@dataclass
class Side:
    shop: object
    customer_id: int
    date_id: int


def _side(shop, prefix: str) -> Side:
    customer = make_customer(shop, name=f"{prefix}Customer")
    return Side(shop, customer.id, make_date(customer, f"{prefix}Birthday").id)


def _fresh(side: Side) -> Side:
    """A customer of its own for a request that deletes or erases it."""
    return _side(side.shop, "Their " if side.shop.name == "Other Shop" else "")


Request = Callable[[object, Side, bool], object]
REQUESTS: dict[str, Request] = {
    "GET /customers": lambda c, s, other: c.get(URL, headers={"X-Shop-Id": str(s.shop.id)}),
    "POST /customers": lambda c, s, other: c.post(
        URL, json={"name": "New", "phone": f"+7926{next(_unique):07d}"}, headers={"X-Shop-Id": str(s.shop.id)}
    ),
    "GET /customers/{id}": lambda c, s, other: c.get(f"{URL}/{s.customer_id}"),
    "PATCH /customers/{id}": lambda c, s, other: c.patch(f"{URL}/{s.customer_id}", json={"notes": "changed"}),
    "DELETE /customers/{id}": lambda c, s, other: c.delete(f"{URL}/{_fresh(s).customer_id}"),
    "GET /customers/{id}/dates": lambda c, s, other: c.get(f"{URL}/{s.customer_id}/dates"),
    "POST /customers/{id}/dates": lambda c, s, other: c.post(
        f"{URL}/{s.customer_id}/dates", json={"label": "Name day", "month": 7, "day": 24}
    ),
    "PATCH /customers/{id}/dates/{id}": lambda c, s, other: c.patch(
        f"{URL}/{s.customer_id}/dates/{s.date_id}", json={"day": 9}
    ),
    "DELETE /customers/{id}/dates/{id}": lambda c, s, other: (
        lambda fresh: c.delete(f"{URL}/{fresh.customer_id}/dates/{fresh.date_id}")
    )(_fresh(s)),
    "GET /customers/{id}/export": lambda c, s, other: c.get(f"{URL}/{s.customer_id}/export"),
    "POST /customers/{id}/anonymize": lambda c, s, other: c.post(f"{URL}/{_fresh(s).customer_id}/anonymize"),
}

MANAGERS_ONLY = (200, 200, 403, 403)
NOT_MEMBER = (404, 404, 404, 404)
OTHERS_ROW = (404, 404, 403, 403)
MATRIX = [
    # endpoint, own shop (admin, manager, florist, courier), other shop
    ("GET /customers", MANAGERS_ONLY, NOT_MEMBER),
    ("POST /customers", (201, 201, 403, 403), NOT_MEMBER),
    ("GET /customers/{id}", MANAGERS_ONLY, OTHERS_ROW),
    ("PATCH /customers/{id}", MANAGERS_ONLY, OTHERS_ROW),
    ("DELETE /customers/{id}", (204, 204, 403, 403), OTHERS_ROW),
    ("GET /customers/{id}/dates", MANAGERS_ONLY, OTHERS_ROW),
    ("POST /customers/{id}/dates", (201, 201, 403, 403), OTHERS_ROW),
    ("PATCH /customers/{id}/dates/{id}", MANAGERS_ONLY, OTHERS_ROW),
    ("DELETE /customers/{id}/dates/{id}", (204, 204, 403, 403), OTHERS_ROW),
    ("GET /customers/{id}/export", MANAGERS_ONLY, OTHERS_ROW),
    ("POST /customers/{id}/anonymize", MANAGERS_ONLY, OTHERS_ROW),
]
CASES = [(e, "own", own) for e, own, _ in MATRIX] + [(e, "other", other) for e, _, other in MATRIX]


def test_every_customer_endpoint_is_in_the_matrix(app):
    documented = {
        f"{method.upper()} {re.sub(r'{[^}]+}', '{id}', path.removeprefix('/api/v1'))}"
        for path, operations in app.test_client().get("/openapi.json").json["paths"].items()
        if path.startswith(URL) and not path.endswith("/orders")  # the customer's orders belong to the orders API
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert documented == {endpoint for endpoint, _, _ in MATRIX}


def _state(side: Side) -> tuple:
    customer = db.session.get(Customer, side.customer_id)
    occasion = db.session.get(OccasionDate, side.date_id)
    db.session.refresh(customer)
    db.session.refresh(occasion)
    dates = db.session.query(OccasionDate).filter_by(customer_id=side.customer_id).count()
    return customer.name, customer.notes, customer.phone, customer.anonymized_at, occasion.day, dates


@pytest.mark.parametrize(("endpoint", "where", "expected"), CASES, ids=[f"{e} [{w}]" for e, w, _ in CASES])
def test_role_matrix_and_shop_isolation(app, shop, other_shop, endpoint, where, expected):
    own, other = _side(shop, ""), _side(other_shop, "Their ")
    target = own if where == "own" else other
    before = _state(other)

    got = {}
    for role in reversed(ROLES):  # least privileged first
        response = REQUESTS[endpoint](staff_client(app, shop, role), target, where == "other")
        got[role] = response.status_code
        assert "Their" not in response.get_data(as_text=True)

    assert got == dict(zip(ROLES, expected, strict=True))
    assert _state(other) == before
