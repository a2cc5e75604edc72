"""`flask seed-demo` leaves an order in every state, with its tasks, deliveries, stock and payments to match."""

from __future__ import annotations

from datetime import UTC, date, datetime

import time_machine
from sqlalchemy import select

from app.courier.models import Delivery
from app.extensions import db
from app.orders.models import Order, OrderStatus
from app.production.models import ProductionTask
from app.seed import DEMO_SHOP_NAME, seed_demo
from app.shops.models import Shop
from app.users.models import User
from app.warehouse.models import Reservation


def test_the_demo_shop_has_orders_in_every_state_with_tasks_and_deliveries():
    seed_demo()
    shop = db.session.scalars(select(Shop).where(Shop.name == DEMO_SHOP_NAME)).one()
    orders = {o.id: o for o in db.session.scalars(select(Order).where(Order.shop_id == shop.id))}
    tasks = db.session.scalars(select(ProductionTask).where(ProductionTask.shop_id == shop.id)).all()
    trips = {d.order_id: d for d in db.session.scalars(select(Delivery).where(Delivery.shop_id == shop.id))}

    assert {o.status for o in orders.values()} == {s.value for s in OrderStatus}
    assert {t.status for t in tasks} >= {"pending", "in_progress", "done"}
    florist = db.session.scalars(select(User).where(User.phone == "+79160000003")).one()
    assert {t.florist_id for t in tasks} == {None, florist.id}  # the florist's own, and one left to claim
    for order in orders.values():
        held = db.session.scalars(
            select(Reservation.state).where(Reservation.order_id == order.id).order_by(Reservation.id)
        ).all()
        if order.status in ("confirmed", "in_production"):
            assert held and set(held) == {"active"}, order.number
        elif order.status in ("ready", "out_for_delivery", "delivered", "delivery_failed"):
            assert held and set(held) == {"consumed"} and order.cost_of_goods > 0, order.number

    by_status = {o.status: o for o in orders.values() if o.id in trips}
    assert by_status["delivered"].payment_status == "paid"
    assert trips[by_status["delivered"].id].amount_collected == by_status["delivered"].total
    assert trips[by_status["delivery_failed"].id].failure_reason == "nobody_home"
    assert all(o.courier_id is not None for o in by_status.values())


def test_the_courier_has_deliveries_today_even_when_the_demo_is_seeded_late_in_the_shops_evening():
    # 23:30 in Moscow is still 5 December there (20:30 UTC); every window of that day has started.
    with time_machine.travel(datetime(2026, 12, 5, 20, 30, tzinfo=UTC), tick=False):
        seed_demo()
    courier = db.session.scalars(select(User).where(User.phone == "+79160000004")).one()
    theirs = db.session.scalars(select(Order).where(Order.courier_id == courier.id)).all()
    assert {o.status for o in theirs} == {"out_for_delivery", "delivered", "delivery_failed"}
    assert {o.delivery_date for o in theirs} == {date(2026, 12, 5)}
