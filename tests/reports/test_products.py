"""GET /reports/products over the Vladivostok shop's 9-12 March 2024 (reportdata.sales_week), by hand.

Kept orders only: O1 (bouquet + 2 stems, 10% off), O2 (gift card), O4 (bouquet, not assembled yet).
O1's cost of goods, 302.00, is shared by what each line's recipe takes at the items' average batch
cost: roses (6 at 40.00, 100 at 50.00) average 5240/106, a fern 12.00. The bouquet (5 roses + a fern)
weighs 5 * 5240/106 + 12, the two stems 2 * 5240/106, so the bouquet carries 302 * 27472/37952 =
218.61 and the stems 83.39.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.catalogue.models import Category
from app.extensions import db
from app.reports import services
from tests.factories import ShopFactory
from tests.reports.reportdata import as_csv_cells, noise_in, parse_csv, sales_week

URL = "/api/v1/reports/products"
RANGE = {"from": "2024-03-09", "to": "2024-03-12"}


@pytest.fixture
def week(vladivostok, other_shop):
    noise_in(other_shop)
    return sales_week(vladivostok)


def _line(product, units, revenue, cost, margin, percent, uncosted=0, category=None) -> dict:
    return {
        "product_id": product.id,
        "product_name": product.name,
        "category_id": category.id if category else None,
        "category_name": category.name if category else None,
        "units": units,
        "revenue": revenue,
        "cost": cost,
        "margin": margin,
        "margin_percent": percent,
        "uncosted_units": uncosted,
    }


def _categories_by_name(week) -> dict[str, Category]:
    return {c.name: c for c in db.session.scalars(select(Category).where(Category.shop_id == week.shop.id))}


def test_per_product_units_revenue_cost_and_margin(owner, week):
    categories = _categories_by_name(week)
    bouquets, singles = categories["Bouquets"], categories["Поштучно"]

    response = owner.get(URL, query_string=RANGE)

    assert response.status_code == 200, response.json
    report = response.json
    # Bouquet: O1's 2900.00 less its 290.00 share of the discount, plus O4's 2900.00 (no cost known yet).
    bouquet = _line(week.bouquet, 2, "5510.00", "218.61", "5291.39", "96.0", uncosted=1, category=bouquets)
    gift_card = _line(week.gift_card, 1, "3000.00", "0.00", "3000.00", "100.0")
    # Two stems: 380.00 less 38.00 of the discount; cancelled (O3, O6) and later (O5) orders not counted.
    stems = _line(week.stem, 2, "342.00", "83.39", "258.61", "75.6", category=singles)
    # On sale and never sold: the bottom seller. The archived product sold nothing and is not listed.
    peony = _line(week.peony_box, 0, "0.00", "0.00", "0.00", None, category=bouquets)
    assert report["products"] == [bouquet, gift_card, stems, peony]
    assert report["categories"] == [
        {k: v for k, v in {**bouquet, "category_id": bouquets.id}.items() if not k.startswith("product_")},
        {k: v for k, v in gift_card.items() if not k.startswith("product_")},
        {k: v for k, v in stems.items() if not k.startswith("product_")},
    ]
    assert report["top_sellers"] == [bouquet, gift_card, stems]
    assert report["bottom_sellers"] == [peony, stems, gift_card, bouquet]


def test_top_and_bottom_sellers_are_cut_to_the_number_asked(owner, week):
    report = owner.get(URL, query_string={**RANGE, "top": 2}).json

    assert [p["product_name"] for p in report["top_sellers"]] == ["Bouquet of roses", "Gift card"]
    assert [p["product_name"] for p in report["bottom_sellers"]] == ["Пионы «Нежность»", "Rose by the stem"]


def test_product_costs_add_up_to_the_orders_cost_of_goods(owner, week):
    sales = owner.get("/api/v1/reports/sales", query_string=RANGE).json
    products = owner.get(URL, query_string=RANGE).json["products"]

    assert sum(float(p["cost"]) for p in products) == pytest.approx(float(sales["totals"]["cost_of_goods"]))
    goods = float(sales["totals"]["gross_sales"]) - float(sales["totals"]["discounts"])
    assert sum(float(p["revenue"]) for p in products) == pytest.approx(goods)


CYRILLIC = {"products": "Пионы «Нежность»", "categories": "Поштучно"}


@pytest.mark.parametrize("table", ["products", "categories"])
def test_csv_parsed_back_equals_the_json_with_cyrillic_intact(owner, week, table):
    json_report = owner.get(URL, query_string=RANGE).json

    response = owner.get(URL, query_string={**RANGE, "format": "csv", "table": table})

    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f"attachment; filename=products_{table}_2024-03-09_2024-03-12.csv"
    assert parse_csv(response) == as_csv_cells(json_report[table])
    assert CYRILLIC[table].encode("utf-8") in response.get_data()


def test_two_statements_whatever_the_data(week, count_queries):
    empty_shop_id, shop_id = ShopFactory().id, week.shop.id
    for shop in (empty_shop_id, shop_id):
        with count_queries() as statements:
            services.products_report(shop_id=shop, date_from=date(2024, 3, 9), date_to=date(2024, 3, 12))
        assert len(statements) == 2
