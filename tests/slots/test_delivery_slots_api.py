"""`GET /delivery-slots?date=`: a day's windows in shop time, with what is left, for every staff role."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime

import pytest
import time_machine

from app.errors import ConflictError
from app.slots import services as slots
from tests.slots.slotdata import shop_with_windows, window
from tests.warehouse.stockdata import staff_client

URL = "/api/v1/delivery-slots"
BEFORE = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # when the June orders were taken
ROLES = ("admin", "manager", "florist", "courier")


def listed(client, day: str, **headers):
    response = client.get(URL, query_string={"date": day}, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def listed_at(app, shop, role: str, day: str, at: datetime) -> list[dict]:
    """The listing as a member of `shop` sees it at `at` (their token issued then, too)."""
    with time_machine.travel(at, tick=False):
        return listed(staff_client(app, shop, role), day)


def test_windows_of_the_day_with_capacity_taken_and_left(app):
    shop = shop_with_windows(
        window(3, "14:00", "18:00", capacity=5, fee="250.50"),
        window(3, "10:00", "14:00", capacity=2, fee="300"),
        window(4, "10:00", "14:00", capacity=9),
    )
    slots.take(shop_id=shop.id, delivery_date=date(2026, 6, 11), window_start="10:00", now=BEFORE)
    slots.take(shop_id=shop.id, delivery_date=date(2026, 6, 11), window_start="14:00", now=BEFORE)
    slots.take(shop_id=shop.id, delivery_date=date(2026, 6, 11), window_start="10:00", now=BEFORE)
    body = listed_at(app, shop, "florist", "2026-06-11", BEFORE)

    assert body == [
        {
            "date": "2026-06-11",
            "start": "10:00",
            "end": "14:00",
            "starts_at": "2026-06-11T10:00:00+03:00",
            "ends_at": "2026-06-11T14:00:00+03:00",
            "capacity": 2,
            "taken": 2,
            "left": 0,
            "over_booked": False,
            "delivery_fee": "300.00",
            "open": True,
            "workshop_minutes": None,
            "workshop_minutes_left": None,
        },
        {
            "date": "2026-06-11",
            "start": "14:00",
            "end": "18:00",
            "starts_at": "2026-06-11T14:00:00+03:00",
            "ends_at": "2026-06-11T18:00:00+03:00",
            "capacity": 5,
            "taken": 1,
            "left": 4,
            "over_booked": False,
            "delivery_fee": "250.50",
            "open": True,
            "workshop_minutes": None,
            "workshop_minutes_left": None,
        },
    ]


def test_a_day_without_windows_is_an_empty_list(app):
    shop = shop_with_windows(window(3, "10:00", "14:00"))
    assert listed(staff_client(app, shop, "manager"), "2026-06-13") == []


@pytest.mark.parametrize("query", [{}, {"date": "2026-02-30"}, {"date": "tomorrow"}])
def test_the_date_is_required_and_must_be_a_date(app, query):
    shop = shop_with_windows(window(3, "10:00", "14:00"))
    response = staff_client(app, shop, "manager").get(URL, query_string=query)
    assert response.status_code == 422
    assert "date" in response.json["errors"]["query"]


def test_across_the_autumn_dst_change_each_window_carries_its_own_offset(app):
    # Berlin leaves summer time on Sunday 2026-10-25 at 03:00 CEST (02:00 CET).
    shop = shop_with_windows(
        window(6, "01:00", "03:00"), window(6, "10:00", "14:00"), window(5, "10:00", "14:00"), timezone="Europe/Berlin"
    )
    week_before = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)
    sunday = listed_at(app, shop, "courier", "2026-10-25", week_before)
    saturday = listed_at(app, shop, "courier", "2026-10-24", week_before)

    assert [(w["start"], w["starts_at"], w["ends_at"]) for w in sunday] == [
        ("01:00", "2026-10-25T01:00:00+02:00", "2026-10-25T03:00:00+01:00"),  # three real hours
        ("10:00", "2026-10-25T10:00:00+01:00", "2026-10-25T14:00:00+01:00"),
    ]
    assert [(w["start"], w["starts_at"]) for w in saturday] == [("10:00", "2026-10-24T10:00:00+02:00")]
    info = slots.window(shop_id=shop.id, delivery_date=date(2026, 10, 25), window_start="01:00")
    assert (info.starts_at_utc, info.ends_at_utc) == (
        datetime(2026, 10, 24, 23, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 2, 0, tzinfo=UTC),
    )


def test_open_follows_the_shops_own_clock_in_another_time_zone(app):
    # Vladivostok is UTC+10: at 23:30 UTC on 10 June it is 09:30 on Thursday 11 June there.
    shop = shop_with_windows(
        window(3, "09:00", "12:00"),
        window(3, "12:00", "15:00"),
        window(3, "18:00", "21:00"),
        window(4, "09:00", "12:00"),
        timezone="Asia/Vladivostok",
        cutoff="15:00",
    )
    morning, cutoff = datetime(2026, 6, 10, 23, 30, tzinfo=UTC), datetime(2026, 6, 11, 5, 0, tzinfo=UTC)
    today = listed_at(app, shop, "manager", "2026-06-11", morning)
    tomorrow = listed_at(app, shop, "manager", "2026-06-12", morning)
    after_cutoff = listed_at(app, shop, "manager", "2026-06-11", cutoff)  # 15:00 there: the cut-off

    assert [(w["start"], w["starts_at"], w["open"]) for w in today] == [
        ("09:00", "2026-06-11T09:00:00+10:00", False),  # started half an hour ago
        ("12:00", "2026-06-11T12:00:00+10:00", True),
        ("18:00", "2026-06-11T18:00:00+10:00", True),
    ]
    assert [w["open"] for w in tomorrow] == [True]
    assert [w["open"] for w in after_cutoff] == [False, False, False]  # 18:00 too: no more same-day orders
    assert [w["open"] for w in listed_at(app, shop, "manager", "2026-06-12", cutoff)] == [True]


def test_past_dates_are_closed(app):
    shop = shop_with_windows(window(3, "10:00", "14:00"))
    assert [w["open"] for w in listed_at(app, shop, "admin", "2026-06-11", datetime(2026, 6, 20, tzinfo=UTC))] == [
        False
    ]


@pytest.mark.parametrize("role", ROLES)
def test_every_staff_role_sees_its_own_shops_windows_and_no_other_shops(app, role):
    shop = shop_with_windows(window(3, "10:00", "14:00", capacity=4))
    other = shop_with_windows(window(3, "10:00", "14:00", capacity=7), window(3, "15:00", "16:00"), name="Their shop")
    slots.take(shop_id=other.id, delivery_date=date(2026, 6, 11), window_start="10:00", now=BEFORE)
    client = staff_client(app, shop, role)

    [own] = listed(client, "2026-06-11")
    assert (own["capacity"], own["taken"], own["left"]) == (4, 0, 4)  # the other shop's order is not counted here

    response = client.get(URL, query_string={"date": "2026-06-11"}, headers={"X-Shop-Id": str(other.id)})
    assert response.status_code == 404
    assert "Their" not in response.get_data(as_text=True)


def test_anonymous_callers_are_refused(app, client):
    assert client.get(URL, query_string={"date": "2026-06-11"}).status_code == 401


def test_the_listing_runs_the_same_statements_for_one_window_or_twenty(app, count_queries):
    few = shop_with_windows(window(3, "10:00", "11:00"))
    many = shop_with_windows(*(window(3, f"{h:02d}:00", f"{h:02d}:30") for h in range(2, 22)))
    for shop in (few, many):
        for start in ("10:00", "11:00"):
            with contextlib.suppress(ConflictError):  # the small shop has no 11:00 window
                slots.take(shop_id=shop.id, delivery_date=date(2026, 6, 11), window_start=start, now=BEFORE)
    counts = []
    for shop in (few, many):
        manager = staff_client(app, shop, "manager")
        with count_queries() as statements:
            body = manager.get(URL, query_string={"date": "2026-06-11"}).json
        counts.append(len(statements))
        assert len(body) in (1, 20)
    assert counts[0] == counts[1]
