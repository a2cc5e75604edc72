"""CSV downloads a spreadsheet opens safely: a BOM, a file name, and no formula smuggled in through a name."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from app.catalogue import services as catalogue
from tests.reports.reportdata import move, parse_csv, take_order
from tests.warehouse.stockdata import D, make_item, supply

URL = "/api/v1/reports/products"


def test_a_name_that_looks_like_a_formula_stays_text_and_a_loss_stays_a_number(owner, vladivostok):
    rose = make_item(vladivostok, "Red rose")
    supply(vladivostok, (rose, 10, "40.00"))
    trap = catalogue.create_product(
        shop_id=vladivostok.id,
        actor_id=None,
        data={"name": '=HYPERLINK("http://evil.example","Open")', "price": D("10.00"), "needs_assembly": False},
    )
    catalogue.set_recipe(
        shop_id=vladivostok.id, product_id=trap.id, actor_id=None, components=[{"item_id": rose.id, "quantity": D(1)}]
    )
    move(take_order(vladivostok, [(trap, 1)]), "confirmed", "ready")
    today = datetime.now(ZoneInfo(vladivostok.timezone)).date().isoformat()

    json_row = owner.get(URL, query_string={"from": today, "to": today}).json["products"][0]
    (csv_row,) = parse_csv(owner.get(URL, query_string={"from": today, "to": today, "format": "csv"}))

    # Sold for 10.00 what cost 40.00: the loss is a number the spreadsheet can add up.
    assert (json_row["margin"], csv_row["margin"]) == ("-30.00", "-30.00")
    assert json_row["product_name"] == '=HYPERLINK("http://evil.example","Open")'
    assert csv_row["product_name"] == '\'=HYPERLINK("http://evil.example","Open")'


def test_the_file_starts_with_a_bom_and_uses_crlf_line_ends(owner):
    response = owner.get(
        "/api/v1/reports/sales", query_string={"from": "2024-03-01", "to": "2024-03-02", "format": "csv"}
    )

    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbfperiod_start,period_end,orders,")
    assert body.count(b"\r\n") == 4  # header, two days, total
    assert response.headers["Content-Disposition"] == "attachment; filename=sales_day_2024-03-01_2024-03-02.csv"
