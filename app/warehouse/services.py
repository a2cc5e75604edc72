"""Warehouse rules: items, supplies, write-offs, counts, and the lists a manager reads."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from app.audit import services as audit
from app.common.pagination import page_of
from app.errors import ConflictError, NotFoundError, RuleViolation
from app.extensions import db
from app.shops.models import Shop
from app.warehouse import shortages, stock
from app.warehouse.models import (
    Batch,
    Item,
    Movement,
    StockCount,
    StockCountLine,
    Supply,
    WriteOff,
)

ITEM_FIELDS = ["name", "kind", "unit", "min_level", "shelf_life_days", "pack_size", "supplier", "is_active"]


def version_tag(entity: Any) -> str:
    """An ETag for a row: it changes whenever the row is updated."""
    stamp = getattr(entity, "updated_at", None) or getattr(entity, "created_at", None)
    raw = f"{type(entity).__name__}:{entity.id}:{stamp.isoformat() if stamp else ''}"
    return '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'


def shop_today(shop_id: int) -> date:
    """Today's date where the shop is (delivery dates and expiry are the shop's local days)."""
    shop = db.session.get(Shop, shop_id)
    return datetime.now(ZoneInfo(shop.timezone)).date()


# --- items -----------------------------------------------------------------------------------


def get_item(*, shop_id: int, item_id: int) -> Item:
    item = db.session.scalars(select(Item).where(Item.id == item_id, Item.shop_id == shop_id)).first()
    if item is None:
        raise NotFoundError("Item not found.")
    return item


def _name_taken() -> ConflictError:
    return ConflictError(
        "An item with this name already exists; choose another name.", errors={"name": ["Already used in this shop."]}
    )


def create_item(*, shop_id: int, actor_id: int | None, data: dict[str, Any], commit: bool = True) -> Item:
    if db.session.scalar(select(Item.id).where(Item.shop_id == shop_id, Item.name == data["name"])):
        raise _name_taken()
    item = Item(shop_id=shop_id, **data)
    db.session.add(item)
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent create won the name
        db.session.rollback()
        raise _name_taken() from None
    audit.record(
        shop_id=shop_id,
        actor_id=actor_id,
        action="create",
        entity_type="warehouse_item",
        entity_id=item.id,
        changes=audit.snapshot(item, ITEM_FIELDS),
    )
    if commit:
        db.session.commit()
    return item


def update_item(*, shop_id: int, item_id: int, actor_id: int | None, data: dict[str, Any]) -> Item:
    item = get_item(shop_id=shop_id, item_id=item_id)
    renamed = "name" in data and data["name"] != item.name
    if renamed and db.session.scalar(select(Item.id).where(Item.shop_id == shop_id, Item.name == data["name"])):
        raise _name_taken()
    changes = audit.apply_changes(item, data)
    if changes:
        audit.record(
            shop_id=shop_id,
            actor_id=actor_id,
            action="update",
            entity_type="warehouse_item",
            entity_id=item.id,
            changes=changes,
        )
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            raise _name_taken() from None
    return item


def list_items(
    *,
    shop_id: int,
    kind: str | None = None,
    active: bool | None = None,
    q: str | None = None,
    page: int,
    page_size: int,
) -> tuple[list[Item], int]:
    stmt = select(Item).where(Item.shop_id == shop_id)
    if kind:
        stmt = stmt.where(Item.kind == kind)
    if active is not None:
        stmt = stmt.where(Item.is_active.is_(active))
    if q:
        stmt = stmt.where(Item.name.icontains(q, autoescape=True))
    return page_of(stmt.order_by(Item.name, Item.id), page=page, page_size=page_size)


def list_low_stock(*, shop_id: int, page: int, page_size: int) -> tuple[list[Item], int]:
    """Active items whose available stock is below their minimum level, the emptiest first."""
    stmt = (
        select(Item)
        .where(Item.shop_id == shop_id, Item.is_active.is_(True), Item.on_hand - Item.reserved < Item.min_level)
        .order_by((Item.on_hand - Item.reserved - Item.min_level).asc(), Item.id)
    )
    return page_of(stmt, page=page, page_size=page_size)


# --- batches and movements -------------------------------------------------------------------


def list_batches(
    *,
    shop_id: int,
    item_id: int | None = None,
    expiring_before: date | None = None,
    expired: bool | None = None,
    include_empty: bool = False,
    page: int,
    page_size: int,
) -> tuple[list[Batch], int]:
    """Batches expiring first. A batch is expired from its expiry date on (shop's local day)."""
    stmt = select(Batch).where(Batch.shop_id == shop_id).options(joinedload(Batch.item))
    if item_id:
        stmt = stmt.where(Batch.item_id == item_id)
    if not include_empty:
        stmt = stmt.where(Batch.remaining > 0)
    if expiring_before:
        stmt = stmt.where(Batch.expires_on < expiring_before)
    if expired is not None:
        today = shop_today(shop_id)
        if expired:
            stmt = stmt.where(Batch.expires_on <= today)
        else:
            stmt = stmt.where((Batch.expires_on.is_(None)) | (Batch.expires_on > today))
    return page_of(stmt.order_by(*stock.fefo_order()), page=page, page_size=page_size)


def list_movements(
    *,
    shop_id: int,
    item_id: int | None = None,
    kind: str | None = None,
    order_id: int | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    page: int,
    page_size: int,
) -> tuple[list[Movement], int]:
    stmt = select(Movement).where(Movement.shop_id == shop_id).options(joinedload(Movement.item))
    if item_id:
        stmt = stmt.where(Movement.item_id == item_id)
    if kind:
        stmt = stmt.where(Movement.kind == kind)
    if order_id:
        stmt = stmt.where(Movement.order_id == order_id)
    if date_from:
        stmt = stmt.where(Movement.created_at >= date_from)
    if date_to:
        stmt = stmt.where(Movement.created_at < date_to)
    return page_of(stmt.order_by(Movement.created_at.desc(), Movement.id.desc()), page=page, page_size=page_size)


# --- supplies --------------------------------------------------------------------------------


def _supply_query(shop_id: int) -> Select:
    return (
        select(Supply)
        .where(Supply.shop_id == shop_id)
        .options(selectinload(Supply.batches).joinedload(Batch.item), joinedload(Supply.created_by))
    )


def get_supply(*, shop_id: int, supply_id: int) -> Supply:
    supply = db.session.scalars(_supply_query(shop_id).where(Supply.id == supply_id)).first()
    if supply is None:
        raise NotFoundError("Supply not found.")
    return supply


def create_supply(
    *,
    shop_id: int,
    actor_id: int | None,
    supplier: str,
    lines: list[dict[str, Any]],
    received_on: date | None = None,
    note: str = "",
    commit: bool = True,
) -> Supply:
    """A delivery: one batch and one supply movement per line; orders short of its items are refilled."""
    today = shop_today(shop_id)
    if received_on is not None and received_on > today:
        raise RuleViolation("A delivery cannot be received in the future.", errors={"received_on": [f"After {today}."]})
    received_on = received_on or today
    short_orders, items = shortages.lock_holders_and_items(
        shop_id=shop_id, item_ids=[line["item_id"] for line in lines], short_only=True
    )
    supply = Supply(shop_id=shop_id, supplier=supplier, received_on=received_on, note=note, created_by_id=actor_id)
    db.session.add(supply)
    db.session.flush()
    for line in lines:
        stock.receive(
            item=items[line["item_id"]],
            quantity_received=line["quantity"],
            unit_cost=line["unit_cost"],
            received_on=received_on,
            actor_id=actor_id,
            supply=supply,
        )
    shortages.refill(shop_id=shop_id, orders=short_orders, items=items, actor_id=actor_id, cause=f"supply {supply.id}")
    audit.record(
        shop_id=shop_id,
        actor_id=actor_id,
        action="create",
        entity_type="supply",
        entity_id=supply.id,
        changes={
            "supplier": [None, supplier],
            "received_on": [None, received_on.isoformat()],
            "lines": [None, [{k: str(v) for k, v in line.items()} for line in lines]],
        },
    )
    if commit:
        db.session.commit()
    return supply


def list_supplies(
    *,
    shop_id: int,
    received_from: date | None = None,
    received_to: date | None = None,
    supplier: str | None = None,
    page: int,
    page_size: int,
) -> tuple[list[Supply], int]:
    stmt = _supply_query(shop_id)
    if received_from:
        stmt = stmt.where(Supply.received_on >= received_from)
    if received_to:
        stmt = stmt.where(Supply.received_on <= received_to)
    if supplier:
        stmt = stmt.where(Supply.supplier.icontains(supplier, autoescape=True))
    return page_of(stmt.order_by(Supply.received_on.desc(), Supply.id.desc()), page=page, page_size=page_size)


# --- write-offs ------------------------------------------------------------------------------


def _write_off_query(shop_id: int) -> Select:
    return (
        select(WriteOff)
        .where(WriteOff.shop_id == shop_id)
        .options(selectinload(WriteOff.lines).joinedload(Movement.item), joinedload(WriteOff.created_by))
    )


def create_write_off(
    *,
    shop_id: int,
    actor_id: int | None,
    reason: str,
    lines: list[dict[str, Any]],
    note: str = "",
    commit: bool = True,
) -> WriteOff:
    """Stock thrown away, from a named batch or expiring first, with its cost.

    Reserved stems can go too: orders left without enough are flagged short and the managers told
    (app/warehouse/shortages.py).
    """
    holders, items = shortages.lock_holders_and_items(shop_id=shop_id, item_ids=[line["item_id"] for line in lines])
    write_off = WriteOff(shop_id=shop_id, reason=reason, note=note, created_by_id=actor_id)
    db.session.add(write_off)
    db.session.flush()
    write_off.cost, lost = stock.write_off(
        write_off=write_off,
        lines=[stock.WriteOffLine(line["item_id"], line["quantity"], line.get("batch_id")) for line in lines],
        actor_id=actor_id,
        lose_first=shortages.losing_first(holders.values()),
    )
    short = shortages.mark_short(
        orders=holders, items=items, lost=lost, actor_id=actor_id, cause=f"write-off {write_off.id}"
    )
    audit.record(
        shop_id=shop_id,
        actor_id=actor_id,
        action="create",
        entity_type="write_off",
        entity_id=write_off.id,
        changes={
            "reason": [None, reason],
            "cost": [None, str(write_off.cost)],
            "lines": [None, [{k: None if v is None else str(v) for k, v in line.items()} for line in lines]],
            **({"short_orders": [None, short]} if short else {}),
        },
    )
    if not commit:
        return write_off
    db.session.commit()
    return db.session.scalars(_write_off_query(shop_id).where(WriteOff.id == write_off.id)).one()


def list_write_offs(
    *,
    shop_id: int,
    reason: str | None = None,
    created_by: int | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    page: int,
    page_size: int,
) -> tuple[list[WriteOff], int, Decimal]:
    """A page of write-offs, newest first, and the cost of all of them that match."""
    stmt = _write_off_query(shop_id)
    if reason:
        stmt = stmt.where(WriteOff.reason == reason)
    if created_by:
        stmt = stmt.where(WriteOff.created_by_id == created_by)
    if date_from:
        stmt = stmt.where(WriteOff.created_at >= date_from)
    if date_to:
        stmt = stmt.where(WriteOff.created_at < date_to)
    matching = stmt.order_by(None).subquery()
    total_cost = db.session.scalar(select(func.coalesce(func.sum(matching.c.cost), 0)))
    rows, total = page_of(stmt.order_by(WriteOff.created_at.desc(), WriteOff.id.desc()), page=page, page_size=page_size)
    return rows, total, Decimal(total_cost).quantize(Decimal("0.01"))


# --- counts ----------------------------------------------------------------------------------


def _count_query(shop_id: int) -> Select:
    return (
        select(StockCount)
        .where(StockCount.shop_id == shop_id)
        .options(selectinload(StockCount.lines).joinedload(StockCountLine.item), joinedload(StockCount.created_by))
    )


def create_count(*, shop_id: int, actor_id: int | None, lines: list[dict[str, Any]], note: str = "") -> StockCount:
    """A stocktake: adjustment movements for every difference between the books and the shelf.

    Counted below what orders hold, they are left short as by a write-off; a surplus refills short orders.
    """
    holders, items = shortages.lock_holders_and_items(shop_id=shop_id, item_ids=[line["item_id"] for line in lines])
    count = StockCount(shop_id=shop_id, note=note, created_by_id=actor_id)
    db.session.add(count)
    db.session.flush()
    counted, lost = stock.apply_count(
        count=count,
        lines=[stock.CountedLine(line["item_id"], line["counted"]) for line in lines],
        counted_on=shop_today(shop_id),
        actor_id=actor_id,
        lose_first=shortages.losing_first(holders.values()),
    )
    cause = f"count {count.id}"
    shortages.mark_short(orders=holders, items=items, lost=lost, actor_id=actor_id, cause=cause)
    shortages.refill(shop_id=shop_id, orders=holders, items=items, actor_id=actor_id, cause=cause)
    for item, expected, counted_quantity in counted:
        db.session.add(
            StockCountLine(
                count_id=count.id,
                item_id=item.id,
                expected=expected,
                counted=counted_quantity,
                difference=counted_quantity - expected,
            )
        )
    audit.record(
        shop_id=shop_id,
        actor_id=actor_id,
        action="create",
        entity_type="stock_count",
        entity_id=count.id,
        changes={
            "lines": [
                None,
                [{"item_id": i.id, "expected": str(e), "counted": str(c)} for i, e, c in counted],
            ]
        },
    )
    db.session.commit()
    return db.session.scalars(_count_query(shop_id).where(StockCount.id == count.id)).one()


def list_counts(
    *,
    shop_id: int,
    created_by: int | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    page: int,
    page_size: int,
) -> tuple[list[StockCount], int]:
    stmt = _count_query(shop_id)
    if created_by:
        stmt = stmt.where(StockCount.created_by_id == created_by)
    if date_from:
        stmt = stmt.where(StockCount.created_at >= date_from)
    if date_to:
        stmt = stmt.where(StockCount.created_at < date_to)
    return page_of(stmt.order_by(StockCount.created_at.desc(), StockCount.id.desc()), page=page, page_size=page_size)
