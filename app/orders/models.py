"""Orders: what a customer bought, for whom, when and where it goes, and what was paid.

Stock reservations (app/warehouse) point back at an order by its plain integer id; production
tasks (app/production) and deliveries (app/courier) hang off the order too.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from decimal import Decimal
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
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.models import TimestampMixin
from app.common.types import UTCDateTime, utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.catalogue.models import Product
    from app.customers.models import Customer
    from app.shops.models import Shop
    from app.users.models import User

Money = Numeric(12, 2)
ZERO = Decimal("0.00")


class OrderStatus(StrEnum):
    NEW = "new"
    CONFIRMED = "confirmed"
    IN_PRODUCTION = "in_production"
    READY = "ready"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    DELIVERY_FAILED = "delivery_failed"
    CANCELLED = "cancelled"


# The order is over: nothing more happens to it (payments and refunds aside).
CLOSED_STATUSES = (OrderStatus.DELIVERED, OrderStatus.COMPLETED, OrderStatus.CANCELLED)
OPEN_STATUSES = tuple(s for s in OrderStatus if s not in CLOSED_STATUSES)
# What a manager may still change in an order (recipient, items, window ...).
EDITABLE_STATUSES = (OrderStatus.NEW, OrderStatus.CONFIRMED)


class Fulfillment(StrEnum):
    DELIVERY = "delivery"
    PICKUP = "pickup"


class OrderSource(StrEnum):
    PHONE = "phone"
    SHOP = "shop"
    WEBSITE = "website"
    MESSENGER = "messenger"
    MARKETPLACE = "marketplace"  # taken by a marketplace, sent in with an integration key (app/storefront)


class PaymentMethod(StrEnum):
    CASH = "cash"
    CARD = "card"
    TRANSFER = "transfer"
    ONLINE = "online"


class PaymentStatus(StrEnum):
    UNPAID = "unpaid"
    PARTLY_PAID = "partly_paid"
    PAID = "paid"
    # The shop holds more than the order costs (a cancelled order costs nothing): `overpaid_amount` goes back.
    OVERPAID = "overpaid"
    REFUNDED = "refunded"


def _in(values) -> str:
    return ", ".join(f"'{v.value}'" for v in values)


class OrderNumberCounter(db.Model):
    """The last order number given out in a shop on a calendar day (MMDD), taken with UPDATE ... RETURNING.

    The counter is keyed by month and day only and never restarts, so "0423-0017" stays unique in
    the shop for good: next April 23rd continues at 0018.
    """

    __tablename__ = "order_number_counters"

    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    month_day: Mapped[str] = mapped_column(String(4), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class Order(TimestampMixin, db.Model):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20), default=OrderStatus.NEW.value)
    fulfillment: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(12), default=OrderSource.PHONE.value)
    # Orders are the books: a customer with orders is anonymized, never deleted.
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"), index=True)
    # Recipient's details; NULL/empty once the customer is anonymized.
    recipient_name: Mapped[str] = mapped_column(String(120), default="")
    recipient_phone: Mapped[str | None] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(500))
    card_text: Mapped[str] = mapped_column(Text, default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    # The shop-local day of delivery or pickup; window_start is the pickup time for pickups.
    delivery_date: Mapped[date] = mapped_column(Date)
    window_start: Mapped[str] = mapped_column(String(5))
    window_end: Mapped[str | None] = mapped_column(String(5))
    # When the flowers are due to leave the shop (window start / pickup time) in UTC.
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    subtotal: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    delivery_fee: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    discount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    # Σ payments (refunds negative); kept with the payments under the order's row lock.
    paid_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    payment_status: Mapped[str] = mapped_column(String(12), default=PaymentStatus.UNPAID.value)
    promo_code_id: Mapped[int | None] = mapped_column(ForeignKey("promo_codes.id", ondelete="SET NULL"))
    promo_code: Mapped[str | None] = mapped_column(String(40))
    # The courier carrying it: POST /orders/{id}/courier (app/courier); the trip's facts live in `deliveries`.
    courier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # What the consumed stock cost (set when the reservation is consumed).
    cost_of_goods: Mapped[Decimal | None] = mapped_column(Money)
    # Stems it held were written off and no other stock could stand in: it waits for a supply (app/warehouse).
    stock_short: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The florist minutes it holds on its delivery date (app/workshop); NULL: none yet (confirming takes them).
    workshop_minutes: Mapped[int | None] = mapped_column(Integer)
    # Bumped on every change: the ETag, so If-Match sees a change made within the same microsecond too.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The customer's tracking link /t/<token> (app/tracking): 192 random bits; NULL once the customer is anonymized.
    tracking_token: Mapped[str | None] = mapped_column(String(64), unique=True, default=lambda: new_tracking_token())

    # Read only: loaded with the order's lock where a step reads the shop's settings (transitions.lock_order).
    shop: Mapped[Shop] = relationship(viewonly=True)
    customer: Mapped[Customer] = relationship()
    courier: Mapped[User | None] = relationship(foreign_keys=[courier_id])
    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderItem.id"
    )
    payments: Mapped[list[Payment]] = relationship(back_populates="order", order_by="Payment.id")

    __table_args__ = (
        UniqueConstraint("shop_id", "number"),
        CheckConstraint(f"status IN ({_in(OrderStatus)})", name="status_known"),
        CheckConstraint(f"fulfillment IN ({_in(Fulfillment)})", name="fulfillment_known"),
        CheckConstraint(f"source IN ({_in(OrderSource)})", name="source_known"),
        CheckConstraint(f"payment_status IN ({_in(PaymentStatus)})", name="payment_status_known"),
        CheckConstraint("subtotal >= 0 AND delivery_fee >= 0 AND discount >= 0", name="amounts_not_negative"),
        CheckConstraint("discount <= subtotal", name="discount_within_subtotal"),
        # Exact on PostgreSQL; the tolerance is for the dev mode's SQLite, which adds money as floats.
        CheckConstraint("ABS(total - (subtotal - discount + delivery_fee)) < 0.005", name="total_adds_up"),
        CheckConstraint("paid_amount >= 0", name="paid_not_negative"),
        # The day's list, sorted by window; and the sync of mobile clients.
        Index("ix_orders_shop_day", "shop_id", "delivery_date", "window_start"),
        Index("ix_orders_shop_updated", "shop_id", "updated_at"),
        Index("ix_orders_shop_status", "shop_id", "status"),
        Index("ix_orders_courier", "courier_id"),
        # The reminder scans (window about to open or closed) across shops; the reports' periods.
        Index("ix_orders_scheduled", "scheduled_at"),
        Index("ix_orders_shop_created", "shop_id", "created_at"),
        # `q` search (ILIKE '%...%') over the number and the recipient: trigram GIN indexes (PostgreSQL).
        *(
            Index(f"ix_orders_{column}_trgm", column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})
            for column in ("number", "recipient_name", "recipient_phone")
        ),
    )

    @property
    def amount_due(self) -> Decimal:
        return amount_due(self.status, self.total, self.paid_amount)

    @property
    def overpaid_amount(self) -> Decimal:
        return overpaid_amount(self.status, self.total, self.paid_amount)

    @property
    def pickup_time(self) -> str | None:
        return pickup_time(self.fulfillment, self.window_start)


def new_tracking_token() -> str:
    """A tracking link's secret part: 24 random bytes, URL-safe (32 characters)."""
    return secrets.token_urlsafe(24)


