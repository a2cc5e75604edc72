"""The order lifecycle of SPEC §6 as data, and the one function that moves an order along it.

Every move writes a history row and an audit entry in the caller's transaction. Callers lock the
order first (`lock_order`, here below the orders, production and courier services that all move
orders), so two moves of one order never interleave.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.orm import contains_eager

from app.audit import services as audit
from app.errors import ConflictError, NotFoundError
from app.events import outbox
from app.events.models import Audience
from app.extensions import db
from app.orders.models import OPEN_STATUSES, Order, OrderStatus, OrderStatusChange

S = OrderStatus


@dataclass(frozen=True)
class Transition:
    source: OrderStatus
    target: OrderStatus
    # True: a manager makes it through POST /orders/{id}/status; False: the system or a later endpoint does.
    by_status_endpoint: bool


# The whole lifecycle; app/production (the florists' tasks) and app/courier (deliveries) make the moves not marked here.
LIFECYCLE: tuple[Transition, ...] = (
    Transition(S.NEW, S.CONFIRMED, True),
    Transition(S.CONFIRMED, S.IN_PRODUCTION, False),  # a florist starts the first task
    Transition(S.IN_PRODUCTION, S.READY, False),  # the last task completed
    Transition(S.CONFIRMED, S.READY, True),  # nothing to assemble
    Transition(S.READY, S.OUT_FOR_DELIVERY, False),  # the courier picks up
    Transition(S.OUT_FOR_DELIVERY, S.DELIVERED, False),
    Transition(S.OUT_FOR_DELIVERY, S.DELIVERY_FAILED, False),
    Transition(S.DELIVERY_FAILED, S.OUT_FOR_DELIVERY, False),
    Transition(S.DELIVERY_FAILED, S.READY, False),
    Transition(S.READY, S.COMPLETED, True),  # pickup handed over
    *(Transition(source, S.CANCELLED, True) for source in OPEN_STATUSES),
)


def locking(order_id: ColumnElement[int], *, with_shop: bool = False) -> Select:
    """The statement that locks the order whose id `order_id` gives (a parameter, or a subquery that finds it: the
    order of a task, saving the statement that would look it up), of the shop in the `shop_id` parameter; for
    `locked`. Build it once: building a statement costs about as much CPU as running it.

    `with_shop`: the shop comes along in the same statement (not locked), for a step that reads its settings. The
    order's lines do not: a row joined to the locked one is read as it was when the statement began, not as the
    transaction that held the lock left it, so they are read by a statement of their own once the lock is held.
    """
    stmt = select(Order).where(Order.id == order_id, Order.shop_id == bindparam("shop_id"))
    if with_shop:
        stmt = stmt.join(Order.shop).options(contains_eager(Order.shop))
    return stmt.with_for_update(of=Order.__table__).execution_options(populate_existing=True)


def locked(statement: Select, params: dict[str, Any]) -> Order:
    """The order row `statement` (`locking`) locks (SELECT ... FOR UPDATE), read afresh: moves of one order queue
    here."""
    order = db.session.scalars(statement, params).first()
    if order is None:
        raise NotFoundError("Order not found.")
    return order


@cache
def _locking_by_id(*, with_shop: bool) -> Select:
    return locking(bindparam("order_id"), with_shop=with_shop)


def lock_order(*, shop_id: int, order_id: int, with_shop: bool = False) -> Order:
    """The order row locked and read afresh (`locking` says what `with_shop` brings along)."""
    return locked(_locking_by_id(with_shop=with_shop), {"order_id": order_id, "shop_id": shop_id})


def allowed_targets(source: str, *, by_status_endpoint: bool | None = None) -> list[str]:
    return sorted(
        t.target.value
        for t in LIFECYCLE
        if t.source.value == source and (by_status_endpoint is None or t.by_status_endpoint == by_status_endpoint)
    )


def forbidden(
    order: Order, target: str, *, allowed: list[str] | None = None, message: str | None = None
) -> ConflictError:
    """The 409 of a move the lifecycle does not have, naming what is allowed from here."""
    allowed = allowed_targets(order.status, by_status_endpoint=True) if allowed is None else allowed
    return ConflictError(
        message or "The order is “{status}”, so it cannot become “{target}”; reload it to see where it can go next.",
        errors={"status": {"from": order.status, "to": target, "allowed": allowed}},
        params={"status": order.status, "target": target},
    )


def record_history(*, order: Order, source: str | None, target: str, actor_id: int | None, comment: str = "") -> None:
    db.session.add(
        OrderStatusChange(
            shop_id=order.shop_id,
            order_id=order.id,
            from_status=source,
            to_status=target,
            actor_id=actor_id,
            comment=comment or "",
        )
    )


def order_event(order: Order, type: str) -> None:
    """An `order.*` event for managers and admins, with the order card as it is at the commit."""
    outbox.record(type, shop_id=order.shop_id, subject_type="order", subject_id=order.id, customer_id=order.customer_id)


def delivery_event(order: Order, type: str, *, courier_id: int | None = None, data: dict | None = None) -> None:
    """A `delivery.*` event for the order's courier (or `courier_id`), with the delivery card at the commit.

    `delivery.updated` gives way to any other event of the same commit about the delivery for that courier.
    """
    courier_id = order.courier_id if courier_id is None else courier_id
    if courier_id is None:
        return
    outbox.record(
        type,
        shop_id=order.shop_id,
        subject_type="delivery",
        subject_id=order.id,
        audience=Audience.COURIER,
        courier_id=courier_id,
        customer_id=order.customer_id,
        data=data,
        coalesce=type == "delivery.updated",
    )


def order_changed(order: Order, type: str) -> None:
    """The order's event for managers, and `delivery.updated` for its courier (address, window, amount due)."""
    order_event(order, type)
    delivery_event(order, "delivery.updated")


def move(
    *,
    order: Order,
    target: OrderStatus,
    actor_id: int | None,
    comment: str = "",
    delivery_type: str = "delivery.updated",
) -> None:
    """Set the new status with its history row and audit entry (the lifecycle check is the caller's).

    The move is an `order.status_changed` event (the customer's status message follows from it, app/messaging)
    and, for the order's courier, `delivery_type` (the courier's steps name theirs: `delivery.picked_up`...).
    """
    source = order.status
    order.status = target.value
    order.version += 1
    record_history(order=order, source=source, target=target.value, actor_id=actor_id, comment=comment)
    changes = {"status": [source, target.value]}
    if comment:
        changes["comment"] = comment
    audit.record(
        shop_id=order.shop_id,
        actor_id=actor_id,
        action="status",
        entity_type="order",
        entity_id=order.id,
        changes=changes,
    )
    order_event(order, "order.status_changed")
    delivery_event(order, delivery_type)
