"""Perishable stock: items, batches, immutable movements, and the documents that move stock.

Counters: `Item.on_hand`, `Item.reserved` and `Batch.remaining` are kept in step with the movements
in the same transaction, under row locks; on hand always equals the sum of the movements.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.models import TimestampMixin
from app.common.types import BigIntPK, UTCDateTime, utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.users.models import User

Quantity = Numeric(12, 3)
Money = Numeric(12, 2)
ZERO = Decimal("0")
CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    """Round to the cent, half up, as a till does."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class ItemKind(StrEnum):
    FLOWER = "flower"
    GREENERY = "greenery"
    PACKAGING = "packaging"
    OTHER = "other"


class MovementKind(StrEnum):
    SUPPLY = "supply"
    RESERVATION = "reservation"
    RELEASE = "release"
    CONSUMPTION = "consumption"
    WRITE_OFF = "write_off"
    COUNT_ADJUSTMENT = "count_adjustment"


class WriteOffReason(StrEnum):
    WILTED = "wilted"
    DAMAGED = "damaged"
    LOST = "lost"
    OTHER = "other"


class ReservationState(StrEnum):
    ACTIVE = "active"
    RELEASED = "released"
    CONSUMED = "consumed"


# Movements whose signed quantity changes what is physically in the shop (and a batch).
ON_HAND_KINDS = (MovementKind.SUPPLY, MovementKind.CONSUMPTION, MovementKind.WRITE_OFF, MovementKind.COUNT_ADJUSTMENT)
# Movements whose signed quantity changes what is promised to orders (consumption settles a reservation).
RESERVED_KINDS = (MovementKind.RESERVATION, MovementKind.RELEASE, MovementKind.CONSUMPTION)


def _in(values) -> str:
    return ", ".join(f"'{v.value}'" for v in values)


class Item(TimestampMixin, db.Model):
    """Something the shop keeps in stock: a flower, greenery, packaging."""

    __tablename__ = "warehouse_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16), default=ItemKind.FLOWER.value)
    unit: Mapped[str] = mapped_column(String(16), default="stem")
    min_level: Mapped[Decimal] = mapped_column(Quantity, default=ZERO)
    # None: the item does not perish (packaging).
    shelf_life_days: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    on_hand: Mapped[Decimal] = mapped_column(Quantity, default=ZERO)
    reserved: Mapped[Decimal] = mapped_column(Quantity, default=ZERO)
    # The wholesaler sells it in packs of this many (a box of 10 roses): the purchase plan buys whole packs.
    pack_size: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Who the shop buys it from; empty: the supplier of its latest supply (app/reports/purchase_plan.py).
    supplier: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        UniqueConstraint("shop_id", "name"),
        CheckConstraint(f"kind IN ({_in(ItemKind)})", name="kind_known"),
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved_within_on_hand"),
        CheckConstraint("min_level >= 0", name="min_level_not_negative"),
        CheckConstraint("shelf_life_days IS NULL OR shelf_life_days > 0", name="shelf_life_positive"),
        CheckConstraint("pack_size > 0", name="pack_size_positive"),
    )

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


class Supply(db.Model):
    """A delivery from a supplier; each line became a batch."""

    __tablename__ = "supplies"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    supplier: Mapped[str] = mapped_column(String(200))
    received_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    batches: Mapped[list[Batch]] = relationship(back_populates="supply", order_by="Batch.id")
    created_by: Mapped[User | None] = relationship()

    __table_args__ = (Index("ix_supplies_shop_received", "shop_id", "received_on"),)

    @property
    def total_cost(self) -> Decimal:
        return sum((money(b.unit_cost * b.quantity) for b in self.batches), ZERO)


class Batch(db.Model):
    """Stems of one item received together, with one unit cost and one expiry date."""

    __tablename__ = "stock_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("warehouse_items.id", ondelete="RESTRICT"))
    # None for stock found by a count.
    supply_id: Mapped[int | None] = mapped_column(ForeignKey("supplies.id", ondelete="RESTRICT"), index=True)
    count_id: Mapped[int | None] = mapped_column(ForeignKey("stock_counts.id", ondelete="RESTRICT"))
    received_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    unit_cost: Mapped[Decimal] = mapped_column(Money)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    remaining: Mapped[Decimal] = mapped_column(Quantity)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    item: Mapped[Item] = relationship()
    supply: Mapped[Supply | None] = relationship(back_populates="batches")

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("remaining >= 0 AND remaining <= quantity", name="remaining_within_quantity"),
        CheckConstraint("unit_cost >= 0", name="unit_cost_not_negative"),
        # FEFO walks an item's batches by expiry.
        Index("ix_stock_batches_item_fefo", "item_id", "expires_on", "received_on", "id"),
        Index("ix_stock_batches_shop_expires", "shop_id", "expires_on"),
        # The purchase plan: the shop's batches still holding stems, per item and expiry.
        Index(
            "ix_stock_batches_shop_item_held",
            "shop_id",
            "item_id",
            "expires_on",
            postgresql_where=text("remaining > 0"),
        ),
    )


