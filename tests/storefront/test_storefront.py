"""The storefront: products, windows, quotes and orders as a shop's website sees them, with a key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from app.catalogue import services as catalogue
from app.catalogue.models import Category
from app.events.models import Event
from app.extensions import db
from app.messaging.models import MessageLog
from app.orders import services as orders
from app.orders.models import Order, Payment
from app.slots.models import DeliveryWindow
from app.storefront.models import StorefrontOrder
from tests.apikeys.keydata import KeyClient, make_key
from tests.orders.orderdata import EVENING, MORNING, count_orders, delivery, place, shop_of, stock_of, taken, uses
from tests.promos.promodata import make_code
from tests.storefront.shopfront import STOREFRONT, paid, website_order


@pytest.fixture
def site(app, shop):
    _, key = make_key(shop)
    return KeyClient(app, key)


def quote_of(site, body):
    answer = site.post(f"{STOREFRONT}/quote", json=body)
    assert answer.status_code == 200, answer.json
    return answer.json


# --- products and windows ---------------------------------------------------------------------------------


def test_products_on_sale_with_price_category_and_whether_they_can_be_made(site, front):
    flowers = Category(shop_id=front.shop_id, name="Bouquets")
    db.session.add(flowers)
    db.session.flush()
    catalogue.update_product(
        shop_id=front.shop_id, product_id=front.bouquet.id, actor_id=None, data={"category_id": flowers.id}
    )
    off = catalogue.create_product(
        shop_id=front.shop_id, actor_id=None, data={"name": "Off sale", "price": 10, "is_active": False}
    )
    db.session.commit()

    answer = site.get(f"{STOREFRONT}/products")

    assert answer.status_code == 200
    by_name = {p["name"]: p for p in answer.json}
    assert off.id not in [p["id"] for p in answer.json]
    assert by_name["Bouquet of roses"]["price"] == "2900.00"
    assert by_name["Bouquet of roses"]["category"] == "Bouquets"
    assert by_name["Bouquet of roses"]["image_url"] is None
    assert all(p["available"] for p in answer.json)
    assert "X-Pagination" in answer.headers


def test_a_product_whose_stock_is_reserved_cannot_be_made(site, front):
    # 100 roses: 19 bouquets of 5 leave 5 roses, enough for one more; a 20th leaves none.
    order = place(front, delivery(front, items=[{"product_id": front.bouquet.id, "quantity": 20}]))
    orders.change_status(shop_id=front.shop_id, order_id=order.id, actor_id=None, status="confirmed")
    answer = site.get(f"{STOREFRONT}/products")
    by_name = {p["name"]: p["available"] for p in answer.json}
    assert by_name == {"Bouquet of roses": False, "Rose by the stem": False, "Gift card": True}


def test_stock_expired_by_the_date_asked_does_not_count(site, front):
    later = (front.day + timedelta(days=30)).isoformat()  # the test stock's batches expire before then
    by_name = {p["name"]: p["available"] for p in site.get(f"{STOREFRONT}/products?date={later}").json}
    assert by_name["Gift card"] is True
    assert by_name["Rose by the stem"] is False


def test_products_are_read_in_a_fixed_number_of_statements(site, front, count_queries):
    for n in range(6):
        catalogue.create_product(shop_id=front.shop_id, actor_id=None, data={"name": f"Extra {n}", "price": 10})
    db.session.commit()
    site.get(f"{STOREFRONT}/products")  # the key's last use is written once; later calls do not write

    counts = []
    for size in (1, 9):
        with count_queries() as statements:
            answer = site.get(f"{STOREFRONT}/products?page_size={size}")
        assert answer.status_code == 200 and len(answer.json) == size
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 5


def test_delivery_windows_with_places_left_fee_and_cut_off(site, front):
    place(front, delivery(front))
    answer = site.get(f"{STOREFRONT}/delivery-slots?date={front.day.isoformat()}")

    assert answer.status_code == 200
    morning, evening = answer.json
    assert (morning["start"], morning["left"], morning["delivery_fee"], morning["open"]) == (MORNING, 4, "300.00", True)
    assert (evening["start"], evening["left"], evening["delivery_fee"]) == (EVENING, 5, "450.00")
    assert morning["orders_until"] == morning["starts_at"]
    assert "taken" not in morning and "capacity" not in morning


def test_the_same_day_cut_off_ends_a_window_early(site, front):
    shop = shop_of(front)
    shop.settings = {**shop.settings, "same_day_cutoff": "09:00"}
    db.session.commit()
    (morning, evening) = site.get(f"{STOREFRONT}/delivery-slots?date={front.day.isoformat()}").json
    assert morning["orders_until"].startswith(f"{front.day.isoformat()}T09:00")
    assert evening["orders_until"].startswith(f"{front.day.isoformat()}T09:00")


# --- quote and order ----------------------------------------------------------------------------------------


def test_quote_and_order_agree(site, front, login):
    login("manager")
    make_code(shop_of(front), code="SPRING10", kind="percent", value="10")
    body = website_order(front, promo_code="spring10", items=[{"product_id": front.bouquet.id, "quantity": 2}])

    quote = quote_of(site, body)
    assert quote["ok"] is True and quote["problems"] == []
    assert (quote["subtotal"], quote["delivery_fee"], quote["discount"], quote["total"]) == (
        "5800.00",
        "300.00",
        "580.00",
        "5520.00",
    )
    assert quote["window"] == {"date": front.day.isoformat(), "start": MORNING, "end": "14:00"}
    # The quote took nothing.
    assert taken(front.shop_id, front.day, MORNING) == 0

    made = site.post(f"{STOREFRONT}/orders", json={**body, "payment": paid(quote["total"])})

    assert made.status_code == 201, made.json
    order = made.json
    assert (order["subtotal"], order["delivery_fee"], order["discount"], order["total"]) == (
        quote["subtotal"],
        quote["delivery_fee"],
        quote["discount"],
        quote["total"],
    )
    assert [(i["product_id"], i["unit_price"], i["quantity"]) for i in order["items"]] == [
        (i["product_id"], i["unit_price"], i["quantity"]) for i in quote["items"]
    ]
    assert order["status"] == "confirmed" and order["payment_status"] == "paid" and order["paid_amount"] == "5520.00"
    assert order["source"] == "website" and order["external_id"] == "web-1001"
    assert "recipient_phone" not in order and "customer" not in order
    assert stock_of(front.rose) == (100, 10)  # two bouquets of 5 roses reserved at confirm


def test_a_storefront_order_tells_the_managers_and_is_in_the_event_log(site, front, login):
    manager = login("manager", language="ru")
    made = site.post(f"{STOREFRONT}/orders", json=website_order(front, source="marketplace"))
    assert made.status_code == 201

    (message,) = db.session.scalars(select(MessageLog).where(MessageLog.kind == "storefront_order")).all()
    assert message.user_id == manager.user.id and message.language == "ru"
    assert message.template == "storefront_order_marketplace"
    assert message.context["number"] == made.json["number"]
    created = db.session.scalars(select(Event).where(Event.type == "order.created")).one()
    assert created.data["source"] == "marketplace" and created.data["number"] == made.json["number"]
    customer = db.session.get(Order, int(created.subject_id)).customer
    assert (customer.name, customer.phone, customer.email) == ("Olga Petrova", "+79161112233", "olga@example.com")


def test_the_same_external_id_answers_the_same_order_and_another_body_is_409(site, front):
    body = website_order(front, payment=paid("3200.00"))
    first = site.post(f"{STOREFRONT}/orders", json=body)
    again = site.post(f"{STOREFRONT}/orders", json=body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    assert count_orders(front.shop_id) == 1
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1

    changed = site.post(f"{STOREFRONT}/orders", json={**body, "card_text": "Another card"})
    assert changed.status_code == 409
    assert changed.json["errors"] == {"external_id": ["web-1001"]}
    assert count_orders(front.shop_id) == 1


def test_a_known_customer_is_found_by_phone_and_a_quote_counts_no_promo_use(site, front):
    first = place(front, delivery(front))
    promo = make_code(shop_of(front), code="ONCE", kind="fixed", value="100", max_uses=1)
    body = website_order(front, promo_code="ONCE", customer={"name": "O. P.", "phone": "8 916 111-22-33"})
    for _ in range(3):
        assert quote_of(site, body)["discount"] == "100.00"
    assert uses(promo.id) == 0

    made = site.post(f"{STOREFRONT}/orders", json=body)
    assert made.status_code == 201 and made.json["discount"] == "100.00"
    order = db.session.scalars(select(Order).where(Order.number == made.json["number"])).one()
    assert order.customer_id == first.customer_id
    assert uses(promo.id) == 1
    assert [p["details"]["reason"] for p in quote_of(site, body)["problems"]] == ["used_up"]


def test_an_external_id_is_a_path_segment(site, front):
    refused = site.post(f"{STOREFRONT}/orders", json=website_order(front, external_id="web/1"))
    assert refused.status_code == 422 and "external_id" in refused.json["errors"]["json"]


def test_an_order_short_of_stock_is_refused_whole(site, front):
    body = website_order(front, items=[{"product_id": front.bouquet.id, "quantity": 21}], payment=paid("61200.00"))
    refused = site.post(f"{STOREFRONT}/orders", json=body)

    assert refused.status_code == 409
    assert refused.json["errors"]["shortages"][0]["item_id"] == front.rose.id
    assert count_orders(front.shop_id) == 0
    assert db.session.scalar(select(func.count()).select_from(StorefrontOrder)) == 0
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    assert taken(front.shop_id, front.day, MORNING) == 0
    # The id was not used up: the website may send it again once it fixes the order.
    fixed = site.post(f"{STOREFRONT}/orders", json={**body, "items": [{"product_id": front.bouquet.id, "quantity": 1}]})
    assert fixed.status_code == 201


def test_the_order_status_by_external_id(site, front, app, other_shop):
    made = site.post(f"{STOREFRONT}/orders", json=website_order(front))
    status = site.get(f"{STOREFRONT}/orders/web-1001")
    assert status.status_code == 200
    assert status.json == made.json
    assert {"number", "status", "payment_status", "total", "delivery_date", "window_start"} <= set(status.json)
    # Another shop's key does not see it.
    _, theirs = make_key(other_shop)
    assert KeyClient(app, theirs).get(f"{STOREFRONT}/orders/web-1001").status_code == 404


def test_quote_lists_every_problem_at_once(site, front):
    shop_obj = shop_of(front)
    db.session.execute(
        update(DeliveryWindow)
        .where(DeliveryWindow.shop_id == shop_obj.id, DeliveryWindow.start == MORNING)
        .values(capacity=1)
    )
    db.session.commit()
    place(front, delivery(front))  # the morning window's one place
    make_code(shop_obj, code="OLD", kind="fixed", value="100", valid_until=datetime.now(UTC) - timedelta(days=1))
    gone = catalogue.create_product(shop_id=front.shop_id, actor_id=None, data={"name": "Gone", "price": 5})
    catalogue.archive_product(shop_id=front.shop_id, product_id=gone.id, actor_id=None)

    quote = quote_of(
        site,
        website_order(
            front,
            promo_code="OLD",
            items=[{"product_id": front.bouquet.id, "quantity": 25}, {"product_id": gone.id, "quantity": 1}],
        ),
    )

    assert quote["ok"] is False
    codes = {p["code"]: p for p in quote["problems"]}
    assert set(codes) == {"product_unavailable", "window_full", "shortage", "promo_code"}
    assert codes["product_unavailable"]["field"] == "items.1.product_id"
    assert codes["window_full"]["details"] == {"date": front.day.isoformat(), "start": MORNING}
    # One shortage per item: 125 roses and 25 ferns wanted, 100 and 20 in stock.
    shortages = [p["details"] for p in quote["problems"] if p["code"] == "shortage"]
    assert [(s["item_id"], s["needed"], s["available"]) for s in shortages] == [
        (front.rose.id, "125.000", "100.000"),
        (front.fern.id, "25.000", "20.000"),
    ]
    assert all(s["product_ids"] == [front.bouquet.id] for s in shortages)
    assert codes["promo_code"]["details"] == {"reason": "expired"}
    assert all(p["message"] for p in quote["problems"])
    assert quote["subtotal"] == "72500.00"  # the lines on sale are still priced


def test_quote_messages_speak_russian(site, front):
    answer = site.post(
        f"{STOREFRONT}/quote",
        json=website_order(front, promo_code="NOPE"),
        headers={"Accept-Language": "ru"},
    )
    (problem,) = answer.json["problems"]
    assert problem["message"] == "Такого промокода нет; проверьте написание."


def test_a_closed_window_and_a_past_pickup_are_problems(site, front):
    yesterday = (front.day - timedelta(days=2)).isoformat()
    closed = quote_of(site, website_order(front, delivery_date=yesterday))
    assert [p["code"] for p in closed["problems"]] == ["window_closed"]
    unknown = quote_of(site, website_order(front, window_start="07:00"))
    assert [p["code"] for p in unknown["problems"]] == ["window_unknown"]
    pickup = quote_of(
        site,
        {
            "fulfillment": "pickup",
            "delivery_date": yesterday,
            "pickup_time": "12:00",
            "items": website_order(front)["items"],
        },
    )
    assert [p["code"] for p in pickup["problems"]] == ["pickup_time_passed"]
