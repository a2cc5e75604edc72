"""Delivery windows: the weekly windows, a date's override, the day they make together, and its capacity.

A date's windows are the shop's enabled weekly windows of that weekday, changed by the date's override
(mode "replace": the override's windows instead; "adjust": capacities changed and windows added;
"closed": none), each fee plus the override's surcharge. Capacity is always read from the CURRENT windows;
the `slot_bookings` row only counts what orders took. Taking is one conditional UPDATE
(`taken < capacity`), so under any concurrency a window never takes more orders than it holds. Lowering a
capacity below what orders took drops no order: the window shows `over_booked` and the shop's managers are
told. Nothing here commits unless it is a write of the windows themselves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, literal, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from app.audit import services as audit
from app.common import memo
from app.common.types import utcnow
from app.errors import ConflictError, NotFoundError, PreconditionFailed, PreconditionRequired, RuleViolation
from app.events import outbox
from app.extensions import db
from app.messaging import slot_alerts
from app.shops.models import Shop
from app.shops.services import effective_settings
from app.slots.models import DeliveryWindow, DeliveryWindowOverride, SlotBooking
from app.workshop import services as workshop
from app.workshop.models import WorkshopBooking

CLOSED_MESSAGES = {
    "full": "The delivery window is full; choose another one.",
    "closed": "The delivery window no longer takes orders; choose another one.",
    "unknown": "The shop has no such delivery window on that date; choose one of its windows.",
    "day_closed": "The shop does not deliver on that date; choose another day.",
}
CENTS = Decimal("0.01")
WORKSHOP = "workshop"
WINDOW_FIELDS = ["weekday", "start", "end", "capacity", "delivery_fee", "enabled"]
OVERRIDE_FIELDS = ["date", "mode", "windows", "capacity_changes", "surcharge", "note", "workshop_minutes"]


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
    over_booked: bool
    delivery_fee: Decimal
    open: bool
    workshop_minutes: int | None  # the day's florist minutes (None: unlimited), the same on each window
    workshop_minutes_left: int | None


@dataclass(frozen=True)
class DaySlot:
    """A window of a date after the override: what take() checks and the day's list shows."""

    start: str
    end: str
    capacity: int
    delivery_fee: Decimal


def _shop(shop_id: int) -> Shop:
    shop = db.session.get(Shop, shop_id)
    if shop is None:
        raise NotFoundError("Shop not found.")
    return shop


def _at(day: date, hh_mm: str, zone: ZoneInfo) -> datetime:
    hours, minutes = (int(part) for part in hh_mm.split(":"))
    # A time in a DST gap or overlap resolves with fold=0 (the offset before the change), as zoneinfo does.
    return datetime.combine(day, time(hours, minutes), tzinfo=zone)


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENTS)


def _info(slot: DaySlot, day: date, zone: ZoneInfo) -> SlotInfo:
    return SlotInfo(
        start=slot.start,
        end=slot.end,
        capacity=slot.capacity,
        delivery_fee=slot.delivery_fee,
        starts_at_utc=_at(day, slot.start, zone).astimezone(UTC),
        ends_at_utc=_at(day, slot.end, zone).astimezone(UTC),
    )


# --- the day: weekly windows and the date's override, merged ------------------------------------------


def merge(weekly: Iterable[DeliveryWindow], override: DeliveryWindowOverride | None) -> list[DaySlot]:
    """The date's windows in start order, from the weekday's enabled weekly windows and the date's override."""
    base = [
        DaySlot(start=w.start, end=w.end, capacity=w.capacity, delivery_fee=_money(w.delivery_fee))
        for w in weekly
        if w.enabled
    ]
    if override is None:
        return sorted(base, key=lambda s: s.start)
    if override.mode == "closed":
        return []
    surcharge = _money(override.surcharge or 0)
    added = [
        DaySlot(start=w["start"], end=w["end"], capacity=int(w["capacity"]), delivery_fee=_money(w["delivery_fee"]))
        for w in override.windows or []
    ]
    if override.mode == "replace":
        slots = added
    else:  # adjust: a capacity change naming a window that is no longer there changes nothing
        changes = override.capacity_changes or {}
        slots = [DaySlot(s.start, s.end, int(changes.get(s.start, s.capacity)), s.delivery_fee) for s in base] + [
            a for a in added if a.start not in {s.start for s in base}
        ]
    return sorted(
        (DaySlot(s.start, s.end, s.capacity, s.delivery_fee + surcharge) for s in slots), key=lambda s: s.start
    )


