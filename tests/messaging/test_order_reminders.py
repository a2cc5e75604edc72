"""The order reminders at frozen times: couriers, florists, overdue alerts and customers' status messages.

Two shops in different zones: Berlin, whose clocks go forward on 29 March 2026 (CET+1 → CEST+2), and
Vladivostok (UTC+10, no daylight saving). Orders are taken on the 27th for the morning window of the 29th.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import select

from app import privacy
from app.courier import services as couriers
from app.events import dispatch
from app.extensions import db, queues
from app.messaging import templates
from app.messaging.models import MessageLog
from app.messaging.order_reminders import scan_courier_reminders, scan_florist_reminders, scan_overdue_orders
from app.orders import services as orders
from app.orders.models import Order
from app.production.models import ProductionTask
from app.users.models import Role
from tests.factories import MembershipFactory, ShopFactory, UserFactory
from tests.orders.orderdata import delivery, open_shop, place

TAKEN = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)
DAY = "2026-03-29"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def at(moment: datetime, scan) -> int:
    with time_machine.travel(moment, tick=False):
        return scan()


def messages(kind: str) -> list[MessageLog]:
    db.session.expire_all()
    return list(db.session.scalars(select(MessageLog).where(MessageLog.kind == kind).order_by(MessageLog.id)))


def text_of(message: MessageLog) -> str:
    return templates.render(message.template, message.language, message.context)


def member(shop, role: str, **fields):
    user = UserFactory(**fields)
    MembershipFactory(user=user, shop=shop, role=role)
    db.session.flush()
    return user


@pytest.fixture
def berlin():
    shop = ShopFactory(name="Blumen am Eck", timezone="Europe/Berlin", country="DE")
    return shop, open_shop(shop, capacity=20)


@pytest.fixture
def vladivostok():
    shop = ShopFactory(name="Цветы у моря", timezone="Asia/Vladivostok")
    return shop, open_shop(shop, capacity=20, prefix="V ")


def take(front, *, status: str | None = None, confirm: bool = False, courier=None, **fields) -> Order:
    """An order for the 29th's 10:00–14:00 window, taken on the 27th."""
    with time_machine.travel(TAKEN, tick=False):
        order = place(front, delivery(front, delivery_date=DAY, **fields))
        if confirm:
            orders.change_status(shop_id=front.shop_id, order_id=order.id, actor_id=None, status="confirmed")
        if courier is not None:
            if not confirm:  # a courier is given confirmed orders and later ones
                db.session.get(Order, order.id).status = "confirmed"
                db.session.commit()
            couriers.assign_courier(shop_id=front.shop_id, order_id=order.id, courier_id=courier.id, actor_id=None)
        if status is not None:
            row = db.session.get(Order, order.id)
            row.status = status
            db.session.commit()
    return db.session.get(Order, order.id)


# --- couriers ---------------------------------------------------------------------------------


def test_the_courier_hears_an_hour_before_the_window_opens_in_each_shops_own_time(berlin, vladivostok):
    (b_shop, b_front), (v_shop, v_front) = berlin, vladivostok
    b_courier = member(b_shop, "courier", language="en")
    v_courier = member(v_shop, "courier", phone="+79241112233")
    b_order = take(b_front, status="ready", courier=b_courier)
    v_order = take(v_front, status="confirmed", courier=v_courier)
    db.session.commit()

    # Vladivostok's 10:00 on the 29th is midnight UTC: its courier hears at 23:00 UTC on the 28th.
    assert at(utc(2026, 3, 28, 22, 59), scan_courier_reminders) == 0
    assert at(utc(2026, 3, 28, 23, 0), scan_courier_reminders) == 1
    # Berlin's clocks went forward that night: 10:00 CEST is 08:00 UTC, so 07:00 UTC, not 08:00.
    assert at(utc(2026, 3, 29, 6, 59), scan_courier_reminders) == 0
    assert at(utc(2026, 3, 29, 7, 0), scan_courier_reminders) == 1
    assert at(utc(2026, 3, 29, 7, 45), scan_courier_reminders) == 0  # once, however often the scan runs

    v_message, b_message = messages("courier_reminder")
    assert (v_message.user_id, v_message.order_id, v_message.shop_id) == (v_courier.id, v_order.id, v_shop.id)
    assert (b_message.user_id, b_message.order_id, b_message.language) == (b_courier.id, b_order.id, "en")
    assert text_of(b_message) == (
        f"Blumen am Eck: order {b_order.number} is delivered 29 March, window 10:00–14:00. "
        "It opens in an hour: time to pick it up."
    )
    assert text_of(v_message).startswith(f"Цветы у моря: заказ {v_order.number} — доставка 29 марта, окно 10:00–14:00.")
    assert v_message.recipient_masked == "+7********33"


