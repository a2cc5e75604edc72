"""Who may call what: every catalogue and warehouse endpoint × role × own shop / another shop.

"own": the caller's shop and its rows. "other": another shop's row in the path (404), another
shop's item, category or batch named in the body (422), or — for lists and plain creations —
another shop's id in X-Shop-Id (404). A role that may not call the endpoint at all is 403 first.
Nothing of the other shop is changed, and no answer carries its names ("Their ...").
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.catalogue import services as catalogue
from app.catalogue.models import Product
from app.extensions import db
from app.warehouse import services as warehouse
from app.warehouse.models import Item, Movement
from tests.warehouse.stockdata import D, batches_of, make_item, staff_client, supply

ROLES = ("admin", "manager", "florist", "courier")
_unique = itertools.count(1)


@dataclass
class Side:
    shop_id: int
    item_id: int
    batch_id: int
    supply_id: int
    product_id: int
    category_id: int


@dataclass
class World:
    own: Side
    other: Side
    clients: dict


def _side(shop, prefix: str) -> Side:
    item = make_item(shop, f"{prefix}rose")
    delivered = supply(shop, (item, 50, "40.00"))
    category = catalogue.create_category(shop_id=shop.id, actor_id=None, name=f"{prefix}bouquets")
    product = catalogue.create_product(
        shop_id=shop.id, actor_id=None, data={"name": f"{prefix}bouquet", "price": D(900), "category_id": category.id}
    )
    catalogue.set_recipe(
        shop_id=shop.id, product_id=product.id, actor_id=None, components=[{"item_id": item.id, "quantity": D(5)}]
    )
    return Side(shop.id, item.id, batches_of(item.id)[0].id, delivered.id, product.id, category.id)


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 200, 10)).save(out, format="JPEG")
    return out.getvalue()


def _target(world: World, where: str) -> Side:
    return world.own if where == "own" else world.other


def _shop_header(world: World, where: str) -> dict:
    return {"X-Shop-Id": str(_target(world, where).shop_id)}


def _fresh_product(world: World, where: str) -> int:
    side = _target(world, where)
    name = f"{'' if where == 'own' else 'Their '}product {next(_unique)}"
    return catalogue.create_product(shop_id=side.shop_id, actor_id=None, data={"name": name, "price": D(1)}).id


Request = Callable[[object, World, str], object]
P = "/api/v1/products"
W = "/api/v1/warehouse"

REQUESTS: dict[str, Request] = {
    # catalogue
    "GET /categories": lambda c, w, where: c.get("/api/v1/categories", headers=_shop_header(w, where)),
    "POST /categories": lambda c, w, where: c.post(
        "/api/v1/categories", json={"name": f"Cat {next(_unique)}"}, headers=_shop_header(w, where)
    ),
    "GET /products": lambda c, w, where: c.get(P, headers=_shop_header(w, where)),
    "POST /products (their category)": lambda c, w, where: c.post(
        P, json={"name": "New", "price": "10", "category_id": _target(w, where).category_id}
    ),
    "GET /products/{id}": lambda c, w, where: c.get(f"{P}/{_target(w, where).product_id}"),
    "PATCH /products/{id}": lambda c, w, where: c.patch(f"{P}/{_target(w, where).product_id}", json={"price": "950"}),
    "DELETE /products/{id}": lambda c, w, where: c.delete(f"{P}/{_fresh_product(w, where)}"),
    "PUT /products/{id}/image": lambda c, w, where: c.put(
        f"{P}/{_target(w, where).product_id}/image",
        data={"image": (io.BytesIO(_jpeg()), "a.jpg")},
        content_type="multipart/form-data",
    ),
    "GET /products/{id}/recipe": lambda c, w, where: c.get(f"{P}/{_target(w, where).product_id}/recipe"),
    "PUT /products/{id}/recipe": lambda c, w, where: c.put(
        f"{P}/{_target(w, where).product_id}/recipe",
        json={"components": [{"item_id": w.own.item_id, "quantity": "2"}]},
    ),
    "PUT /products/{id}/recipe (their item)": lambda c, w, where: c.put(
        f"{P}/{w.own.product_id}/recipe", json={"components": [{"item_id": _target(w, where).item_id, "quantity": 2}]}
    ),
    "GET /products/{id}/cost": lambda c, w, where: c.get(f"{P}/{_target(w, where).product_id}/cost"),
    # warehouse
    "GET /warehouse/items": lambda c, w, where: c.get(f"{W}/items", headers=_shop_header(w, where)),
    "POST /warehouse/items": lambda c, w, where: c.post(
        f"{W}/items", json={"name": f"Item {next(_unique)}"}, headers=_shop_header(w, where)
    ),
    "GET /warehouse/items/{id}": lambda c, w, where: c.get(f"{W}/items/{_target(w, where).item_id}"),
    "PATCH /warehouse/items/{id}": lambda c, w, where: c.patch(
        f"{W}/items/{_target(w, where).item_id}", json={"min_level": "3"}
    ),
    "GET /warehouse/supplies": lambda c, w, where: c.get(f"{W}/supplies", headers=_shop_header(w, where)),
    "POST /warehouse/supplies (their item)": lambda c, w, where: c.post(
        f"{W}/supplies",
        json={"supplier": "Flora", "lines": [{"item_id": _target(w, where).item_id, "quantity": 5, "unit_cost": 1}]},
    ),
    "GET /warehouse/supplies/{id}": lambda c, w, where: c.get(f"{W}/supplies/{_target(w, where).supply_id}"),
    "GET /warehouse/write-offs": lambda c, w, where: c.get(f"{W}/write-offs", headers=_shop_header(w, where)),
    "POST /warehouse/write-offs (their item)": lambda c, w, where: c.post(
        f"{W}/write-offs", json={"reason": "wilted", "lines": [{"item_id": _target(w, where).item_id, "quantity": 1}]}
    ),
    "POST /warehouse/write-offs (their batch)": lambda c, w, where: c.post(
        f"{W}/write-offs",
        json={
            "reason": "wilted",
            "lines": [{"item_id": w.own.item_id, "quantity": 1, "batch_id": _target(w, where).batch_id}],
        },
    ),
    "GET /warehouse/counts": lambda c, w, where: c.get(f"{W}/counts", headers=_shop_header(w, where)),
    "POST /warehouse/counts (their item)": lambda c, w, where: c.post(
        f"{W}/counts", json={"lines": [{"item_id": _target(w, where).item_id, "counted": "50"}]}
    ),
    "GET /warehouse/movements": lambda c, w, where: c.get(f"{W}/movements", headers=_shop_header(w, where)),
    "GET /warehouse/batches": lambda c, w, where: c.get(f"{W}/batches", headers=_shop_header(w, where)),
    "GET /warehouse/low-stock": lambda c, w, where: c.get(f"{W}/low-stock", headers=_shop_header(w, where)),
}

READ = (200, 200, 200, 403)
MANAGE = (200, 200, 403, 403)
CREATE = (201, 201, 403, 403)
NOT_MEMBER = (404, 404, 404, 404)  # X-Shop-Id of a shop the caller does not belong to
READ_OTHER = (404, 404, 404, 403)
MANAGE_OTHER = (404, 404, 403, 403)
BODY_OTHER = (422, 422, 403, 403)

# endpoint, own shop (admin, manager, florist, courier), other shop (same order)
MATRIX = [
    ("GET /categories", READ, NOT_MEMBER),
    ("POST /categories", CREATE, NOT_MEMBER),
    ("GET /products", READ, NOT_MEMBER),
    ("POST /products (their category)", CREATE, BODY_OTHER),
    ("GET /products/{id}", READ, READ_OTHER),
    ("PATCH /products/{id}", MANAGE, MANAGE_OTHER),
    ("DELETE /products/{id}", (204, 204, 403, 403), MANAGE_OTHER),
    ("PUT /products/{id}/image", MANAGE, MANAGE_OTHER),
    ("GET /products/{id}/recipe", READ, READ_OTHER),
    ("PUT /products/{id}/recipe", MANAGE, MANAGE_OTHER),
    ("PUT /products/{id}/recipe (their item)", MANAGE, BODY_OTHER),
    ("GET /products/{id}/cost", READ, READ_OTHER),
    ("GET /warehouse/items", READ, NOT_MEMBER),
    ("POST /warehouse/items", CREATE, NOT_MEMBER),
    ("GET /warehouse/items/{id}", READ, READ_OTHER),
    ("PATCH /warehouse/items/{id}", MANAGE, MANAGE_OTHER),
    ("GET /warehouse/supplies", MANAGE, NOT_MEMBER),
    ("POST /warehouse/supplies (their item)", CREATE, BODY_OTHER),
    ("GET /warehouse/supplies/{id}", MANAGE, MANAGE_OTHER),
    ("GET /warehouse/write-offs", READ, NOT_MEMBER),
    ("POST /warehouse/write-offs (their item)", (201, 201, 201, 403), (422, 422, 422, 403)),
    ("POST /warehouse/write-offs (their batch)", (201, 201, 201, 403), (422, 422, 422, 403)),
    ("GET /warehouse/counts", MANAGE, NOT_MEMBER),
    ("POST /warehouse/counts (their item)", CREATE, BODY_OTHER),
    ("GET /warehouse/movements", MANAGE, NOT_MEMBER),
    ("GET /warehouse/batches", READ, NOT_MEMBER),
    ("GET /warehouse/low-stock", READ, NOT_MEMBER),
]
CASES = [(endpoint, "own", own) for endpoint, own, _ in MATRIX] + [
    (endpoint, "other", other) for endpoint, _, other in MATRIX
]


def test_every_endpoint_is_in_the_matrix(app):
    documented = {
        f"{method.upper()} {re.sub(r'{[^}]+}', '{id}', path.removeprefix('/api/v1'))}"
        for path, operations in app.test_client().get("/openapi.json").json["paths"].items()
        if path.startswith(("/api/v1/products", "/api/v1/categories", "/api/v1/warehouse"))
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert documented == {endpoint.split(" (")[0] for endpoint, _, _ in MATRIX}


def _other_shop_state(side: Side) -> tuple:
    item = db.session.get(Item, side.item_id)
    product = db.session.get(Product, side.product_id)
    db.session.refresh(item)
    db.session.refresh(product)
    movements = db.session.scalar(select(func.count()).where(Movement.shop_id == side.shop_id))
    return (item.on_hand, item.min_level, product.price, product.image_key, product.archived_at, movements)


@pytest.mark.parametrize(("endpoint", "where", "expected"), CASES, ids=[f"{e} [{w}]" for e, w, _ in CASES])
def test_role_matrix_and_shop_isolation(app, shop, other_shop, tmp_media, endpoint, where, expected):
    world = World(
        own=_side(shop, ""),
        other=_side(other_shop, "Their "),
        clients={role: staff_client(app, shop, role) for role in ROLES},
    )
    before = _other_shop_state(world.other)

    got = {}
    for role in reversed(ROLES):  # least privileged first, so an admin's DELETE cannot hide a courier's answer
        response = REQUESTS[endpoint](world.clients[role], world, where)
        got[role] = response.status_code
        assert "Their" not in response.get_data(as_text=True)

    assert got == dict(zip(ROLES, expected, strict=True))
    assert _other_shop_state(world.other) == before


LISTS = [
    "/api/v1/categories",
    "/api/v1/products",
    f"{W}/items",
    f"{W}/supplies",
    f"{W}/write-offs",
    f"{W}/counts",
    f"{W}/movements",
    f"{W}/batches",
    f"{W}/low-stock",
    f"{P}/{{product}}/recipe",
    f"{P}/{{product}}/cost",
]


def test_nothing_of_another_shop_shows_in_any_list(app, shop, other_shop):
    own, other = _side(shop, ""), _side(other_shop, "Their ")
    for side in (own, other):
        line = {"item_id": side.item_id}
        warehouse.create_write_off(
            shop_id=side.shop_id, actor_id=None, reason="wilted", lines=[{**line, "quantity": 1}]
        )
        warehouse.create_count(shop_id=side.shop_id, actor_id=None, lines=[{**line, "counted": D(40)}])
        db.session.get(Item, side.item_id).min_level = D(100)  # both items are low on stock
    db.session.commit()
    manager = staff_client(app, shop, "manager")
    for path in LISTS:
        response = manager.get(path.format(product=own.product_id))
        assert response.status_code == 200, path
        text = response.get_data(as_text=True)
        assert "rose" in text or "bouquets" in text or "bouquet" in text, path  # the own shop's rows are there
        assert "Their" not in text, path
