"""A window never takes more orders than its capacity: real threads racing on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from app.errors import ConflictError
from app.extensions import db
from app.slots import services as slots
from app.slots.models import SlotBooking
from tests.slots.slotdata import run_in_parallel, shop_with_windows, window

pytestmark = pytest.mark.committed
THURSDAY = date(2026, 6, 11)
BEFORE = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def booked(shop_id: int) -> list[tuple[str, int]]:
    return list(
        db.session.execute(
            select(SlotBooking.window_start, SlotBooking.taken)
            .where(SlotBooking.shop_id == shop_id, SlotBooking.delivery_date == THURSDAY)
            .order_by(SlotBooking.window_start)
        ).all()
    )


def test_fifteen_parallel_takes_of_a_window_for_three_exactly_three_win(app):
    shop = shop_with_windows(window(3, "10:00", "14:00", capacity=3))
    db.session.commit()
    shop_id = shop.id

    def take():
        slots.take(shop_id=shop_id, delivery_date=THURSDAY, window_start="10:00", now=BEFORE)
        db.session.commit()
        return "taken"

    results = run_in_parallel(app, [take] * 15)

    assert results.count("taken") == 3
    refusals = [r for r in results if r != "taken"]
    assert len(refusals) == 12
    for refusal in refusals:  # nobody met a deadlock or a duplicate row: only a clean "full"
        assert isinstance(refusal, ConflictError), refusal
        assert refusal.errors == {"window": {"date": "2026-06-11", "start": "10:00"}, "reason": "full"}
    assert booked(shop_id) == [("10:00", 3)]


def test_takes_that_roll_back_give_nothing_away(app):
    shop = shop_with_windows(window(3, "10:00", "14:00", capacity=3))
    db.session.commit()
    shop_id = shop.id

    def take_then_fail():  # the order's transaction fails after taking its window
        slots.take(shop_id=shop_id, delivery_date=THURSDAY, window_start="10:00", now=BEFORE)
        db.session.rollback()
        return "rolled back"

    results = run_in_parallel(app, [take_then_fail] * 10)

    assert results == ["rolled back"] * 10
    assert booked(shop_id) in ([], [("10:00", 0)])


def test_parallel_releases_never_go_below_zero(app):
    shop = shop_with_windows(window(3, "10:00", "14:00", capacity=5))
    db.session.commit()
    shop_id = shop.id
    for _ in range(2):
        slots.take(shop_id=shop_id, delivery_date=THURSDAY, window_start="10:00", now=BEFORE)
    db.session.commit()

    def release():
        slots.release(shop_id=shop_id, delivery_date=THURSDAY, window_start="10:00")
        db.session.commit()
        return "released"

    results = run_in_parallel(app, [release] * 10)

    assert results == ["released"] * 10
    assert booked(shop_id) == [("10:00", 0)]
