"""Delivery windows: the weekly windows of the shop settings, on a given date, and their capacity.

Capacity is always read from the CURRENT settings; the `slot_bookings` row only counts what
orders took. Taking is one conditional UPDATE (`taken < capacity`), so under any concurrency a
window never takes more orders than it holds. Nothing here commits: the order's transaction does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.common.types import utcnow
from app.errors import ConflictError, NotFoundError
from app.extensions import db
from app.shops.models import Shop
from app.shops.services import effective_settings
from app.slots.models import SlotBooking

CLOSED_MESSAGES = {
    "full": "The delivery window is full; choose another one.",
    "closed": "The delivery window no longer takes orders; choose another one.",
    "unknown": "The shop has no such delivery window on that date; choose one of its windows.",
}


@dataclass(frozen=True)
class SlotInfo:
    """One delivery window on one date: shop-local "HH:MM" times and the UTC instants they mean."""

    start: str
    end: str
    capacity: int
    delivery_fee: Decimal
    starts_at_utc: datetime
    ends_at_utc: datetime


@dataclass(frozen=True)
class WindowAvailability:
    """A window of the day as `GET /delivery-slots` shows it."""

    date: date
    start: str
    end: str
    starts_at: datetime  # shop-local, with that date's UTC offset
    ends_at: datetime
    capacity: int
    taken: int
    left: int
    delivery_fee: Decimal
    open: bool


def _shop(shop_id: int) -> Shop:
    shop = db.session.get(Shop, shop_id)
    if shop is None:
        raise NotFoundError("Shop not found.")
    return shop


def _at(day: date, hh_mm: str, zone: ZoneInfo) -> datetime:
    hours, minutes = (int(part) for part in hh_mm.split(":"))
    # A time in a DST gap or overlap resolves with fold=0 (the offset before the change), as zoneinfo does.
    return datetime.combine(day, time(hours, minutes), tzinfo=zone)


def _info(slot: dict[str, Any], day: date, zone: ZoneInfo) -> SlotInfo:
    return SlotInfo(
        start=slot["start"],
        end=slot["end"],
        capacity=int(slot["capacity"]),
        delivery_fee=Decimal(str(slot["delivery_fee"])).quantize(Decimal("0.01")),
        starts_at_utc=_at(day, slot["start"], zone).astimezone(UTC),
        ends_at_utc=_at(day, slot["end"], zone).astimezone(UTC),
    )


def _day_slots(shop: Shop, day: date) -> list[dict[str, Any]]:
    slots = effective_settings(shop)["delivery_slots"]
    return sorted((s for s in slots if s["weekday"] == day.weekday()), key=lambda s: s["start"])


def _is_open(shop: Shop, info: SlotInfo, day: date, now: datetime) -> bool:
    """Open until the window starts, and for today's windows only until the same-day cut-off."""
    if now >= info.starts_at_utc:
        return False
    zone = ZoneInfo(shop.timezone)
    local_now = now.astimezone(zone)
    cutoff = effective_settings(shop)["same_day_cutoff"]
    past_cutoff = bool(cutoff) and day == local_now.date() and local_now.strftime("%H:%M") >= cutoff
    return not past_cutoff


def _refuse(reason: str, day: date, window_start: str) -> ConflictError:
    return ConflictError(
        CLOSED_MESSAGES[reason], errors={"window": {"date": day.isoformat(), "start": window_start}, "reason": reason}
    )


def _lookup(shop: Shop, day: date, window_start: str) -> SlotInfo:
    for slot in _day_slots(shop, day):
        if slot["start"] == window_start:
            return _info(slot, day, ZoneInfo(shop.timezone))
    raise _refuse("unknown", day, window_start)


def window(*, shop_id: int, delivery_date: date, window_start: str) -> SlotInfo:
    """The window starting at `window_start` on that date, without taking anything (fees, due times).

    Raises ConflictError (reason "unknown") when the shop's settings have no such window that weekday.
    """
    return _lookup(_shop(shop_id), delivery_date, window_start)