def _weekly(shop_id: int, weekday: int) -> list[DeliveryWindow]:
    return list(
        db.session.scalars(
            select(DeliveryWindow)
            .where(DeliveryWindow.shop_id == shop_id, DeliveryWindow.weekday == weekday, DeliveryWindow.enabled)
            .order_by(DeliveryWindow.start)
        )
    )


def override_of(shop_id: int, day: date) -> DeliveryWindowOverride | None:
    """The date's override (read once for a batch of intakes: app/common/memo.py)."""
    return memo.once(
        ("override", shop_id, day),
        lambda: db.session.scalars(
            select(DeliveryWindowOverride).where(
                DeliveryWindowOverride.shop_id == shop_id, DeliveryWindowOverride.date == day
            )
        ).first(),
    )


# The date's override and its weekday's enabled windows in one statement, built once: a row per window, each with the
# override (or none); a single row of the override alone, or of nothing, when the weekday has no window.
_DAY = (
    select(DeliveryWindowOverride, DeliveryWindow)
    .select_from(select(literal(1).label("one")).subquery("day"))
    .outerjoin(
        DeliveryWindowOverride,
        and_(DeliveryWindowOverride.shop_id == bindparam("shop_id"), DeliveryWindowOverride.date == bindparam("day")),
    )
    .outerjoin(
        DeliveryWindow,
        and_(
            DeliveryWindow.shop_id == bindparam("shop_id"),
            DeliveryWindow.weekday == bindparam("weekday"),
            DeliveryWindow.enabled,
        ),
    )
    .order_by(DeliveryWindow.start)
)


def _day_slots(shop: Shop, day: date) -> tuple[list[DaySlot], DeliveryWindowOverride | None]:
    """The date's windows and override, in one statement; read once for a batch of intakes (app/common/memo.py),
    where the override then serves whoever else asks for it (`override_of`: the florist minutes)."""

    def load() -> tuple[list[DaySlot], DeliveryWindowOverride | None]:
        rows = db.session.execute(_DAY, {"shop_id": shop.id, "day": day, "weekday": day.weekday()}).all()
        override = memo.once(("override", shop.id, day), lambda: rows[0][0])
        return merge([weekly for _, weekly in rows if weekly is not None], override), override

    return memo.once(("day_slots", shop.id, day), load)


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
    slots, override = _day_slots(shop, day)
    for slot in slots:
        if slot.start == window_start:
            return _info(slot, day, ZoneInfo(shop.timezone))
    if override is not None and override.mode == "closed":
        raise _refuse("day_closed", day, window_start)
    raise _refuse("unknown", day, window_start)


def window(*, shop_id: int, delivery_date: date, window_start: str) -> SlotInfo:
    """The window starting at `window_start` on that date, without taking anything (fees, due times).

    Raises ConflictError (reason "unknown", or "day_closed") when the date has no such window.
    """
    return _lookup(_shop(shop_id), delivery_date, window_start)


# Plain SQL that PostgreSQL and SQLite both speak: their dialects' INSERT ... ON CONFLICT constructs have no cache
# key, so SQLAlchemy would compile them again for every order; text is compiled once.
_TAKE = text(
    """
    INSERT INTO slot_bookings (shop_id, delivery_date, window_start, taken, created_at, updated_at)
    VALUES (:shop_id, :delivery_date, :window_start, :places, :now, :now)
    ON CONFLICT (shop_id, delivery_date, window_start) DO UPDATE
        SET taken = slot_bookings.taken + excluded.taken, updated_at = excluded.updated_at
        WHERE slot_bookings.taken + excluded.taken <= :capacity
    RETURNING id
    """
).bindparams(
    bindparam("delivery_date", type_=SlotBooking.__table__.c.delivery_date.type),
    bindparam("now", type_=SlotBooking.__table__.c.updated_at.type),
)


