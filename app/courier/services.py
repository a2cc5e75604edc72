"""Delivery rules: a manager assigns a courier; the courier picks up, delivers or fails, and proves it.

Every step locks the order row first (`orders.transitions.lock_order`), so a step and its retries,
or a step and a manager's cancel, queue instead of interleaving. A step repeated after it was made
answers the delivery as it is (no second history row, no second payment); a step the order can no
longer take (it was cancelled, delivered, or given to another courier meanwhile) is 409 with the
delivery's current state, never a silent overwrite.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import IO, Any

from sqlalchemy import Select, bindparam, exists, select, text

from app import storage
from app.audit import services as audit
from app.common.pagination import FilteredList, paged
from app.common.schemas import Shaped
from app.common.shapes import Computed, Shape, Together
from app.common.types import utcnow
from app.courier.models import CourierAssignment, Delivery, FailureReason
from app.courier.schemas import DeliverySchema
from app.errors import ConflictError, NotFoundError, RuleViolation
from app.events import outbox
from app.extensions import db
from app.orders import reading, transitions
from app.orders import services as orders
from app.orders.models import Fulfillment, Order, OrderStatus, PaymentMethod, amount_due
from app.users import services as users
from app.users.models import Role

S = OrderStatus
# A courier may be given (or taken off) a delivery until it leaves the shop, and again after a failed trip.
ASSIGNABLE = (S.CONFIRMED.value, S.IN_PRODUCTION.value, S.READY.value, S.DELIVERY_FAILED.value)
# Proof photos: at the door, after the hand-over (the upload may lag behind), or of a failed attempt.
PHOTO_STATUSES = (S.OUT_FOR_DELIVERY.value, S.DELIVERED.value, S.DELIVERY_FAILED.value)
# What pickup, deliver, fail and return can do from each status (the rest of the lifecycle is the back office's).
COURIER_STEPS = {
    S.READY.value: (S.OUT_FOR_DELIVERY.value,),
    S.OUT_FOR_DELIVERY.value: (S.DELIVERED.value, S.DELIVERY_FAILED.value),
    S.DELIVERY_FAILED.value: (S.OUT_FOR_DELIVERY.value, S.READY.value),
}
# How far the courier's phone clock may stray from ours before its hand-over time is refused (docs/decisions.md).
CLOCK_SKEW = timedelta(minutes=5)
SKEW_MINUTES = int(CLOCK_SKEW.total_seconds() // 60)


@dataclass(frozen=True)
class DeliveryCard:
    """What the courier app shows of one delivery: the order's door-side facts and the trip's."""

    order: Order
    delivery: Delivery | None

    def __getattr__(self, name: str) -> Any:  # the schema reads trip facts by name; none before the first trip
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.delivery, name) if self.delivery is not None else None


def _commit(commit: bool) -> None:
    if commit:
        db.session.commit()
    else:
        db.session.flush()


@contextmanager
def _undo_on_error() -> Iterator[None]:
    try:
        yield
    except Exception:
        db.session.rollback()
        raise


# --- reading -------------------------------------------------------------------------------------


def _deliveries_of(order_ids: list[int]) -> dict[int, Delivery]:
    if not order_ids:
        return {}
    rows = db.session.scalars(
        select(Delivery).where(Delivery.order_id.in_(order_ids)).execution_options(populate_existing=True)
    )
    return {row.order_id: row for row in rows}


# The list reads the delivery's shape in one joined statement (the order's door-side facts, the trip's beside);
# the card and the steps use the ORM.
ORDERS, TRIPS = Order.__table__.c, Delivery.__table__.c
DELIVERY = Shape(
    DeliverySchema,
    Order.__table__.outerjoin(Delivery.__table__, TRIPS.order_id == ORDERS.id),
    amount_due=Computed(amount_due, ORDERS.status, ORDERS.total, ORDERS.paid_amount),
    photo_url=Computed(storage.signed_url, TRIPS.photo_key),
)


# The list's filters on bound parameters: its statements are built once for each combination (`FilteredList`).
DELIVERY_LIST = FilteredList(
    DELIVERY,
    {
        "courier_id": ORDERS.courier_id == bindparam("courier_id"),
        "with_courier": ORDERS.courier_id.is_not(None),
        "day": ORDERS.delivery_date == bindparam("day"),
        "statuses": ORDERS.status.in_(bindparam("statuses", expanding=True)),
        "updated_since": ORDERS.updated_at >= bindparam("updated_since"),
    },
    lambda where: paged(
        DELIVERY.select(),
        Order.__table__,
        [ORDERS.shop_id == bindparam("shop_id"), ORDERS.fulfillment == Fulfillment.DELIVERY.value, *where],
        (ORDERS.delivery_date, ORDERS.window_start, ORDERS.id),
    ),
)


def list_deliveries(
    *,
    shop_id: int,
    viewer_id: int,
    viewer_role: Role,
    day: date | None = None,
    statuses: list[str] | None = None,
    courier_id: int | None = None,
    updated_since: datetime | None = None,
    page: int,
    page_size: int,
) -> tuple[list[Shaped], int]:
    """A courier's own deliveries (managers: every delivery with a courier) by day and window, and the count: one
    statement."""
    if viewer_role == Role.COURIER:
        courier_id = viewer_id
    filters = {"courier_id": courier_id, "day": day, "statuses": statuses, "updated_since": updated_since}
    given = {name: value for name, value in filters.items() if value}
    names = [*given] if courier_id else [*given, "with_courier"]
    return DELIVERY_LIST.page(names, {"shop_id": shop_id, **given}, page=page, page_size=page_size)


DELIVERY_CARDS = (
    DELIVERY.select()
    .where(ORDERS.id.in_(bindparam("ids", expanding=True)), ORDERS.shop_id == bindparam("shop_id"))
    .order_by(ORDERS.id)
)


@outbox.renderer("delivery")
def delivery_events_data(shop_id: int, order_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The delivery cards, as GET /courier/deliveries/{id} answers them, that `delivery.*` events carry: one
    statement."""
    cards = DELIVERY.read(DELIVERY_CARDS, {"ids": [int(i) for i in order_ids], "shop_id": shop_id})
    return {str(card["order_id"]): card for card in cards}


