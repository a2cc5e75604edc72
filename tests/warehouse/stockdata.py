"""Stock for tests, made through the services so the counters and movements agree from the start."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from flask_jwt_extended import create_access_token
from sqlalchemy import case, func, select

from app.extensions import db
from app.warehouse import services
from app.warehouse.models import ON_HAND_KINDS, RESERVED_KINDS, Batch, Item, Movement
from tests.factories import MembershipFactory, UserFactory
from tests.helpers import ApiClient


def D(value) -> Decimal:
    return Decimal(str(value))


def make_item(shop, name: str = "Red rose", **fields) -> Item:
    data = {"name": name, "kind": "flower", "unit": "stem", "min_level": D(0), "shelf_life_days": 7, **fields}
    return services.create_item(shop_id=shop.id, actor_id=None, data=data)


def supply(shop, *lines: tuple[Item, object, object], received_on: date | None = None, supplier: str = "Flora Ltd"):
    """`supply(shop, (rose, 10, "45.00"), ...)`: one delivery, one batch per line."""
    return services.create_supply(
        shop_id=shop.id,
        actor_id=None,
        supplier=supplier,
        received_on=received_on,
        lines=[{"item_id": item.id, "quantity": D(qty), "unit_cost": D(cost)} for item, qty, cost in lines],
    )


def fresh(item: Item) -> Item:
    db.session.expire(item)
    return db.session.get(Item, item.id)


def movement_sums(item_id: int) -> tuple[Decimal, Decimal]:
    """(on hand, reserved) as the movements say."""

    def total(kinds) -> Decimal:
        return db.session.scalar(
            select(func.coalesce(func.sum(Movement.quantity), 0)).where(
                Movement.item_id == item_id, Movement.kind.in_([k.value for k in kinds])
            )
        )

    return D(total(ON_HAND_KINDS)), D(total(RESERVED_KINDS))


def batches_of(item_id: int) -> list[Batch]:
    return list(db.session.scalars(select(Batch).where(Batch.item_id == item_id).order_by(Batch.id)))


def movement_sums_by_item(shop_id: int) -> dict[int, tuple[Decimal, Decimal]]:
    """{item id: (on hand, reserved)} as the shop's movements say, in one statement."""

    def signed(kinds):
        return func.coalesce(
            func.sum(case((Movement.kind.in_([k.value for k in kinds]), Movement.quantity), else_=0)), 0
        )

    rows = db.session.execute(
        select(Movement.item_id, signed(ON_HAND_KINDS), signed(RESERVED_KINDS))
        .where(Movement.shop_id == shop_id)
        .group_by(Movement.item_id)
    )
    sums = {item_id: (D(on_hand), D(reserved)) for item_id, on_hand, reserved in rows}
    return defaultdict(lambda: (D(0), D(0)), sums)


def staff_client(app, shop, role: str) -> ApiClient:
    """A client acting as a new member of `shop` with `role`.

    The token is made in the test's own app context (ApiClient(user=...) would push and pop one,
    which ends the test's session and detaches what the test holds).
    """
    user = UserFactory()
    MembershipFactory(user=user, shop=shop, role=role)
    db.session.flush()
    client = ApiClient(app, shop_id=shop.id)
    client.user = user
    client.token = create_access_token(identity=user)
    return client