def open_window(*, shop_id: int, delivery_date: date, window_start: str, now: datetime | None = None) -> SlotInfo:
    """The window an order may take a place of now, taking nothing (`take_places` takes).

    Raises ConflictError naming the window, with reason "unknown" (no such window that date), "day_closed"
    (the date's override closes the day), "closed" (started already, or past today's same-day cut-off) or "full"
    (no places at all).
    """
    shop = _shop(shop_id)
    info = _lookup(shop, delivery_date, window_start)
    if not _is_open(shop, info, delivery_date, now or utcnow()):
        raise _refuse("closed", delivery_date, window_start)
    if info.capacity < 1:
        raise _refuse("full", delivery_date, window_start)
    return info


def take_places(*, shop_id: int, delivery_date: date, window: SlotInfo, places: int) -> None:
    """Take `places` of the window's capacity at once, atomically, or none (ConflictError "full"); the caller's
    transaction commits it. One statement: the window's first order makes its counter row; later ones add to it,
    re-checked under the row lock the upsert takes (concurrent takers queue there, and the last ones find it full).
    """
    values = {"shop_id": shop_id, "delivery_date": delivery_date, "window_start": window.start, "now": utcnow()}
    fits = places <= window.capacity  # a first take larger than the window inserts nothing
    if not fits or db.session.execute(_TAKE, {**values, "places": places, "capacity": window.capacity}).first() is None:
        raise _refuse("full", delivery_date, window.start)


def take(*, shop_id: int, delivery_date: date, window_start: str, now: datetime | None = None) -> SlotInfo:
    """Take one place of the window, atomically; the caller's transaction commits it. The refusals of
    `open_window`, and "full"."""
    info = open_window(shop_id=shop_id, delivery_date=delivery_date, window_start=window_start, now=now)
    take_places(shop_id=shop_id, delivery_date=delivery_date, window=info, places=1)
    return info


def take_over_capacity(*, shop_id: int, delivery_date: date, window_start: str) -> SlotInfo | None:
    """Take one unit whatever the capacity or the hour: a standing order's date made in a full, closed or
    gone window (its order says so). The counter goes above capacity, so the window shows as over-booked and
    cancelling gives the unit back as usual. None when the shop has no such window that day."""
    shop = _shop(shop_id)
    memo.once(
        ("slot_row", shop_id, delivery_date, window_start),
        lambda: _ensure_booking_row(shop_id, delivery_date, window_start),
    )
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
    slots, _override = _day_slots(shop, delivery_date)
    for slot in slots:
        if slot.start == window_start:
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
    """That date's windows in start order, with what orders took and what is left, and the day's florist
    minutes; four statements at most (the shop, the weekday's windows, the date's override, the bookings with
    the day's florist minutes), with or without an override."""
    shop = _shop(shop_id)
    now = now or utcnow()
    zone = ZoneInfo(shop.timezone)
    slots, override = _day_slots(shop, delivery_date)
    if not slots:
        return []
    taken = dict(
        db.session.execute(
            select(SlotBooking.window_start, SlotBooking.taken)
            .where(SlotBooking.shop_id == shop_id, SlotBooking.delivery_date == delivery_date)
            .union_all(  # keyed WORKSHOP, which no "HH:MM" window start can be
                select(literal(WORKSHOP), WorkshopBooking.minutes).where(
                    WorkshopBooking.shop_id == shop_id, WorkshopBooking.delivery_date == delivery_date
                )
            )
        ).all()
    )
    minutes = workshop.day_limit(shop, override)
    minutes_left = None if minutes is None else max(minutes - taken.pop(WORKSHOP, 0), 0)
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
                over_booked=used > info.capacity,
                delivery_fee=info.delivery_fee,
                open=_is_open(shop, info, delivery_date, now),
                workshop_minutes=minutes,
                workshop_minutes_left=minutes_left,
            )
        )
    return windows


# --- over-booked windows: orders stay, the managers are told -------------------------------------------


