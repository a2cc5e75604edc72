"""The demo shop's catalogue: categories and bouquets with recipes from the demo stock."""

from __future__ import annotations

from decimal import Decimal

from app.catalogue import services

DEMO_CATEGORIES = ["Bouquets", "Boxes and baskets", "By the stem", "Gifts"]

# name, category, price, needs assembly, description, [(item, quantity per product)]
DEMO_PRODUCTS = [
    (
        "15 red roses",
        "Bouquets",
        "2900",
        True,
        "A classic: fifteen Freedom roses with eucalyptus, in kraft paper.",
        [("Red rose Freedom", "15"), ("Eucalyptus Cinerea", "0.1"), ("Kraft paper", "2"), ("Satin ribbon", "1")],
    ),
    (
        "Spring tulips",
        "Bouquets",
        "2400",
        True,
        "Twenty-five white tulips with pistachio leaves.",
        [("White tulip", "25"), ("Pistachio leaf", "5"), ("Kraft paper", "2"), ("Satin ribbon", "1")],
    ),
    (
        "Peony cloud",
        "Bouquets",
        "4900",
        True,
        "Nine Sarah Bernhardt peonies in a cloud of gypsophila.",
        [
            ("Pink peony Sarah Bernhardt", "9"),
            ("Gypsophila", "3"),
            ("Kraft paper", "2"),
            ("Satin ribbon", "1.5"),
        ],
    ),
    (
        "Pastel mix",
        "Bouquets",
        "3600",
        True,
        "White roses, peonies and alstroemeria in soft tones.",
        [
            ("White rose Avalanche", "5"),
            ("Pink peony Sarah Bernhardt", "3"),
            ("Alstroemeria", "5"),
            ("Spray chrysanthemum", "2"),
            ("Eucalyptus Cinerea", "0.15"),
            ("Kraft paper", "2"),
            ("Satin ribbon", "1"),
        ],
    ),
    (
        "Hatbox of white roses",
        "Boxes and baskets",
        "5900",
        True,
        "Twenty-one Avalanche roses in a round hatbox.",
        [("White rose Avalanche", "21"), ("Gypsophila", "2"), ("Hatbox, round", "1")],
    ),
    (
        "Red rose, by the stem",
        "By the stem",
        "190",
        False,
        "One Freedom rose, wrapped at the counter.",
        [("Red rose Freedom", "1")],
    ),
    ("Gift card 3000", "Gifts", "3000", False, "A gift card for any bouquet.", []),
]


def seed_catalogue(state: dict) -> None:
    """Categories and products whose recipes draw on the items `seed_stock` created."""
    shop, actor_id, items = state["shop"], state["owner"].id, state["items"]
    categories = {
        name: services.create_category(shop_id=shop.id, actor_id=actor_id, name=name, position=i, commit=False)
        for i, name in enumerate(DEMO_CATEGORIES)
    }
    for name, category, price, needs_assembly, description, recipe in DEMO_PRODUCTS:
        product = services.create_product(
            shop_id=shop.id,
            actor_id=actor_id,
            data={
                "name": name,
                "category_id": categories[category].id,
                "price": Decimal(price),
                "needs_assembly": needs_assembly,
                "description": description,
            },
            commit=False,
        )
        if recipe:
            services.set_recipe(
                shop_id=shop.id,
                product_id=product.id,
                actor_id=actor_id,
                components=[{"item_id": items[item].id, "quantity": Decimal(qty)} for item, qty in recipe],
                commit=False,
            )
