"""Two scans at once (real threads, PostgreSQL): every date becomes exactly one order."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.jobs.schedule import PERIODIC
from app.slots.models import SlotBooking
from app.standing import services as standing
from app.standing.models import StandingOccurrence
from tests.factories import ShopFactory
from tests.orders.orderdata import open_shop
from tests.slots.slotdata import run_in_parallel
from tests.standing.standingdata import make_series, orders_of, template

pytestmark = pytest.mark.committed
NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
SERIES = 12


def test_two_scans_at_once_make_each_date_once_even_when_the_window_overflows(app):
    shop = ShopFactory()
    front = open_shop(shop, capacity=3)
    for i in range(SERIES):
        customer = {"name": f"Regular {i}", "phone": f"+7916700{i:04d}"}
        make_series(front, now=NOW, starts_on=date(2027, 1, 1), template=template(front, customer=customer))
    db.session.commit()
    shop_id = shop.id

    results = run_in_parallel(app, [lambda: standing.make_due_occurrences(now=NOW)] * 2)

    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == SERIES
    made = orders_of(shop_id)
    assert len(made) == SERIES
    assert {o.delivery_date for o in made} == {date(2027, 1, 8)}
    rows = db.session.execute(
        select(StandingOccurrence.standing_order_id, func.count()).group_by(StandingOccurrence.standing_order_id)
    ).all()
    assert len(rows) == SERIES and all(n == 1 for _id, n in rows)
    problems = db.session.scalars(select(StandingOccurrence.problem)).all()
    assert sorted(problems) == [""] * 3 + ["window_full"] * (SERIES - 3)
    taken = db.session.scalar(select(SlotBooking.taken).where(SlotBooking.shop_id == shop_id))
    assert taken == SERIES  # every order holds its place: cancelling any gives it back


def test_the_cron_jobs_split_the_shops_between_them_and_make_every_date_once(app):
    shops = [ShopFactory(), ShopFactory(), ShopFactory()]
    for n, shop in enumerate(shops):
        front = open_shop(shop)
        for i in range(2 + n):
            customer = {"name": f"Regular {n}-{i}", "phone": f"+791680{n}{i:04d}"}
            make_series(front, now=NOW, starts_on=date(2027, 1, 1), template=template(front, customer=customer))
    db.session.commit()
    expected = [sum(2 + n for n, shop in enumerate(shops) if shop.id % 2 == part) for part in range(2)]

    results = run_in_parallel(
        app, [lambda part=part: standing.make_due_occurrences(now=NOW, part=part, parts=2) for part in range(2)]
    )

    assert results == expected  # each job made its own shops' dates
    for n, shop in enumerate(shops):
        assert len(orders_of(shop.id)) == 2 + n
    counts = db.session.execute(
        select(StandingOccurrence.standing_order_id, func.count()).group_by(StandingOccurrence.standing_order_id)
    ).all()
    assert len(counts) == 2 + 3 + 4 and all(n == 1 for _id, n in counts)


def test_the_cron_runs_the_scan_as_scan_jobs_jobs_that_cover_every_shop():
    scans = [periodic.kwargs for periodic in PERIODIC if periodic.func is standing.make_due_occurrences]
    assert scans == [{"part": part, "parts": standing.SCAN_JOBS} for part in range(standing.SCAN_JOBS)]