def over_booked(shop: Shop, *, today: date | None = None) -> list[slot_alerts.OverBooked]:
    """Every window from today on with more orders than its current capacity (a removed window or a closed
    day counts as capacity 0); three statements whatever the number of dates."""
    today = today or datetime.now(ZoneInfo(shop.timezone)).date()
    bookings = db.session.execute(
        select(SlotBooking.delivery_date, SlotBooking.window_start, SlotBooking.taken)
        .where(SlotBooking.shop_id == shop.id, SlotBooking.delivery_date >= today, SlotBooking.taken > 0)
        .order_by(SlotBooking.delivery_date, SlotBooking.window_start)
    ).all()
    if not bookings:
        return []
    weekly: dict[int, list[DeliveryWindow]] = defaultdict(list)
    for row in db.session.scalars(
        select(DeliveryWindow).where(DeliveryWindow.shop_id == shop.id, DeliveryWindow.enabled)
    ):
        weekly[row.weekday].append(row)
    dates = sorted({day for day, _start, _taken in bookings})
    overrides = {
        o.date: o
        for o in db.session.scalars(
            select(DeliveryWindowOverride).where(
                DeliveryWindowOverride.shop_id == shop.id, DeliveryWindowOverride.date.in_(dates)
            )
        )
    }
    days = {day: {s.start: s for s in merge(weekly[day.weekday()], overrides.get(day))} for day in dates}
    found = []
    for day, start, taken in bookings:
        slot = days[day].get(start)
        capacity = slot.capacity if slot else 0
        if taken > capacity:
            found.append(slot_alerts.OverBooked(date=day, start=start, capacity=capacity, taken=taken))
    return found


def _tell_over_booked(shop: Shop) -> None:
    """After a change of the windows, in its transaction: the managers hear of every over-booked window
    (once per window, date and capacity; the messages go after the commit), and a `slots.over_booked` event
    listing them goes to the event log with them."""
    found = over_booked(shop)
    if found and slot_alerts.windows_over_booked(shop, found):
        outbox.record(
            "slots.over_booked",
            shop_id=shop.id,
            subject_type="shop",
            subject_id=shop.id,
            data={
                "windows": [
                    {"date": w.date.isoformat(), "start": w.start, "capacity": w.capacity, "taken": w.taken}
                    for w in found
                ]
            },
        )


# --- writing: If-Match, the shop's lock, audit ------------------------------------------------------


def window_tag(row: DeliveryWindow) -> str:
    return f'"delivery-window-{row.id}-v{row.version}"'


def override_tag(row: DeliveryWindowOverride) -> str:
    return f'"delivery-window-override-{row.id}-v{row.version}"'


WINDOW_CHANGED = "The delivery window was changed since you read it; reload it and try again."
OVERRIDE_CHANGED = "The date's override was changed since you read it; reload it and try again."


def _check_if_match(if_match: str | None, tag: str, changed: str) -> None:
    if if_match is None:
        raise PreconditionRequired(
            "Send If-Match with the ETag you read, so nobody's change is overwritten.",
            errors={"headers": {"If-Match": ["Required."]}},
        )
    candidates = {c.strip().removeprefix("W/") for c in if_match.split(",")}
    if "*" not in candidates and tag not in candidates:
        raise PreconditionFailed(
            changed,
            errors={"headers": {"If-Match": ["Does not match the current version."]}},
        )


def _locked_for_change(shop_id: int, if_match: str | None, load: Callable[[], Any], tag_of, changed: str):
    """The shop locked and the row read under it, if the caller's If-Match still names it (428 without one, before
    any lock; 412 when stale)."""
    if if_match is None:
        _check_if_match(None, "", changed)
    shop = _lock_shop(shop_id)
    row = load()
    _check_if_match(if_match, tag_of(row), changed)
    return shop, row


def _save_changes(
    shop: Shop, row: Any, data: dict[str, Any], *, entity_type: str, check: Callable[[Any], None], actor_id: int
) -> None:
    """Set `data` on a window or override and, if anything changed, check the row, bump its version and audit it;
    booked orders stay and the managers hear of any window left over-booked. Nothing changed: nothing written."""
    changes = audit.apply_changes(row, data)
    if not changes:
        return
    check(row)
    row.version += 1
    audit.record(
        shop_id=shop.id,
        actor_id=actor_id,
        action="update",
        entity_type=entity_type,
        entity_id=row.id,
        changes=changes,
    )
    db.session.flush()
    _tell_over_booked(shop)
    db.session.commit()


