"""The fuzzer's seeded shop: rows that generated ids can point at, so requests get past the 404.

A generated `product_id` is a random integer, and a random integer finds no product: without
help every request on `/products/{product_id}` (and every body naming an `item_id`) would stop
at the lookup. In the fuzzing phase of positive cases, path parameters and body fields named in
SEEDERS are pointed at a row of the seeded shop; the coverage phase keeps its generated values,
so the 404 answers are exercised too. A domain whose ids appear in paths or bodies adds one line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from schemathesis import Case
from sqlalchemy import select

from app.catalogue import services as catalogue
from app.customers import services as customers
from app.extensions import db
from app.orders import services as orders
from app.production.models import ProductionTask
from app.promos import services as promos
from app.shops.models import Shop
from app.warehouse import services as warehouse
from tests.factories import MembershipFactory, UserFactory


def _florist(shop_id: int, admin_id: int, ids: dict[str, int]) -> int:
    # Another member than the caller, so PATCH and DELETE /users/{id} act on a colleague.
    user = UserFactory()
    MembershipFactory(user=user, shop=db.session.get(Shop, shop_id), role="florist")
    db.session.flush()
    return user.id


def _item(shop_id: int, admin_id: int, ids: dict[str, int]) -> int:
    data = {"name": "Red rose", "kind": "flower", "unit": "stem", "min_level": Decimal(5), "shelf_life_days": 7}
    return warehouse.create_item(shop_id=shop_id, actor_id=admin_id, data=data).id


def _supply(shop_id: int, admin_id: int, ids: dict[str, int]) -> int:
    line = {"item_id": ids["item_id"], "quantity": Decimal(40), "unit_cost": Decimal("45.00")}
    supply = warehouse.create_supply(
        shop_id=shop_id, actor_id=admin_id, supplier="Flora Ltd", received_on=date.today(), lines=[line]
    )
    return supply.id


def _category(shop_id: int, admin_id: int, ids: dict[str, int]) -> int:
    return catalogue.create_category(shop_id=shop_id, actor_id=admin_id, name="Bouquets").id


def _product(shop_id: int, admin_id: int, ids: dict[str, int]) -> int:
    data = {"name": "Classic", "price": Decimal("1500"), "category_id": ids["category_id"]}
    product = catalogue.create_product(shop_id=shop_id, actor_id=admin_id, data=data)
    components = [{"item_id": ids["item_id"], "quantity": Decimal(3)}]
    catalogue.set_recipe(shop_id=shop_id, product_id=product.id, actor_id=admin_id, components=components)
    return product.id


def _customer(shop_id: int, admin_id: int, ids: dict[str, int]) -> int:
    data = {"name": "Olga Petrova", "phone": "+79161112233", "marketing_consent": True}
    return customers.create_customer(shop_id=shop_id, actor_id=admin_id, data=data).id


def _occasion_date(shop_id: int, admin_id: int, ids: dict[str, int]) -> int:
    data = {"label": "Birthday", "month": 3, "day": 8}
    return customers.add_date(shop_id=shop_id, customer_id=ids["customer_id"], actor_id=admin_id, data=data).id


def _promo_code(shop_id: int, admin_id: int, ids: dict[str, int]) -> int:
    data = {"code": "SPRING10", "kind": "percent", "value": Decimal(10), "min_order_total": Decimal(0)}
    return promos.create_promo_code(shop_id=shop_id, actor_id=admin_id, data=data).id


def _order(shop_id: int, admin_id: int, ids: dict[str, int]) -> int:
    # A pickup tomorrow: no delivery window needed, and confirming it finds the stock the recipe asks for.
    data = {
        "customer_id": ids["customer_id"],
        "fulfillment": "pickup",
        "delivery_date": date.today() + timedelta(days=2),
        "pickup_time": "12:00",
        "items": [{"product_id": ids["product_id"], "quantity": 1}],
    }
    return orders.create_order(shop_id=shop_id, actor_id=admin_id, data=data).id


def _task(shop_id: int, admin_id: int, ids: dict[str, int]) -> int:
    # A second pickup of the product, confirmed: its one line needs assembly, so it has a production task.
    data = {
        "customer_id": ids["customer_id"],
        "fulfillment": "pickup",
        "delivery_date": date.today() + timedelta(days=3),
        "pickup_time": "12:00",
        "items": [{"product_id": ids["product_id"], "quantity": 1}],
    }
    order = orders.create_order(shop_id=shop_id, actor_id=admin_id, data=data)
    orders.change_status(shop_id=shop_id, order_id=order.id, actor_id=admin_id, status="confirmed")
    return db.session.scalars(select(ProductionTask.id).where(ProductionTask.order_id == order.id)).one()


# Parameter name -> makes the row (given the shop, the admin and the ids made so far), in order.
SEEDERS: dict[str, Callable[[int, int, dict[str, int]], int]] = {
    "shop_id": lambda shop_id, _admin_id, _ids: shop_id,
    "user_id": _florist,
    "item_id": _item,
    "supply_id": _supply,
    "category_id": _category,
    "product_id": _product,
    "customer_id": _customer,
    "date_id": _occasion_date,
    "promo_code_id": _promo_code,
    "order_id": _order,
    "task_id": _task,
}


def seed_shop(shop_id: int, admin_id: int) -> dict[str, int]:
    """Make one row per SEEDERS entry in the shop and commit (into the test's outer transaction)."""
    ids: dict[str, int] = {}
    for name, make in SEEDERS.items():
        ids[name] = make(shop_id, admin_id, ids)
    db.session.commit()
    return ids


def _point_body(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, dict):
        return {
            key: ids[key] if key in ids and type(item) is int else _point_body(item, ids) for key, item in value.items()
        }
    if isinstance(value, list):
        return [_point_body(item, ids) for item in value]
    return value


def point_at_seeded_rows(case: Case, ids: dict[str, int]) -> None:
    """Aim a positive fuzzing case's ids at the seeded rows; other cases keep what was generated."""
    meta = case.meta
    if meta is None or meta.phase.name.value != "fuzzing" or not meta.generation.mode.is_positive:
        return
    for name, value in (case.path_parameters or {}).items():
        if name in ids and type(value) is int:
            case.path_parameters[name] = ids[name]
    if isinstance(case.body, dict | list):
        case.body = _point_body(case.body, ids)
