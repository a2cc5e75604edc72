"""Stock movements are the books: the database itself refuses to change or delete one (PostgreSQL and SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from app import config as app_config
from app import create_app
from app.extensions import db, init_migrations
from app.shops.models import Shop
from app.users.models import User
from app.warehouse import services
from app.warehouse.models import Item, Movement
from tests.factories import UserFactory
from tests.warehouse.stockdata import D, make_item, supply

MIGRATIONS_DIR = str(Path(__file__).resolve().parents[2] / "migrations")
REFUSAL = "stock movements are never updated or deleted"


def _movements(shop_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Movement).where(Movement.shop_id == shop_id))


@pytest.fixture
def supplied(shop):
    rose = make_item(shop, "Red rose")
    supply(shop, (rose, 10, "40.00"))
    return rose


@pytest.mark.parametrize(
    "statement",
    [
        lambda shop: update(Movement).where(Movement.shop_id == shop.id).values(quantity=D(1000)),
        lambda shop: update(Movement).where(Movement.shop_id == shop.id).values(reason="typo"),
        lambda shop: delete(Movement).where(Movement.shop_id == shop.id),
    ],
    ids=["update quantity", "update reason", "delete"],
)
def test_the_database_refuses_to_change_or_delete_a_movement(shop, supplied, statement):
    with pytest.raises(DatabaseError, match=REFUSAL), db.session.begin_nested():
        db.session.execute(statement(shop))

    (movement,) = db.session.scalars(
        select(Movement).where(Movement.shop_id == shop.id).execution_options(populate_existing=True)
    )
    assert (movement.kind, movement.quantity, movement.reason) == ("supply", D(10), None)


def test_deleting_a_shop_still_takes_its_stock_history_along(shop, supplied, other_shop):
    theirs = make_item(other_shop, "Tulip")
    supply(other_shop, (theirs, 3, "30.00"))
    shop_id = shop.id

    db.session.execute(delete(Shop).where(Shop.id == shop_id))

    assert _movements(shop_id) == 0
    assert _movements(other_shop.id) == 1  # nobody else's history goes


def test_deleting_a_user_forgets_who_made_a_movement_and_nothing_else(shop):
    keeper = UserFactory(name="Storekeeper")
    rose = make_item(shop, "Red rose")
    db.session.flush()
    services.create_supply(
        shop_id=shop.id,
        actor_id=keeper.id,
        supplier="Flora Ltd",
        received_on=None,
        lines=[{"item_id": rose.id, "quantity": D(4), "unit_cost": D("40.00")}],
    )

    db.session.execute(delete(User).where(User.id == keeper.id))

    (movement,) = db.session.scalars(
        select(Movement).where(Movement.shop_id == shop.id).execution_options(populate_existing=True)
    )
    assert (movement.user_id, movement.quantity) == (None, D(4))


def test_the_dev_modes_sqlite_refuses_too(tmp_path):
    config = app_config.TestConfig()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'dev.db'}"
    sqlite_app = create_app(config)
    init_migrations(sqlite_app)
    with sqlite_app.app_context():
        upgrade(directory=MIGRATIONS_DIR)
        engine = db.engine  # with the app's pragmas: foreign keys on
    try:
        with Session(engine) as session:
            shop = Shop(name="Dev shop")
            session.add(shop)
            session.flush()
            item = Item(shop_id=shop.id, name="Red rose")
            session.add(item)
            session.flush()
            session.add(Movement(shop_id=shop.id, item_id=item.id, kind="supply", quantity=D(5)))
            session.commit()

            for statement in (update(Movement).values(quantity=D(50)), delete(Movement)):
                with pytest.raises(DatabaseError, match=REFUSAL):
                    session.execute(statement)
                session.rollback()
            assert session.scalar(select(Movement.quantity)) == D(5)

            session.execute(delete(Shop))  # a shop deleted takes its movements along
            session.commit()
            assert session.scalar(select(func.count()).select_from(Movement)) == 0
    finally:
        engine.dispose()
