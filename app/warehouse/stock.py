"""The stock service: every change of stock goes through here, under row locks.

Rules that make it safe under concurrency on PostgreSQL:
- every function first locks the warehouse items it touches (`SELECT ... FOR UPDATE`), always in
  ascending id order, so two transactions never wait on each other in a cycle;
- batches are only read or changed while their item is locked, so the item lock serializes them;
- rows are re-read after the lock (`populate_existing`), never trusted from the session's cache.

Nothing here commits: the caller's transaction (an order transition, a supply, a write-off)
commits the movements together with its own rows, or rolls everything back.

Signed movements: on hand = Σ quantity of supply, consumption, write-off and count adjustment
movements; reserved = Σ quantity of reservation, release and consumption movements.

Stems an order reserved can wilt all the same: a write-off (or a count) takes them, and when what is
left on hand no longer covers the reservations, the orders the caller names first give up the
difference (a release movement) and keep it on their reservation line as `short`. A short order
cannot be consumed until stock coming in refills it (`refill_shortages`) or its lines are reserved again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, select

from app.common.types import utcnow
from app.errors import ConflictError, RuleViolation
from app.extensions import db
from app.warehouse import alerts  # noqa: F401  stock movements below the minimum are events
from app.warehouse.models import (
    ZERO,
    Batch,
    Item,
    Movement,
    MovementKind,
    Reservation,
    ReservationState,
    StockCount,
    Supply,
    WriteOff,
    money,
)

QUANTUM = Decimal("0.001")
MAX_ON_HAND = Decimal("999999999.999")  # NUMERIC(12, 3)


def quantity(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(QUANTUM)


@dataclass(frozen=True)
class Shortage:
    item_id: int
    name: str
    needed: Decimal
    available: Decimal
    batch_id: int | None = None

    def as_json(self) -> dict:
        body = {
            "item_id": self.item_id,
            "name": self.name,
            "needed": str(self.needed),
            "available": str(self.available),
        }
        if self.batch_id is not None:
            body["batch_id"] = self.batch_id
        return body


class StockShortage(ConflictError):
    """Not enough available stock; `errors.shortages` lists each item, needed and available."""

    def __init__(self, shortages: Sequence[Shortage]):
        super().__init__(
            "Not enough stock; receive a supply or change the order.",
            errors={"shortages": [s.as_json() for s in shortages]},
        )
        self.shortages = list(shortages)


class OrderShort(ConflictError):
    """The order lost reserved stems to a write-off or a count and nothing stood in: `errors.shortages` lists
    each item, what it still misses (`needed`) and what is available now."""

    def __init__(self, shortages: Sequence[Shortage]):
        super().__init__(
            "Stems this order held are gone (written off or counted missing) and no stock replaced them: "
            "receive a supply or change the order.",
            errors={"shortages": [s.as_json() for s in shortages]},
        )
        self.shortages = list(shortages)


@dataclass(frozen=True)
class Change:
    """How much of an item an order's reservation lost (a write-off, a count) or got back (a supply, a count)."""

    order_id: int
    item_id: int
    quantity: Decimal


@dataclass(frozen=True)
class Take:
    """So much taken from one batch."""

    batch: Batch
    quantity: Decimal

    @property
    def cost(self) -> Decimal:
        return money(self.batch.unit_cost * self.quantity)


# --- locks and reads -------------------------------------------------------------------------


# Built once (building a statement costs about as much CPU as running it): the items of a shop, locked in ascending id
# order as every locker takes them, and read afresh.
_LOCK_ITEMS = (
    select(Item)
    .where(Item.shop_id == bindparam("shop_id"), Item.id.in_(bindparam("item_ids", expanding=True)))
    .order_by(Item.id)
    .with_for_update()
    .execution_options(populate_existing=True)
)


def lock_items(*, shop_id: int, item_ids: Iterable[int]) -> dict[int, Item]:
    """Lock the shop's items among `item_ids` in ascending id order; unknown ids are absent from the result."""
    ids = sorted(set(item_ids))
    if not ids:
        return {}
    return {item.id: item for item in db.session.scalars(_LOCK_ITEMS, {"shop_id": shop_id, "item_ids": ids})}