def test_no_courier_reminder_for_orders_cancelled_out_already_delivered_or_without_a_courier(berlin):
    shop, front = berlin
    courier = member(shop, "courier")
    for status in ("cancelled", "out_for_delivery", "delivered", "delivery_failed"):
        take(front, status=status, courier=courier)
    take(front, status="ready")  # nobody assigned
    gone = member(shop, "courier")
    take(front, status="ready", courier=gone)
    membership = gone.memberships[0]
    membership.deactivated_at = utc(2026, 3, 28)
    db.session.commit()

    assert at(utc(2026, 3, 29, 7, 10), scan_courier_reminders) == 0
    assert messages("courier_reminder") == []


def test_a_reassigned_delivery_reminds_the_new_courier_too(berlin):
    shop, front = berlin
    first, second = member(shop, "courier"), member(shop, "courier")
    order = take(front, status="ready", courier=first)
    db.session.commit()
    assert at(utc(2026, 3, 29, 7, 5), scan_courier_reminders) == 1
    with time_machine.travel(utc(2026, 3, 29, 7, 10), tick=False):
        couriers.assign_courier(shop_id=shop.id, order_id=order.id, courier_id=second.id, actor_id=None)
    assert at(utc(2026, 3, 29, 7, 11), scan_courier_reminders) == 1
    assert [m.user_id for m in messages("courier_reminder")] == [first.id, second.id]


# --- florists ---------------------------------------------------------------------------------


def test_a_task_due_in_half_an_hour_reminds_its_florist_or_the_managers_when_unclaimed(berlin, vladivostok):
    (b_shop, b_front), (v_shop, v_front) = berlin, vladivostok
    florist = member(b_shop, "florist")
    b_manager, v_manager = member(b_shop, "manager"), member(v_shop, "manager")
    member(b_shop, "courier")  # couriers hear nothing of the workshop
    claimed = take(b_front, confirm=True)
    unclaimed = take(v_front, confirm=True)
    started = take(b_front, confirm=True)
    (claimed_task,) = db.session.scalars(select(ProductionTask).where(ProductionTask.order_id == claimed.id))
    claimed_task.florist_id = florist.id
    (started_task,) = db.session.scalars(select(ProductionTask).where(ProductionTask.order_id == started.id))
    started_task.status, started_task.florist_id = "in_progress", florist.id
    db.session.commit()

    # Due 60 minutes before the window: 09:00 local. Vladivostok: 23:00 UTC; reminder from 22:30 UTC.
    assert at(utc(2026, 3, 28, 22, 29), scan_florist_reminders) == 0
    assert at(utc(2026, 3, 28, 22, 30), scan_florist_reminders) == 1
    # Berlin, CEST already: 09:00 local is 07:00 UTC; reminder from 06:30 UTC, not 07:30.
    assert at(utc(2026, 3, 29, 6, 29), scan_florist_reminders) == 0
    assert at(utc(2026, 3, 29, 6, 30), scan_florist_reminders) == 1
    assert at(utc(2026, 3, 29, 6, 50), scan_florist_reminders) == 0

    to_manager, to_florist = messages("florist_reminder")
    assert (to_manager.user_id, to_manager.order_id, to_manager.template) == (
        v_manager.id,
        unclaimed.id,
        "florist_reminder_unclaimed",
    )
    assert "нужно собрать к 09:00, но задачу никто не взял" in text_of(to_manager)
    assert (to_florist.user_id, to_florist.order_id) == (florist.id, claimed.id)
    assert f"к заказу {claimed.number} должен быть готов к 09:00" in text_of(to_florist)
    assert b_manager.id not in {m.user_id for m in messages("florist_reminder")}


