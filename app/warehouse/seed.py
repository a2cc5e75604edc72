"""The demo shop's stock: flowers, greenery and packaging, in batches of different ages."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from app.warehouse import services

# name, kind, unit, minimum level, shelf life in days (None: does not perish)
DEMO_ITEMS = [
    ("Red rose Freedom", "flower", "stem", "40", 7),
    ("White rose Avalanche", "flower", "stem", "30", 7),
    ("Pink peony Sarah Bernhardt", "flower", "stem", "15", 5),
    ("White tulip", "flower", "stem", "50", 6),
    ("Spray chrysanthemum", "flower", "stem", "10", 14),
    ("Alstroemeria", "flower", "stem", "20", 10),
    ("Gypsophila", "flower", "stem", "10", 10),
    ("Eucalyptus Cinerea", "greenery", "kg", "1", 14),
    ("Pistachio leaf", "greenery", "stem", "20", 10),
    ("Kraft paper", "packaging", "sheet", "50", None),
    ("Satin ribbon", "packaging", "m", "20", None),
    ("Hatbox, round", "packaging", "pcs", "5", None),
]

# days ago, supplier, [(item, quantity, unit cost)]: older deliveries cost differently and expire first
DEMO_SUPPLIES = [
    (
        9,
        "Holland Flowers Direct",
        [("Red rose Freedom", "20", "68.00"), ("White tulip", "30", "41.00")],  # past their shelf life now
    ),
    (
        5,
        "Holland Flowers Direct",
        [
            ("Red rose Freedom", "100", "72.00"),
            ("White rose Avalanche", "60", "75.00"),
            ("Spray chrysanthemum", "30", "95.00"),
            ("Kraft paper", "200", "12.50"),
            ("Satin ribbon", "150", "9.00"),
            ("Hatbox, round", "20", "350.00"),
        ],
    ),
    (
        2,
        "Ecuador Roses Co",
        [
            ("Red rose Freedom", "80", "85.00"),
            ("Pink peony Sarah Bernhardt", "45", "240.00"),
            ("Alstroemeria", "50", "55.00"),
            ("Gypsophila", "25", "80.00"),
        ],
    ),
    (
        0,
        "Local Greens",
        [
            ("White tulip", "120", "45.00"),
            ("Eucalyptus Cinerea", "3.5", "880.00"),
            ("Pistachio leaf", "60", "30.00"),
            ("White rose Avalanche", "40", "79.00"),
        ],
    ),
]


def seed_stock(state: dict) -> None:
    """Items, four deliveries over nine days (one already expired) and a wilted write-off."""
    shop, actor_id = state["shop"], state["owner"].id
    items = {}
    for name, kind, unit, min_level, shelf_life in DEMO_ITEMS:
        items[name] = services.create_item(
            shop_id=shop.id,
            actor_id=actor_id,
            data={
                "name": name,
                "kind": kind,
                "unit": unit,
                "min_level": Decimal(min_level),
                "shelf_life_days": shelf_life,
            },
            commit=False,
        )
    today = services.shop_today(shop.id)
    for days_ago, supplier, lines in DEMO_SUPPLIES:
        services.create_supply(
            shop_id=shop.id,
            actor_id=actor_id,
            supplier=supplier,
            received_on=today - timedelta(days=days_ago),
            lines=[
                {"item_id": items[name].id, "quantity": Decimal(qty), "unit_cost": Decimal(cost)}
                for name, qty, cost in lines
            ],
            commit=False,
        )
    services.create_write_off(
        shop_id=shop.id,
        actor_id=actor_id,
        reason="wilted",
        note="Left out of the cooler overnight",
        lines=[{"item_id": items["White tulip"].id, "quantity": Decimal("12"), "batch_id": None}],
        commit=False,
    )
    state["items"] = items
