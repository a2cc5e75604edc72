"""The demo shop of `flask seed-demo` and `make run`: a shop you can log into and click through."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager

from app.catalogue.seed import seed_catalogue
from app.extensions import db
from app.orders.seed import seed_orders
from app.production.seed import seed_workshop_and_deliveries
from app.shops import services as shops
from app.users import services as users
from app.users.models import Role
from app.warehouse.seed import seed_stock

DEMO_SHOP_NAME = "Demo Flowers"
DEMO_PASSWORD = "flowers-demo"
DEMO_STAFF = [
    (Role.ADMIN, "+79160000001", "Anna Admin", "admin@demo.flowers"),
    (Role.MANAGER, "+79160000002", "Maria Manager", "manager@demo.flowers"),
    (Role.FLORIST, "+79160000003", "Fiona Florist", None),
    (Role.COURIER, "+79160000004", "Kirill Courier", None),
]


def _seed_shop_and_staff(state: dict) -> None:
    role, phone, name, email = DEMO_STAFF[0]
    owner = users.create_user(phone=phone, name=name, email=email, password=DEMO_PASSWORD, actor_id=None, commit=False)
    shop = shops.create_shop(
        owner=owner,
        actor_id=None,
        name=DEMO_SHOP_NAME,
        timezone="Europe/Moscow",
        address="Moscow, Tverskaya 1",
        commit=False,
    )
    for role, phone, name, email in DEMO_STAFF[1:]:
        users.create_user(
            phone=phone,
            name=name,
            email=email,
            password=DEMO_PASSWORD,
            shop_id=shop.id,
            role=role,
            actor_id=owner.id,
            commit=False,
        )
    state["shop"] = shop
    state["owner"] = owner


# Each later domain appends its step (catalogue, stock, customers, orders).
SEED_STEPS: list[Callable[[dict], None]] = [
    _seed_shop_and_staff,
    seed_stock,
    seed_catalogue,
    seed_orders,
    seed_workshop_and_deliveries,
]


def seed_demo(
    progress: Callable[[Iterable], AbstractContextManager[Iterable]] | None = None,
) -> list[tuple[str, str]]:
    """Seed the demo shop in one transaction; returns the (role, phone) logins."""
    state: dict = {}
    steps: Iterable = SEED_STEPS
    if progress is None:
        for step in steps:
            step(state)
    else:
        with progress(SEED_STEPS) as bar:
            for step in bar:
                step(state)
    db.session.commit()
    return demo_logins()


def demo_logins() -> list[tuple[str, str]]:
    """The (role, phone) logins of the demo staff, all with DEMO_PASSWORD."""
    return [(role.value, phone) for role, phone, _name, _email in DEMO_STAFF]