class WriteOff(db.Model):
    """Stock thrown away (wilted, damaged, lost), with what it cost the shop."""

    __tablename__ = "write_offs"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    cost: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    lines: Mapped[list[Movement]] = relationship(order_by="Movement.id", viewonly=True)
    created_by: Mapped[User | None] = relationship()

    __table_args__ = (
        CheckConstraint(f"reason IN ({_in(WriteOffReason)})", name="reason_known"),
        Index("ix_write_offs_shop_created", "shop_id", "created_at"),
        Index("ix_write_offs_shop_reason", "shop_id", "reason", "created_at"),
        Index("ix_write_offs_shop_who", "shop_id", "created_by_id", "created_at"),
    )


class StockCount(db.Model):
    """A stocktake: what was counted against what the books said."""

    __tablename__ = "stock_counts"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    lines: Mapped[list[StockCountLine]] = relationship(order_by="StockCountLine.id")
    created_by: Mapped[User | None] = relationship()

    __table_args__ = (Index("ix_stock_counts_shop_created", "shop_id", "created_at"),)


class StockCountLine(db.Model):
    __tablename__ = "stock_count_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    count_id: Mapped[int] = mapped_column(ForeignKey("stock_counts.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("warehouse_items.id", ondelete="RESTRICT"), index=True)
    expected: Mapped[Decimal] = mapped_column(Quantity)
    counted: Mapped[Decimal] = mapped_column(Quantity)
    difference: Mapped[Decimal] = mapped_column(Quantity)

    item: Mapped[Item] = relationship()

    __table_args__ = (
        UniqueConstraint("count_id", "item_id"),
        CheckConstraint("counted >= 0", name="counted_not_negative"),
    )


class Reservation(db.Model):
    """Stock an order holds: one row per (order, item), active until released or consumed (the database refuses
    a second active row for the same order and item).

    `short` is what the order needs of the item but lost to a write-off (the stems it held wilted and
    no other stock could stand in): the order cannot be consumed until a supply refills it.
    """

    __tablename__ = "stock_reservations"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    # A plain integer until the orders table exists (issue 5 adds the foreign key).
    order_id: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int] = mapped_column(ForeignKey("warehouse_items.id", ondelete="RESTRICT"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    short: Mapped[Decimal] = mapped_column(Quantity, default=ZERO, server_default="0")
    state: Mapped[str] = mapped_column(String(16), default=ReservationState.ACTIVE.value)
    # Filled when consumed: the cost of the batches this line took.
    cost: Mapped[Decimal | None] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("quantity >= 0 AND short >= 0 AND quantity + short > 0", name="quantity_or_short"),
        CheckConstraint(f"state IN ({_in(ReservationState)})", name="state_known"),
        Index("ix_stock_reservations_order", "order_id", "state"),
        Index(
            "uq_stock_reservations_active",
            "order_id",
            "item_id",
            unique=True,
            postgresql_where=text("state = 'active'"),
            sqlite_where=text("state = 'active'"),
        ),
    )


class Movement(db.Model):
    """One immutable change of stock. Never updated, never deleted.

    `quantity` is signed: the change of on hand for supply, consumption, write-off and count
    adjustment; the change of reserved for reservation (+) and release (-). A consumption settles
    its reservation, so it lowers both.
    """

    __tablename__ = "stock_movements"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("warehouse_items.id", ondelete="RESTRICT"))
    # None for reservations and releases: they promise stock, not a batch.
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("stock_batches.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_cost: Mapped[Decimal | None] = mapped_column(Money)
    cost: Mapped[Decimal | None] = mapped_column(Money)
    order_id: Mapped[int | None] = mapped_column(Integer)
    supply_id: Mapped[int | None] = mapped_column(ForeignKey("supplies.id", ondelete="RESTRICT"))
    write_off_id: Mapped[int | None] = mapped_column(ForeignKey("write_offs.id", ondelete="RESTRICT"), index=True)
    count_id: Mapped[int | None] = mapped_column(ForeignKey("stock_counts.id", ondelete="RESTRICT"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    item: Mapped[Item] = relationship()

    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(MovementKind)})", name="kind_known"),
        CheckConstraint("quantity <> 0", name="quantity_not_zero"),
        Index("ix_stock_movements_shop_created", "shop_id", "created_at"),
        Index("ix_stock_movements_shop_item_created", "shop_id", "item_id", "created_at"),
        Index("ix_stock_movements_shop_kind_created", "shop_id", "kind", "created_at"),
        Index("ix_stock_movements_order", "order_id"),
    )

    @property
    def taken(self) -> Decimal:
        """How much left the shelf (a write-off or consumption line, as a positive quantity)."""
        return -self.quantity
