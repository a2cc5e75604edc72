"""GET /reports/sales: the Vladivostok shop's 9-12 March 2024, worked out by hand (see reportdata.sales_week)."""

from __future__ import annotations

from datetime import date

import pytest

from app.reports import services
from app.reports.periods import GroupBy
from tests.factories import ShopFactory
from tests.reports.reportdata import (
    as_csv_cells,
    backdate_order,
    local,
    move,
    noise_in,
    open_catalogue,
    parse_csv,
    sales_week,
    take_order,
)

URL = "/api/v1/reports/sales"
RANGE = {"from": "2024-03-09", "to": "2024-03-12"}

ZERO_DAY = {
    "orders": 0,
    "gross_sales": "0.00",
    "discounts": "0.00",
    "delivery_fees": "0.00",
    "refunds": "0.00",
    "revenue": "0.00",
    "average_order": None,
    "cost_of_goods": "0.00",
    "gross_margin": "0.00",
    "margin_percent": None,
    "uncosted_orders": 0,
    "cancelled_orders": 0,
    "cancelled_total": "0.00",
    "cancelled_cost": "0.00",
}
# O1 (3280.00 less SPRING10's 328.00, cost 302.00) and O2 (3000.00, cost 0.00), both by local time.
MARCH_10 = {
    **ZERO_DAY,
    "orders": 2,
    "gross_sales": "6280.00",
    "discounts": "328.00",
    "revenue": "5952.00",
    "average_order": "2976.00",
    "cost_of_goods": "302.00",
    "gross_margin": "5650.00",
    "margin_percent": "94.9",
}
# O4 (2900.00 + 300.00 delivery, not assembled: no cost yet); O2's 500.00 refund; O3 cancelled (570.00),
# whose own refund changes nothing.
MARCH_11 = {
    **ZERO_DAY,
    "orders": 1,
    "gross_sales": "2900.00",
    "delivery_fees": "300.00",
    "refunds": "500.00",
    "revenue": "2700.00",
    "average_order": "3200.00",
    "gross_margin": "2700.00",
    "margin_percent": "100.0",
    "uncosted_orders": 1,
    "cancelled_orders": 1,
    "cancelled_total": "570.00",
}
# O6: a stem made (one rose at 50.00) and then cancelled.
MARCH_12 = {**ZERO_DAY, "cancelled_orders": 1, "cancelled_total": "190.00", "cancelled_cost": "50.00"}
TOTALS = {
    "orders": 3,
    "gross_sales": "9180.00",
    "discounts": "328.00",
    "delivery_fees": "300.00",
    "refunds": "500.00",
    "revenue": "8652.00",
    "average_order": "3050.67",
    "cost_of_goods": "302.00",
    "gross_margin": "8350.00",
    "margin_percent": "96.5",
    "uncosted_orders": 1,
    "cancelled_orders": 2,
    "cancelled_total": "760.00",
    "cancelled_cost": "50.00",
}


@pytest.fixture
def week(vladivostok, other_shop):
    noise_in(other_shop)
    return sales_week(vladivostok)


def _day(day: str, figures: dict) -> dict:
    return {"period_start": day, "period_end": day, **figures}


def test_sales_by_shop_local_day(owner, week):
    response = owner.get(URL, query_string=RANGE)

    assert response.status_code == 200, response.json
    assert response.json == {
        "from": "2024-03-09",
        "to": "2024-03-12",
        "time_zone": "Asia/Vladivostok",
        "currency": "RUB",
        "group_by": "day",
        "periods": [
            # O1 was taken at 00:30 on the 10th, which is still the 9th in UTC: the 9th stays empty.
            _day("2024-03-09", ZERO_DAY),
            _day("2024-03-10", MARCH_10),
            _day("2024-03-11", MARCH_11),
            _day("2024-03-12", MARCH_12),
        ],
        # O5, taken at 00:10 on the 13th (the 12th in UTC), is outside the range.
        "totals": TOTALS,
    }


