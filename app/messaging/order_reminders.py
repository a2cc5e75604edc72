"""Messages about orders: the courier's and the florist's reminders, the overdue and stock-short alerts, the
status messages.

The scans read UTC instants the orders and tasks already carry (`orders.scheduled_at` is the window's
start, `production_tasks.due_at` the time the bouquet must be ready), computed from the shop's IANA
zone when the order was taken, so they are right across daylight saving changes and time zones. Only
the window's end is local wall time on the order; the overdue scan turns it into an instant per shop.

Each scan runs every minute from `rq cron` and is one statement per question whatever the number of
shops: what is due, which of it is already in the message log, who the recipients are. Occurrence
keys make each message happen once, however often a scan runs or however many run at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import lazyload

from app.common.types import utcnow
from app.customers.models import Customer
from app.extensions import db
from app.messaging import templates
from app.messaging.models import MessageLog
from app.messaging.scans import managers_of
from app.messaging.services import channel_for_customer, channel_for_user, queue_message
from app.orders.models import OPEN_STATUSES, Fulfillment, Order, OrderStatus
from app.production.models import ProductionTask, TaskStatus
from app.shops.models import Shop
from app.shops.services import effective_settings
from app.tracking.links import tracking_url
from app.users.models import Membership, Role, User

log = logging.getLogger(__name__)

COURIER_LEAD = timedelta(minutes=60)
FLORIST_LEAD = timedelta(minutes=30)
# An alert is about what just went wrong: a scan that was down catches up for a day, never further back.
OVERDUE_LOOKBACK = timedelta(hours=24)
# Orders not yet on their way: the courier still has to come and get them.
NOT_YET_OUT = (OrderStatus.CONFIRMED.value, OrderStatus.IN_PRODUCTION.value, OrderStatus.READY.value)
# Before the flowers leave, a cancelled order is closed; these open ones can still miss their window.
OVERDUE_STATUSES = tuple(s.value for s in OPEN_STATUSES)
STATUS_MESSAGES = {
    OrderStatus.OUT_FOR_DELIVERY.value: "order_out_for_delivery",
    OrderStatus.DELIVERED.value: "order_delivered",
}


def _shops(shop_ids: Iterable[int]) -> dict[int, Shop]:
    ids = sorted(set(shop_ids))
    if not ids:
        return {}
    return {shop.id: shop for shop in db.session.scalars(select(Shop).where(Shop.id.in_(ids)))}


def _zone(shop: Shop) -> ZoneInfo | None:
    try:
        return ZoneInfo(shop.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        log.error("shop %s has an unknown time zone %r; its order reminders are skipped", shop.id, shop.timezone)
        return None


def _clock(moment: datetime, shop: Shop) -> str:
    """The shop's wall-clock time of `moment`, as "09:00"."""
    return moment.astimezone(_zone(shop) or ZoneInfo("UTC")).strftime("%H:%M")


def _already_queued(keys: Sequence[str]) -> set[str]:
    if not keys:
        return set()
    return set(db.session.scalars(select(MessageLog.occurrence_key).where(MessageLog.occurrence_key.in_(keys))))


def _active_members(user_ids: Iterable[int], shop_ids: Iterable[int], role: Role) -> dict[tuple[int, int], User]:
    """(shop id, user id) → the user, for active users with an active membership of `role` there."""
    user_ids, shop_ids = sorted(set(user_ids)), sorted(set(shop_ids))
    if not user_ids:
        return {}
    rows = db.session.execute(
        select(Membership.shop_id, User)
        .join(User, User.id == Membership.user_id)
        .options(lazyload(User.memberships))
        .where(
            Membership.user_id.in_(user_ids),
            Membership.shop_id.in_(shop_ids),
            Membership.is_active,
            Membership.role == role.value,
            User.is_active.is_(True),
        )
    ).all()
    return {(shop_id, user.id): user for shop_id, user in rows}


def _window(order: Order) -> str:
    return f"{order.window_start}–{order.window_end}" if order.window_end else order.window_start


def _order_context(order: Order, shop: Shop, language: str) -> dict[str, object]:
    return {
        "shop": shop.name,
        "number": order.number,
        "date": templates.day_and_month(order.delivery_date, language),
        "window": _window(order),
        "order_id": order.id,
    }


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%MZ")


def _tell_staff(
    person: User,
    *,
    kind: str,
    template: str,
    key: str,
    order: Order,
    shop: Shop,
    description: str,
    extra: dict[str, object] | None = None,
) -> bool:
    """Queue one message about `order` to a member of staff, on their channel and in their language;
    False when its key was queued already."""
    channel, to = channel_for_user(person)
    language = templates.language_for(person.language)
    message = queue_message(
        kind=kind,
        channel=channel,
        to=to,
        template=template,
        language=language,
        occurrence_key=key,
        context={**_order_context(order, shop, language), **(extra or {})},
        shop_id=order.shop_id,
        user_id=person.id,
        order_id=order.id,
        description=description,
    )
    return message is not None


# --- the courier: 60 minutes before the window opens ---------------------------------------------------


