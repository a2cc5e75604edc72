"""The slot service orders call: take, release and window, on one shop's settings and clock."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.errors import ConflictError
from app.extensions import db
from app.slots import services as slots
from app.slots.models import SlotBooking
from tests.slots.slotdata import set_windows, shop_with_windows, window

THURSDAY = date(2026, 6, 11)
BEFORE = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # ten days before: every Thursday window is open


def taken(shop_id: int, day: date, start: str) -> int:
    row = db.session.scalars(
        select(SlotBooking)
        .where(SlotBooking.shop_id == shop_id, SlotBooking.delivery_date == day, SlotBooking.window_start == start)
        .execution_options(populate_existing=True)
    ).first()
    return row.taken if row else 0


@pytest.fixture
def moscow_shop():
    return shop_with_windows(
        window(3, "10:00", "14:00", capacity=2, fee="300.00"),
        window(3, "14:00", "18:00", capacity=5, fee="250.50"),
        window(4, "10:00", "14:00"),
        cutoff="12:00",
    )


def test_window_describes_the_slot_in_utc_without_taking_it(moscow_shop):
    info = slots.window(shop_id=moscow_shop.id, delivery_date=THURSDAY, window_start="14:00")

    assert info == slots.SlotInfo(
        start="14:00",
        end="18:00",
        capacity=5,
        delivery_fee=Decimal("250.50"),
        starts_at_utc=datetime(2026, 6, 11, 11, 0, tzinfo=UTC),  # Moscow is UTC+3
        ends_at_utc=datetime(2026, 6, 11, 15, 0, tzinfo=UTC),
    )
    assert taken(moscow_shop.id, THURSDAY, "14:00") == 0


def test_take_counts_up_to_capacity_then_refuses_naming_the_window(moscow_shop):
    for _ in range(2):
        info = slots.take(shop_id=moscow_shop.id, delivery_date=THURSDAY, window_start="10:00", now=BEFORE)
        assert info.delivery_fee == Decimal("300.00")

    with pytest.raises(ConflictError) as refused:
        slots.take(shop_id=moscow_shop.id, delivery_date=THURSDAY, window_start="10:00", now=BEFORE)

    assert refused.value.status_code == 409
    assert refused.value.errors == {"window": {"date": "2026-06-11", "start": "10:00"}, "reason": "full"}
    assert taken(moscow_shop.id, THURSDAY, "10:00") == 2
    assert taken(moscow_shop.id, THURSDAY, "14:00") == 0  # the other window is untouched


@pytest.mark.parametrize(
    ("day", "start", "reason"),
    [
        (THURSDAY, "11:00", "unknown"),  # no window starts then
        (date(2026, 6, 13), "10:00", "unknown"),  # Saturday: no windows at all
        (THURSDAY, "1000", "unknown"),
    ],
)
def test_a_window_not_in_that_weekdays_settings_is_unknown(moscow_shop, day, start, reason):
    with pytest.raises(ConflictError) as refused:
        slots.take(shop_id=moscow_shop.id, delivery_date=day, window_start=start, now=BEFORE)
    assert refused.value.errors == {"window": {"date": day.isoformat(), "start": start}, "reason": reason}
    with pytest.raises(ConflictError):
        slots.window(shop_id=moscow_shop.id, delivery_date=day, window_start=start)


@pytest.mark.parametrize(
    ("now", "start", "expected"),
    [
        # 09:59 Moscow on the day: before the 12:00 cut-off and before the window starts
        (datetime(2026, 6, 11, 6, 59, tzinfo=UTC), "10:00", "taken"),
        # 10:00 Moscow: the 10:00 window has started
        (datetime(2026, 6, 11, 7, 0, tzinfo=UTC), "10:00", "closed"),
        # 11:59 Moscow: the 14:00 window still takes same-day orders
        (datetime(2026, 6, 11, 8, 59, tzinfo=UTC), "14:00", "taken"),
        # 12:00 Moscow: past the same-day cut-off, although the window starts at 14:00
        (datetime(2026, 6, 11, 9, 0, tzinfo=UTC), "14:00", "closed"),
        # the day after
        (datetime(2026, 6, 12, 5, 0, tzinfo=UTC), "14:00", "closed"),
    ],
)
def test_started_windows_and_same_day_orders_after_the_cutoff_are_closed(moscow_shop, now, start, expected):
    try:
        slots.take(shop_id=moscow_shop.id, delivery_date=THURSDAY, window_start=start, now=now)
        outcome = "taken"
    except ConflictError as exc:
        assert exc.errors == {"window": {"date": "2026-06-11", "start": start}, "reason": "closed"}
        outcome = "closed"
    assert outcome == expected
    assert taken(moscow_shop.id, THURSDAY, start) == (1 if expected == "taken" else 0)


def test_the_cutoff_does_not_close_tomorrows_windows(moscow_shop):
    late_wednesday = datetime(2026, 6, 10, 20, 0, tzinfo=UTC)  # 23:00 Moscow, the day before
    slots.take(shop_id=moscow_shop.id, delivery_date=THURSDAY, window_start="10:00", now=late_wednesday)
    assert taken(moscow_shop.id, THURSDAY, "10:00") == 1


def test_release_gives_a_unit_back_and_never_goes_below_zero(moscow_shop):
    for _ in range(2):
        slots.take(shop_id=moscow_shop.id, delivery_date=THURSDAY, window_start="10:00", now=BEFORE)
    slots.release(shop_id=moscow_shop.id, delivery_date=THURSDAY, window_start="10:00")
    assert taken(moscow_shop.id, THURSDAY, "10:00") == 1

    slots.take(shop_id=moscow_shop.id, delivery_date=THURSDAY, window_start="10:00", now=BEFORE)  # room again
    for _ in range(4):
        slots.release(shop_id=moscow_shop.id, delivery_date=THURSDAY, window_start="10:00")
    assert taken(moscow_shop.id, THURSDAY, "10:00") == 0
    # Never taken, or since removed from the settings: nothing to give back, and no error.
    slots.release(shop_id=moscow_shop.id, delivery_date=THURSDAY, window_start="14:00")
    slots.release(shop_id=moscow_shop.id, delivery_date=THURSDAY, window_start="07:00")
    assert taken(moscow_shop.id, THURSDAY, "14:00") == 0


def test_capacity_comes_from_the_current_settings(moscow_shop):
    for _ in range(2):
        slots.take(shop_id=moscow_shop.id, delivery_date=THURSDAY, window_start="10:00", now=BEFORE)

    set_windows(moscow_shop, window(3, "10:00", "14:00", capacity=1))  # lowered below what orders took
    with pytest.raises(ConflictError):
        slots.take(shop_id=moscow_shop.id, delivery_date=THURSDAY, window_start="10:00", now=BEFORE)
    [listed] = slots.day_windows(shop_id=moscow_shop.id, delivery_date=THURSDAY, now=BEFORE)
    assert (listed.capacity, listed.taken, listed.left) == (1, 2, 0)  # the orders keep their window

    set_windows(moscow_shop, window(3, "10:00", "14:00", capacity=3))  # raised: one more fits
    slots.take(shop_id=moscow_shop.id, delivery_date=THURSDAY, window_start="10:00", now=BEFORE)
    assert taken(moscow_shop.id, THURSDAY, "10:00") == 3


def test_shops_count_their_windows_apart(moscow_shop, other_shop):
    set_windows(other_shop, window(3, "10:00", "14:00", capacity=1))
    slots.take(shop_id=other_shop.id, delivery_date=THURSDAY, window_start="10:00", now=BEFORE)

    for _ in range(2):
        slots.take(shop_id=moscow_shop.id, delivery_date=THURSDAY, window_start="10:00", now=BEFORE)
    assert taken(other_shop.id, THURSDAY, "10:00") == 1
    assert taken(moscow_shop.id, THURSDAY, "10:00") == 2
