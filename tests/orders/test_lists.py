"""GET /orders and GET /customers/{id}/orders: filters, search, sync, order, and a fixed number of statements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.extensions import db
from app.orders.models import Order
from tests.factories import MembershipFactory, UserFactory
from tests.orders.orderdata import EVENING, MORNING, delivery, open_shop, pickup, place, shop_of

ORDERS = "/api/v1/orders"


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [o["number"] for o in response.json]


@pytest.fixture
def day_of_orders(front):
    """Five orders over two days, windows and fulfillments, one with a courier."""
    later = front.day + timedelta(days=1)
    made = {
        "evening": place(front, delivery(front, window_start=EVENING)),
        "morning": place(front, delivery(front, customer={"name": "Boris Orlov", "phone": "+79035550101"})),
        "pickup": place(front, pickup(front)),
        "later": place(front, delivery(front, delivery_date=later.isoformat(), recipient_name="Vera Lebedeva")),
        "confirmed": place(front, pickup(front, pickup_time="09:00"), status="confirmed"),
    }
    courier = UserFactory(name="Kirill")
    MembershipFactory(user=courier, shop=shop_of(front), role="courier")
    made["evening"].courier_id = courier.id
    db.session.commit()
    return made, courier


def test_orders_come_by_day_then_window(front, boss, day_of_orders):
    made, _ = day_of_orders

    response = boss.get(ORDERS)

    expected = [made[k].number for k in ("confirmed", "morning", "pickup", "evening", "later")]
    assert numbers(response) == expected  # 09:00 pickup, 10:00 window, 12:00 pickup, 14:00 window, next day
    assert response.headers["X-Pagination"]


def test_filters_combine(front, boss, day_of_orders):
    made, courier = day_of_orders
    day = front.day.isoformat()

    def by(**query):
        return set(numbers(boss.get(ORDERS, query_string=query)))

    assert by(status=["confirmed"]) == {made["confirmed"].number}
    assert by(status=["new", "confirmed"]) == {o.number for o in made.values()}
    assert by(date_from=day, date_to=day) == {made[k].number for k in ("evening", "morning", "pickup", "confirmed")}
    assert by(window_start=MORNING, fulfillment="delivery") == {made["morning"].number, made["later"].number}
    assert by(fulfillment="pickup") == {made["pickup"].number, made["confirmed"].number}
    assert by(courier_id=courier.id) == {made["evening"].number}
    assert by(unassigned="false") == {made["evening"].number}
    assert len(by(unassigned="true")) == 4
    assert by(customer_id=made["morning"].customer_id) == {made["morning"].number}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("boris", {"morning"}),  # the customer's name
        ("lebedeva", {"later"}),  # the recipient's name
        ("903 555", {"morning"}),  # part of the customer's phone
        ("555 903", set()),  # digits no phone has in that order
        ("9035550101", {"morning"}),  # the customer's phone, digits only
        ("8 903 555-01-01", {"morning"}),  # as a person types it
        ("+79162223344", {"evening", "morning", "later"}),  # the recipient's phone
    ],
)
def test_q_searches_numbers_names_and_phones(front, boss, day_of_orders, q, expected):
    made, _ = day_of_orders

    assert set(numbers(boss.get(ORDERS, query_string={"q": q}))) == {made[k].number for k in expected}


def test_q_finds_an_order_by_its_number(front, boss, day_of_orders):
    made, _ = day_of_orders

    assert numbers(boss.get(ORDERS, query_string={"q": made["pickup"].number})) == [made["pickup"].number]


def test_updated_since_gives_what_changed_for_syncing(front, boss, day_of_orders):
    made, _ = day_of_orders
    since = datetime.now(UTC)
    boss.post(f"{ORDERS}/{made['pickup'].id}/status", json={"status": "confirmed"})

    response = boss.get(ORDERS, query_string={"updated_since": since.isoformat()})

    assert numbers(response) == [made["pickup"].number]


def test_the_list_runs_the_same_statements_for_5_or_50_orders_per_page(front, boss, count_queries):
    courier = UserFactory(name="Kirill")
    db.session.flush()
    for i in range(12):
        order = place(front, pickup(front, customer={"name": f"Client {i}", "phone": f"+7903555{i:04d}"}))
        if i % 2:
            order.courier_id = courier.id
    db.session.commit()

    counts = {}
    for page_size in (5, 50):
        db.session.expire_all()
        with count_queries() as statements:
            response = boss.get(ORDERS, query_string={"page_size": page_size})
        assert len(response.json) == min(page_size, 12)
        counts[page_size] = len(statements)

    # the caller and their memberships, the count, the page, its lines, customers and couriers
    assert counts[5] == counts[50] <= 7, counts


def test_another_shops_orders_never_show(front, boss, other_shop):
    other = open_shop(other_shop, prefix="Their ")
    place(other, pickup(other, customer={"name": "Their customer", "phone": "+79035559999"}))
    mine = place(front, pickup(front))

    for query in ({}, {"q": "Their"}, {"q": "9035559999"}):
        response = boss.get(ORDERS, query_string=query)
        assert "Their" not in response.get_data(as_text=True)
    assert numbers(boss.get(ORDERS)) == [mine.number]


def test_a_customers_orders_latest_first_and_404_for_another_shops_customer(front, boss, other_shop):
    first = place(front, pickup(front))
    second = place(front, pickup(front, delivery_date=(front.day + timedelta(days=3)).isoformat()))
    place(front, delivery(front))  # someone else's order
    other = open_shop(other_shop, prefix="Their ")
    theirs = place(other, pickup(other))

    mine = boss.get(f"/api/v1/customers/{first.customer_id}/orders")
    foreign = boss.get(f"/api/v1/customers/{theirs.customer_id}/orders")

    assert numbers(mine) == [second.number, first.number]
    assert foreign.status_code == 404
    assert "Their" not in foreign.get_data(as_text=True)
    assert db.session.get(Order, theirs.id) is not None