def held_item_ids(*, shop_id: int, order_id: int) -> set[int]:
    """The items the order holds reserved now (read without locks: lock them before relying on it)."""
    return set(
        db.session.scalars(
            select(Reservation.item_id).where(
                Reservation.shop_id == shop_id,
                Reservation.order_id == order_id,
                Reservation.state == ReservationState.ACTIVE.value,
            )
        )
    )


def require_items(*, shop_id: int, item_ids: Iterable[int]) -> dict[int, Item]:
    """`lock_items`, or 422 naming the ids that are not this shop's items."""
    ids = set(item_ids)
    items = lock_items(shop_id=shop_id, item_ids=ids)
    missing = sorted(ids - items.keys())
    if missing:
        raise RuleViolation("Unknown warehouse items.", errors={"item_id": [f"No such item: {i}." for i in missing]})
    return items


def fefo_order():
    """Batches expiring first come first; batches that never expire last."""
    return (Batch.expires_on.asc().nulls_last(), Batch.received_on.asc(), Batch.id.asc())


_BATCHES_IN_FEFO_ORDER = (
    select(Batch)
    .where(Batch.item_id.in_(bindparam("item_ids", expanding=True)), Batch.remaining > 0)
    .order_by(Batch.item_id, *fefo_order())
    .execution_options(populate_existing=True)
)
_BATCHES_LOCKED = _BATCHES_IN_FEFO_ORDER.with_for_update()


def batches_in_fefo_order(item_ids: Iterable[int], *, lock: bool) -> defaultdict[int, list[Batch]]:
    """The items' batches that still hold stock, by item, expiring first; one statement (lock the items first)."""
    batches: defaultdict[int, list[Batch]] = defaultdict(list)
    statement = _BATCHES_LOCKED if lock else _BATCHES_IN_FEFO_ORDER
    for batch in db.session.scalars(statement, {"item_ids": sorted(set(item_ids))}):
        batches[batch.item_id].append(batch)
    return batches


def plan_fefo(batches: Sequence[Batch], needed: Decimal) -> tuple[list[Take], Decimal]:
    """What taking `needed` from `batches` (FEFO-ordered) would take, and how much would be missing."""
    takes: list[Take] = []
    left = needed
    for batch in batches:
        if left <= 0:
            break
        taken = min(batch.remaining, left)
        if taken > 0:
            takes.append(Take(batch, taken))
            left -= taken
    return takes, max(left, ZERO)


# --- writes ----------------------------------------------------------------------------------


def _movement(item: Item, kind: MovementKind, signed: Decimal, *, actor_id: int | None, **fields) -> Movement:
    movement = Movement(shop_id=item.shop_id, item_id=item.id, kind=kind.value, quantity=signed, user_id=actor_id)
    for name, value in fields.items():
        setattr(movement, name, value)
    db.session.add(movement)
    return movement


def _take_from_batches(
    item: Item, takes: Sequence[Take], kind: MovementKind, *, actor_id: int | None, **fields
) -> Decimal:
    """Lower the batches and on hand by `takes`, one movement per batch; the cost of what was taken."""
    total = ZERO
    for take in takes:
        take.batch.remaining -= take.quantity
        item.on_hand -= take.quantity
        total += take.cost
        _movement(
            item,
            kind,
            -take.quantity,
            actor_id=actor_id,
            batch_id=take.batch.id,
            unit_cost=take.batch.unit_cost,
            cost=take.cost,
            **fields,
        )
    return money(total)


def _take_fefo(
    item: Item, batches: Sequence[Batch], needed: Decimal, kind: MovementKind, *, actor_id: int | None, **fields
) -> Decimal:
    """Take `needed` from the item's `batches` (`batches_in_fefo_order`, locked), expiring first."""
    takes, missing = plan_fefo(batches, needed)
    if missing > 0:  # on hand = Σ batch remaining, and callers check on hand first
        raise RuntimeError(f"item {item.id}: batches hold less than on hand")
    return _take_from_batches(item, takes, kind, actor_id=actor_id, **fields)