def _remove(shop: Shop, row: Any, *, actor_id: int, entity_type: str, fields: Iterable[str]) -> None:
    """Delete a window or override with its audit entry; booked orders stay and the managers hear of them."""
    audit.record(
        shop_id=shop.id,
        actor_id=actor_id,
        action="delete",
        entity_type=entity_type,
        entity_id=row.id,
        changes={field: [value, None] for field, (_none, value) in audit.snapshot(row, fields).items()},
    )
    db.session.delete(row)
    db.session.flush()
    _tell_over_booked(shop)
    db.session.commit()


def _lock_shop(shop_id: int) -> Shop:
    """Window writes of a shop queue here, so two admins' overlapping windows cannot both pass the check."""
    shop = db.session.scalars(select(Shop).where(Shop.id == shop_id).with_for_update()).first()
    if shop is None:
        raise NotFoundError("Shop not found.")
    return shop


def _shop_today(shop: Shop) -> date:
    return datetime.now(ZoneInfo(shop.timezone)).date()


def _overlap(windows: Sequence[tuple[str, str]]) -> int | None:
    """The index (in the given order) of a window that overlaps an earlier-starting one, or None."""
    ordered = sorted(enumerate(windows), key=lambda pair: pair[1][0])
    for (_, previous), (index, current) in zip(ordered, ordered[1:], strict=False):
        if current[0] < previous[1]:
            return index
    return None


# --- the weekly windows ----------------------------------------------------------------------------


def list_windows(*, shop_id: int, weekday: int | None = None) -> list[DeliveryWindow]:
    stmt = select(DeliveryWindow).where(DeliveryWindow.shop_id == shop_id)
    if weekday is not None:
        stmt = stmt.where(DeliveryWindow.weekday == weekday)
    return list(db.session.scalars(stmt.order_by(DeliveryWindow.weekday, DeliveryWindow.start, DeliveryWindow.id)))


def get_window(*, shop_id: int, window_id: int, lock: bool = False) -> DeliveryWindow:
    stmt = select(DeliveryWindow).where(DeliveryWindow.id == window_id, DeliveryWindow.shop_id == shop_id)
    row = db.session.scalars(stmt.with_for_update() if lock else stmt).first()
    if row is None:
        raise NotFoundError("Delivery window not found.")
    return row


def _check_weekly_overlap(row: DeliveryWindow) -> None:
    if not row.enabled:
        return
    others = db.session.scalars(
        select(DeliveryWindow).where(
            DeliveryWindow.shop_id == row.shop_id,
            DeliveryWindow.weekday == row.weekday,
            DeliveryWindow.enabled,
            DeliveryWindow.id != row.id if row.id is not None else DeliveryWindow.id.is_not(None),
        )
    )
    for other in others:
        if row.start < other.end and other.start < row.end:
            raise RuleViolation(
                "The window overlaps another window that day.",
                errors={"start": ["Overlaps another window that day."], "overlaps": other.id},
            )


def add_windows(
    *, shop_id: int, windows: Iterable[dict[str, Any]], actor_id: int | None = None
) -> list[DeliveryWindow]:
    """Weekly windows added as they are (the seed and set-ups; no overlap check, no commit)."""
    rows = [
        DeliveryWindow(
            shop_id=shop_id,
            weekday=int(w["weekday"]),
            start=w["start"],
            end=w["end"],
            capacity=int(w["capacity"]),
            delivery_fee=_money(w["delivery_fee"]),
            enabled=bool(w.get("enabled", True)),
            version=1,
        )
        for w in windows
    ]
    db.session.add_all(rows)
    db.session.flush()
    for row in rows:
        audit.record(
            shop_id=shop_id,
            actor_id=actor_id,
            action="create",
            entity_type="delivery_window",
            entity_id=row.id,
            changes=audit.snapshot(row, WINDOW_FIELDS),
        )
    return rows


