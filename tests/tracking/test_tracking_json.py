"""The tracking link's JSON (what the page polls) and page: what the customer sees, and what never shows."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlparse

import time_machine
from sqlalchemy import select

from app.common.types import utcnow
from app.extensions import db
from app.orders.models import Order, OrderStatusChange
from app.privacy import anonymize_customer
from app.production.models import ProductionTask
from tests.production.workshop import ok
from tests.tracking.flow import (
    ADDRESS,
    RECIPIENT_PHONE,
    SECRETS,
    STREET_AND_HOUSE,
    deliver,
    on_the_way,
)


def _set_shop(shop, **fields):
    for name, value in fields.items():
        setattr(shop, name, value)
    db.session.commit()


def test_every_order_gets_its_own_long_random_token(front, boss, as_role):
    first, second = on_the_way(front, boss, as_role), on_the_way(front, boss, as_role)
    assert first.token != second.token
    assert len(first.token) >= 32  # 24 random bytes: 192 bits


def test_the_json_shows_the_order_as_the_customer_may_see_it(app, shop, client, front, boss, as_role):
    _set_shop(
        shop, timezone="Europe/Moscow", country="RU", settings={**shop.settings, "public_phone": "+7 495 000-00-00"}
    )
    tracked = on_the_way(front, boss, as_role)

    response = client.get(f"{tracked.path}.json")

    assert response.status_code == 200
    data = response.get_json()
    assert data["language"] == "ru"
    assert data["shop"] == {"name": shop.name, "phone": "+7 495 000-00-00"}
    assert data["order"]["status"] == "out_for_delivery" and data["on_the_way"] is True
    assert data["order"]["window"].startswith("09:00") or "–" in data["order"]["window"]
    assert data["address"] == STREET_AND_HOUSE
    assert data["delivered_at"] is None and data["delivery_photo_url"] is None
    assert data["bouquet_photo_url"]  # the florist's photo, by a signed link
    assert [step["status"] for step in data["timeline"]] == [
        "new", "confirmed", "in_production", "ready", "out_for_delivery",
    ]  # fmt: skip
    # Shop-local times: Moscow is UTC+3 all year.
    history = db.session.scalars(
        select(OrderStatusChange.created_at).where(OrderStatusChange.order_id == tracked.order_id)
    ).all()
    assert data["timeline"][-1]["at"].endswith("+03:00")
    assert data["timeline"][-1]["time"] == (max(history) + timedelta(hours=3)).strftime("%H:%M")
    assert response.headers["X-Robots-Tag"].startswith("noindex")
    assert "private" in response.headers["Cache-Control"] or "no-store" in response.headers["Cache-Control"]


def test_the_json_and_the_page_never_show_phones_amounts_the_flat_or_names(app, shop, client, front, boss, as_role):
    tracked = on_the_way(front, boss, as_role)
    deliver(tracked)
    order = db.session.get(Order, tracked.order_id)
    courier_name = tracked.courier.user.name

    for path in (f"{tracked.path}.json", tracked.path):
        response = client.get(path)
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        shown = json.dumps(response.get_json(), ensure_ascii=False) if path.endswith(".json") else text
        for secret in (*SECRETS, ADDRESS, RECIPIENT_PHONE, "+79161112233", "79162223344", courier_name):
            assert secret not in shown, (path, secret)
        for amount in (order.total, order.subtotal, order.paid_amount):
            assert str(amount) not in shown and f"{int(amount)} " not in shown
        assert "2900" not in shown and "2 900" not in shown
        assert STREET_AND_HOUSE in shown


def test_the_page_is_html_for_a_phone_with_a_strict_policy(client, front, boss, as_role):
    tracked = on_the_way(front, boss, as_role)

    page = client.get(tracked.path)

    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert "Курьер в пути" in html
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["X-Robots-Tag"].startswith("noindex")
    assert "<style" not in html and " style=" not in html and "<script>" not in html  # nothing inline
    assert client.get("/t/_static/tracking.js").status_code == 200


def test_an_english_shop_reads_english_and_delivered_shows_the_time_and_the_proof(
    app, shop, client, front, boss, as_role
):
    _set_shop(shop, country="GB", timezone="Europe/London")
    tracked = on_the_way(front, boss, as_role)
    deliver(tracked)

    data = ok(client.get(f"{tracked.path}.json"))
    page = client.get(tracked.path).get_data(as_text=True)

    assert data["language"] == "en" and data["order"]["status"] == "delivered"
    assert data["on_the_way"] is False
    assert data["delivered_text"] == f"Delivered at {data['delivered_at']}"
    assert data["delivered_text"] in page and 'lang="en"' in page
    proof = urlparse(data["delivery_photo_url"])
    assert client.get(f"{proof.path}?{proof.query}").status_code == 200
    assert f"{proof.path}?{proof.query}".replace("&", "&amp;") in page


def test_the_link_expires_14_days_after_delivery(app, shop, client, front, boss, as_role):
    tracked = on_the_way(front, boss, as_role)
    deliver(tracked)
    delivered_at = utcnow()

    with time_machine.travel(delivered_at + timedelta(days=13, hours=23), tick=False):
        assert client.get(tracked.path).status_code == 200
        assert client.get(f"{tracked.path}.json").status_code == 200
    with time_machine.travel(delivered_at + timedelta(days=14, minutes=1), tick=False):
        gone = client.get(tracked.path)
        assert gone.status_code == 410 and gone.mimetype == "text/html"
        assert "Ссылка больше не действует" in gone.get_data(as_text=True)  # the shop's language
        assert client.get(f"{tracked.path}.json").status_code == 410


def test_a_cancelled_order_expires_14_days_after_the_cancellation(app, shop, client, front, boss, as_role):
    _set_shop(shop, country="US", timezone="America/New_York")
    from tests.production.workshop import ORDERS, confirmed
    from tests.tracking.flow import order_body

    order_id = confirmed(front, boss, order_body(front))
    ok(boss.post(f"{ORDERS}/{order_id}/status", json={"status": "cancelled", "comment": "changed plans"}))
    token = db.session.get(Order, order_id).tracking_token
    assert ok(client.get(f"/t/{token}.json"))["order"]["status_text"] == "Order cancelled"

    with time_machine.travel(utcnow() + timedelta(days=14, minutes=1), tick=False):
        gone = client.get(f"/t/{token}")
        assert gone.status_code == 410 and "This link has expired" in gone.get_data(as_text=True)


def test_an_open_order_never_expires(client, front, boss, as_role):
    tracked = on_the_way(front, boss, as_role)
    with time_machine.travel(utcnow() + timedelta(days=60), tick=False):
        assert client.get(tracked.path).status_code == 200


def test_anonymizing_the_customer_kills_the_link_at_once(app, shop, client, front, boss, as_role):
    tracked = on_the_way(front, boss, as_role)
    assert client.get(tracked.path).status_code == 200
    customer_id = db.session.get(Order, tracked.order_id).customer_id

    anonymize_customer(shop_id=shop.id, customer_id=customer_id, actor_id=None)

    assert client.get(tracked.path).status_code == 404
    assert client.get(f"{tracked.path}.json").status_code == 404
    db.session.expire_all()
    assert db.session.get(Order, tracked.order_id).tracking_token is None


def test_anonymizing_the_customer_deletes_the_bouquets_photo(app, shop, client, front, boss, as_role, tmp_media):
    tracked = on_the_way(front, boss, as_role)
    task = db.session.get(ProductionTask, tracked.task_id)
    key = task.photo_key
    assert (tmp_media / key).exists()

    anonymize_customer(shop_id=shop.id, customer_id=db.session.get(Order, tracked.order_id).customer_id, actor_id=None)

    db.session.expire_all()
    assert db.session.get(ProductionTask, tracked.task_id).photo_key is None
    assert not (tmp_media / key).exists()


def test_unknown_tokens_are_404_pages_and_guessing_is_limited_per_ip(app, client, front, boss, as_role):
    tracked = on_the_way(front, boss, as_role)
    app.config["RATELIMIT_TRACKING_PER_IP"] = "5 per minute"
    try:
        for _ in range(20):  # an open page polling its own order never counts
            assert client.get(f"{tracked.path}.json").status_code == 200
        misses = [client.get(f"/t/{'x' * 32}{n}").status_code for n in range(5)]
        assert misses == [404] * 5
        assert client.get("/t/" + "y" * 32).status_code == 429
        # Another address is not held back.
        assert client.get("/t/" + "z" * 32, environ_base={"REMOTE_ADDR": "10.9.8.7"}).status_code == 404
        not_found = client.get("/t/" + "q" * 32, environ_base={"REMOTE_ADDR": "10.9.8.6"})
        assert not_found.mimetype == "text/html" and "Ссылка не найдена" in not_found.get_data(as_text=True)
    finally:
        app.config["RATELIMIT_TRACKING_PER_IP"] = "60 per minute"
