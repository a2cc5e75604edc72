"""A bouquet's cost follows the batches it would be made from, as they come and go."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.catalogue import services as catalogue
from app.extensions import db
from app.warehouse import services as warehouse
from app.warehouse import stock
from tests.warehouse.stockdata import D, make_item, supply


@pytest.fixture
def manager(as_role):
    return as_role("manager")


@pytest.fixture
def bouquet(shop):
    """3 roses and 0.2 kg of eucalyptus, sold at 1500."""
    rose = make_item(shop, "Red rose", shelf_life_days=7)
    eucalyptus = make_item(shop, "Eucalyptus", unit="kg", kind="greenery", shelf_life_days=14)
    product = catalogue.create_product(shop_id=shop.id, actor_id=None, data={"name": "Classic", "price": D("1500")})
    catalogue.set_recipe(
        shop_id=shop.id,
        product_id=product.id,
        actor_id=None,
        components=[{"item_id": rose.id, "quantity": D(3)}, {"item_id": eucalyptus.id, "quantity": D("0.2")}],
    )
    return product, rose, eucalyptus


def cost_of(client, product) -> dict:
    response = client.get(f"/api/v1/products/{product.id}/cost")
    assert response.status_code == 200, response.json
    return response.json


def test_cost_follows_the_batches_expiring_first_as_they_change(manager, shop, bouquet):
    product, rose, eucalyptus = bouquet
    today = warehouse.shop_today(shop.id)
    supply(shop, (rose, 2, "50.00"), (eucalyptus, "1", "900.00"), received_on=today - timedelta(days=4))
    supply(shop, (rose, 10, "60.00"), received_on=today)

    first = cost_of(manager, product)
    roses = first["components"][0]
    assert roses["cost"] == "160.00"  # 2 old at 50 + 1 new at 60
    assert [(b["quantity"], b["unit_cost"]) for b in roses["batches"]] == [("2.000", "50.00"), ("1.000", "60.00")]
    assert first["components"][1]["cost"] == "180.00"  # 0.2 kg at 900
    assert (first["cost"], first["price"], first["margin"], first["margin_percent"]) == (
        "340.00",
        "1500.00",
        "1160.00",
        "77.3",
    )
    assert first["can_make"] == 4  # 12 roses / 3; 1 kg eucalyptus / 0.2 = 5

    # An order uses the two old roses: the next bouquet is made of new ones only.
    stock.reserve(shop_id=shop.id, order_id=1, lines=[(rose.id, D(2))], actor_id=None)
    stock.consume(shop_id=shop.id, order_id=1, actor_id=None)
    db.session.commit()
    assert cost_of(manager, product)["components"][0]["cost"] == "180.00"

    # A cheaper delivery that expires sooner is used first.
    supply(shop, (rose, 6, "40.00"), received_on=today - timedelta(days=1))
    second = cost_of(manager, product)
    assert second["components"][0]["cost"] == "120.00"
    assert second["cost"] == "300.00"


def test_reserved_stock_limits_how_many_can_be_made(manager, shop, bouquet):
    product, rose, eucalyptus = bouquet
    supply(shop, (rose, 9, "50.00"), (eucalyptus, "1", "900.00"))
    stock.reserve(shop_id=shop.id, order_id=5, lines=[(rose.id, D(4))], actor_id=None)
    db.session.commit()
    assert cost_of(manager, product)["can_make"] == 1  # 5 roses available


def test_missing_stock_is_priced_at_the_latest_cost_and_can_make_is_zero(manager, shop, bouquet):
    product, rose, eucalyptus = bouquet
    supply(shop, (rose, 1, "50.00"), (eucalyptus, "0.2", "1000.00"))
    cost = cost_of(manager, product)
    roses = cost["components"][0]
    assert (roses["missing"], roses["cost"], roses["available"]) == ("2.000", "150.00", "1.000")
    assert cost["can_make"] == 0


def test_a_product_without_recipe_or_price(manager, shop):
    product = catalogue.create_product(shop_id=shop.id, actor_id=None, data={"name": "Gift card", "price": D(0)})
    cost = cost_of(manager, product)
    assert (cost["cost"], cost["margin"], cost["margin_percent"], cost["can_make"]) == ("0.00", "0.00", None, None)
