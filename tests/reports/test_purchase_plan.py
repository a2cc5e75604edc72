"""GET /reports/purchase-plan: what to buy for a range of days, per warehouse item.

The world (T the shop's today, T1 tomorrow, the plan's day unless a test says otherwise; S the day of
last year T1 is compared with):
- Tulip, packs of 10, no supplier of its own: 5 at 30.00 from Flora Ltd (T-2, expire T+5), 5 at 32.50 from
  Holland Direct (T, expire T+7). A confirmed order holds 3 (from the earlier batch, FEFO), an order made
  ready took 2; a new order for T1 wants 28: 5 free stems cover 5, 23 short -> 30 to buy, 3 packs, 975.00.
  Not counted: a cancelled order (7), a new order for T+3 (9).
- Red rose, supplier "Roses Inc": 20 at 50.00; a confirmed order reserved 10 (2 bouquets of 5), then 15
  were written off: the order is 5 short and nothing is free -> 5 to buy, 250.00.
- Lily: 50 at 20.00 received T-6 (expire T+1, i.e. expired on T1); a new order for T1 wants 12 -> 12 to buy.
- Peony, packs of 5: 1 stem at 80.00 a month ago (long expired); a new order for T1 wants 1; last year on S
  orders took 4 (a cancelled one 10 more) -> with growth 1.5 the forecast is 6 - 1 booked = 5: needed 6,
  to buy 10 (2 packs), 800.00.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from app.catalogue import services as catalogue
from app.common.named_days import day_of, named_day
from app.common.types import utcnow
from app.extensions import db
from app.orders.models import Order
from app.reports.named_days import compared_with
from app.standing import services as standing
from app.standing.schemas import StandingOrderCreateSchema
from app.warehouse import services as warehouse
from app.warehouse.models import Item
from tests.factories import ShopFactory
from tests.reports.reportdata import as_csv_cells, move, noise_in, parse_csv, take_order
from tests.warehouse.stockdata import D, make_item, supply

URL = "/api/v1/reports/purchase-plan"


@dataclass
class World:
    shop: object
    today: date
    tulip: Item
    rose: Item
    lily: Item
    peony: Item
    products: dict

    @property
    def tomorrow(self) -> date:
        return self.today + timedelta(days=1)


def _product(shop, name: str, recipe: list[tuple[Item, int]]):
    product = catalogue.create_product(
        shop_id=shop.id, actor_id=None, data={"name": name, "price": D("100.00"), "needs_assembly": False}
    )
    components = [{"item_id": item.id, "quantity": D(qty)} for item, qty in recipe]
    catalogue.set_recipe(shop_id=shop.id, product_id=product.id, actor_id=None, components=components)
    return product


def deliver_on(order: Order, day: date) -> None:
    """Move an order to another delivery day (last year's orders cannot be taken today)."""
    db.session.execute(update(Order).where(Order.id == order.id).values(delivery_date=day))
    db.session.commit()


def build_world(shop) -> World:
    today = datetime.now(ZoneInfo(shop.timezone)).date()
    tulip = make_item(shop, "Tulip", pack_size=10)
    rose = make_item(shop, "Red rose", supplier="Roses Inc")
    lily = make_item(shop, "Lily")
    peony = make_item(shop, "Peony", pack_size=5)
    supply(shop, (tulip, 5, "30.00"), received_on=today - timedelta(days=2))
    supply(shop, (tulip, 5, "32.50"), received_on=today, supplier="Holland Direct")
    supply(shop, (rose, 20, "50.00"), received_on=today)
    supply(shop, (lily, 50, "20.00"), received_on=today - timedelta(days=6))
    supply(shop, (peony, 1, "80.00"), received_on=today - timedelta(days=30))
    products = {
        "tulip": _product(shop, "One tulip", [(tulip, 1)]),
        "bouquet": _product(shop, "Five roses", [(rose, 5)]),
        "lily": _product(shop, "One lily", [(lily, 1)]),
        "peony": _product(shop, "One peony", [(peony, 1)]),
    }
    world = World(shop, today, tulip, rose, lily, peony, products)

    move(take_order(shop, [(products["tulip"], 3)]), "confirmed")
    move(take_order(shop, [(products["tulip"], 2)]), "confirmed", "ready")
    take_order(shop, [(products["tulip"], 28)])
    move(take_order(shop, [(products["tulip"], 7)]), "cancelled")
    deliver_on(take_order(shop, [(products["tulip"], 9)]), today + timedelta(days=3))

    move(take_order(shop, [(products["bouquet"], 2)]), "confirmed")
    warehouse.create_write_off(
        shop_id=shop.id, actor_id=None, reason="wilted", lines=[{"item_id": rose.id, "quantity": D(15)}]
    )

    take_order(shop, [(products["lily"], 12)])

    take_order(shop, [(products["peony"], 1)])
    last_year = compared_with(world.tomorrow)[0]
    deliver_on(take_order(shop, [(products["peony"], 4)]), last_year)
    cancelled = take_order(shop, [(products["peony"], 10)])
    move(cancelled, "cancelled")
    deliver_on(cancelled, last_year)
    db.session.commit()
    return world


@pytest.fixture
def world(vladivostok, other_shop):
    noise_in(other_shop)
    theirs = make_item(other_shop, "Tulip", pack_size=10)
    take_order(other_shop, [(_product(other_shop, "Their tulip", [(theirs, 1)]), 40)])
    return build_world(vladivostok)


def plan(client, world: World, **query) -> dict:
    day = world.tomorrow.isoformat()
    response = client.get(URL, query_string={"from": day, "to": day, **query})
    assert response.status_code == 200, response.json
    return response.json


def by_name(report: dict) -> dict[str, dict]:
    return {line["item_name"]: line for line in report["items"]}


def test_new_orders_count_in_full_confirmed_ones_only_for_what_they_miss(owner, world):
    items = by_name(plan(owner, world, growth="0"))

    tulip = items["Tulip"]
    assert tulip["ordered"] == "28.000"  # not the confirmed 3 (reserved), the ready 2, the cancelled 7, T+3's 9
    assert tulip["available"] == "5.000"  # 10 received - 2 taken by the ready order - 3 reserved
    assert tulip["from_stock"] == "5.000"
    assert tulip["shortfall"] == "23.000"
    assert (tulip["pack_size"], tulip["packs"], tulip["to_buy"]) == (10, 3, "30.000")

    rose = items["Red rose"]
    assert (rose["ordered"], rose["available"], rose["to_buy"]) == ("5.000", "0.000", "5.000")


def test_supplier_and_last_unit_cost_and_the_total(owner, world):
    report = plan(owner, world, growth="1.5")
    items = by_name(report)

    assert [line["item_name"] for line in report["items"]] == ["Lily", "Peony", "Red rose", "Tulip"]
    assert (items["Tulip"]["supplier"], items["Tulip"]["unit_cost"], items["Tulip"]["cost"]) == (
        "Holland Direct",  # the latest supply's: the item names none
        "32.50",
        "975.00",
    )
    assert (items["Red rose"]["supplier"], items["Red rose"]["cost"]) == ("Roses Inc", "250.00")  # its own
    assert items["Lily"]["cost"] == "240.00"
    assert items["Peony"]["cost"] == "800.00"
    assert report["totals"] == {"cost": "2265.00"}
    assert report["currency"] == world.shop.currency


def test_batches_expired_by_the_day_needed_do_not_count(owner, world):
    lily = by_name(plan(owner, world, growth="0"))["Lily"]
    assert (lily["available"], lily["from_stock"], lily["to_buy"]) == ("0.000", "0.000", "12.000")

    # Good today (the first day), gone by tomorrow when the order needs them.
    lily = by_name(plan(owner, world, growth="0", **{"from": world.today.isoformat()}))["Lily"]
    assert (lily["available"], lily["from_stock"], lily["to_buy"]) == ("50.000", "0.000", "12.000")


def test_the_forecast_is_last_years_compared_day_times_growth_beyond_the_orders(owner, world):
    report = plan(owner, world, growth="1.5")
    peony = by_name(report)["Peony"]

    assert report["days"] == [
        {
            "day": world.tomorrow.isoformat(),
            "compared_with": compared_with(world.tomorrow)[0].isoformat(),
            "named_day": named_day(world.tomorrow),
        }
    ]
    assert (peony["ordered"], peony["forecast"], peony["needed"]) == ("1.000", "5.000", "6.000")
    assert (peony["available"], peony["pack_size"], peony["packs"], peony["to_buy"]) == ("0.000", 5, 2, "10.000")
    assert peony["unit_cost"] == "80.00"

    no_forecast = by_name(plan(owner, world, growth="0"))["Peony"]
    assert (no_forecast["forecast"], no_forecast["to_buy"]) == ("0.000", "5.000")


def test_a_named_day_reads_last_years_named_day_not_the_same_weekday(owner, vladivostok):
    peony = make_item(vladivostok, "Peony")
    product = _product(vladivostok, "One peony", [(peony, 1)])
    deliver_on(take_order(vladivostok, [(product, 8)]), date(2026, 3, 8))  # a Sunday
    deliver_on(take_order(vladivostok, [(product, 50)]), date(2026, 3, 9))  # 52 weeks before 8 March 2027

    response = owner.get(URL, query_string={"from": "2027-03-08", "to": "2027-03-08", "growth": "1.25"})

    assert response.status_code == 200
    assert response.json["days"] == [{"day": "2027-03-08", "compared_with": "2026-03-08", "named_day": "march_8"}]
    assert by_name(response.json)["Peony"]["forecast"] == "10.000"


@pytest.mark.parametrize(
    "day, source, name",
    [
        (date(2027, 3, 8), date(2026, 3, 8), "march_8"),
        (date(2028, 2, 14), date(2027, 2, 14), "valentines_day"),
        (date(2027, 11, 28), date(2026, 11, 29), "mothers_day_ru"),  # last Sundays of November
        (date(2027, 5, 9), date(2026, 5, 10), "mothers_day_us"),  # second Sundays of May
        (date(2027, 3, 7), date(2026, 3, 15), "mothering_sunday_uk"),  # three weeks before Easter
        (date(2027, 6, 16), date(2026, 6, 17), None),  # an ordinary Wednesday: 52 weeks earlier
        # When 52 weeks before was a peak day: one week further back.
        (date(2027, 2, 13), date(2026, 2, 7), None),  # 52 weeks before is 14 February 2026
    ],
)
def test_compared_days(day, source, name):
    assert compared_with(day) == (source, name)


def test_mothering_sunday_is_three_weeks_before_easter():  # Easter 2026-04-05, 2027-03-28, 2028-04-16
    assert [day_of("mothering_sunday_uk", year) for year in (2026, 2027, 2028)] == [
        date(2026, 3, 15),
        date(2027, 3, 7),
        date(2028, 3, 26),
    ]


def test_csv_matches_the_json(owner, world):
    day = world.tomorrow.isoformat()
    query = {"from": day, "to": day, "growth": "1.5"}
    report = owner.get(URL, query_string=query).json

    response = owner.get(URL, query_string={**query, "format": "csv"})

    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert f"purchase-plan_{day}_{day}.csv" in response.headers["Content-Disposition"]
    rows = parse_csv(response)
    assert rows[:-1] == as_csv_cells(report["items"])
    assert rows[-1]["item_id"] == "total"
    assert rows[-1]["cost"] == report["totals"]["cost"]


def test_another_shops_items_and_orders_never_show(owner, world, other_shop):
    report = plan(owner, world, growth="1.5")
    theirs = {item.id for item in db.session.query(Item).filter(Item.shop_id == other_shop.id)}

    assert theirs
    assert not {line["item_id"] for line in report["items"]} & theirs
    assert by_name(report)["Tulip"]["ordered"] == "28.000"  # their 40 tulips are theirs


def test_a_manager_of_another_shop_gets_404(login, world):
    stranger = login("manager", shop=ShopFactory())
    response = stranger.get(URL, headers={"X-Shop-Id": str(world.shop.id)})
    assert response.status_code == 404


@pytest.mark.parametrize("role, status", [("manager", 200), ("florist", 403), ("courier", 403)])
def test_roles(login, vladivostok, role, status):
    assert login(role, shop=vladivostok).get(URL).status_code == status


@pytest.mark.parametrize(
    "query, field",
    [
        ({"from": "2027-01-10", "to": "2027-01-09"}, "from"),
        ({"from": "2027-01-01", "to": "2027-02-01"}, "to"),
        ({"growth": "-1"}, "growth"),
    ],
)
def test_bad_queries_are_422(owner, query, field):
    response = owner.get(URL, query_string=query)
    assert response.status_code == 422
    assert field in str(response.json["errors"])


def test_a_fixed_number_of_statements_whatever_the_number_of_items(owner, world, count_queries):
    def statements() -> int:
        with count_queries() as seen:
            plan(owner, world, growth="1.5")
        return len(seen)

    few = statements()
    for n in range(6):
        item = make_item(world.shop, f"Extra {n}", pack_size=n + 1)
        supply(world.shop, (item, 1, "10.00"), received_on=world.today)
        take_order(world.shop, [(_product(world.shop, f"Extra bouquet {n}", [(item, 3)]), 2)])
    db.session.commit()

    assert len(plan(owner, world, growth="1.5")["items"]) == 10
    assert statements() == few


def test_pack_size_and_supplier_on_items(admin):
    created = admin.post("/api/v1/warehouse/items", json={"name": "Ranunculus", "pack_size": 25, "supplier": "Mira"})
    assert created.status_code == 201, created.json
    assert (created.json["pack_size"], created.json["supplier"]) == (25, "Mira")

    plain = admin.post("/api/v1/warehouse/items", json={"name": "Eucalyptus"})
    assert (plain.json["pack_size"], plain.json["supplier"]) == (1, None)

    assert admin.post("/api/v1/warehouse/items", json={"name": "Bad", "pack_size": 0}).status_code == 422


# --- standing orders ------------------------------------------------------------------------------


def _series(world: World, product: str, quantity: int, **fields):
    """A weekly standing order on tomorrow's weekday from today, picked up at noon: its next date is tomorrow."""
    body = {
        "template": {
            "customer": {"name": "Olga Petrova", "phone": "+79161112233"},
            "fulfillment": "pickup",
            "pickup_time": "12:00",
            "items": [{"product_id": world.products[product].id, "quantity": quantity}],
        },
        "rule": {"frequency": "weekly", "weekdays": [world.tomorrow.weekday()]},
        "starts_on": world.today.isoformat(),
        **fields,
    }
    data = StandingOrderCreateSchema().load(body)
    return standing.create_standing_order(shop_id=world.shop.id, actor_id=None, data=data)


def test_a_standing_date_not_made_yet_adds_its_recipes_stems(owner, world):
    _series(world, "lily", 2)

    lily = by_name(plan(owner, world, growth="0"))["Lily"]

    assert (lily["ordered"], lily["standing"], lily["needed"], lily["to_buy"]) == (
        "12.000",
        "2.000",
        "14.000",
        "14.000",
    )


def test_a_standing_date_made_into_an_order_counts_once_as_the_order(owner, world):
    series = _series(world, "lily", 2)
    assert standing.make_next(series.id, utcnow()) == "made"  # 7 days ahead by default: tomorrow is due

    lily = by_name(plan(owner, world, growth="0"))["Lily"]

    assert (lily["ordered"], lily["standing"], lily["needed"]) == ("14.000", "0.000", "14.000")


@pytest.mark.parametrize("how", ["skipped", "paused"])
def test_a_skipped_date_or_a_paused_series_adds_nothing(owner, world, how):
    series = _series(world, "lily", 2)
    if how == "skipped":
        standing.skip_date(shop_id=world.shop.id, standing_order_id=series.id, actor_id=None, day=world.tomorrow)
    else:
        standing.set_paused(shop_id=world.shop.id, standing_order_id=series.id, actor_id=None, paused=True)

    lily = by_name(plan(owner, world, growth="0"))["Lily"]

    assert (lily["ordered"], lily["standing"], lily["needed"]) == ("12.000", "0.000", "12.000")


def test_standing_dates_over_a_range_stop_at_the_series_count(owner, world):
    _series(world, "lily", 2)  # tomorrow and a week later
    _series(world, "lily", 5, count=1)  # tomorrow only
    fortnight = {"from": world.tomorrow.isoformat(), "to": (world.tomorrow + timedelta(days=13)).isoformat()}

    lily = by_name(plan(owner, world, growth="0", **fortnight))["Lily"]

    assert lily["standing"] == "9.000"


def test_the_forecast_counts_standing_dates_as_booked(owner, world):
    _series(world, "peony", 3)

    peony = by_name(plan(owner, world, growth="1.5"))["Peony"]

    # Last year 4 × 1.5 = 6 expected; 1 ordered and 3 standing are booked: 2 more to come.
    assert (peony["ordered"], peony["standing"], peony["forecast"], peony["needed"]) == (
        "1.000",
        "3.000",
        "2.000",
        "6.000",
    )


def test_a_fixed_number_of_statements_whatever_the_number_of_standing_orders(owner, world, count_queries):
    def statements() -> int:
        with count_queries() as seen:
            plan(owner, world, growth="1.5")
        return len(seen)

    _series(world, "lily", 1)
    few = statements()
    for n in range(8):
        _series(world, ("tulip", "bouquet", "peony", "lily")[n % 4], 1 + n)
    standing.set_paused(
        shop_id=world.shop.id, standing_order_id=_series(world, "lily", 1).id, actor_id=None, paused=True
    )

    assert by_name(plan(owner, world, growth="0"))["Lily"]["standing"] == "13.000"  # 1 + 4 + 8; the paused one not
    assert statements() == few
