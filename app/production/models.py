"""Production tasks: a florist assembles one order line (a product, so many times) by a due time."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.models import TimestampMixin
from app.common.types import JSONType, UTCDateTime
from app.extensions import db

if TYPE_CHECKING:
    from app.orders.models import Order
    from app.users.models import User


class TaskStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


# A florist still has work to do on these.
OPEN_TASK_STATUSES = (TaskStatus.PENDING.value, TaskStatus.IN_PROGRESS.value)


class ProductionTask(TimestampMixin, db.Model):
    """One order line to assemble. The recipe is a snapshot of what was reserved for it at confirmation."""

    __tablename__ = "production_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    # An order has each product on one line only, so (order, product) names the line the task makes.
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    product_name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    card_text: Mapped[str] = mapped_column(Text, default="")
    # [{"item_id", "name", "unit", "per_unit", "quantity"}]: quantities as decimal strings.
    recipe: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(12), default=TaskStatus.PENDING.value)
    # When the bouquet must be ready: the window start (or pickup time) less the shop's assembly lead time.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    florist_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The florist's photo of the finished bouquet (PUT /production-tasks/{id}/photo), served by signed links.
    photo_key: Mapped[str | None] = mapped_column(String(255))
    photo_uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    order: Mapped[Order] = relationship()
    florist: Mapped[User | None] = relationship()

    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s.value}'" for s in TaskStatus) + ")",
            name="status_known",
        ),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        # The workshop's list, by due time; and the tablets' sync.
        Index("ix_production_tasks_shop_due", "shop_id", "due_at"),
        # The workshop's open tasks by due time (status IN pending, in_progress): read on every poll.
        Index("ix_production_tasks_shop_status_due", "shop_id", "status", "due_at"),
        # A florist's open tasks (their own or unassigned) and the count: without it PostgreSQL ANDs the
        # florist's whole history (ix_production_tasks_florist) into the plan, 4 ms instead of 0.2 at 1M orders.
        Index("ix_production_tasks_shop_status_florist", "shop_id", "status", "florist_id"),
        Index("ix_production_tasks_shop_updated", "shop_id", "updated_at"),
        Index("ix_production_tasks_order", "order_id"),
        Index("ix_production_tasks_florist", "florist_id"),
        # The florist reminder and overdue scans, across shops.
        Index("ix_production_tasks_due", "due_at"),
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_TASK_STATUSES


def recipe_line(*, item_id: int, name: str, unit: str, per_unit: Decimal, times: int) -> dict[str, Any]:
    """One component of a task's recipe, as stored in the snapshot."""
    return {
        "item_id": item_id,
        "name": name,
        "unit": unit,
        "per_unit": str(per_unit),
        "quantity": str(per_unit * times),
    }