ORDER_AND_DELIVERY_CARDS = Together((reading.ORDER_CARD, reading.CARDS_BY_IDS), (DELIVERY, DELIVERY_CARDS))


@outbox.renderer_together("order", "delivery")
def order_and_delivery_events_data(shop_id: int, order_ids: list[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """The order cards and the delivery cards of the same orders, for a commit whose events tell managers about an
    order and its courier about its delivery (a courier's step, a florist's last): one statement, not two."""
    cards, deliveries = ORDER_AND_DELIVERY_CARDS.parts({"ids": [int(i) for i in order_ids], "shop_id": shop_id})
    return {
        "order": {str(card["id"]): card for card in cards},
        "delivery": {str(card["order_id"]): card for card in deliveries},
    }


def get_delivery(*, shop_id: int, order_id: int, viewer_id: int, viewer_role: Role) -> DeliveryCard:
    """One delivery; another shop's, a pickup, or (for a courier) one not theirs now is 404."""
    order = db.session.scalars(
        select(Order).where(
            Order.id == order_id, Order.shop_id == shop_id, Order.fulfillment == Fulfillment.DELIVERY.value
        )
    ).first()
    if order is None or (viewer_role == Role.COURIER and order.courier_id != viewer_id):
        raise NotFoundError("Delivery not found.")
    return _card(shop_id, order_id)


def _card(shop_id: int, order_id: int) -> DeliveryCard:
    order = db.session.scalars(
        select(Order).where(Order.id == order_id, Order.shop_id == shop_id).execution_options(populate_existing=True)
    ).one()
    return DeliveryCard(order, _deliveries_of([order_id]).get(order_id))


def _answer(order: Order, trip: Delivery | None) -> DeliveryCard:
    """A step's answer from the rows it locked and changed, not read again while the request's transaction is open
    (after a real commit they are expired, and each is read again once)."""
    return DeliveryCard(order, trip if trip is not None else _deliveries_of([order.id]).get(order.id))


# --- assigning a courier -------------------------------------------------------------------------


def _require_courier(shop_id: int, user_id: int) -> None:
    if not users.is_active_staff(shop_id=shop_id, user_id=user_id, role=Role.COURIER):
        raise RuleViolation(
            "Deliveries go to couriers of this shop.", errors={"courier_id": ["No active courier of this shop."]}
        )


@cache
def _trip_statement() -> Select:
    # Built once, on first use, when every model is mapped (building a statement costs about as much as running it).
    return select(Delivery).where(Delivery.order_id == bindparam("order_id")).execution_options(populate_existing=True)


def _trip(order: Order) -> Delivery:
    """The order's delivery row, made on first need."""
    delivery = db.session.scalars(_trip_statement(), {"order_id": order.id}).first()
    if delivery is None:
        delivery = Delivery(shop_id=order.shop_id, order_id=order.id, attempts=0, failure_comment="")
        db.session.add(delivery)
        db.session.flush()
    return delivery


# The order's delivery row, made if it has none yet: plain SQL that PostgreSQL and SQLite both speak (their dialects'
# ON CONFLICT constructs have no cache key, so SQLAlchemy would compile them again for every assignment).
_OPEN_TRIP = text(
    """
    INSERT INTO deliveries (shop_id, order_id, attempts, failure_comment, created_at, updated_at)
    VALUES (:shop_id, :order_id, 0, '', :now, :now)
    ON CONFLICT (order_id) DO NOTHING
    """
).bindparams(bindparam("now", type_=Delivery.__table__.c.updated_at.type))


def assign_courier(
    *, shop_id: int, order_id: int, courier_id: int | None, actor_id: int | None, commit: bool = True
) -> Order:
    """Give a delivery order to an active courier of the shop, or to another one, or (before it fails) to nobody."""
    with _undo_on_error():
        if courier_id is not None:
            _require_courier(shop_id, courier_id)
        order = transitions.lock_order(shop_id=shop_id, order_id=order_id)
        if order.fulfillment != Fulfillment.DELIVERY.value:
            raise ConflictError(
                "A pickup order has no courier.", errors={"fulfillment": ["The customer collects it in the shop."]}
            )
        if order.courier_id != courier_id:
            if order.status not in ASSIGNABLE:
                raise ConflictError(
                    "The order is “{status}”; a courier is assigned only while it is being prepared or is back "
                    "from a failed delivery.",
                    errors={"status": {"current": order.status, "assignable": list(ASSIGNABLE)}},
                    params={"status": order.status},
                )
            if courier_id is None and order.status == S.DELIVERY_FAILED.value:
                raise ConflictError(
                    "The flowers are with the courier: send them out again, return them to the shop, or reassign.",
                    errors={"courier_id": ["Required while the delivery has failed."]},
                )
            now = utcnow()
            before = order.courier_id
            if before is not None:  # an order without a courier has no open assignment (it ended with the last one)
                for current in db.session.scalars(
                    select(CourierAssignment).where(
                        CourierAssignment.order_id == order.id, CourierAssignment.ended_at.is_(None)
                    )
                ):
                    current.ended_at = now
            if courier_id is not None:
                db.session.add(
                    CourierAssignment(
                        shop_id=shop_id,
                        order_id=order.id,
                        courier_id=courier_id,
                        assigned_by_id=actor_id,
                        assigned_at=now,
                    )
                )
                db.session.execute(_OPEN_TRIP, {"shop_id": shop_id, "order_id": order.id, "now": now})
            order.courier_id = courier_id
            order.version += 1
            order.updated_at = now
            transitions.order_event(order, "order.courier_assigned")
            transitions.delivery_event(order, "delivery.assigned")
            if before is not None:  # the card is no longer theirs: only its id, as for a subject gone
                transitions.delivery_event(order, "delivery.unassigned", courier_id=before, data={"id": str(order.id)})
            audit.record(
                shop_id=shop_id,
                actor_id=actor_id,
                action="assign_courier",
                entity_type="order",
                entity_id=order.id,
                changes={"courier_id": [before, courier_id]},
            )
        _commit(commit)
    return order


# --- the courier's steps -------------------------------------------------------------------------


def _was_assigned(order_id: int, courier_id: int) -> bool:
    return bool(
        db.session.scalar(
            select(exists().where(CourierAssignment.order_id == order_id, CourierAssignment.courier_id == courier_id))
        )
    )


def _state(order: Order, actor_id: int, actor_role: Role) -> dict[str, Any]:
    mine = actor_role != Role.COURIER or order.courier_id == actor_id
    return {"order_id": order.id, "status": order.status, "assigned_to_you": mine}


def _next_steps(order: Order, actor_id: int, actor_role: Role) -> list[str]:
    """The statuses this caller can move this delivery to through the courier endpoints, from where it is now."""
    if order.fulfillment != Fulfillment.DELIVERY.value or order.courier_id is None:
        return []  # nothing leaves the shop without a courier
    if actor_role == Role.COURIER and order.courier_id != actor_id:
        return []
    return sorted(COURIER_STEPS.get(order.status, ()))


def _late(order: Order, target: S, actor_id: int, actor_role: Role, message: str | None = None) -> ConflictError:
    """A step the delivery can no longer (or not yet) take: 409 with the state it is in."""
    allowed = _next_steps(order, actor_id, actor_role)
    return ConflictError(
        message or "The delivery is “{status}”, so it cannot become “{target}” now; reload it to see its next step.",
        params={"status": order.status, "target": target.value},
        errors={
            "status": {"from": order.status, "to": target.value, "allowed": allowed},
            "delivery": _state(order, actor_id, actor_role),
        },
    )


def _lock_delivery(shop_id: int, order_id: int, actor_id: int, actor_role: Role, target: S) -> Order:
    """The order locked, if the caller may act on it as a delivery: another shop's, a pickup, or (for a courier)
    one never given to them is 404; one given to them and then to someone else is 409."""
    try:
        order = transitions.lock_order(shop_id=shop_id, order_id=order_id)
    except NotFoundError:
        raise NotFoundError("Delivery not found.") from None
    if order.fulfillment != Fulfillment.DELIVERY.value:
        raise NotFoundError("Delivery not found.")
    if actor_role == Role.COURIER and order.courier_id != actor_id:
        if _was_assigned(order.id, actor_id):
            raise _late(
                order,
                target,
                actor_id,
                actor_role,
                "This delivery was given to another courier; reload your deliveries.",
            )
        raise NotFoundError("Delivery not found.")
    return order


def _require_courier_assigned(order: Order, target: S, actor_id: int, actor_role: Role) -> None:
    if order.courier_id is None:
        raise _late(order, target, actor_id, actor_role, "Assign a courier before the delivery leaves the shop.")


def pick_up(*, shop_id: int, order_id: int, actor_id: int, actor_role: Role, commit: bool = True) -> DeliveryCard:
    """Ready (or back from a failed trip) → out for delivery; by the assigned courier or a manager."""
    target = S.OUT_FOR_DELIVERY
    with _undo_on_error():
        order, trip = _lock_delivery(shop_id, order_id, actor_id, actor_role, target), None
        if order.status != target.value:
            if order.status not in (S.READY.value, S.DELIVERY_FAILED.value):
                raise _late(order, target, actor_id, actor_role)
            _require_courier_assigned(order, target, actor_id, actor_role)
            retry = order.status == S.DELIVERY_FAILED.value
            trip = _trip(order)
            trip.attempts += 1
            trip.picked_up_at = utcnow()
            transitions.move(
                order=order,
                target=target,
                actor_id=actor_id,
                comment="sent out again" if retry else "picked up",
                delivery_type="delivery.picked_up",
            )
        _commit(commit)
    return _answer(order, trip)


def deliver(
    *,
    shop_id: int,
    order_id: int,
    actor_id: int,
    actor_role: Role,
    completed_at: datetime | None = None,
    amount_collected: Decimal | None = None,
    comment: str = "",
    commit: bool = True,
) -> DeliveryCard:
    """Out for delivery → delivered: the server's time kept beside the phone's, cash collected recorded once."""
    target = S.DELIVERED
    with _undo_on_error():
        order, trip = _lock_delivery(shop_id, order_id, actor_id, actor_role, target), None
        if order.status != target.value:
            if order.status != S.OUT_FOR_DELIVERY.value:
                raise _late(order, target, actor_id, actor_role)
            trip = _trip(order)
            now = utcnow()
            client_completed_at = _hand_over_time(completed_at, picked_up_at=trip.picked_up_at, now=now)
            if amount_collected:
                payment, _created = orders.record_payment(
                    shop_id=shop_id,
                    order_id=order.id,
                    actor_id=actor_id,
                    amount=amount_collected,
                    method=PaymentMethod.CASH.value,
                    # Once: only the request that moves the order to delivered (under its row lock) gets here.
                    note="collected at the door",
                    commit=False,
                    locked=order,
                )
                trip.payment_id = payment.id
            trip.amount_collected = amount_collected
            trip.delivered_at = now
            trip.client_completed_at = client_completed_at
            transitions.move(
                order=order,
                target=target,
                actor_id=actor_id,
                comment=comment or "delivered",
                delivery_type="delivery.delivered",
            )
        _commit(commit)
    return _answer(order, trip)


def _hand_over_time(completed_at: datetime | None, *, picked_up_at: datetime | None, now: datetime) -> datetime | None:
    """The phone's hand-over time, refused when it lies in the future beyond the clock skew, and otherwise brought
    inside [pickup, now]: a hand-over never counts after the server saw it, nor before the flowers left. An earlier
    time is not refused: a phone that queued pickup and deliver offline sends both later, and the server's pickup is
    when that pickup arrived (docs/decisions.md)."""
    if completed_at is None:
        return None
    if completed_at > now + CLOCK_SKEW:
        raise RuleViolation(
            "The hand-over time is in the future: check the phone's clock, or send no completed_at.",
            errors={"completed_at": [f"After the server's time ({now.isoformat()}) by over {SKEW_MINUTES} min."]},
        )
    if picked_up_at is not None:
        completed_at = max(completed_at, picked_up_at)
    return min(completed_at, now)


def fail(
    *,
    shop_id: int,
    order_id: int,
    actor_id: int,
    actor_role: Role,
    reason: str,
    comment: str = "",
    commit: bool = True,
) -> DeliveryCard:
    """Out for delivery → delivery failed, with the reason (and a comment, required for "other")."""
    target = S.DELIVERY_FAILED
    if reason == FailureReason.OTHER.value and not comment.strip():
        raise RuleViolation("Say what happened.", errors={"comment": ["Required when the reason is other."]})
    with _undo_on_error():
        order = _lock_delivery(shop_id, order_id, actor_id, actor_role, target)
        if order.status != target.value:
            if order.status != S.OUT_FOR_DELIVERY.value:
                raise _late(order, target, actor_id, actor_role)
            trip = _trip(order)
            trip.failed_at = utcnow()
            trip.failure_reason = reason
            trip.failure_comment = comment or ""
            note = f"{reason}: {comment}" if comment else reason
            transitions.move(
                order=order, target=target, actor_id=actor_id, comment=note, delivery_type="delivery.failed"
            )
        _commit(commit)
    return _card(shop_id, order_id)


def return_to_shop(
    *, shop_id: int, order_id: int, actor_id: int, actor_role: Role, commit: bool = True
) -> DeliveryCard:
    """Delivery failed → ready: the flowers are back in the shop, to go out another time."""
    target = S.READY
    with _undo_on_error():
        order = _lock_delivery(shop_id, order_id, actor_id, actor_role, target)
        if order.status != target.value:
            if order.status != S.DELIVERY_FAILED.value:
                raise _late(order, target, actor_id, actor_role)
            transitions.move(
                order=order,
                target=target,
                actor_id=actor_id,
                comment="returned to the shop",
                delivery_type="delivery.returned",
            )
        _commit(commit)
    return _card(shop_id, order_id)


def set_photo(*, shop_id: int, order_id: int, actor_id: int, actor_role: Role, upload: IO[bytes]) -> DeliveryCard:
    """Proof of delivery: checked and cleaned like a product image (GPS and all EXIF gone), then stored."""
    image = storage.clean_image(upload, field="photo")  # before any lock: decoding takes a moment
    with _undo_on_error():
        order = _lock_delivery(shop_id, order_id, actor_id, actor_role, S.DELIVERED)
        if order.status not in PHOTO_STATUSES:
            raise ConflictError(
                "A photo is taken at the door: the delivery has not left the shop.",
                errors={"status": {"current": order.status, "photo_allowed": list(PHOTO_STATUSES)}},
            )
        trip = _trip(order)
        key = storage.new_key(f"shops/{shop_id}/deliveries/{order.id}", image.extension)
        storage.get_storage().save(key, image.data, image.content_type)
        old_key, trip.photo_key = trip.photo_key, key
        trip.photo_uploaded_at = utcnow()
        order.updated_at = trip.photo_uploaded_at  # so the apps' `updated_since` sync sees the new photo
        audit.record(
            shop_id=shop_id,
            actor_id=actor_id,
            action="delivery_photo",
            entity_type="order",
            entity_id=order.id,
            changes={"photo_key": [old_key, key]},
        )
        transitions.delivery_event(order, "delivery.photo_added")
        storage.delete_after_commit(old_key)
        try:
            db.session.commit()
        except Exception:
            storage.delete_quietly(key)
            raise
    return _card(shop_id, order_id)


def forget_trips(*, shop_id: int, order_ids: list[int]) -> list[str]:
    """The customer is anonymized: their trips' failure comments and proof photos go (the reason and the times
    stay). Does not commit; returns the photos' stored keys, for the caller to delete once it has committed."""
    trips = db.session.scalars(
        select(Delivery)
        .where(Delivery.shop_id == shop_id, Delivery.order_id.in_(order_ids))
        .order_by(Delivery.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    photos = [trip.photo_key for trip in trips if trip.photo_key]
    for trip in trips:
        trip.failure_comment = ""
        trip.photo_key = None
    return photos
