"""GET /categories and GET /products cost the same SQL for a page of 5 as for a page of 50."""

from __future__ import annotations

import pytest

from app.catalogue import services as catalogue
from app.extensions import db
from tests.warehouse.stockdata import D, make_item

ROWS = 60


@pytest.fixture
def manager(as_role):
    return as_role("manager")


@pytest.fixture
def full_catalogue(shop):
    """60 categories and 60 products, each in a category, with an image and a recipe (nested data to trip on)."""
    categories = [
        catalogue.create_category(shop_id=shop.id, actor_id=None, name=f"Category {n:02}", position=n)
        for n in range(ROWS)
    ]
    rose = make_item(shop, "Red rose")
    for n in range(ROWS):
        product = catalogue.create_product(
            shop_id=shop.id,
            actor_id=None,
            data={"name": f"Bouquet {n:02}", "price": D("1000") + n, "category_id": categories[n].id},
        )
        product.image_key = f"shops/{shop.id}/products/{product.id}/image-{n}.jpg"
        catalogue.set_recipe(
            shop_id=shop.id, product_id=product.id, actor_id=None, components=[{"item_id": rose.id, "quantity": D(3)}]
        )
    db.session.flush()


def statements_for(client, count_queries, path: str, page_size: int) -> tuple[list[str], list[dict]]:
    # A fresh session: rows the test made must not hide a lazy load behind the identity map.
    db.session.expunge_all()
    separator = "&" if "?" in path else "?"
    with count_queries() as statements:
        response = client.get(f"{path}{separator}page_size={page_size}")
    assert response.status_code == 200, response.json
    return statements, response.json


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/categories",
        "/api/v1/products",
        "/api/v1/products?active=true&q=Bouquet",
    ],
)
def test_a_list_runs_the_same_statements_for_5_and_50_rows(manager, full_catalogue, count_queries, path):
    small, five = statements_for(manager, count_queries, path, 5)
    large, fifty = statements_for(manager, count_queries, path, 50)

    assert (len(five), len(fifty)) == (5, 50)
    assert len(large) == len(small), large


def test_a_product_page_carries_its_category_and_image(manager, full_catalogue, count_queries):
    _, products = statements_for(manager, count_queries, "/api/v1/products", 50)
    categories = {c["id"]: c["name"] for c in manager.get("/api/v1/categories?page_size=100").json}
    for product in products:
        n = int(product["name"].removeprefix("Bouquet "))
        assert categories[product["category_id"]] == f"Category {n:02}"
        assert product["image_url"].endswith(f"/image-{n}.jpg")