def scan_courier_reminders(now: datetime | None = None) -> int:
    """Remind each assigned courier of a delivery whose window opens within the hour and that is not out yet."""
    now = now or utcnow()
    orders = list(
        db.session.scalars(
            select(Order)
            .options(lazyload("*"))
            .where(
                Order.fulfillment == Fulfillment.DELIVERY.value,
                Order.status.in_(NOT_YET_OUT),
                Order.courier_id.is_not(None),
                Order.scheduled_at > now,
                Order.scheduled_at <= now + COURIER_LEAD,
            )
            .order_by(Order.id)
        )
    )
    keys = {o.id: f"courier_reminder:{o.id}:{o.courier_id}:{_stamp(o.scheduled_at)}" for o in orders}
    done = _already_queued(list(keys.values()))
    orders = [order for order in orders if keys[order.id] not in done]
    shops = _shops(order.shop_id for order in orders)
    couriers = _active_members((o.courier_id for o in orders), shops, Role.COURIER)
    queued = 0
    for order in orders:
        courier = couriers.get((order.shop_id, order.courier_id))
        shop = shops[order.shop_id]
        if courier is None or _zone(shop) is None:
            continue
        queued += _tell_staff(
            courier,
            kind="courier_reminder",
            template="courier_reminder",
            key=keys[order.id],
            order=order,
            shop=shop,
            description=f"send courier reminder for order {order.id}",
        )
    db.session.commit()
    log.info("courier reminder scan queued %d message(s)", queued)
    return queued


# --- the florist: a task due in 30 minutes and not started ---------------------------------------------


def scan_florist_reminders(now: datetime | None = None) -> int:
    """Remind the florist of a task due within 30 minutes and not started; the managers when nobody claimed it."""
    now = now or utcnow()
    rows = db.session.execute(
        select(ProductionTask, Order)
        .join(Order, Order.id == ProductionTask.order_id)
        .options(lazyload("*"))
        .where(
            ProductionTask.status == TaskStatus.PENDING.value,
            ProductionTask.due_at > now,
            ProductionTask.due_at <= now + FLORIST_LEAD,
            Order.status.in_(OVERDUE_STATUSES),
        )
        .order_by(ProductionTask.id)
    ).all()
    shops = _shops(task.shop_id for task, _order in rows)
    florists = _active_members((t.florist_id for t, _o in rows if t.florist_id), shops, Role.FLORIST)
    # Unclaimed, or claimed by someone who has left the shop: nobody's, so the managers hear of it.
    managers = managers_of(sorted({t.shop_id for t, _o in rows if (t.shop_id, t.florist_id) not in florists}))
    planned: list[tuple[str, ProductionTask, Order, User]] = []
    for task, order in rows:
        florist = florists.get((task.shop_id, task.florist_id))
        for person in [florist] if florist else managers.get(task.shop_id, []):
            planned.append((f"florist_reminder:{task.id}:{person.id}:{_stamp(task.due_at)}", task, order, person))
    done = _already_queued([key for key, *_rest in planned])
    queued = 0
    for key, task, order, person in planned:
        shop = shops[task.shop_id]
        if key in done or _zone(shop) is None:
            continue
        queued += _tell_staff(
            person,
            kind="florist_reminder",
            template="florist_reminder" if person.id == task.florist_id else "florist_reminder_unclaimed",
            key=key,
            order=order,
            shop=shop,
            description=f"send florist reminder for task {task.id}",
            extra={
                "product": task.product_name,
                "quantity": task.quantity,
                "due": _clock(task.due_at, shop),
                "task_id": task.id,
            },
        )
    db.session.commit()
    log.info("florist reminder scan queued %d message(s)", queued)
    return queued


# --- the managers: windows closed and not delivered, tasks due and not started --------------------------


def _window_end(order: Order, shop: Shop) -> datetime | None:
    zone = _zone(shop)
    if zone is None or not order.window_end:
        return None
    end = datetime.combine(order.delivery_date, time.fromisoformat(order.window_end), tzinfo=zone)
    return end if end > order.scheduled_at else None