def receive(
    *,
    item: Item,
    quantity_received: Decimal,
    unit_cost: Decimal,
    received_on: date,
    actor_id: int | None,
    supply: Supply | None = None,
    count: StockCount | None = None,
    reason: str | None = None,
) -> Batch:
    """A new batch of a locked item, with its supply (or count adjustment) movement."""
    if item.on_hand + quantity_received > MAX_ON_HAND:
        raise RuleViolation(
            "That would be more stock than the books can hold; check the quantity.",
            errors={"quantity": [f"{item.name}: at most {MAX_ON_HAND} on hand."]},
        )
    expires_on = received_on + timedelta(days=item.shelf_life_days) if item.shelf_life_days else None
    batch = Batch(
        shop_id=item.shop_id,
        item_id=item.id,
        supply=supply,
        count_id=count.id if count else None,
        received_on=received_on,
        expires_on=expires_on,
        unit_cost=unit_cost,
        quantity=quantity_received,
        remaining=quantity_received,
    )
    db.session.add(batch)
    db.session.flush()
    item.on_hand += quantity_received
    kind = MovementKind.SUPPLY if supply is not None else MovementKind.COUNT_ADJUSTMENT
    _movement(
        item,
        kind,
        quantity_received,
        actor_id=actor_id,
        batch_id=batch.id,
        unit_cost=unit_cost,
        cost=money(unit_cost * quantity_received),
        supply_id=supply.id if supply else None,
        count_id=count.id if count else None,
        reason=reason,
    )
    return batch


def reserve(
    *, shop_id: int, order_id: int, lines: Iterable[tuple[int, Decimal]], actor_id: int | None
) -> list[Reservation]:
    """Reserve every line for an order that holds nothing now, or nothing: raises StockShortage listing each
    shortfall. Lines naming the same item are added up.

    Its callers hold the order's lock: a confirm (a new order holds nothing) and a change of a confirmed order's
    lines (everything released first). The database refuses a second active reservation of an order's item.
    """
    needed: dict[int, Decimal] = {}
    for item_id, qty in lines:
        qty = quantity(qty)
        if qty <= 0:
            raise RuleViolation("Quantities must be positive.", errors={"quantity": [f"Item {item_id}: {qty}."]})
        needed[item_id] = needed.get(item_id, ZERO) + qty
    items = require_items(shop_id=shop_id, item_ids=needed)
    shortages = [
        Shortage(item_id=i, name=items[i].name, needed=qty, available=items[i].available)
        for i, qty in sorted(needed.items())
        if qty > items[i].available
    ]
    if shortages:
        raise StockShortage(shortages)
    result = []
    for item_id, qty in sorted(needed.items()):
        item = items[item_id]
        item.reserved += qty
        _movement(item, MovementKind.RESERVATION, qty, actor_id=actor_id, order_id=order_id)
        reservation = Reservation(shop_id=shop_id, order_id=order_id, item_id=item_id, quantity=qty)
        db.session.add(reservation)
        result.append(reservation)
    db.session.flush()
    return result


# The order's active reservations with their items, locked in one statement: per row the item first, then its
# reservation (every locker takes items before reservations), the items in ascending id order as every locker takes
# them. A row another transaction changed while this one waited is read again as that one left it, and left out once
# it is no longer active. No active row of the order can appear meanwhile: they are written under the order's lock,
# which the callers hold.
_LOCK_ACTIVE = (
    select(Item, Reservation)
    .join(Reservation, Reservation.item_id == Item.id)
    .where(
        Reservation.shop_id == bindparam("shop_id"),
        Reservation.order_id == bindparam("order_id"),
        Reservation.state == ReservationState.ACTIVE.value,
    )
    .order_by(Item.id)
    .with_for_update(of=[Item, Reservation])
    .execution_options(populate_existing=True)
)


