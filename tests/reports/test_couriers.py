"""GET /reports/couriers over the Vladivostok shop's 9-12 March 2024 (reportdata.courier_day), by hand."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, update

from app.courier.models import Delivery
from app.extensions import db
from app.orders.models import Order
from app.reports import services
from tests.factories import ShopFactory
from tests.reports.reportdata import as_csv_cells, courier_day, local, noise_in, parse_csv

URL = "/api/v1/reports/couriers"
RANGE = {"from": "2024-03-09", "to": "2024-03-12"}
NOTHING = {
    "deliveries": 0,
    "on_time": 0,
    "late": 0,
    "on_time_percent": None,
    "failed": 0,
    "failed_nobody_home": 0,
    "failed_wrong_address": 0,
    "failed_refused": 0,
    "failed_other": 0,
    "cash_collected": "0.00",
}


@pytest.fixture
def day(vladivostok, other_shop):
    noise_in(other_shop)
    return courier_day(vladivostok)


def _courier(user, **figures) -> dict:
    return {"courier_id": user.id, "courier_name": user.name, **NOTHING, **figures}


def test_deliveries_on_time_failures_and_cash_per_courier(owner, day):
    response = owner.get(URL, query_string=RANGE)

    assert response.status_code == 200, response.json
    report = response.json
    assert report["couriers"] == [
        # D1 13:50 and D3 (server's 11:00) on time; D2 14:20 and D4 16:00 late; D1's 490.00 in cash.
        _courier(day.kolya, deliveries=4, on_time=2, late=2, on_time_percent="50.0", cash_collected="490.00"),
        # D7 at 09:40 is early; D6 is the 13th in the shop's days. D4 failed while Misha had it.
        _courier(
            day.misha,
            deliveries=1,
            on_time=0,
            on_time_percent="0.0",
            failed=2,
            failed_nobody_home=1,
            failed_wrong_address=1,
        ),
        _courier(day.sasha),
    ]
    assert report["totals"] == {
        **NOTHING,
        "deliveries": 5,
        "on_time": 2,
        "late": 2,
        "on_time_percent": "40.0",
        "failed": 2,
        "failed_nobody_home": 1,
        "failed_wrong_address": 1,
        "cash_collected": "490.00",
    }


def test_a_phone_time_later_than_the_servers_never_counts_a_delivery_on_time(owner, day, vladivostok):
    # D2 as a row kept before the phone's time was bounded: handed over on the 10th at 14:21 by the server's
    # clock, for an order of the 11th, while the phone said the 11th at 11:00, inside that day's window.
    at = lambda day_of_march, hh_mm: local(vladivostok.timezone, date(2024, 3, day_of_march), hh_mm)  # noqa: E731
    d2 = db.session.scalars(select(Delivery).where(Delivery.client_completed_at == at(10, "14:20"))).one()
    d2.client_completed_at = at(11, "11:00")
    db.session.execute(update(Order).where(Order.id == d2.order_id).values(delivery_date=date(2024, 3, 11)))
    db.session.commit()

    kolya = next(c for c in owner.get(URL, query_string=RANGE).json["couriers"] if c["courier_id"] == day.kolya.id)

    # The server's 14:21 on the 10th is before the window of the 11th opens: neither on time nor late.
    assert (kolya["deliveries"], kolya["on_time"], kolya["late"]) == (4, 2, 1)


def test_the_delivery_after_local_midnight_is_the_next_days(owner, day):
    report = owner.get(URL, query_string={"from": "2024-03-13", "to": "2024-03-13"}).json

    misha = next(c for c in report["couriers"] if c["courier_id"] == day.misha.id)
    assert (misha["deliveries"], misha["on_time"]) == (1, 0)


def test_csv_is_the_json_table_with_a_total_row(owner, day):
    json_report = owner.get(URL, query_string=RANGE).json

    response = owner.get(URL, query_string={**RANGE, "format": "csv"})

    assert response.headers["Content-Disposition"] == "attachment; filename=couriers_2024-03-09_2024-03-12.csv"
    rows = parse_csv(response)
    assert rows[:-1] == as_csv_cells(json_report["couriers"])
    assert rows[-1] == as_csv_cells([{"courier_id": "total", "courier_name": None, **json_report["totals"]}])[0]


def test_two_statements_whatever_the_data(day, count_queries):
    for shop_id in (ShopFactory().id, day.kolya.memberships[0].shop_id):
        with count_queries() as statements:
            services.couriers_report(shop_id=shop_id, date_from=date(2024, 3, 9), date_to=date(2024, 3, 12))
        assert len(statements) == 2