def test_no_florist_reminder_once_the_order_is_cancelled(berlin):
    shop, front = berlin
    member(shop, "manager")
    order = take(front, confirm=True)
    with time_machine.travel(utc(2026, 3, 28, 12), tick=False):
        orders.change_status(
            shop_id=shop.id, order_id=order.id, actor_id=None, status="cancelled", comment="Changed their mind"
        )
    assert at(utc(2026, 3, 29, 6, 40), scan_florist_reminders) == 0


# --- overdue ----------------------------------------------------------------------------------


def test_managers_hear_of_a_window_closed_undelivered_once(berlin):
    shop, front = berlin
    manager, admin = member(shop, "manager"), member(shop, "admin", language="en")
    member(shop, "florist")
    late = take(front, status="out_for_delivery", courier=member(shop, "courier"))
    take(front, status="delivered")
    take(front, status="cancelled")
    db.session.commit()

    # The window closes at 14:00 CEST, 12:00 UTC.
    assert at(utc(2026, 3, 29, 11, 59), scan_overdue_orders) == 0
    assert at(utc(2026, 3, 29, 12, 0), scan_overdue_orders) == 2
    assert at(utc(2026, 3, 29, 12, 30), scan_overdue_orders) == 0
    alerts = messages("overdue_delivery")
    assert sorted(m.user_id for m in alerts) == sorted([manager.id, admin.id])
    assert {m.order_id for m in alerts} == {late.id}
    english = next(m for m in alerts if m.user_id == admin.id)
    assert text_of(english) == (
        f"Blumen am Eck: order {late.number} is not delivered; window 10:00–14:00 on 29 March closed at 14:00. "
        "Status: out_for_delivery."
    )
    # A day later the scan no longer digs it up (nor would it for last month's orders).
    assert at(utc(2026, 3, 30, 13, 0), scan_overdue_orders) == 0


def test_managers_hear_of_a_confirmed_order_whose_tasks_did_not_start_on_time(vladivostok):
    shop, front = vladivostok
    manager = member(shop, "manager")
    order = take(front, confirm=True)
    started = take(front, confirm=True)
    with time_machine.travel(utc(2026, 3, 28, 22, 50), tick=False):
        (task,) = db.session.scalars(select(ProductionTask).where(ProductionTask.order_id == started.id))
        florist = member(shop, "florist")
        task.florist_id = florist.id
        db.session.commit()
        from app.production import services as production

        production.start_task(shop_id=shop.id, task_id=task.id, actor_id=florist.id, actor_role=Role.FLORIST)

    # Due at 09:00 Vladivostok = 23:00 UTC on the 28th.
    assert at(utc(2026, 3, 28, 22, 59), scan_overdue_orders) == 0
    assert at(utc(2026, 3, 28, 23, 0), scan_overdue_orders) == 1
    (alert,) = messages("overdue_production")
    assert (alert.user_id, alert.order_id) == (manager.id, order.id)
    assert f"заказ {order.number} (29 марта, 10:00–14:00): сборка должна была начаться к 09:00" in text_of(alert)


# --- customers --------------------------------------------------------------------------------


@pytest.fixture
def messaging_shop(berlin):
    shop, front = berlin
    shop.settings = {**shop.settings, "order_status_messages": True}
    db.session.commit()
    return shop, front


def test_the_customer_hears_when_the_order_is_out_and_when_it_is_delivered(messaging_shop):
    shop, front = messaging_shop
    courier = member(shop, "courier")
    order = take(front, status="ready", courier=courier)
    step = {"shop_id": shop.id, "order_id": order.id, "actor_id": courier.id, "actor_role": Role.COURIER}

    couriers.pick_up(**step)
    couriers.pick_up(**step)  # the courier app retried: no second message
    couriers.deliver(**step)
    assert messages("order_status") == []  # the moves' events carry the messages: the log's dispatch queues them
    dispatch.dispatch_shop(shop.id)
    dispatch.dispatch_shop(shop.id)  # a second run (the sweep) finds nothing new

    out, delivered = messages("order_status")
    assert (out.customer_id, out.order_id, out.template) == (order.customer_id, order.id, "order_out_for_delivery")
    # Taken by phone without a language, in a German shop: the customer reads English.
    # With the tracking link (PUBLIC_BASE_URL), short enough for an SMS.
    link = f"http://127.0.0.1:5000/t/{order.tracking_token}"
    assert text_of(out) == f"Blumen am Eck: order {order.number} is on its way, arrives 29 March, 10:00–14:00. {link}"
    assert text_of(delivered) == f"Blumen am Eck: order {order.number} has been delivered. Thank you! {link}"
    assert delivered.template == "order_delivered"
    assert out.recipient_masked == "+7********33"  # the customer who pays, not the recipient


