"""GET /orders and GET /customers/{id}/orders: filters, search, sync, order, and a fixed number of statements."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.orders.models import Order, OrderStatusChange
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
        assert json.loads(response.headers["X-Pagination"])["total"] == 12  # counted once, carried by the page
        counts[page_size] = len(statements)

    # the caller with their memberships, the page with its count (customers and couriers joined), its lines
    assert counts[5] == counts[50] == 3, counts


def test_the_list_is_prepared_once_whatever_the_filters_values(front, boss, day_of_orders):
    """The list's statements carry the filters' values as parameters, so the driver prepares them once per
    connection and PostgreSQL parses them once, not on every request (docs/decisions.md)."""
    made, courier = day_of_orders
    later = (front.day + timedelta(days=1)).isoformat()
    asks = [{"date_from": front.day.isoformat(), "page_size": 2, "page": page} for page in (1, 2, 3)] + [
        {"date_from": later, "page_size": 3, "page": 1}
    ] * 3

    def prepared() -> set[str]:
        return set(db.session.scalars(text("SELECT statement FROM pg_prepared_statements")))

    before = prepared()
    pages = [numbers(boss.get(ORDERS, query_string=ask)) for ask in asks]
    planned = prepared() - before

    assert pages[:3] == [
        [made["confirmed"].number, made["morning"].number],
        [made["pickup"].number, made["evening"].number],
        [made["later"].number],
    ]
    assert pages[3:] == [[made["later"].number]] * 3
    # Seven lists with other dates and pages: their page (with its count) and lines, each prepared once.
    listed = {statement for statement in planned if "orders" in statement and "delivery_date >=" in statement}
    assert len(listed) == 1, planned  # the page, its count within
    assert any("FROM order_items" in statement for statement in planned), planned


def test_the_lines_of_pages_of_any_size_are_one_statement(front, boss, day_of_orders, count_queries):
    """The page's ids go to PostgreSQL as one array, so the lines' statement is the same text (prepared once per
    connection) for a page of one order or of fifty."""
    lines = set()
    for page_size in (1, 2, 5):
        with count_queries() as statements:
            assert len(boss.get(ORDERS, query_string={"page_size": page_size}).json) == page_size
        lines |= {statement for statement in statements if "FROM order_items" in statement}

    assert len(lines) == 1, lines


def test_a_page_far_past_the_last_is_empty_with_the_true_total(front, boss, day_of_orders):
    made, _ = day_of_orders
    # 10**12 pages of 50: an offset past what a 32-bit integer holds, still an honest empty page.
    response = boss.get(ORDERS, query_string={"page": 10**12, "page_size": 50})

    assert numbers(response) == []
    assert '"total": 5' in response.headers["X-Pagination"]


def _statements_per_page(client, count_queries, path: str, page_size: int) -> tuple[int, list[dict]]:
    db.session.expunge_all()  # a fresh session: rows the test made must not hide a lazy load
    with count_queries() as statements:
        response = client.get(path, query_string={"page_size": page_size})
    assert response.status_code == 200, response.json
    return len(statements), response.json


def test_a_customers_orders_run_the_same_statements_for_1_or_50_per_page(front, boss, count_queries):
    couriers = [UserFactory(name=f"Courier {i}") for i in range(3)]
    db.session.flush()
    for i in range(55):
        order = place(front, pickup(front, pickup_time=f"{9 + i % 9:02d}:00"))
        order.courier_id = couriers[i % 3].id if i % 4 else None
    db.session.commit()
    path = f"/api/v1/customers/{order.customer_id}/orders"

    one, first = _statements_per_page(boss, count_queries, path, 1)
    fifty, page = _statements_per_page(boss, count_queries, path, 50)

    assert (len(first), len(page)) == (1, 50)
    assert {o["customer"]["id"] for o in page} == {order.customer_id}
    assert one == fifty, (one, fifty)


def test_an_orders_history_runs_the_same_statements_for_1_or_50_per_page(front, boss, count_queries):
    order = place(front, pickup(front))
    staff = [UserFactory(name=f"Manager {i}") for i in range(4)]
    db.session.flush()
    (created,) = db.session.scalars(select(OrderStatusChange).where(OrderStatusChange.order_id == order.id))
    created.actor_id = staff[0].id  # so the page of one has an actor to load too
    statuses = ["confirmed", "new"]
    db.session.add_all(
        OrderStatusChange(
            shop_id=front.shop_id,
            order_id=order.id,
            from_status=statuses[i % 2 - 1],
            to_status=statuses[i % 2],
            actor_id=None if i % 5 == 4 else staff[i % 4].id,
            comment=f"step {i}",
        )
        for i in range(60)
    )
    db.session.commit()
    path = f"{ORDERS}/{order.id}/history"

    one, first = _statements_per_page(boss, count_queries, path, 1)
    fifty, page = _statements_per_page(boss, count_queries, path, 50)

    assert (len(first), len(page)) == (1, 50)
    assert {row["actor"]["name"] for row in page if row["actor"]} == {f"Manager {i}" for i in range(4)}
    assert one == fifty, (one, fifty)


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
