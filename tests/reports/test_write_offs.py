"""GET /reports/write-offs over the Vladivostok shop's 9-12 March 2024 (reportdata.write_off_week), by hand.

W1 10 Mar 00:30 (the 9th in UTC) wilted, Anna: 10 roses = 400.00; W2 10 Mar 18:00 damaged, Boris:
2 roses (80.00) + 3 tulips (90.00); W3 11 Mar wilted, Anna: 5 tulips = 150.00; W4 13 Mar 00:10 (the
12th in UTC) lost, Boris: outside the range. Another shop's write-off on the 10th never counts.
"""

from __future__ import annotations

from datetime import date

import pytest

from app.reports import services
from tests.factories import ShopFactory
from tests.reports.reportdata import as_csv_cells, noise_in, parse_csv, write_off_week

URL = "/api/v1/reports/write-offs"
RANGE = {"from": "2024-03-09", "to": "2024-03-12"}


@pytest.fixture
def week(vladivostok, other_shop):
    noise_in(other_shop)
    return write_off_week(vladivostok)


def _row(first, last, reason, item, who, quantity, cost) -> dict:
    return {
        "period_start": first,
        "period_end": last,
        "reason": reason,
        "item_id": item.id,
        "item_name": item.name,
        "unit": item.unit,
        "user_id": who.id,
        "user_name": who.name,
        "quantity": quantity,
        "cost": cost,
    }


def test_write_offs_by_day_reason_item_and_person(owner, week):
    response = owner.get(URL, query_string=RANGE)

    assert response.status_code == 200, response.json
    report = response.json
    rose, tulip, anna, boris = week.rose, week.tulip, week.anna, week.boris
    assert report["rows"] == [
        _row("2024-03-10", "2024-03-10", "damaged", rose, boris, "2.000", "80.00"),
        _row("2024-03-10", "2024-03-10", "damaged", tulip, boris, "3.000", "90.00"),
        _row("2024-03-10", "2024-03-10", "wilted", rose, anna, "10.000", "400.00"),
        _row("2024-03-11", "2024-03-11", "wilted", tulip, anna, "5.000", "150.00"),
    ]
    assert report["by_reason"] == [
        {"reason": "wilted", "write_offs": 2, "cost": "550.00"},
        {"reason": "damaged", "write_offs": 1, "cost": "170.00"},
    ]
    assert report["by_item"] == [
        {
            "item_id": rose.id,
            "item_name": "Red rose",
            "unit": "stem",
            "write_offs": 2,
            "quantity": "12.000",
            "cost": "480.00",
        },
        {
            "item_id": tulip.id,
            "item_name": "Tulip",
            "unit": "stem",
            "write_offs": 2,
            "quantity": "8.000",
            "cost": "240.00",
        },
    ]
    assert report["by_person"] == [
        {"user_id": anna.id, "user_name": "Anna", "write_offs": 2, "cost": "550.00"},
        {"user_id": boris.id, "user_name": "Boris", "write_offs": 1, "cost": "170.00"},
    ]
    assert (report["total_cost"], report["total_write_offs"]) == ("720.00", 3)


def test_a_month_merges_the_days_cut_to_the_range(owner, week):
    report = owner.get(URL, query_string={**RANGE, "group_by": "month"}).json

    rose, tulip, anna, boris = week.rose, week.tulip, week.anna, week.boris
    assert report["rows"] == [
        _row("2024-03-09", "2024-03-12", "damaged", rose, boris, "2.000", "80.00"),
        _row("2024-03-09", "2024-03-12", "damaged", tulip, boris, "3.000", "90.00"),
        _row("2024-03-09", "2024-03-12", "wilted", rose, anna, "10.000", "400.00"),
        _row("2024-03-09", "2024-03-12", "wilted", tulip, anna, "5.000", "150.00"),
    ]


def test_the_next_day_holds_what_was_written_off_after_local_midnight(owner, week):
    report = owner.get(URL, query_string={"from": "2024-03-13", "to": "2024-03-13"}).json

    assert [(r["reason"], r["item_name"], r["cost"]) for r in report["rows"]] == [("lost", "Tulip", "30.00")]


@pytest.mark.parametrize("table", ["rows", "by_reason", "by_item", "by_person"])
def test_csv_parsed_back_equals_the_json(owner, week, table):
    json_report = owner.get(URL, query_string=RANGE).json

    response = owner.get(URL, query_string={**RANGE, "format": "csv", "table": table})

    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=write-offs_{table}_2024-03-09_2024-03-12.csv"
    )
    assert parse_csv(response) == as_csv_cells(json_report[table])


def test_five_statements_whatever_the_data(week, count_queries):
    for shop_id in (ShopFactory().id, week.rose.shop_id):
        with count_queries() as statements:
            services.write_offs_report(shop_id=shop_id, date_from=date(2024, 3, 9), date_to=date(2024, 3, 12))
        assert len(statements) == 5
