"""GET /reports/stock: value at cost now and on past days (from the movements), and expiring batches.

The history (reportdata.stock_history), T being the shop's today: T-10 50 roses at 40.00 (expire T-3);
T-5 10 of them written off; T-2 30 roses at 60.00 (expire T+5), 20 tulips at 30.00 (expire T+3) and
5 vases at 200.00 (never expire).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.reports import services
from tests.factories import ShopFactory
from tests.reports.reportdata import as_csv_cells, noise_in, parse_csv, stock_history

URL = "/api/v1/reports/stock"


@pytest.fixture
def history(vladivostok, other_shop):
    noise_in(other_shop)
    return stock_history(vladivostok)


def _item(item, quantity: str, value: str, batches: int) -> dict:
    return {
        "item_id": item.id,
        "item_name": item.name,
        "kind": item.kind,
        "unit": item.unit,
        "quantity": quantity,
        "value": value,
        "batches": batches,
    }


def _day(history, offset: int) -> str:
    return (history.today + timedelta(days=offset)).isoformat()


def test_stock_value_now_per_item_and_in_total(owner, history):
    response = owner.get(URL)

    assert response.status_code == 200, response.json
    report = response.json
    assert report["as_of"] == history.today.isoformat()
    assert report["items"] == [
        _item(history.vase, "5.000", "1000.00", 1),
        _item(history.rose, "70.000", "3400.00", 2),  # 40 left at 40.00 and 30 at 60.00
        _item(history.tulip, "20.000", "600.00", 1),
    ]
    assert report["total_value"] == "5000.00"
    # The first roses expired three days ago and are still on the shelf: the first thing to write off.
    assert report["expiring"] == [
        {
            "batch_id": history.first_rose_batch.id,
            "item_id": history.rose.id,
            "item_name": "Red rose",
            "unit": "stem",
            "received_on": _day(history, -10),
            "expires_on": _day(history, -3),
            "days_left": -3,
            "quantity": "40.000",
            "unit_cost": "40.00",
            "value": "1600.00",
        }
    ]
    assert report["expiring_value"] == "1600.00"
    assert report["expiring_within_days"] == 2


def test_a_wider_expiry_horizon_adds_batches_in_expiry_order(owner, history):
    report = owner.get(URL, query_string={"expiring_within_days": 5}).json

    assert [(b["item_name"], b["expires_on"], b["days_left"], b["value"]) for b in report["expiring"]] == [
        ("Red rose", _day(history, -3), -3, "1600.00"),
        ("Tulip", _day(history, 3), 3, "600.00"),
        ("Red rose", _day(history, 5), 5, "1800.00"),
    ]
    assert report["expiring_value"] == "4000.00"


@pytest.mark.parametrize(
    "offset, rose, total, expiring",
    [
        (-11, ("0.000", "0.00", 0), "0.00", []),  # before the first supply
        (-10, ("50.000", "2000.00", 1), "2000.00", []),  # the day it came
        (-5, ("40.000", "1600.00", 1), "1600.00", [("Red rose", 2, "1600.00")]),  # after the write-off
        (-3, ("40.000", "1600.00", 1), "1600.00", [("Red rose", 0, "1600.00")]),  # expires that day
    ],
)
def test_stock_as_of_the_end_of_a_past_day_comes_from_the_movements(owner, history, offset, rose, total, expiring):
    report = owner.get(URL, query_string={"as_of": _day(history, offset)}).json

    assert report["as_of"] == _day(history, offset)
    assert report["items"] == [
        _item(history.vase, "0.000", "0.00", 0),
        _item(history.rose, *rose),
        _item(history.tulip, "0.000", "0.00", 0),
    ]
    assert report["total_value"] == total
    assert [(b["item_name"], b["days_left"], b["value"]) for b in report["expiring"]] == expiring


def test_as_of_today_from_the_movements_equals_now_from_the_batches(owner, history):
    now = owner.get(URL, query_string={"expiring_within_days": 5}).json
    today = owner.get(URL, query_string={"as_of": history.today.isoformat(), "expiring_within_days": 5}).json

    assert today == now


def test_a_future_day_is_422(owner, history):
    response = owner.get(URL, query_string={"as_of": _day(history, 1)})

    assert response.status_code == 422
    assert "as_of" in response.json["errors"]


@pytest.mark.parametrize("table", ["items", "expiring"])
def test_csv_parsed_back_equals_the_json(owner, history, table):
    json_report = owner.get(URL, query_string={"expiring_within_days": 5}).json

    response = owner.get(URL, query_string={"expiring_within_days": 5, "format": "csv", "table": table})

    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f"attachment; filename=stock_{table}_{history.today}.csv"
    assert parse_csv(response) == as_csv_cells(json_report[table])


@pytest.mark.parametrize("as_of", [None, -5])
def test_three_statements_whatever_the_data(history, count_queries, as_of):
    day = history.today + timedelta(days=as_of) if as_of is not None else None
    for shop_id in (ShopFactory(timezone="Asia/Vladivostok").id, history.rose.shop_id):
        with count_queries() as statements:
            services.stock_report(shop_id=shop_id, as_of=day)
        assert len(statements) == 3