def test_weeks_start_on_monday_and_are_cut_to_the_range(owner, week):
    # 10 March 2024 is a Sunday: it closes the week of the 4th; the 11th opens the next.
    response = owner.get(URL, query_string={"from": "2024-03-10", "to": "2024-03-12", "group_by": "week"})

    assert response.status_code == 200
    periods = response.json["periods"]
    assert [(p["period_start"], p["period_end"]) for p in periods] == [
        ("2024-03-10", "2024-03-10"),
        ("2024-03-11", "2024-03-12"),
    ]
    assert periods[0]["orders"] == 2 and periods[0]["revenue"] == "5952.00"
    assert periods[1]["revenue"] == "2700.00"
    assert periods[1]["cancelled_orders"] == 2


def test_a_month_sums_to_the_same_totals(owner, week):
    response = owner.get(URL, query_string={**RANGE, "group_by": "month"})

    assert response.status_code == 200
    (march,) = response.json["periods"]
    assert (march["period_start"], march["period_end"]) == ("2024-03-09", "2024-03-12")
    assert {k: v for k, v in march.items() if not k.startswith("period_")} == TOTALS
    assert response.json["totals"] == TOTALS


def test_another_shops_orders_and_refunds_never_count(login, week, other_shop):
    other_manager = login("manager", shop=other_shop)

    ours = login("manager", shop=week.shop).get(URL, query_string=RANGE).json
    theirs = other_manager.get(URL, query_string=RANGE).json

    assert ours["totals"] == TOTALS
    assert theirs["totals"]["orders"] == 1
    assert theirs["totals"]["refunds"] == "100.00"
    assert theirs["time_zone"] == "Europe/Moscow"


def test_csv_is_the_json_table_with_a_total_row(owner, week):
    json_report = owner.get(URL, query_string=RANGE).json

    response = owner.get(URL, query_string={**RANGE, "format": "csv"})

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.mimetype_params["charset"] == "utf-8"
    assert response.headers["Content-Disposition"] == "attachment; filename=sales_day_2024-03-09_2024-03-12.csv"
    rows = parse_csv(response)
    assert rows[:-1] == as_csv_cells(json_report["periods"])
    assert rows[-1] == as_csv_cells([{"period_start": "total", "period_end": None, **json_report["totals"]}])[0]


def test_an_order_at_half_past_eleven_at_night_counts_on_its_local_day_across_a_clock_change(login):
    # New York is 4-5 hours behind UTC: 23:30 there is already tomorrow in UTC. Clocks went forward on 10 March.
    shop = ShopFactory(timezone="America/New_York")
    made = open_catalogue(shop)
    for day, hh_mm in [(9, "23:30"), (10, "23:30"), (11, "00:15")]:
        order = take_order(shop, [(made.stem, 1)])
        move(order, "confirmed")
        backdate_order(order.id, local(shop.timezone, date(2024, 3, day), hh_mm))
    manager = login("manager", shop=shop)

    by_day = manager.get(URL, query_string={"from": "2024-03-09", "to": "2024-03-11"}).json["periods"]

    assert [(p["period_start"], p["orders"]) for p in by_day] == [
        ("2024-03-09", 1),
        ("2024-03-10", 1),
        ("2024-03-11", 1),
    ]


@pytest.mark.parametrize("group_by", list(GroupBy))
def test_the_report_runs_two_statements_whatever_the_data(week, count_queries, group_by):
    empty_shop_id, shop_id = ShopFactory().id, week.shop.id
    reports = []
    for shop in (empty_shop_id, shop_id):
        with count_queries() as statements:
            reports.append(
                services.sales_report(
                    shop_id=shop, date_from=date(2024, 3, 9), date_to=date(2024, 3, 12), group_by=group_by
                )
            )
        assert len(statements) == 2  # the shop's time zone, then one aggregate
    assert (reports[0]["totals"]["orders"], reports[1]["totals"]["orders"]) == (0, 3)


@pytest.mark.parametrize(
    "query, field",
    [
        ({"from": "2024-03-12", "to": "2024-03-09"}, "from"),
        ({"from": "2099-01-01"}, "from"),  # after today, the default `to`
        ({"from": "2020-01-01", "to": "2024-03-09"}, "to"),
        ({"group_by": "year"}, "group_by"),
        ({"format": "xlsx"}, "format"),
    ],
)
def test_a_bad_range_or_option_is_422_naming_the_field(owner, query, field):
    response = owner.get(URL, query_string=query)

    assert response.status_code == 422
    assert field in str(response.json["errors"])