def scan_overdue_orders(now: datetime | None = None) -> int:
    """Alert the shop's managers of deliveries whose window closed undelivered, and of confirmed orders whose
    tasks are past due and not started."""
    now = now or utcnow()
    late_deliveries = list(
        db.session.scalars(
            select(Order)
            .options(lazyload("*"))
            .where(
                Order.fulfillment == Fulfillment.DELIVERY.value,
                Order.status.in_(OVERDUE_STATUSES),
                # The window opened within the lookback (windows are hours long, not days).
                Order.scheduled_at <= now,
                Order.scheduled_at > now - OVERDUE_LOOKBACK - timedelta(hours=24),
            )
            .order_by(Order.id)
        )
    )
    late_tasks = db.session.execute(
        select(ProductionTask.order_id, Order, ProductionTask.due_at)
        .join(Order, Order.id == ProductionTask.order_id)
        .options(lazyload("*"))
        .where(
            ProductionTask.status == TaskStatus.PENDING.value,
            ProductionTask.due_at <= now,
            ProductionTask.due_at > now - OVERDUE_LOOKBACK,
            Order.status == OrderStatus.CONFIRMED.value,
        )
        .order_by(ProductionTask.order_id, ProductionTask.due_at)
    ).all()
    shops = _shops([o.shop_id for o in late_deliveries] + [o.shop_id for _id, o, _due in late_tasks])
    alerts: list[tuple[str, Order, datetime]] = []
    for order in late_deliveries:
        end = _window_end(order, shops[order.shop_id])
        if end is not None and now - OVERDUE_LOOKBACK < end <= now:
            alerts.append(("overdue_delivery", order, end))
    first_due: dict[int, tuple[Order, datetime]] = {}
    for order_id, order, due in late_tasks:
        first_due.setdefault(order_id, (order, due))
    alerts.extend(("overdue_production", order, due) for order, due in first_due.values())
    managers = managers_of(sorted({order.shop_id for _kind, order, _at in alerts}))
    planned = [
        (f"{kind}:{order.id}:{person.id}", kind, order, at, person)
        for kind, order, at in alerts
        for person in managers.get(order.shop_id, [])
    ]
    done = _already_queued([key for key, *_rest in planned])
    queued = 0
    for key, kind, order, at, person in planned:
        if key in done:
            continue
        shop = shops[order.shop_id]
        queued += _tell_staff(
            person,
            kind=kind,
            template=kind,
            key=key,
            order=order,
            shop=shop,
            description=f"send {kind.replace('_', ' ')} alert for order {order.id}",
            extra={"status": order.status, "since": _clock(at, shop)},
        )
    db.session.commit()
    log.info("overdue scan queued %d message(s)", queued)
    return queued


# --- the managers: an order left short of stock by a write-off ----------------------------------------


def order_short_of_stock(order: Order, lost: Sequence[tuple[str, Decimal]]) -> int:
    """In the write-off's transaction: tell the shop's managers and admins what the order lost (sent after
    the commit); how many messages were queued. The key carries the order's version, one per loss."""
    shop = db.session.get(Shop, order.shop_id)
    items = ", ".join(f"{name} ×{quantity.normalize():f}" for name, quantity in lost)
    queued = 0
    for person in managers_of([order.shop_id]).get(order.shop_id, []):
        queued += _tell_staff(
            person,
            kind="stock_short",
            template="stock_short",
            key=f"stock_short:{order.id}:{order.version}:{person.id}",
            order=order,
            shop=shop,
            description=f"send stock short alert for order {order.id}",
            extra={"items": items},
        )
    return queued


# --- the managers: an order from the website or a marketplace ---------------------------------------------


def new_storefront_order(order: Order) -> int:
    """In the storefront intake's transaction: tell the shop's managers and admins (sent after the commit);
    how many messages were queued. One per order and person."""
    shop = db.session.get(Shop, order.shop_id)
    template = f"storefront_order_{order.source}"
    queued = 0
    for person in managers_of([order.shop_id]).get(order.shop_id, []):
        queued += _tell_staff(
            person,
            kind="storefront_order",
            template=template,
            key=f"storefront_order:{order.id}:{person.id}",
            order=order,
            shop=shop,
            description=f"send new storefront order alert for order {order.id}",
            extra={"total": f"{order.total:.2f}", "paid": f"{order.paid_amount:.2f}"},
        )
    return queued


# --- the customer: out for delivery, delivered ------------------------------------------------------------


def tell_status(shop_id: int, card: dict[str, Any]) -> None:
    """The order moved (its `order.status_changed` event, with the order card as it was then): tell the customer,
    when the shop sends status messages. Run by the event log's dispatch (app/messaging/events.py).

    The key carries the order's version, so a trip sent out again after a failed one is told again, while
    a retried step (which moves nothing) never is. Nothing goes to an anonymized customer.
    """
    template = STATUS_MESSAGES.get(card.get("status"))
    if template is None or card.get("customer_id") is None:
        return
    shop = db.session.get(Shop, shop_id)
    if shop is None or not effective_settings(shop)["order_status_messages"]:
        return
    customer = db.session.get(Customer, card["customer_id"])
    if customer is None or customer.shop_id != shop_id or customer.anonymized_at is not None:
        return
    address = channel_for_customer(customer)
    if address is None:
        return
    channel, to = address
    language = templates.language_for(customer.language)
    window = f"{card['window_start']}–{card['window_end']}" if card.get("window_end") else card["window_start"]
    token = db.session.scalar(select(Order.tracking_token).where(Order.id == card["id"], Order.shop_id == shop_id))
    queue_message(
        kind="order_status",
        channel=channel,
        to=to,
        template=template,
        language=language,
        occurrence_key=f"order_status:{card['id']}:{card['status']}:{card['version']}",
        context={
            "shop": shop.name,
            "number": card["number"],
            "date": templates.day_and_month(date.fromisoformat(card["delivery_date"]), language),
            "window": window,
            "order_id": card["id"],
            "link": tracking_url(token) or "",
        },
        shop_id=shop_id,
        customer_id=customer.id,
        order_id=card["id"],
        description=f"send order status message for order {card['id']}",
    )
