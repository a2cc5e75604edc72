"""Categories, products and recipes as a manager keeps them and a florist reads them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.extensions import db
from tests.warehouse.stockdata import make_item

API = "/api/v1"


@pytest.fixture
def manager(as_role):
    return as_role("manager")


@pytest.fixture
def florist(as_role):
    return as_role("florist")


def new_product(client, **fields) -> dict:
    response = client.post(f"{API}/products", json={"name": "Spring bouquet", "price": "2500", **fields})
    assert response.status_code == 201, response.json
    return response.json


def test_manager_builds_the_catalogue_and_a_florist_reads_it(manager, florist):
    category = manager.post(f"{API}/categories", json={"name": "Bouquets", "position": 1})
    assert category.status_code == 201
    product = new_product(
        manager, category_id=category.json["id"], description="Tulips and eucalyptus", needs_assembly=True
    )
    assert (product["price"], product["is_active"], product["image_url"]) == ("2500.00", True, None)

    assert florist.get(f"{API}/categories").json[0]["name"] == "Bouquets"
    assert florist.get(f"{API}/products/{product['id']}").json == product
    assert florist.post(f"{API}/products", json={"name": "Mine", "price": "1"}).status_code == 403
    assert manager.post(f"{API}/categories", json={"name": "Bouquets"}).status_code == 409
    created = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "product")).one()
    assert created.changes["price"] == [None, "2500.00"]


def test_a_product_cannot_go_into_another_shops_category(manager, as_role, other_shop):
    theirs = as_role("manager", shop=other_shop).post(f"{API}/categories", json={"name": "Theirs"}).json
    response = manager.post(f"{API}/products", json={"name": "X", "price": "1", "category_id": theirs["id"]})
    assert response.status_code == 422
    assert "category_id" in response.json["errors"]


@pytest.mark.parametrize("price", ["-1", "12.345", "abc", 1e12])
def test_prices_are_money(manager, price):
    response = manager.post(f"{API}/products", json={"name": "X", "price": price})
    assert response.status_code == 422
    assert "price" in response.json["errors"]["json"]


def test_products_list_filters_and_search(manager, florist):
    bouquets = manager.post(f"{API}/categories", json={"name": "Bouquets"}).json["id"]
    new_product(manager, name="Spring tulips", category_id=bouquets)
    new_product(manager, name="Red roses", category_id=bouquets, is_active=False)
    new_product(manager, name="Vase", description="Glass, for tulips", needs_assembly=False)

    def names(query):
        response = florist.get(f"{API}/products?{query}")
        assert response.status_code == 200
        return [p["name"] for p in response.json]

    assert names(f"category_id={bouquets}") == ["Red roses", "Spring tulips"]
    assert names("active=true") == ["Spring tulips", "Vase"]
    assert names("q=TULIP") == ["Spring tulips", "Vase"]
    assert names("q=_") == []


def test_patch_with_a_stale_etag_is_412_and_with_the_current_one_succeeds(manager):
    product = new_product(manager)
    etag = manager.get(f"{API}/products/{product['id']}").headers["ETag"]

    first = manager.patch(f"{API}/products/{product['id']}", json={"price": "2700"}, headers={"If-Match": etag})
    assert first.status_code == 200 and first.json["price"] == "2700.00"
    assert first.headers["ETag"] != etag

    stale = manager.patch(f"{API}/products/{product['id']}", json={"price": "2600"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert manager.get(f"{API}/products/{product['id']}").json["price"] == "2700.00"

    without = manager.patch(f"{API}/products/{product['id']}", json={"name": "Summer bouquet"})
    assert without.status_code == 200  # If-Match is optional


def test_delete_takes_a_product_out_of_the_catalogue(manager):
    product = new_product(manager)
    assert manager.delete(f"{API}/products/{product['id']}").status_code == 204
    assert manager.get(f"{API}/products/{product['id']}").status_code == 404
    assert manager.get(f"{API}/products").json == []
    assert manager.delete(f"{API}/products/{product['id']}").status_code == 404


# --- recipes ---------------------------------------------------------------------------------


def test_recipe_put_replaces_components_and_get_reads_them(manager, florist, shop):
    product = new_product(manager)
    tulip, fern, ribbon = make_item(shop, "Tulip"), make_item(shop, "Fern"), make_item(shop, "Ribbon", unit="m")
    url = f"{API}/products/{product['id']}/recipe"

    first = manager.put(
        url,
        json={"components": [{"item_id": tulip.id, "quantity": "15"}, {"item_id": fern.id, "quantity": "3"}]},
    )
    assert first.status_code == 200, first.json
    # Same item with a new quantity, one removed, one added, in one go.
    second = manager.put(
        url,
        json={"components": [{"item_id": tulip.id, "quantity": "11"}, {"item_id": ribbon.id, "quantity": "0.5"}]},
    )
    assert second.status_code == 200
    recipe = florist.get(url).json
    assert recipe == {
        "product_id": product["id"],
        "components": [
            {"item_id": tulip.id, "item_name": "Tulip", "unit": "stem", "quantity": "11.000"},
            {"item_id": ribbon.id, "item_name": "Ribbon", "unit": "m", "quantity": "0.500"},
        ],
    }
    assert manager.put(url, json={"components": []}).json["components"] == []


@pytest.mark.parametrize("problem", ["other shop", "twice", "zero", "retired", "unknown"])
def test_recipe_rejects_bad_components(manager, shop, other_shop, problem):
    product = new_product(manager)
    tulip = make_item(shop, "Tulip")
    component = {"item_id": tulip.id, "quantity": "1"}
    components = {
        "other shop": [component, {"item_id": make_item(other_shop, "Their tulip").id, "quantity": "1"}],
        "twice": [component, component],
        "zero": [{**component, "quantity": "0"}],
        "retired": [{"item_id": make_item(shop, "Old", is_active=False).id, "quantity": "1"}],
        "unknown": [{"item_id": 2**31 - 1, "quantity": "1"}],
    }[problem]
    response = manager.put(f"{API}/products/{product['id']}/recipe", json={"components": components})
    assert response.status_code == 422
    assert "components" in str(response.json["errors"])
    assert manager.get(f"{API}/products/{product['id']}/recipe").json["components"] == []


def test_a_product_cannot_be_moved_into_another_shops_category(manager, as_role, other_shop):
    theirs = as_role("manager", shop=other_shop).post(f"{API}/categories", json={"name": "Theirs"}).json
    product = new_product(manager)
    response = manager.patch(f"{API}/products/{product['id']}", json={"category_id": theirs["id"]})
    assert response.status_code == 422
    assert manager.get(f"{API}/products/{product['id']}").json["category_id"] is None
