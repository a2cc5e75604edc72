"""Migration 0025: orders not cancelled from yesterday on are counted into their day's florist minutes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app.extensions import db
from app.orders import services as orders
from app.orders.schemas import OrderCreateSchema
from tests.factories import ShopFactory
from tests.orders.orderdata import delivery, open_shop, pickup
from tests.test_migrations import MIGRATIONS_DIR, _app_on, scratch_postgres_url  # noqa: F401  (a fixture)
from tests.workshop.workshopdata import BOUQUET_MINUTES

pytestmark = pytest.mark.committed  # the data goes to the scratch database, not into the test's transaction


def test_open_orders_are_counted_into_their_days_when_the_counter_comes(scratch_postgres_url):  # noqa: F811
    app = _app_on(scratch_postgres_url)
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR)
        shop = ShopFactory()
        db.session.flush()
        front = open_shop(shop, capacity=20)
        later = front.day + timedelta(days=2)

        def place(body):
            return orders.create_order(shop_id=front.shop_id, actor_id=None, data=OrderCreateSchema().load(body))

        two = place(delivery(front, items=[{"product_id": front.bouquet.id, "quantity": 2}]))
        stems = place(pickup(front))  # nothing for the florists
        gone = place(delivery(front))
        orders.change_status(
            shop_id=front.shop_id, order_id=gone.id, actor_id=None, status="cancelled", comment="Changed mind"
        )
        other_day = place(delivery(front, delivery_date=later.isoformat()))
        ids = (two.id, stems.id, gone.id, other_day.id)
        db.session.remove()

        downgrade(directory=MIGRATIONS_DIR, revision="0024")
        upgrade(directory=MIGRATIONS_DIR)

        with db.engine.connect() as connection:
            held = dict(
                connection.execute(
                    sa.text("SELECT id, workshop_minutes FROM orders WHERE id IN :ids").bindparams(
                        sa.bindparam("ids", expanding=True)
                    ),
                    {"ids": list(ids)},
                ).all()
            )
            days = dict(connection.execute(sa.text("SELECT delivery_date, minutes FROM workshop_bookings")).all())
        assert held == {two.id: 2 * BOUQUET_MINUTES, stems.id: 0, gone.id: None, other_day.id: BOUQUET_MINUTES}
        assert days == {front.day: 2 * BOUQUET_MINUTES, later: BOUQUET_MINUTES}
        db.engine.dispose()