def take(*, shop_id: int, delivery_date: date, window_start: str, now: datetime | None = None) -> SlotInfo:
    """Take one unit of the window's capacity, atomically; the caller's transaction commits it.

    Raises ConflictError naming the window, with reason "unknown" (no such window that weekday),
    "closed" (started already, or past today's same-day cut-off) or "full".
    """
    shop = _shop(shop_id)
    info = _lookup(shop, delivery_date, window_start)
    if not _is_open(shop, info, delivery_date, now or utcnow()):
        raise _refuse("closed", delivery_date, window_start)
    _ensure_booking_row(shop_id, delivery_date, window_start)
    taken = db.session.execute(
        update(SlotBooking)
        .where(
            SlotBooking.shop_id == shop_id,
            SlotBooking.delivery_date == delivery_date,
            SlotBooking.window_start == window_start,
            # Re-checked under the row lock: concurrent takers queue here and the last ones find it full.
            SlotBooking.taken < info.capacity,
        )
        .values(taken=SlotBooking.taken + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount == 0:
        raise _refuse("full", delivery_date, window_start)
    return info


def take_over_capacity(*, shop_id: int, delivery_date: date, window_start: str) -> SlotInfo | None:
    """Take one unit whatever the capacity or the hour: a standing order's date made in a full, closed or
    gone window (its order says so). The counter goes above capacity, so the window shows as over-booked and
    cancelling gives the unit back as usual. None when the shop has no such window that day."""
    shop = _shop(shop_id)
    _ensure_booking_row(shop_id, delivery_date, window_start)
    db.session.execute(
        update(SlotBooking)
        .where(
            SlotBooking.shop_id == shop_id,
            SlotBooking.delivery_date == delivery_date,
            SlotBooking.window_start == window_start,
        )
        .values(taken=SlotBooking.taken + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    for slot in _day_slots(shop, delivery_date):
        if slot["start"] == window_start:
            return _info(slot, delivery_date, ZoneInfo(shop.timezone))
    return None


def release(*, shop_id: int, delivery_date: date, window_start: str) -> None:
    """Give one unit back (an order cancelled or moved); never below zero, and fine for a removed window."""
    db.session.execute(
        update(SlotBooking)
        .where(
            SlotBooking.shop_id == shop_id,
            SlotBooking.delivery_date == delivery_date,
            SlotBooking.window_start == window_start,
            SlotBooking.taken > 0,
        )
        .values(taken=SlotBooking.taken - 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _ensure_booking_row(shop_id: int, day: date, window_start: str) -> None:
    """The counter row exists afterwards; a concurrent creator's row is kept, not duplicated."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    now = utcnow()
    db.session.execute(
        dialect.insert(SlotBooking)
        .values(shop_id=shop_id, delivery_date=day, window_start=window_start, taken=0, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["shop_id", "delivery_date", "window_start"])
    )


def day_windows(*, shop_id: int, delivery_date: date, now: datetime | None = None) -> list[WindowAvailability]:
    """That date's windows in start order, with what orders took and what is left; two statements at most."""
    shop = _shop(shop_id)
    now = now or utcnow()
    zone = ZoneInfo(shop.timezone)
    slots = _day_slots(shop, delivery_date)
    if not slots:
        return []
    taken = dict(
        db.session.execute(
            select(SlotBooking.window_start, SlotBooking.taken).where(
                SlotBooking.shop_id == shop_id, SlotBooking.delivery_date == delivery_date
            )
        ).all()
    )
    windows = []
    for slot in slots:
        info = _info(slot, delivery_date, zone)
        used = taken.get(info.start, 0)
        windows.append(
            WindowAvailability(
                date=delivery_date,
                start=info.start,
                end=info.end,
                starts_at=info.starts_at_utc.astimezone(zone),
                ends_at=info.ends_at_utc.astimezone(zone),
                capacity=info.capacity,
                taken=used,
                # A manager may lower capacity below what orders took: those orders stay, nothing is left.
                left=max(info.capacity - used, 0),
                delivery_fee=info.delivery_fee,
                open=_is_open(shop, info, delivery_date, now),
            )
        )
    return windows
