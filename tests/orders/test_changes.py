"""GET and PATCH /orders/{id}: ETags, If-Match, what a change moves (stock, window, promo), and the history."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.catalogue import services as catalogue
from app.extensions import db
from app.orders.models import Order
from app.warehouse.models import Reservation
from tests.orders.orderdata import EVENING, MORNING, delivery, open_shop, pickup, place, shop_of, stock_of, taken
from tests.promos.promodata import make_code
from tests.warehouse.stockdata import D

ORDERS = "/api/v1/orders"


def read(client, order_id: int):
    response = client.get(f"{ORDERS}/{order_id}")
    assert response.status_code == 200
    return response


def patch(client, order_id: int, body: dict, *, etag: str | None = "read"):
    if etag == "read":
        etag = read(client, order_id).headers["ETag"]
    headers = {} if etag is None else {"If-Match": etag}
    return client.patch(f"{ORDERS}/{order_id}", json=body, headers=headers)


def reserved_for(order_id: int) -> dict[int, D]:
    rows = db.session.scalars(
        select(Reservation)
        .where(Reservation.order_id == order_id, Reservation.state == "active")
        .execution_options(populate_existing=True)
    )
    return {r.item_id: r.quantity for r in rows}


def confirm(client, order_id: int):
    response = client.post(f"{ORDERS}/{order_id}/status", json={"status": "confirmed"})
    assert response.status_code == 200, response.json
    return response


# --- reading ---------------------------------------------------------------------------------


def test_one_order_with_lines_payments_and_an_etag_that_moves_with_each_change(front, boss):
    order = place(front, delivery(front))
    first = read(boss, order.id)

    boss.post(f"{ORDERS}/{order.id}/payments", json={"amount": "1000.00", "method": "card"})
    second = read(boss, order.id)

    assert first.json["payments"] == [] and first.json["items"][0]["product_name"] == "Bouquet of roses"
    assert [p["amount"] for p in second.json["payments"]] == ["1000.00"]
    assert (second.json["amount_due"], second.json["payment_status"]) == ("2200.00", "partly_paid")
    assert first.headers["ETag"] != second.headers["ETag"]
    assert read(boss, order.id).headers["ETag"] == second.headers["ETag"]  # reading changes nothing


def test_an_unknown_or_another_shops_order_is_404(front, boss, other_shop):
    other = open_shop(other_shop, prefix="Their ")
    theirs = place(other, pickup(other))

    for order_id in (theirs.id, 999999):
        response = boss.get(f"{ORDERS}/{order_id}")
        assert response.status_code == 404
        assert "Their" not in response.get_data(as_text=True)


# --- If-Match --------------------------------------------------------------------------------


def test_patch_without_if_match_is_428_and_with_a_stale_one_412(front, boss):
    order = place(front, delivery(front))
    stale = read(boss, order.id).headers["ETag"]
    assert patch(boss, order.id, {"comment": "first"}).status_code == 200

    missing = patch(boss, order.id, {"comment": "second"}, etag=None)
    late = patch(boss, order.id, {"comment": "second"}, etag=stale)

    assert missing.status_code == 428
    assert missing.json["errors"] == {"headers": {"If-Match": ["Required."]}}
    assert late.status_code == 412
    assert read(boss, order.id).json["comment"] == "first"


def test_a_patch_answers_the_new_version_and_writes_the_audit_log_without_personal_data(front, boss):
    order = place(front, delivery(front))

    response = patch(
        boss,
        order.id,
        {"recipient_name": "Anna", "recipient_phone": "8 916 000-11-22", "card_text": "Love", "address": "Tverskaya 3"},
    )

    assert response.status_code == 200
    assert (response.json["recipient_name"], response.json["recipient_phone"]) == ("Anna", "+79160001122")
    assert (response.json["card_text"], response.json["address"]) == ("Love", "Tverskaya 3")
    assert response.headers["ETag"] == read(boss, order.id).headers["ETag"]
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "order", AuditEntry.action == "update")
    ).one()
    assert set(entry.changes) == {"recipient_name", "recipient_phone", "card_text", "address"}
    assert "Anna" not in str(entry.changes) and "Tverskaya" not in str(entry.changes)


@pytest.mark.parametrize("status", ["ready", "in_production", "cancelled", "delivered"])
def test_only_new_and_confirmed_orders_change(front, boss, status):
    order = place(front, delivery(front), status=status)

    response = patch(boss, order.id, {"comment": "too late"})

    assert response.status_code == 409
    assert response.json["errors"] == {"status": [f"The order is {status}; only new and confirmed orders change."]}


def test_a_pickup_has_no_address_and_no_window(front, boss):
    order = place(front, pickup(front))

    assert patch(boss, order.id, {"address": "Arbat 1"}).json["errors"] == {"address": ["Only for delivery."]}
    assert patch(boss, order.id, {"window_start": MORNING}).json["errors"] == {"window_start": ["Only for delivery."]}
    moved = patch(boss, order.id, {"pickup_time": "16:30"})
    assert (moved.status_code, moved.json["pickup_time"]) == (200, "16:30")


# --- the window ------------------------------------------------------------------------------


def test_moving_the_window_frees_the_old_one_takes_the_new_one_and_its_fee(front, boss):
    order = place(front, delivery(front))
    assert taken(front.shop_id, front.day, MORNING) == 1

    response = patch(boss, order.id, {"window_start": EVENING})

    assert response.status_code == 200
    assert (response.json["window_start"], response.json["window_end"]) == (EVENING, "18:00")
    assert (response.json["delivery_fee"], response.json["total"]) == ("450.00", "3350.00")
    assert (taken(front.shop_id, front.day, MORNING), taken(front.shop_id, front.day, EVENING)) == (0, 1)


def test_moving_into_a_full_window_is_409_and_the_order_keeps_its_own(shop, boss):
    front = open_shop(shop, capacity=1)
    mine = place(front, delivery(front))
    place(front, delivery(front, window_start=EVENING))  # the evening is now full

    response = patch(boss, mine.id, {"window_start": EVENING, "comment": "moved"})

    assert response.status_code == 409
    assert response.json["errors"]["reason"] == "full"
    body = read(boss, mine.id).json
    assert (body["window_start"], body["comment"]) == (MORNING, "Call before")
    assert (taken(front.shop_id, front.day, MORNING), taken(front.shop_id, front.day, EVENING)) == (1, 1)


# --- the lines -------------------------------------------------------------------------------


def test_new_lines_take_todays_price_and_lines_kept_keep_theirs(front, boss):
    order = place(front, delivery(front))  # one bouquet at 2900.00
    catalogue.update_product(shop_id=front.shop_id, product_id=front.bouquet.id, actor_id=None, data={"price": D(3500)})

    response = patch(
        boss,
        order.id,
        {"items": [{"product_id": front.bouquet.id, "quantity": 2}, {"product_id": front.stem.id, "quantity": 1}]},
    )

    assert response.status_code == 200
    assert [(i["product_id"], i["unit_price"], i["line_total"]) for i in response.json["items"]] == [
        (front.bouquet.id, "2900.00", "5800.00"),
        (front.stem.id, "190.00", "190.00"),
    ]
    assert (response.json["subtotal"], response.json["total"]) == ("5990.00", "6290.00")


def test_changing_a_confirmed_orders_lines_re_reserves_the_stock(front, boss):
    order = place(front, delivery(front))
    confirm(boss, order.id)
    assert reserved_for(order.id) == {front.rose.id: D(5), front.fern.id: D(1)}

    response = patch(boss, order.id, {"items": [{"product_id": front.stem.id, "quantity": 3}]})

    assert response.status_code == 200
    assert reserved_for(order.id) == {front.rose.id: D(3)}
    assert stock_of(front.rose) == (D(100), D(3))
    assert stock_of(front.fern) == (D(20), D(0))


def test_a_confirmed_order_whose_new_lines_lack_stock_changes_nothing(shop, boss):
    front = open_shop(shop, roses=12)
    order = place(front, delivery(front))
    confirm(boss, order.id)  # 5 of 12 roses reserved

    response = patch(
        boss, order.id, {"items": [{"product_id": front.bouquet.id, "quantity": 3}], "card_text": "changed"}
    )

    assert response.status_code == 409
    # What is needed against what is available once the order's own reservation is given back.
    assert response.json["errors"]["shortages"] == [
        {"item_id": front.rose.id, "name": "Red rose", "needed": "15.000", "available": "12.000"}
    ]
    assert reserved_for(order.id) == {front.rose.id: D(5), front.fern.id: D(1)}
    assert stock_of(front.rose) == (D(12), D(5))
    body = read(boss, order.id).json
    assert ([i["quantity"] for i in body["items"]], body["card_text"]) == ([1], "Happy birthday, Ira!")


def test_new_lines_recompute_the_promo_discount_and_respect_its_minimum(front, boss):
    make_code(shop_of(front), code="TEN", kind="percent", value="10", min_order_total=D("2000"))
    order = place(front, delivery(front, promo_code="TEN"))  # 10 % of 2900.00

    more = patch(boss, order.id, {"items": [{"product_id": front.bouquet.id, "quantity": 2}]})
    less = patch(boss, order.id, {"items": [{"product_id": front.stem.id, "quantity": 1}]})

    assert (more.json["discount"], more.json["total"]) == ("580.00", "5520.00")
    assert less.status_code == 422
    assert less.json["errors"] == {"items": ["The promo code TEN needs a subtotal of at least 2000.00."]}


# --- history ---------------------------------------------------------------------------------


def test_the_history_lists_every_status_change_with_who_and_why(front, boss):
    order = place(front, pickup(front))
    confirm(boss, order.id)
    boss.post(f"{ORDERS}/{order.id}/status", json={"status": "cancelled", "comment": "Customer changed their mind"})

    response = boss.get(f"{ORDERS}/{order.id}/history")

    assert response.status_code == 200
    rows = [(r["from_status"], r["to_status"], r["comment"]) for r in response.json]
    assert rows == [
        (None, "new", ""),
        ("new", "confirmed", ""),
        ("confirmed", "cancelled", "Customer changed their mind"),
    ]
    assert [r["actor"] for r in response.json][1:] == [{"id": boss.user.id, "name": boss.user.name}] * 2
    assert db.session.get(Order, order.id).status == "cancelled"


def test_one_patch_can_move_the_window_and_change_the_lines_with_totals_that_add_up(front, boss):
    make_code(shop_of(front), code="FIVE", kind="percent", value="5")
    order = place(front, delivery(front, promo_code="FIVE"))

    response = patch(
        boss, order.id, {"window_start": EVENING, "items": [{"product_id": front.bouquet.id, "quantity": 3}]}
    )

    assert response.status_code == 200, response.json
    body = response.json
    assert (body["subtotal"], body["discount"], body["delivery_fee"], body["total"]) == (
        "8700.00",
        "435.00",
        "450.00",
        "8715.00",
    )
