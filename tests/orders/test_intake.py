"""POST /orders: what the server computes, what it takes (window, promo use), and what it refuses."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.catalogue import services as catalogue
from app.customers.models import Customer
from app.extensions import db
from app.orders.models import OrderNumberCounter
from tests.orders.orderdata import (
    EVENING,
    MORNING,
    count_orders,
    delivery,
    history_of,
    open_shop,
    pickup,
    shop_of,
    taken,
    uses,
)
from tests.promos.promodata import make_code
from tests.warehouse.stockdata import D

ORDERS = "/api/v1/orders"


def money(body: dict) -> dict[str, str]:
    return {k: body[k] for k in ("subtotal", "delivery_fee", "discount", "total", "amount_due", "paid_amount")}


# --- totals ----------------------------------------------------------------------------------


def test_prices_come_from_the_catalogue_and_the_fee_from_the_window(front, boss):
    body = delivery(
        front,
        window_start=EVENING,
        items=[
            {"product_id": front.bouquet.id, "quantity": 2, "unit_price": "1.00"},  # the client's price is ignored
            {"product_id": front.stem.id, "quantity": 3},
        ],
    )

    response = boss.post(ORDERS, json=body)

    assert response.status_code == 201, response.json
    order = response.json
    assert [(i["product_name"], i["unit_price"], i["quantity"], i["line_total"]) for i in order["items"]] == [
        ("Bouquet of roses", "2900.00", 2, "5800.00"),
        ("Rose by the stem", "190.00", 3, "570.00"),
    ]
    assert money(order) == {
        "subtotal": "6370.00",
        "delivery_fee": "450.00",  # the evening window's fee
        "discount": "0.00",
        "total": "6820.00",
        "amount_due": "6820.00",
        "paid_amount": "0.00",
    }
    assert (order["payment_status"], order["status"], order["window_end"]) == ("unpaid", "new", "18:00")
    assert order["scheduled_at"].startswith(f"{front.day.isoformat()}T11:00:00")  # 14:00 in Moscow is 11:00 UTC
    assert response.headers["ETag"]


def test_a_pickup_has_no_fee_no_address_and_keeps_its_time(front, boss):
    response = boss.post(ORDERS, json=pickup(front))

    assert response.status_code == 201, response.json
    order = response.json
    assert money(order)["delivery_fee"] == "0.00" and order["total"] == "380.00"
    assert (order["address"], order["pickup_time"], order["window_start"], order["window_end"]) == (
        None,
        "12:00",
        "12:00",
        None,
    )
    assert taken(front.shop_id, front.day, MORNING) == 0


@pytest.mark.parametrize(
    ("kind", "value", "discount", "total"),
    [
        ("percent", "10", "580.00", "5520.00"),  # 10% of the 5800.00 subtotal; the fee is not discounted
        ("percent", "100", "5800.00", "300.00"),
        ("fixed", "500", "500.00", "5600.00"),
        ("fixed", "9000", "5800.00", "300.00"),  # never more than the subtotal
    ],
)
def test_promo_codes_discount_the_subtotal(front, boss, kind, value, discount, total):
    promo = make_code(shop_of(front), code="SPRING", kind=kind, value=value)
    body = delivery(front, items=[{"product_id": front.bouquet.id, "quantity": 2}], promo_code="spring")

    response = boss.post(ORDERS, json=body)

    assert response.status_code == 201, response.json
    assert (response.json["discount"], response.json["total"], response.json["promo_code"]) == (
        discount,
        total,
        "SPRING",
    )
    assert uses(promo.id) == 1


def test_decimal_arithmetic_rounds_half_up_to_the_kopeck_once(front, boss):
    cheap = catalogue.create_product(
        shop_id=front.shop_id, actor_id=None, data={"name": "Ribbon", "price": D("33.33"), "needs_assembly": False}
    )
    make_code(shop_of(front), code="FIFTEEN", kind="percent", value="15")
    body = delivery(front, items=[{"product_id": cheap.id, "quantity": 3}], promo_code="FIFTEEN")

    response = boss.post(ORDERS, json=body)

    # 3 × 33.33 = 99.99 exactly; 15 % of it is 14.9985 → 15.00; 99.99 − 15.00 + 300.00
    assert money(response.json) == {
        "subtotal": "99.99",
        "delivery_fee": "300.00",
        "discount": "15.00",
        "total": "384.99",
        "amount_due": "384.99",
        "paid_amount": "0.00",
    }


@pytest.mark.parametrize(
    ("promo_fields", "reason"),
    [
        ({"min_order_total": D("3000")}, "below this promo code's minimum of 3000.00"),
        ({"max_uses": 0}, "used up"),
        ({"active": False}, "switched off"),
    ],
)
def test_a_promo_code_that_does_not_apply_refuses_the_order_and_takes_nothing(front, boss, promo_fields, reason):
    promo = make_code(shop_of(front), code="NOPE", kind="fixed", value="100", **promo_fields)

    response = boss.post(ORDERS, json=delivery(front, promo_code="NOPE"))  # subtotal 2900.00

    assert response.status_code == 422
    assert reason in response.json["errors"]["promo_code"][0]
    assert count_orders(front.shop_id) == 0
    assert taken(front.shop_id, front.day, MORNING) == 0  # the window's capacity was given back with the rollback
    assert uses(promo.id) == 0


def test_an_unknown_promo_code_is_422(front, boss):
    response = boss.post(ORDERS, json=delivery(front, promo_code="WHAT"))

    assert response.status_code == 422
    assert response.json["errors"] == {"promo_code": ["No such promo code."]}


# --- numbers, history, audit -----------------------------------------------------------------


def test_order_numbers_are_month_day_and_a_counter_per_shop(front, boss, other_shop, as_role):
    other = open_shop(other_shop, prefix="Their ")
    today = datetime.now(ZoneInfo("Europe/Moscow")).strftime("%m%d")

    numbers = [boss.post(ORDERS, json=pickup(front)).json["number"] for _ in range(3)]
    theirs = as_role("manager", shop=other_shop).post(ORDERS, json=pickup(other)).json["number"]

    assert numbers == [f"{today}-0001", f"{today}-0002", f"{today}-0003"]
    assert theirs == f"{today}-0001"


def test_the_day_counter_never_restarts_so_next_years_numbers_stay_unique(front, boss):
    today = datetime.now(ZoneInfo("Europe/Moscow")).strftime("%m%d")
    db.session.add(OrderNumberCounter(shop_id=front.shop_id, month_day=today, last_number=9999))  # last year's
    db.session.commit()

    number = boss.post(ORDERS, json=pickup(front)).json["number"]

    assert number == f"{today}-10000"
    assert re.fullmatch(r"\d{4}-\d{4,}", number)


def test_creating_writes_the_first_history_row_and_an_audit_entry_without_personal_data(front, boss):
    order = boss.post(ORDERS, json=delivery(front)).json

    assert history_of(order["id"]) == [(None, "new")]
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "order", AuditEntry.entity_id == str(order["id"]))
    ).one()
    assert entry.action == "create" and entry.actor_id == boss.user.id
    assert entry.changes["total"] == [None, "3200.00"]
    logged = str(entry.changes)
    for personal in ("Irina", "+7916", "Arbat", "birthday", "Olga"):
        assert personal not in logged


# --- customers -------------------------------------------------------------------------------


def test_a_known_phone_finds_the_customer_however_it_is_written(front, boss):
    first = boss.post(ORDERS, json=pickup(front)).json
    again = pickup(front, customer={"name": "Pasha", "phone": "8 (916) 333-44-55"})

    second = boss.post(ORDERS, json=again).json

    assert second["customer_id"] == first["customer_id"]
    assert second["customer"]["name"] == "Pavel Ivanov"  # an order does not rename the customer
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 1


def test_the_recipient_defaults_to_the_customer_and_phones_are_stored_in_e164(front, boss):
    order = boss.post(ORDERS, json=delivery(front, recipient_name="", recipient_phone="8 916 222-33-44")).json
    customer_only = delivery(front)
    del customer_only["recipient_name"], customer_only["recipient_phone"]

    defaulted = boss.post(ORDERS, json=customer_only).json

    assert order["recipient_phone"] == "+79162223344"
    assert (defaulted["recipient_name"], defaulted["recipient_phone"]) == ("Olga Petrova", "+79161112233")


def test_an_existing_customer_by_id_comes_with_the_shop_in_one_statement(front, boss, count_queries):
    customer_id = boss.post(ORDERS, json=pickup(front)).json["customer_id"]
    body = pickup(front, customer_id=customer_id)
    del body["customer"]

    with count_queries() as statements:
        assert boss.post(ORDERS, json=body).json["customer_id"] == customer_id

    reads = [s for s in statements if re.search(r"FROM (shops|customers)\b", s)]
    assert len(reads) == 1 and "JOIN customers" in reads[0], reads


def test_another_shops_or_an_anonymized_customer_is_refused(front, boss, other_shop):
    theirs = Customer(shop_id=other_shop.id, phone="+79165556677", name="Their customer")
    gone = Customer(shop_id=front.shop_id, phone=None, name="", anonymized_at=datetime.now(ZoneInfo("UTC")))
    db.session.add_all([theirs, gone])
    db.session.commit()

    for customer_id in (theirs.id, gone.id):
        body = pickup(front, customer_id=customer_id)
        del body["customer"]
        response = boss.post(ORDERS, json=body)
        assert response.status_code == 422
        assert response.json["errors"] == {"customer_id": ["No such customer in this shop."]}
        assert "Their" not in response.get_data(as_text=True)
    assert count_orders(front.shop_id) == 0


# --- refusals --------------------------------------------------------------------------------


RANGE_1_999 = "Must be greater than or equal to 1 and less than or equal to 999."


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"address": None}, {"json": {"address": ["Required for delivery."]}}),
        ({"window_start": None}, {"json": {"window_start": ["Required for delivery."]}}),
        ({"pickup_time": "12:00"}, {"json": {"pickup_time": ["Only for pickup."]}}),
        ({"items": []}, {"json": {"items": ["Length must be between 1 and 50."]}}),
        ({"items": [{"product_id": 1, "quantity": 0}]}, {"json": {"items": {"0": {"quantity": [RANGE_1_999]}}}}),
        ({"window_start": "25:00"}, {"json": {"window_start": ["A time of day as HH:MM (00:00 to 23:59)."]}}),
        ({"source": "pigeon"}, {"json": {"source": ["Must be one of: phone, shop, website, messenger, marketplace."]}}),
        ({"customer_id": 1}, {"json": {"customer_id": ["Send either customer_id or customer (name and phone)."]}}),
        # Phones are parsed with the shop's country, after the schema.
        ({"customer": {"name": "X", "phone": "12345"}}, {"customer": {"phone": ["Not a valid phone number."]}}),
        ({"recipient_phone": "not a phone"}, {"recipient_phone": ["Not a phone number."]}),
    ],
)
def test_invalid_bodies_are_422_naming_the_field(front, boss, change, errors):
    body = delivery(front)
    for key, value in change.items():
        if value is None:
            del body[key]
        else:
            body[key] = value

    response = boss.post(ORDERS, json=body)

    assert response.status_code == 422
    assert response.json["errors"] == errors
    assert count_orders(front.shop_id) == 0
    assert taken(front.shop_id, front.day, MORNING) == 0


def test_a_pickup_has_a_time_not_a_window_nor_an_address(front, boss):
    response = boss.post(ORDERS, json=pickup(front, window_start=MORNING, address="Somewhere"))

    assert response.status_code == 422
    assert response.json["errors"]["json"] == {
        "address": ["Only for delivery."],
        "window_start": ["Only for delivery."],
    }


def test_products_off_sale_repeated_or_of_another_shop_are_refused(front, boss, other_shop):
    theirs = catalogue.create_product(shop_id=other_shop.id, actor_id=None, data={"name": "Their rose", "price": D(5)})
    catalogue.update_product(shop_id=front.shop_id, product_id=front.stem.id, actor_id=None, data={"is_active": False})
    catalogue.archive_product(shop_id=front.shop_id, product_id=front.gift_card.id, actor_id=None)

    response = boss.post(
        ORDERS,
        json=delivery(
            front,
            items=[
                {"product_id": front.bouquet.id, "quantity": 1},
                {"product_id": front.stem.id, "quantity": 1},
                {"product_id": front.gift_card.id, "quantity": 1},
                {"product_id": theirs.id, "quantity": 1},
            ],
        ),
    )
    repeated = boss.post(ORDERS, json=delivery(front, items=[{"product_id": front.bouquet.id, "quantity": 1}] * 2))

    assert response.status_code == 422
    refused = {"product_id": ["No such product on sale in this shop."]}
    assert response.json["errors"] == {"items": {"1": refused, "2": refused, "3": refused}}
    assert "Their" not in response.get_data(as_text=True)
    assert repeated.status_code == 422
    assert repeated.json["errors"]["json"] == {"items": {"1": {"product_id": ["Appears twice in the list."]}}}
    assert count_orders(front.shop_id) == 0
    assert taken(front.shop_id, front.day, MORNING) == 0


def test_a_full_window_is_409_naming_it(shop, boss):
    front = open_shop(shop, capacity=1)
    assert boss.post(ORDERS, json=delivery(front)).status_code == 201

    response = boss.post(ORDERS, json=delivery(front))

    assert response.status_code == 409
    assert response.json["errors"] == {"window": {"date": front.day.isoformat(), "start": MORNING}, "reason": "full"}
    assert count_orders(front.shop_id) == 1


def test_a_window_the_shop_does_not_have_or_that_has_started_is_409(front, boss):
    unknown = boss.post(ORDERS, json=delivery(front, window_start="11:00"))
    yesterday = boss.post(ORDERS, json=delivery(front, delivery_date=(front.day - timedelta(days=2)).isoformat()))

    assert (unknown.status_code, unknown.json["errors"]["reason"]) == (409, "unknown")
    assert (yesterday.status_code, yesterday.json["errors"]["reason"]) == (409, "closed")
    assert count_orders(front.shop_id) == 0


def test_a_pickup_time_that_has_passed_is_422(front, boss):
    response = boss.post(ORDERS, json=pickup(front, delivery_date=(front.day - timedelta(days=2)).isoformat()))

    assert response.status_code == 422
    assert response.json["errors"] == {"pickup_time": ["That time has passed."]}


def test_an_order_too_large_for_the_books_is_422_not_a_crash(front, boss):
    dear = catalogue.create_product(
        shop_id=front.shop_id, actor_id=None, data={"name": "Diamond", "price": D("999999999"), "needs_assembly": False}
    )

    response = boss.post(ORDERS, json=pickup(front, items=[{"product_id": dear.id, "quantity": 999}]))

    assert response.status_code == 422
    assert "items" in response.json["errors"]


# --- idempotency -----------------------------------------------------------------------------


def test_a_retried_create_with_the_same_key_replays_the_same_order(front, boss):
    key = {"Idempotency-Key": "intake-1"}
    first = boss.post(ORDERS, json=delivery(front), headers=key)
    again = boss.post(ORDERS, json=delivery(front), headers=key)
    changed = boss.post(ORDERS, json=delivery(front, comment="another"), headers=key)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["ETag"] == first.headers["ETag"]
    assert changed.status_code == 422
    assert count_orders(front.shop_id) == 1
    assert taken(front.shop_id, front.day, MORNING) == 1