def create_window(*, shop_id: int, actor_id: int, data: dict[str, Any]) -> DeliveryWindow:
    _lock_shop(shop_id)
    row = DeliveryWindow(shop_id=shop_id, version=1, **{k: data[k] for k in WINDOW_FIELDS if k in data})
    row.delivery_fee = _money(row.delivery_fee)
    row.enabled = data.get("enabled", True)
    _check_weekly_overlap(row)
    db.session.add(row)
    db.session.flush()
    audit.record(
        shop_id=shop_id,
        actor_id=actor_id,
        action="create",
        entity_type="delivery_window",
        entity_id=row.id,
        changes=audit.snapshot(row, WINDOW_FIELDS),
    )
    db.session.commit()
    return row


def update_window(
    *, shop_id: int, window_id: int, actor_id: int, data: dict[str, Any], if_match: str | None
) -> DeliveryWindow:
    """Change a weekly window, only if nobody changed it since the version the caller read. Orders booked
    stay whatever changes; a window left with more orders than capacity is over-booked and the managers told."""
    shop, row = _locked_for_change(
        shop_id,
        if_match,
        lambda: get_window(shop_id=shop_id, window_id=window_id, lock=True),
        window_tag,
        WINDOW_CHANGED,
    )
    data = dict(data)
    if "delivery_fee" in data:
        data["delivery_fee"] = _money(data["delivery_fee"])
    start, end = data.get("start", row.start), data.get("end", row.end)
    if start >= end:
        raise RuleViolation("The window ends after it starts.", errors={"end": ["The window ends after it starts."]})
    _save_changes(shop, row, data, entity_type="delivery_window", check=_check_weekly_overlap, actor_id=actor_id)
    return row


def delete_window(*, shop_id: int, window_id: int, actor_id: int, if_match: str | None) -> None:
    """Remove a weekly window; its booked orders stay (and the managers hear the window is gone)."""
    shop, row = _locked_for_change(
        shop_id,
        if_match,
        lambda: get_window(shop_id=shop_id, window_id=window_id, lock=True),
        window_tag,
        WINDOW_CHANGED,
    )
    _remove(shop, row, actor_id=actor_id, entity_type="delivery_window", fields=WINDOW_FIELDS)


# --- a date's override ----------------------------------------------------------------------------


def list_overrides(
    *, shop_id: int, date_from: date | None = None, date_to: date | None = None
) -> list[DeliveryWindowOverride]:
    stmt = select(DeliveryWindowOverride).where(DeliveryWindowOverride.shop_id == shop_id)
    if date_from is not None:
        stmt = stmt.where(DeliveryWindowOverride.date >= date_from)
    if date_to is not None:
        stmt = stmt.where(DeliveryWindowOverride.date <= date_to)
    return list(db.session.scalars(stmt.order_by(DeliveryWindowOverride.date)))


def get_override(*, shop_id: int, override_id: int, lock: bool = False) -> DeliveryWindowOverride:
    stmt = select(DeliveryWindowOverride).where(
        DeliveryWindowOverride.id == override_id, DeliveryWindowOverride.shop_id == shop_id
    )
    row = db.session.scalars(stmt.with_for_update() if lock else stmt).first()
    if row is None:
        raise NotFoundError("Delivery window override not found.")
    return row


def _override_invalid(field: str, reason: str) -> RuleViolation:
    return RuleViolation("The override does not fit its mode or the day's windows.", errors={field: [reason]})


