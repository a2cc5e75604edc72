"""`flask seed-demo` fills a realistic catalogue and stock."""

from __future__ import annotations

from sqlalchemy import select

from app.catalogue import services as catalogue
from app.catalogue.models import Product
from app.extensions import db
from app.seed import seed_demo
from app.shops.models import Shop
from app.warehouse import services as warehouse
from app.warehouse.models import Batch, Item
from tests.warehouse.stockdata import movement_sums_by_item


def test_the_demo_shop_has_bouquets_with_recipes_and_stock_of_different_ages():
    seed_demo()
    shop = db.session.scalars(select(Shop).where(Shop.name == "Demo Flowers")).one()
    today = warehouse.shop_today(shop.id)

    products = db.session.scalars(select(Product).where(Product.shop_id == shop.id)).all()
    with_recipes = [p for p in products if p.components]
    assert len(with_recipes) >= 5
    for product in with_recipes:
        cost = catalogue.product_cost(shop_id=shop.id, product_id=product.id)
        assert 0 < cost.cost < product.price  # every bouquet sells at a profit from the demo stock
        assert cost.can_make >= 1

    batches = db.session.scalars(select(Batch).where(Batch.shop_id == shop.id)).all()
    assert len({b.received_on for b in batches}) >= 3
    assert any(b.expires_on and b.expires_on <= today and b.remaining > 0 for b in batches)  # for write-off

    sums = movement_sums_by_item(shop.id)
    for item in db.session.scalars(select(Item).where(Item.shop_id == shop.id)):
        assert (item.on_hand, item.reserved) == sums[item.id]