def _locked_active_reservations(shop_id: int, order_id: int) -> tuple[dict[int, Item], list[Reservation]]:
    """The order's active reservations and their items, locked and read afresh (`_LOCK_ACTIVE`)."""
    items, reservations = {}, []
    for item, reservation in db.session.execute(_LOCK_ACTIVE, {"shop_id": shop_id, "order_id": order_id}):
        items[item.id] = item
        reservations.append(reservation)
    return items, reservations


def release(*, shop_id: int, order_id: int, actor_id: int | None, reason: str | None = None) -> int:
    """Give back everything the order holds; the number of items released (0 when nothing was held)."""
    items, reservations = _locked_active_reservations(shop_id, order_id)
    now = utcnow()
    for reservation in reservations:
        item = items[reservation.item_id]
        item.reserved -= reservation.quantity
        if reservation.quantity > 0:  # a line a write-off emptied holds nothing to give back
            _movement(
                item, MovementKind.RELEASE, -reservation.quantity, actor_id=actor_id, order_id=order_id, reason=reason
            )
        reservation.state = ReservationState.RELEASED.value
        reservation.closed_at = now
    db.session.flush()
    return len(reservations)


def consume(*, shop_id: int, order_id: int, actor_id: int | None) -> Decimal:
    """Turn the order's reservation into consumption from the batches expiring first; the cost of goods.

    An order short of stems it lost to a write-off is not consumed: OrderShort (409) names what is missing.
    """
    items, reservations = _locked_active_reservations(shop_id, order_id)
    missing = [
        Shortage(item_id=r.item_id, name=items[r.item_id].name, needed=r.short, available=items[r.item_id].available)
        for r in reservations
        if r.short > 0
    ]
    if missing:
        raise OrderShort(missing)
    now = utcnow()
    total = ZERO
    # Every item's batches in one statement; the changes go in at one flush (the movements in one INSERT).
    batches = batches_in_fefo_order(items, lock=True)
    for reservation in reservations:
        item = items[reservation.item_id]
        cost = _take_fefo(
            item,
            batches[item.id],
            reservation.quantity,
            MovementKind.CONSUMPTION,
            actor_id=actor_id,
            order_id=order_id,
        )
        item.reserved -= reservation.quantity
        reservation.state = ReservationState.CONSUMED.value
        reservation.cost = cost
        reservation.closed_at = now
        total += cost
    db.session.flush()
    return money(total)


@dataclass(frozen=True)
class WriteOffLine:
    item_id: int
    quantity: Decimal
    batch_id: int | None = None