def amount_due(status: str, total: Decimal, paid_amount: Decimal) -> Decimal:
    """What is still to collect; nothing for a cancelled order (money back is a refund)."""
    if status == OrderStatus.CANCELLED.value:
        return ZERO
    return max(total - paid_amount, ZERO)


def overpaid_amount(status: str, total: Decimal, paid_amount: Decimal) -> Decimal:
    """What the shop holds beyond what the order costs, to give back; all of it for a cancelled order."""
    costs = ZERO if status == OrderStatus.CANCELLED.value else total
    return max(paid_amount - costs, ZERO)


def pickup_time(fulfillment: str, window_start: str) -> str | None:
    """A pickup's time is its window start; a delivery has none."""
    return window_start if fulfillment == Fulfillment.PICKUP.value else None


class OrderItem(db.Model):
    """One line: a product at the price it had when the order was taken."""

    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    # Products are archived, never deleted, so the line keeps its product.
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"), index=True)
    product_name: Mapped[str] = mapped_column(String(200))
    unit_price: Mapped[Decimal] = mapped_column(Money)
    quantity: Mapped[int] = mapped_column(Integer)
    line_total: Mapped[Decimal] = mapped_column(Money)
    # As the catalogue said when the order was taken: a florist makes it (a production task).
    needs_assembly: Mapped[bool] = mapped_column(Boolean)

    order: Mapped[Order] = relationship(back_populates="items")
    product: Mapped[Product] = relationship()

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
    )


class OrderStatusChange(db.Model):
    """One row of an order's history: from, to, who, when, why."""

    __tablename__ = "order_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    # NULL: the order was created.
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    actor: Mapped[User | None] = relationship()

    __table_args__ = (Index("ix_order_status_changes_order", "order_id", "id"),)


class Payment(db.Model):
    """Money in (positive) or back out (negative, a refund) for an order."""

    __tablename__ = "order_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    method: Mapped[str] = mapped_column(String(10))
    # The payment provider's id: a webhook or a retried request never records one payment twice.
    provider_payment_id: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    order: Mapped[Order] = relationship(back_populates="payments")

    __table_args__ = (
        UniqueConstraint("shop_id", "provider_payment_id"),
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        CheckConstraint(f"method IN ({_in(PaymentMethod)})", name="method_known"),
    )
