"""The lists and the order card read Core rows; the schemas must dump them exactly as they dump ORM orders."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from app import privacy
from app.errors import NotFoundError
from app.extensions import db
from app.orders import reading
from app.orders.models import Order
from app.orders.schemas import OrderDetailSchema, OrderSchema
from tests.factories import MembershipFactory, UserFactory
from tests.orders.orderdata import EVENING, delivery, pickup, place, shop_of


def _orders_of_every_kind(front, boss):
    courier = UserFactory(name="Kirill")
    MembershipFactory(user=courier, shop=shop_of(front), role="courier")
    made = [
        place(front, delivery(front, window_start=EVENING, card_text="Love, M.", comment="Ring twice")),
        place(front, pickup(front, customer={"name": "Boris Orlov", "phone": "+79035550101"}), status="confirmed"),
        place(front, delivery(front, items=[{"product_id": front.stem.id, "quantity": 3}])),
        place(front, pickup(front, pickup_time="09:00")),
        place(front, delivery(front, customer={"name": "Anna Gone", "phone": "+79035550199"})),
    ]
    made[0].courier_id = courier.id
    db.session.commit()
    boss.post(f"/api/v1/orders/{made[0].id}/payments", json={"amount": "1000.00", "method": "cash"})
    boss.post(f"/api/v1/orders/{made[0].id}/payments", json={"amount": "-250.50", "method": "card", "note": "back"})
    boss.post(f"/api/v1/orders/{made[2].id}/status", json={"status": "cancelled", "comment": "changed mind"})
    privacy.anonymize_customer(shop_id=front.shop_id, customer_id=made[4].customer_id, actor_id=None)
    db.session.expire_all()
    return made


def test_the_order_card_from_rows_dumps_as_the_orm_order(front, boss):
    made = _orders_of_every_kind(front, boss)
    schema = OrderDetailSchema()

    for order in made:
        card = reading.order_card(shop_id=front.shop_id, order_id=order.id)
        assert schema.dump(card) == schema.dump(db.session.get(Order, order.id))

    paid = schema.dump(reading.order_card(shop_id=front.shop_id, order_id=made[0].id))
    assert [p["amount"] for p in paid["payments"]] == ["1000.00", "-250.50"]
    assert paid["courier"] == {"id": made[0].courier_id, "name": "Kirill"}
    assert Decimal(paid["amount_due"]) == Decimal(paid["total"]) - Decimal("749.50")


def test_the_order_card_is_one_statement_with_its_lines_and_payments(front, boss, count_queries):
    made = _orders_of_every_kind(front, boss)
    ids = [order.id for order in made]
    boss.post(f"/api/v1/orders/{ids[3]}/payments", json={"amount": "5.00", "method": "cash"})

    with count_queries() as statements:
        paid = reading.order_card(shop_id=front.shop_id, order_id=ids[0])
        unpaid = reading.order_card(shop_id=front.shop_id, order_id=ids[1])
        cards = reading.order_events_data(front.shop_id, [str(i) for i in ids])

    # each card with its lines and payments in one statement; for the events, the five orders and all their lists
    assert len(statements) == 1 + 1 + 1, statements
    assert list(cards) == [str(i) for i in sorted(ids)]
    assert [p["amount"] for p in paid["payments"]] == ["1000.00", "-250.50"]
    assert unpaid["payments"] == [] and len(unpaid["items"]) == 1
    assert {order_id: [p["amount"] for p in card["payments"]] for order_id, card in cards.items()} == {
        str(ids[0]): ["1000.00", "-250.50"],
        **{str(i): [] for i in ids[1:3] + ids[4:]},
        str(ids[3]): ["5.00"],
    }
    assert cards[str(ids[2])]["items"][0]["quantity"] == 3


def test_the_list_from_rows_dumps_as_the_orm_orders(front, boss):
    _orders_of_every_kind(front, boss)
    schema = OrderSchema(many=True)
    orm = db.session.scalars(select(Order).where(Order.shop_id == front.shop_id).order_by(*reading.DAY_ORDER)).all()

    rows, total = reading.list_orders(shop_id=front.shop_id, page=1, page_size=50)

    assert total == len(orm) == 5
    assert schema.dump(rows) == schema.dump(orm)
    listed = schema.dump(rows)
    assert {o["status"] for o in listed} == {"new", "confirmed", "cancelled"}
    assert any(o["customer"]["phone"] is None for o in listed)  # the anonymized one
    assert any(o["pickup_time"] == "09:00" for o in listed)


def test_an_empty_page_and_another_shops_order(front, other_shop):
    assert reading.list_orders(shop_id=front.shop_id, page=1, page_size=50) == ([], 0)
    order = place(front, pickup(front))

    assert reading.list_orders(shop_id=other_shop.id, page=1, page_size=50) == ([], 0)
    with pytest.raises(NotFoundError):
        reading.order_card(shop_id=other_shop.id, order_id=order.id)