def test_a_trip_sent_out_again_is_told_again(messaging_shop):
    shop, front = messaging_shop
    courier = member(shop, "courier")
    order = take(front, status="ready", courier=courier)
    step = {"shop_id": shop.id, "order_id": order.id, "actor_id": courier.id, "actor_role": Role.COURIER}
    couriers.pick_up(**step)
    couriers.fail(**step, reason="nobody_home")
    couriers.pick_up(**step)
    dispatch.dispatch_shop(shop.id)
    assert [m.template for m in messages("order_status")] == ["order_out_for_delivery", "order_out_for_delivery"]


def test_no_status_messages_when_the_shop_has_them_off_or_the_customer_is_anonymized(berlin, messaging_shop):
    shop, front = messaging_shop
    courier = member(shop, "courier")
    order = take(front, status="ready", courier=courier)
    privacy.anonymize_customer(shop_id=shop.id, customer_id=order.customer_id, actor_id=None)
    couriers.pick_up(shop_id=shop.id, order_id=order.id, actor_id=courier.id, actor_role=Role.COURIER)
    dispatch.dispatch_shop(shop.id)
    assert messages("order_status") == []

    shop.settings = {**shop.settings, "order_status_messages": False}
    db.session.commit()
    other = take(front, status="ready", courier=courier, customer={"name": "Vera", "phone": "+79165556677"})
    couriers.pick_up(shop_id=shop.id, order_id=other.id, actor_id=courier.id, actor_role=Role.COURIER)
    dispatch.dispatch_shop(shop.id)
    assert messages("order_status") == []
    # Not for want of a move: with the setting back on, the next one is told.
    shop.settings = {**shop.settings, "order_status_messages": True}
    db.session.commit()
    couriers.fail(
        shop_id=shop.id, order_id=other.id, actor_id=courier.id, actor_role=Role.COURIER, reason="nobody_home"
    )
    couriers.pick_up(shop_id=shop.id, order_id=other.id, actor_id=courier.id, actor_role=Role.COURIER)
    dispatch.dispatch_shop(shop.id)
    assert [(m.order_id, m.template) for m in messages("order_status")] == [(other.id, "order_out_for_delivery")]


# --- exactly once -----------------------------------------------------------------------------


@pytest.mark.committed
def test_scans_running_at_once_queue_each_order_message_once(app, berlin):
    shop, front = berlin
    courier, manager = member(shop, "courier"), member(shop, "manager")
    for _ in range(3):
        take(front, confirm=True, courier=courier)  # a task due 07:00 UTC, a window opening 08:00 UTC
    late = take(front, status="ready", courier=courier, window_start="14:00")
    db.session.commit()
    barrier = threading.Barrier(6)
    counts: list[int] = []
    errors: list[BaseException] = []

    def scan():
        with app.app_context():
            try:
                barrier.wait()
                counts.append(scan_courier_reminders() + scan_florist_reminders() + scan_overdue_orders())
            except BaseException as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    # 07:10 UTC on the 29th: windows open at 08:00, tasks were due at 07:00 (late), the 14:00 window is far.
    with time_machine.travel(utc(2026, 3, 29, 7, 10), tick=False):
        threads = [threading.Thread(target=scan) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert errors == []
    assert sum(counts) == 6  # three courier reminders, three overdue-production alerts
    assert len(messages("courier_reminder")) == 3
    assert {m.user_id for m in messages("overdue_production")} == {manager.id}
    assert len(messages("overdue_production")) == 3
    assert late.id not in {m.order_id for m in messages("courier_reminder")}
    assert len(queues.get("messages").get_jobs()) == 6