def write_off(
    *, write_off: WriteOff, lines: Sequence[WriteOffLine], actor_id: int | None, lose_first: Sequence[int] = ()
) -> tuple[Decimal, list[Change]]:
    """Take the lines out of stock (a named batch, else expiring first); the cost written off and what
    orders lost.

    Reserved stems go too when they are what wilted: what is left on hand stands in for them while it
    can; past that, orders give up the difference, those in `lose_first` first, then the newest order
    first (`_shorten`). More than is on hand (or in a named batch) is 409.
    """
    shop_id = write_off.shop_id
    items = require_items(shop_id=shop_id, item_ids=[line.item_id for line in lines])
    needed: dict[int, Decimal] = {}
    for line in lines:
        needed[line.item_id] = needed.get(line.item_id, ZERO) + line.quantity
    shortages = [
        Shortage(item_id=i, name=items[i].name, needed=qty, available=items[i].on_hand)
        for i, qty in sorted(needed.items())
        if qty > items[i].on_hand
    ]
    named_ids = sorted({line.batch_id for line in lines if line.batch_id is not None})
    batches: dict[int, Batch] = {}
    if named_ids:
        stmt = (
            select(Batch)
            .where(Batch.shop_id == shop_id, Batch.id.in_(named_ids))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        batches = {b.id: b for b in db.session.scalars(stmt)}
    wrong = [
        line.batch_id
        for line in lines
        if line.batch_id is not None
        and (line.batch_id not in batches or batches[line.batch_id].item_id != line.item_id)
    ]
    if wrong:
        raise RuleViolation(
            "A named batch is not a batch of that item.",
            errors={"batch_id": [f"No batch {b} of the line's item." for b in wrong]},
        )
    from_batch: dict[int, Decimal] = {}
    for line in lines:
        if line.batch_id is not None:
            from_batch[line.batch_id] = from_batch.get(line.batch_id, ZERO) + line.quantity
    shortages += [
        Shortage(
            item_id=batches[b].item_id,
            name=items[batches[b].item_id].name,
            needed=qty,
            available=batches[b].remaining,
            batch_id=b,
        )
        for b, qty in sorted(from_batch.items())
        if qty > batches[b].remaining
    ]
    if shortages:
        raise StockShortage(shortages)

    # Orders give up what the write-off will leave uncovered first, so on hand never drops below reserved.
    held = _active_reservations_of(sorted(needed))
    lost: list[Change] = []
    for item_id, qty in sorted(needed.items()):
        item = items[item_id]
        lost += _shorten(
            item,
            item.reserved - (item.on_hand - qty),
            held[item_id],
            lose_first,
            actor_id=actor_id,
            reason=f"write-off {write_off.id}",
        )
    fields = {"write_off_id": write_off.id, "reason": write_off.reason}
    total = ZERO
    # Named batches first, so the lines taken expiring-first cannot empty a batch someone named.
    for batch_id, qty in sorted(from_batch.items()):
        batch = batches[batch_id]
        total += _take_from_batches(
            items[batch.item_id], [Take(batch, qty)], MovementKind.WRITE_OFF, actor_id=actor_id, **fields
        )
    fefo: dict[int, Decimal] = {}
    for line in lines:
        if line.batch_id is None:
            fefo[line.item_id] = fefo.get(line.item_id, ZERO) + line.quantity
    batches_of = batches_in_fefo_order(fefo, lock=True) if fefo else {}
    for item_id, qty in sorted(fefo.items()):
        total += _take_fefo(
            items[item_id], batches_of[item_id], qty, MovementKind.WRITE_OFF, actor_id=actor_id, **fields
        )
    db.session.flush()
    return money(total), lost


def _active_reservations_of(item_ids: Sequence[int]) -> dict[int, list[Reservation]]:
    """The active reservations of (locked) items, locked and read afresh, by item."""
    by_item: dict[int, list[Reservation]] = {item_id: [] for item_id in item_ids}
    stmt = (
        select(Reservation)
        .where(Reservation.item_id.in_(item_ids), Reservation.state == ReservationState.ACTIVE.value)
        .order_by(Reservation.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    for reservation in db.session.scalars(stmt):
        by_item[reservation.item_id].append(reservation)
    return by_item


def _shorten(
    item: Item,
    missing: Decimal,
    held: Sequence[Reservation],
    lose_first: Sequence[int],
    *,
    actor_id: int | None,
    reason: str,
) -> list[Change]:
    """Orders give up `missing` of the item: those in `lose_first` first, then the newest order first. Each
    keeps what it gave up as `short` on its reservation line."""
    if missing <= 0:
        return []
    rank = {order_id: position for position, order_id in enumerate(lose_first)}
    lost = []
    for reservation in sorted(held, key=lambda r: (rank.get(r.order_id, len(rank)), -r.order_id)):
        if missing <= 0:
            break
        given_up = min(reservation.quantity, missing)
        if given_up <= 0:
            continue
        reservation.quantity -= given_up
        reservation.short += given_up
        item.reserved -= given_up
        missing -= given_up
        _movement(
            item, MovementKind.RELEASE, -given_up, actor_id=actor_id, order_id=reservation.order_id, reason=reason
        )
        lost.append(Change(reservation.order_id, item.id, given_up))
    return lost


def refill_shortages(
    *, items: dict[int, Item], first: Sequence[int], actor_id: int | None, reason: str
) -> list[Change]:
    """Give orders short of these (locked) items what is available now: those in `first` first, then the
    oldest order first; what each got back (a reservation movement)."""
    rank = {order_id: position for position, order_id in enumerate(first)}
    short = [r for held in _active_reservations_of(sorted(items)).values() for r in held if r.short > 0]
    back = []
    for reservation in sorted(short, key=lambda r: (rank.get(r.order_id, len(rank)), r.order_id)):
        item = items[reservation.item_id]
        given = min(reservation.short, item.available)
        if given <= 0:
            continue
        reservation.quantity += given
        reservation.short -= given
        item.reserved += given
        _movement(
            item, MovementKind.RESERVATION, given, actor_id=actor_id, order_id=reservation.order_id, reason=reason
        )
        back.append(Change(reservation.order_id, item.id, given))
    db.session.flush()
    return back


def short_order_ids(*, shop_id: int, order_ids: Iterable[int]) -> set[int]:
    """Which of the orders still miss stems a write-off took."""
    ids = sorted(set(order_ids))
    if not ids:
        return set()
    return set(
        db.session.scalars(
            select(Reservation.order_id).where(
                Reservation.shop_id == shop_id,
                Reservation.order_id.in_(ids),
                Reservation.state == ReservationState.ACTIVE.value,
                Reservation.short > 0,
            )
        )
    )


def holders(*, shop_id: int, item_ids: Iterable[int], short_only: bool = False) -> set[int]:
    """The orders holding (or, `short_only`, missing) any of the items now; read without locks."""
    stmt = select(Reservation.order_id).where(
        Reservation.shop_id == shop_id,
        Reservation.item_id.in_(sorted(set(item_ids))),
        Reservation.state == ReservationState.ACTIVE.value,
    )
    if short_only:
        stmt = stmt.where(Reservation.short > 0)
    return set(db.session.scalars(stmt))


@dataclass(frozen=True)
class CountedLine:
    item_id: int
    counted: Decimal


def latest_unit_cost(item_id: int) -> Decimal:
    """The unit cost of the item's most recently received batch (0 when it never had one)."""
    cost = db.session.scalar(
        select(Batch.unit_cost)
        .where(Batch.item_id == item_id)
        .order_by(Batch.received_on.desc(), Batch.id.desc())
        .limit(1)
    )
    return cost if cost is not None else ZERO


def apply_count(
    *,
    count: StockCount,
    lines: Sequence[CountedLine],
    counted_on: date,
    actor_id: int | None,
    lose_first: Sequence[int] = (),
) -> tuple[list[tuple[Item, Decimal, Decimal]], list[Change]]:
    """Adjust stock to what was counted; `(item, expected, counted)` per line, and what orders lost.

    A shortfall leaves the batches expiring first; a surplus becomes a new batch received today at
    the item's latest unit cost. Counted below what is reserved, orders give up the difference as a
    write-off makes them (`_shorten`): the shelf is the truth.
    """
    items = require_items(shop_id=count.shop_id, item_ids=[line.item_id for line in lines])
    held = _active_reservations_of(sorted(items))
    lost: list[Change] = []
    for line in sorted(lines, key=lambda line: line.item_id):
        item = items[line.item_id]
        lost += _shorten(
            item, item.reserved - line.counted, held[item.id], lose_first, actor_id=actor_id, reason=f"count {count.id}"
        )
    result = []
    reason = f"count {count.id}"
    for line in sorted(lines, key=lambda line: line.item_id):
        item = items[line.item_id]
        expected = item.on_hand
        difference = line.counted - expected
        if difference < 0:
            _take_fefo(
                item,
                batches_in_fefo_order([item.id], lock=True)[item.id],
                -difference,
                MovementKind.COUNT_ADJUSTMENT,
                actor_id=actor_id,
                count_id=count.id,
                reason=reason,
            )
        elif difference > 0:
            receive(
                item=item,
                quantity_received=difference,
                unit_cost=latest_unit_cost(item.id),
                received_on=counted_on,
                actor_id=actor_id,
                count=count,
                reason=reason,
            )
        result.append((item, expected, line.counted))
    db.session.flush()
    return result, lost