def _check_override(shop: Shop, row: DeliveryWindowOverride) -> None:
    """The override makes sense for its mode and the weekday's windows (422 naming the field otherwise)."""
    if row.date < _shop_today(shop):
        raise _override_invalid("date", "The date has passed.")
    windows = row.windows or []
    changes = row.capacity_changes or {}
    if row.mode == "closed":
        if windows or changes or _money(row.surcharge or 0):
            raise _override_invalid("mode", "A closed day has no windows, capacity changes or surcharge.")
        return
    if row.mode == "replace":
        if not windows:
            raise _override_invalid("windows", "Give the day's windows (or close the day).")
        if changes:
            raise _override_invalid("capacity_changes", "Only for adjust: replace gives each window's capacity.")
        clash = _overlap([(w["start"], w["end"]) for w in windows])
        if clash is not None:
            raise RuleViolation(
                "The override does not fit its mode or the day's windows.",
                errors={"windows": {str(clash): {"start": ["Overlaps another window that day."]}}},
            )
        return
    weekly = _weekly(shop.id, row.date.weekday())
    starts = {w.start for w in weekly}
    unknown = sorted(set(changes) - starts)
    if unknown:
        raise RuleViolation(
            "The override does not fit its mode or the day's windows.",
            errors={"capacity_changes": {start: ["No weekly window starts then that weekday."] for start in unknown}},
        )
    every = [(w["start"], w["end"]) for w in windows] + [(w.start, w.end) for w in weekly]
    clash = _overlap(every)
    if clash is not None and clash < len(windows):
        raise RuleViolation(
            "The override does not fit its mode or the day's windows.",
            errors={"windows": {str(clash): {"start": ["Overlaps another window that day."]}}},
        )
    if clash is not None:  # an added window overlaps a weekly one that sorts after it
        raise _override_invalid("windows", "Overlaps another window that day.")
    if not (windows or changes or _money(row.surcharge or 0) or row.workshop_minutes is not None):
        raise _override_invalid("mode", "Adjust something: windows, capacity_changes, surcharge or workshop_minutes.")


def _jsonable_windows(windows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "start": w["start"],
            "end": w["end"],
            "capacity": int(w["capacity"]),
            "delivery_fee": f"{_money(w['delivery_fee'])}",
        }
        for w in sorted(windows, key=lambda w: w["start"])
    ]


def create_override(*, shop_id: int, actor_id: int, data: dict[str, Any]) -> DeliveryWindowOverride:
    shop = _lock_shop(shop_id)
    if override_of(shop_id, data["date"]) is not None:
        raise ConflictError(
            "The date has an override already; change that one.",
            errors={"date": data["date"].isoformat()},
        )
    row = DeliveryWindowOverride(
        shop_id=shop_id,
        date=data["date"],
        mode=data["mode"],
        windows=_jsonable_windows(data.get("windows") or []),
        capacity_changes=dict(data.get("capacity_changes") or {}),
        surcharge=_money(data.get("surcharge") or 0),
        note=data.get("note") or "",
        workshop_minutes=data.get("workshop_minutes"),
        version=1,
    )
    _check_override(shop, row)
    db.session.add(row)
    db.session.flush()
    audit.record(
        shop_id=shop_id,
        actor_id=actor_id,
        action="create",
        entity_type="delivery_window_override",
        entity_id=row.id,
        changes=audit.snapshot(row, OVERRIDE_FIELDS),
    )
    _tell_over_booked(shop)
    db.session.commit()
    return row


def update_override(
    *, shop_id: int, override_id: int, actor_id: int, data: dict[str, Any], if_match: str | None
) -> DeliveryWindowOverride:
    shop, row = _locked_for_change(
        shop_id,
        if_match,
        lambda: get_override(shop_id=shop_id, override_id=override_id, lock=True),
        override_tag,
        OVERRIDE_CHANGED,
    )
    data = dict(data)
    if "windows" in data:
        data["windows"] = _jsonable_windows(data["windows"])
    if "surcharge" in data:
        data["surcharge"] = _money(data["surcharge"])
    if "capacity_changes" in data:
        data["capacity_changes"] = dict(data["capacity_changes"])
    _save_changes(
        shop,
        row,
        data,
        entity_type="delivery_window_override",
        check=lambda changed: _check_override(shop, changed),
        actor_id=actor_id,
    )
    return row


def delete_override(*, shop_id: int, override_id: int, actor_id: int, if_match: str | None) -> None:
    """The date goes back to the weekly windows."""
    shop, row = _locked_for_change(
        shop_id,
        if_match,
        lambda: get_override(shop_id=shop_id, override_id=override_id, lock=True),
        override_tag,
        OVERRIDE_CHANGED,
    )
    _remove(shop, row, actor_id=actor_id, entity_type="delivery_window_override", fields=OVERRIDE_FIELDS)
