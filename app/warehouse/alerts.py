"""Low stock as it happens: an item whose available stock falls below its minimum is a `stock.low` event.

The rule is GET /warehouse/low-stock's (and the morning digest's): an active item with on hand − reserved below
its minimum level. The event comes once per crossing: at the flush where the item goes from not low to low,
whatever moved it (a reservation, a write-off, a count, a raised minimum); further movements below the minimum
are not events until the item has been back at or above it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, event, inspect, orm, select

from app.events import outbox
from app.extensions import db
from app.warehouse.models import Item
from app.warehouse.schemas import ItemSchema

_WATCHED = ("on_hand", "reserved", "min_level", "is_active")
ITEMS = Item.__table__.c
ITEMS_OF_SHOP = select(*ITEMS).where(
    ITEMS.id.in_(bindparam("ids", expanding=True)), ITEMS.shop_id == bindparam("shop_id")
)
ITEM_SCHEMA = ItemSchema()


def _is_low(on_hand: Decimal, reserved: Decimal, min_level: Decimal, is_active: bool) -> bool:
    return bool(is_active) and on_hand - reserved < min_level


def _before_and_after(item: Item) -> tuple[tuple, tuple] | None:
    """The watched values as last flushed and as they are now; None when nothing watched changed (or the old
    values were never loaded)."""
    state = inspect(item)
    before, after, changed = [], [], False
    for name in _WATCHED:
        history = state.attrs[name].history
        if history.deleted:
            changed = True
            before.append(history.deleted[0])
        elif history.unchanged:
            before.append(history.unchanged[0])
        else:
            return None
        after.append(getattr(item, name))
    return (tuple(before), tuple(after)) if changed else None


@event.listens_for(orm.Session, "before_flush")
def _record_crossings(session: orm.Session, flush_context: Any, instances: Any) -> None:
    for item in session.dirty:
        if not isinstance(item, Item):
            continue
        values = _before_and_after(item)
        if values is not None and not _is_low(*values[0]) and _is_low(*values[1]):
            outbox.record("stock.low", shop_id=item.shop_id, subject_type="stock", subject_id=item.id)


@outbox.renderer("stock")
def stock_events_data(shop_id: int, item_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The warehouse items, as GET /warehouse/items/{id} answers them, that `stock.low` events carry: one statement."""
    rows = db.session.execute(ITEMS_OF_SHOP, {"ids": [int(i) for i in item_ids], "shop_id": shop_id}).mappings()
    return {str(row["id"]): ITEM_SCHEMA.dump({**row, "available": row["on_hand"] - row["reserved"]}) for row in rows}
