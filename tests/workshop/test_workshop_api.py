"""Workshop capacity: each day has so many florist minutes; intake, confirm and moves hold them, a manager may
override (audited), /delivery-slots shows what is left."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.extensions import db
from app.orders import services as orders
from app.orders.models import Order
from app.orders.schemas import OrderCreateSchema
from tests.orders.orderdata import MORNING, count_orders, delivery, pickup, taken
from tests.warehouse.stockdata import staff_client
from tests.workshop.workshopdata import BOUQUET_MINUTES, held, limited_shop, set_daily_minutes

ORDERS = "/api/v1/orders"
SLOTS = "/api/v1/delivery-slots"
OVERRIDES = "/api/v1/delivery-window-overrides"


@pytest.fixture
def boss(app, shop):
    client = staff_client(app, shop, "manager")
    db.session.commit()
    return client


def bouquets(front, quantity: int = 1, **fields) -> dict:
    return delivery(front, items=[{"product_id": front.bouquet.id, "quantity": quantity}], **fields)


def test_intake_holds_the_minutes_and_refuses_with_what_is_left_when_the_day_is_spent(shop, boss):
    front = limited_shop(shop, 25, capacity=20)

    boss.user.language = "en"
    db.session.commit()
    first = boss.post(ORDERS, json=bouquets(front))
    refused = boss.post(ORDERS, json=bouquets(front, 2))
    boss.user.language = "ru"
    db.session.commit()
    in_russian = boss.post(ORDERS, json=bouquets(front, 2))

    assert first.status_code == 201, first.json
    assert refused.status_code == 409
    assert refused.json["errors"] == {
        "workshop": {
            "date": front.day.isoformat(),
            "minutes_left": 25 - BOUQUET_MINUTES,
            "minutes_needed": 2 * BOUQUET_MINUTES,
            "minutes_per_day": 25,
        }
    }
    assert refused.json["message"] == (
        f"The florists have 14 minutes left on {front.day.isoformat()}; this order needs 22."
    )
    assert in_russian.json["message"].startswith("У флористов осталось 14 мин.")
    # Nothing of the refused order stays: no order, its window place given back, the minutes as they were.
    assert count_orders(front.shop_id) == 1
    assert taken(front.shop_id, front.day, MORNING) == 1
    assert held(front.shop_id, front.day) == BOUQUET_MINUTES


def test_what_needs_no_florist_still_goes_on_a_spent_day(shop, boss):
    front = limited_shop(shop, BOUQUET_MINUTES, capacity=20)
    assert boss.post(ORDERS, json=bouquets(front)).status_code == 201

    stems = boss.post(ORDERS, json=pickup(front))  # roses off the shelf: no assembly, 0 minutes

    assert stems.status_code == 201, stems.json
    assert boss.post(ORDERS, json=bouquets(front)).status_code == 409
    assert held(front.shop_id, front.day) == BOUQUET_MINUTES


def test_a_product_s_own_minutes_replace_the_recipe_s_and_are_validated(shop, boss):
    front = limited_shop(shop, 100, capacity=20)
    url = f"/api/v1/products/{front.bouquet.id}"
    assert boss.get(url).json["florist_minutes"] is None

    negative = boss.patch(url, json={"florist_minutes": -1})
    changed = boss.patch(url, json={"florist_minutes": 40})

    assert negative.status_code == 422
    assert "florist_minutes" in negative.json["errors"]["json"]
    assert changed.status_code == 200 and changed.json["florist_minutes"] == 40
    assert boss.post(ORDERS, json=bouquets(front, 2)).status_code == 201
    assert held(front.shop_id, front.day) == 80
    refused = boss.post(ORDERS, json=bouquets(front))
    assert refused.json["errors"]["workshop"]["minutes_needed"] == 40
    made = boss.post("/api/v1/products", json={"name": "Big basket", "price": "9000.00", "florist_minutes": 90})
    assert made.status_code == 201 and made.json["florist_minutes"] == 90


def test_the_shop_setting_is_validated_and_unset_means_unlimited(app, shop):
    admin = staff_client(app, shop, "admin")
    front = limited_shop(shop, None, capacity=20)

    negative = admin.patch(f"/api/v1/shops/{shop.id}", json={"settings": {"workshop_minutes_per_day": -5}})
    assert negative.status_code == 422
    for _ in range(3):
        assert admin.post(ORDERS, json=bouquets(front, 5)).status_code == 201
    assert held(front.shop_id, front.day) == 15 * BOUQUET_MINUTES  # counted all the same

    limited = admin.patch(f"/api/v1/shops/{shop.id}", json={"settings": {"workshop_minutes_per_day": 200}})
    assert limited.status_code == 200 and limited.json["settings"]["workshop_minutes_per_day"] == 200
    assert admin.post(ORDERS, json=bouquets(front, 5)).json["errors"]["workshop"]["minutes_left"] == 35


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_a_manager_or_admin_may_override_and_it_is_audited(app, shop, role):
    front = limited_shop(shop, BOUQUET_MINUTES, capacity=20)
    client = staff_client(app, shop, role)
    db.session.commit()
    assert client.post(ORDERS, json=bouquets(front)).status_code == 201

    forced = client.post(ORDERS, json=bouquets(front, override_workshop=True))

    assert forced.status_code == 201, forced.json
    assert held(front.shop_id, front.day) == 2 * BOUQUET_MINUTES
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "workshop_override")).all()
    assert (entry.shop_id, entry.actor_id, entry.entity_type, entry.entity_id) == (
        front.shop_id,
        client.user.id,
        "order",
        str(forced.json["id"]),
    )
    assert entry.changes == {
        "workshop": {
            "date": front.day.isoformat(),
            "minutes_per_day": BOUQUET_MINUTES,
            "minutes_left": 0,
            "minutes_needed": BOUQUET_MINUTES,
        }
    }
    # An override that was not needed is not an override: nothing more in the audit log.
    set_daily_minutes(front.shop_id, 1000)
    assert client.post(ORDERS, json=bouquets(front, override_workshop=True)).status_code == 201
    assert len(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "workshop_override")).all()) == 1


@pytest.mark.parametrize("role", ["florist", "courier"])
def test_florists_and_couriers_cannot_override(app, shop, role):
    front = limited_shop(shop, 0, capacity=20)
    client = staff_client(app, shop, role)
    db.session.commit()

    response = client.post(ORDERS, json=bouquets(front, override_workshop=True))

    assert response.status_code == 403
    assert count_orders(front.shop_id) == 0 and held(front.shop_id, front.day) == 0


def test_a_date_override_sets_that_day_s_minutes(shop, boss):
    front = limited_shop(shop, BOUQUET_MINUTES, capacity=20)

    negative = boss.post(OVERRIDES, json={"date": front.day.isoformat(), "mode": "adjust", "workshop_minutes": -1})
    planned = boss.post(OVERRIDES, json={"date": front.day.isoformat(), "mode": "adjust", "workshop_minutes": 33})

    assert negative.status_code == 422
    assert planned.status_code == 201, planned.json
    assert planned.json["workshop_minutes"] == 33
    codes = [boss.post(ORDERS, json=bouquets(front)).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 409]
    lowered = boss.patch(
        f"{OVERRIDES}/{planned.json['id']}",
        json={"workshop_minutes": 40},
        headers={"If-Match": planned.headers["ETag"]},
    )
    assert lowered.status_code == 200 and lowered.json["workshop_minutes"] == 40
    refused = boss.post(ORDERS, json=bouquets(front))
    assert refused.json["errors"]["workshop"] == {
        "date": front.day.isoformat(),
        "minutes_left": 7,
        "minutes_needed": BOUQUET_MINUTES,
        "minutes_per_day": 40,
    }


def test_another_shops_orders_and_minutes_are_its_own(app, shop, other_shop, boss):
    front = limited_shop(shop, BOUQUET_MINUTES, capacity=20)
    theirs = limited_shop(other_shop, BOUQUET_MINUTES, capacity=20, prefix="B ")
    their_boss = staff_client(app, other_shop, "manager")
    db.session.commit()

    assert their_boss.post(ORDERS, json=bouquets(theirs)).status_code == 201
    assert boss.post(ORDERS, json=bouquets(front)).status_code == 201  # their spent day is not ours
    their_override = their_boss.post(
        OVERRIDES, json={"date": theirs.day.isoformat(), "mode": "adjust", "workshop_minutes": 500}
    )
    assert their_override.status_code == 201
    assert boss.post(ORDERS, json=bouquets(front)).status_code == 409  # nor is their override
    assert boss.get(f"{OVERRIDES}/{their_override.json['id']}").status_code == 404
    [ours] = boss.get(SLOTS, query_string={"date": front.day.isoformat()}).json[:1]
    assert (ours["workshop_minutes"], ours["workshop_minutes_left"]) == (BOUQUET_MINUTES, 0)


def test_confirm_takes_the_minutes_of_an_order_that_holds_none_and_cancel_gives_them_back(shop, boss):
    front = limited_shop(shop, BOUQUET_MINUTES, capacity=20)
    first = boss.post(ORDERS, json=bouquets(front)).json
    # A standing order's date on the spent day: made as new, holding no minutes (app/standing).
    waiting = orders.create_order(
        shop_id=front.shop_id, actor_id=None, data=OrderCreateSchema().load(bouquets(front)), workshop_lenient=True
    )
    assert waiting.workshop_minutes is None
    status = f"{ORDERS}/{waiting.id}/status"

    refused = boss.post(status, json={"status": "confirmed"})
    assert refused.status_code == 409
    assert refused.json["errors"]["workshop"]["minutes_left"] == 0
    assert db.session.get(Order, waiting.id).status == "new"

    # The first order confirms freely: it took its minutes at intake.
    assert boss.post(f"{ORDERS}/{first['id']}/status", json={"status": "confirmed"}).status_code == 200
    assert held(front.shop_id, front.day) == BOUQUET_MINUTES
    cancelled = boss.post(f"{ORDERS}/{first['id']}/status", json={"status": "cancelled", "comment": "Changed mind"})
    assert cancelled.status_code == 200
    assert held(front.shop_id, front.day) == 0

    confirmed = boss.post(status, json={"status": "confirmed"})
    assert confirmed.status_code == 200, confirmed.json
    assert held(front.shop_id, front.day) == BOUQUET_MINUTES
    assert db.session.get(Order, waiting.id).workshop_minutes == BOUQUET_MINUTES


def test_confirm_with_override_takes_them_over_the_limit(shop, boss):
    front = limited_shop(shop, BOUQUET_MINUTES, capacity=20)
    boss.post(ORDERS, json=bouquets(front))
    waiting = orders.create_order(
        shop_id=front.shop_id, actor_id=None, data=OrderCreateSchema().load(bouquets(front)), workshop_lenient=True
    )

    confirmed = boss.post(f"{ORDERS}/{waiting.id}/status", json={"status": "confirmed", "override_workshop": True})

    assert confirmed.status_code == 200, confirmed.json
    assert held(front.shop_id, front.day) == 2 * BOUQUET_MINUTES
    audited = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "workshop_override")).all()
    assert [e.entity_id for e in audited] == [str(waiting.id)]
    slots = boss.get(SLOTS, query_string={"date": front.day.isoformat()}).json
    assert {(w["workshop_minutes"], w["workshop_minutes_left"]) for w in slots} == {(BOUQUET_MINUTES, 0)}


def test_moving_an_order_or_growing_it_moves_its_minutes(shop, boss):
    front = limited_shop(shop, 2 * BOUQUET_MINUTES, capacity=20)
    made = boss.post(ORDERS, json=bouquets(front)).json
    url = f"{ORDERS}/{made['id']}"
    tag = boss.get(url).headers["ETag"]

    grown = boss.patch(
        url, json={"items": [{"product_id": front.bouquet.id, "quantity": 3}]}, headers={"If-Match": tag}
    )
    assert grown.status_code == 409
    assert grown.json["errors"]["workshop"]["minutes_needed"] == 3 * BOUQUET_MINUTES
    assert held(front.shop_id, front.day) == BOUQUET_MINUTES

    doubled = boss.patch(
        url, json={"items": [{"product_id": front.bouquet.id, "quantity": 2}]}, headers={"If-Match": tag}
    )
    assert doubled.status_code == 200, doubled.json
    assert held(front.shop_id, front.day) == 2 * BOUQUET_MINUTES

    next_day = front.day + timedelta(days=1)
    moved = boss.patch(url, json={"delivery_date": next_day.isoformat()}, headers={"If-Match": doubled.headers["ETag"]})
    assert moved.status_code == 200, moved.json
    assert held(front.shop_id, front.day) == 0
    assert held(front.shop_id, next_day) == 2 * BOUQUET_MINUTES


def test_delivery_slots_show_the_day_s_minutes_left_in_the_same_statements(shop, boss, count_queries):
    front = limited_shop(shop, None, capacity=20)
    query = {"date": front.day.isoformat()}
    with count_queries() as unlimited_statements:
        unlimited = boss.get(SLOTS, query_string=query).json
    assert {(w["workshop_minutes"], w["workshop_minutes_left"]) for w in unlimited} == {(None, None)}

    set_daily_minutes(front.shop_id, 100)
    boss.post(ORDERS, json=bouquets(front, 2))
    boss.post(OVERRIDES, json={"date": front.day.isoformat(), "mode": "adjust", "workshop_minutes": 60})
    with count_queries() as statements:
        limited = boss.get(SLOTS, query_string=query).json

    assert [(w["start"], w["workshop_minutes"], w["workshop_minutes_left"]) for w in limited] == [
        ("10:00", 60, 60 - 2 * BOUQUET_MINUTES),
        ("14:00", 60, 60 - 2 * BOUQUET_MINUTES),
    ]
    assert len(statements) == len(unlimited_statements)


def test_moving_onto_a_spent_day_needs_the_manager_s_override(shop, boss):
    front = limited_shop(shop, BOUQUET_MINUTES, capacity=20)
    next_day = front.day + timedelta(days=1)
    assert boss.post(ORDERS, json=bouquets(front, delivery_date=next_day.isoformat())).status_code == 201
    made = boss.post(ORDERS, json=bouquets(front)).json
    url = f"{ORDERS}/{made['id']}"
    tag = boss.get(url).headers["ETag"]

    refused = boss.patch(url, json={"delivery_date": next_day.isoformat()}, headers={"If-Match": tag})
    forced = boss.patch(
        url, json={"delivery_date": next_day.isoformat(), "override_workshop": True}, headers={"If-Match": tag}
    )

    assert refused.status_code == 409 and refused.json["errors"]["workshop"]["minutes_left"] == 0
    assert forced.status_code == 200, forced.json
    assert (held(front.shop_id, front.day), held(front.shop_id, next_day)) == (0, 2 * BOUQUET_MINUTES)
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "workshop_override")).all()
    assert entry.entity_id == str(made["id"]) and entry.changes["workshop"]["date"] == next_day.isoformat()
