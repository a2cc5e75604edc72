"""Orders and the stems they hold: a write-off of reserved stems leaves orders short, a supply refills them.

A write-off takes what wilted, reserved or not (a count that finds fewer stems does the same). When
what is left on hand no longer covers the reservations, orders give up the difference
(app/warehouse/stock.py `_shorten`): the order due last loses first, one a florist has started last
of all. Such an order is flagged `stock_short`, the shop's managers are told (after the commit), and
it cannot be consumed until stock coming in (a supply, a count's surplus) refills it, the one due
first first, or a manager changes its lines.

Locks: the orders holding the items first (ascending ids), then the items, the order every order
change takes (app/orders/services.py), so a write-off never waits on an order step in a circle.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import select, update

from app.audit import services as audit
from app.common.types import utcnow
from app.errors import ConflictError
from app.extensions import db
from app.messaging.order_reminders import order_short_of_stock
from app.orders.models import Order, OrderStatus
from app.production.models import OPEN_TASK_STATUSES, ProductionTask
from app.warehouse import stock
from app.warehouse.models import Item

# An order confirmed while the write-off waited for the items' locks starts the locking over.
LOCK_ATTEMPTS = 5


class _HoldersMoved(Exception):
    """An order took stock of the items between reading the holders and locking the items."""


def lock_holders_and_items(
    *, shop_id: int, item_ids: Iterable[int], short_only: bool = False
) -> tuple[dict[int, Order], dict[int, Item]]:
    """The orders holding (or, `short_only`, missing) the items, then the items, all locked.

    An order that starts holding one while we wait for the items cannot be locked after them without
    risking a deadlock with its own step, so the locks are given back (a savepoint) and taken again.
    """
    item_ids = sorted(set(item_ids))
    for _ in range(LOCK_ATTEMPTS):
        try:
            with db.session.begin_nested():
                order_ids = stock.holders(shop_id=shop_id, item_ids=item_ids, short_only=short_only)
                orders = _lock_orders(shop_id, order_ids)
                items = stock.require_items(shop_id=shop_id, item_ids=item_ids)
                if not stock.holders(shop_id=shop_id, item_ids=item_ids, short_only=short_only) <= order_ids:
                    raise _HoldersMoved
            return orders, items
        except _HoldersMoved:
            continue
    raise ConflictError("Orders are taking these items right now; try again in a moment.", errors={"item_id": item_ids})


def _lock_orders(shop_id: int, order_ids: set[int]) -> dict[int, Order]:
    if not order_ids:
        return {}
    stmt = (
        select(Order)
        .where(Order.shop_id == shop_id, Order.id.in_(sorted(order_ids)))
        .order_by(Order.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {order.id: order for order in db.session.scalars(stmt)}


def losing_first(orders: Iterable[Order]) -> list[int]:
    """Who gives up stems first: the order due last (most time for a supply), one being assembled last."""
    ranked = sorted(
        orders,
        key=lambda o: (o.status == OrderStatus.IN_PRODUCTION.value, -o.scheduled_at.timestamp(), -o.id),
    )
    return [order.id for order in ranked]


def _by_order(changes: Sequence[stock.Change]) -> dict[int, list[stock.Change]]:
    grouped: dict[int, list[stock.Change]] = defaultdict(list)
    for change in changes:
        grouped[change.order_id].append(change)
    return grouped


def _lines(changes: Sequence[stock.Change], items: dict[int, Item]) -> list[dict[str, str | int]]:
    return [{"item_id": c.item_id, "name": items[c.item_id].name, "quantity": str(c.quantity)} for c in changes]


def _touch(order: Order, action: str, actor_id: int | None, changes: dict) -> None:
    """The order changed for its readers (flag, ETag, sync; its open tasks show the flag too, so the
    tablets' sync sees them change) and the audit log says why."""
    now = utcnow()
    order.version += 1
    order.updated_at = now
    # Safe after the items' locks: a task row is locked only under its order's lock (held here), or by a
    # claim or assign, which never wait for stock.
    db.session.execute(
        update(ProductionTask)
        .where(ProductionTask.order_id == order.id, ProductionTask.status.in_(OPEN_TASK_STATUSES))
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    audit.record(
        shop_id=order.shop_id,
        actor_id=actor_id,
        action=action,
        entity_type="order",
        entity_id=order.id,
        changes=changes,
    )


def mark_short(
    *,
    orders: dict[int, Order],
    items: dict[int, Item],
    lost: Sequence[stock.Change],
    actor_id: int | None,
    cause: str,
) -> list[int]:
    """Flag the orders that lost stems and tell the managers (queued to send after the commit); their ids."""
    flagged = []
    for order_id, changes in sorted(_by_order(lost).items()):
        order = orders.get(order_id)
        if order is None:  # a reservation of no order: the stock service's own tests reserve by bare ids
            continue
        before, order.stock_short = order.stock_short, True
        lines = _lines(changes, items)
        _touch(
            order,
            "stock_short",
            actor_id,
            {"stock_short": [before, True], "lost": [None, lines], "cause": [None, cause]},
        )
        order_short_of_stock(order, [(items[c.item_id].name, c.quantity) for c in changes])
        flagged.append(order_id)
    return flagged


def refill(
    *, shop_id: int, orders: dict[int, Order], items: dict[int, Item], actor_id: int | None, cause: str
) -> list[int]:
    """After stock came in: short orders get what is available, the one due first first; the ids of the
    orders no longer short."""
    due_first = [order.id for order in sorted(orders.values(), key=lambda o: (o.scheduled_at, o.id))]
    back = stock.refill_shortages(items=items, first=due_first, actor_id=actor_id, reason=cause)
    refilled = _by_order(back)
    still_short = stock.short_order_ids(shop_id=shop_id, order_ids=refilled)
    whole = []
    for order_id, changes in sorted(refilled.items()):
        order = orders.get(order_id)
        if order is None:
            continue
        short = order_id in still_short
        changes_logged: dict = {"refilled": [None, _lines(changes, items)], "cause": [None, cause]}
        if order.stock_short and not short:
            order.stock_short = False
            changes_logged["stock_short"] = [True, False]
            whole.append(order_id)
        _touch(order, "stock_refilled", actor_id, changes_logged)
    return whole
