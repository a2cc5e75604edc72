"""`flask seed-demo` leaves orders a manager can click through, in several states."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.orders.models import Order
from app.seed import DEMO_SHOP_NAME, seed_demo
from app.shops.models import Shop
from app.warehouse.models import Reservation


def test_the_demo_shop_has_orders_in_several_states_with_their_stock_and_payments():
    seed_demo()
    shop = db.session.scalars(select(Shop).where(Shop.name == DEMO_SHOP_NAME)).one()

    orders = db.session.scalars(select(Order).where(Order.shop_id == shop.id)).all()

    assert {o.status for o in orders} >= {"new", "confirmed", "ready", "completed", "cancelled"}
    assert {o.fulfillment for o in orders} == {"delivery", "pickup"}
    assert {o.payment_status for o in orders} >= {"unpaid", "partly_paid", "paid"}
    assert len({o.number for o in orders}) == len(orders)
    for order in orders:
        assert order.total == order.subtotal - order.discount + order.delivery_fee
        held = db.session.scalars(
            select(Reservation).where(Reservation.order_id == order.id, Reservation.state == "active")
        ).all()
        # confirmed orders and those being assembled hold their stems
        assert bool(held) == (order.status in ("confirmed", "in_production")), order.number
