"""The warehouse as a manager and a florist use it through the API."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.extensions import db
from app.warehouse import services, stock
from app.warehouse.models import Movement, Reservation, Supply
from tests.warehouse.stockdata import D, batches_of, fresh, make_item, movement_sums, supply

API = "/api/v1/warehouse"


@pytest.fixture
def manager(as_role):
    return as_role("manager")


@pytest.fixture
def florist(as_role):
    return as_role("florist")


@pytest.fixture
def today(shop):
    return services.shop_today(shop.id)


def iso(day: date) -> str:
    return day.isoformat()


# --- items -----------------------------------------------------------------------------------


def test_manager_sets_up_an_item_and_reads_its_stock_as_decimal_strings(manager):
    response = manager.post(
        f"{API}/items",
        json={"name": "Eucalyptus", "kind": "greenery", "unit": "kg", "min_level": "0.5", "shelf_life_days": 10},
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body["name"] == "Eucalyptus"
    assert (body["min_level"], body["on_hand"], body["reserved"], body["available"]) == (
        "0.500",
        "0.000",
        "0.000",
        "0.000",
    )
    assert response.headers["ETag"]

    again = manager.get(f"{API}/items/{body['id']}")
    assert again.status_code == 200
    assert again.headers["ETag"] == response.headers["ETag"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("min_level", "-1"),
        ("min_level", "0.0001"),  # more places than the column keeps
        ("min_level", 1e30),
        ("shelf_life_days", 0),
        ("kind", "cactus"),
        ("name", ""),
    ],
)
def test_item_setup_rejects_bad_values_naming_the_field(manager, field, value):
    response = manager.post(f"{API}/items", json={"name": "Rose", field: value} if field != "name" else {"name": ""})
    assert response.status_code == 422
    assert field in response.json["errors"]["json"]


def test_item_names_are_unique_per_shop_only(manager, shop, other_shop):
    make_item(shop, "Red rose")
    make_item(other_shop, "Peony")
    assert manager.post(f"{API}/items", json={"name": "Red rose"}).status_code == 409
    assert manager.post(f"{API}/items", json={"name": "Peony"}).status_code == 201


def test_patch_changes_setup_not_stock_and_is_audited(manager, shop):
    rose = make_item(shop, "Red rose")
    supply(shop, (rose, 10, "40.00"))

    response = manager.patch(f"{API}/items/{rose.id}", json={"min_level": "20", "is_active": False})
    assert response.status_code == 200
    assert (response.json["min_level"], response.json["on_hand"], response.json["is_active"]) == (
        "20.000",
        "10.000",
        False,
    )
    assert manager.patch(f"{API}/items/{rose.id}", json={"on_hand": "99"}).status_code == 422
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "warehouse_item", AuditEntry.action == "update")
    ).one()
    assert entry.changes["min_level"] == ["0.000", "20.000"]


def test_items_list_filters(florist, shop):
    make_item(shop, "Red rose")
    make_item(shop, "White rose")
    make_item(shop, "Fern", kind="greenery")
    make_item(shop, "Old ribbon", kind="packaging", is_active=False, shelf_life_days=None)

    def names(query):
        response = florist.get(f"{API}/items?{query}")
        assert response.status_code == 200
        return [i["name"] for i in response.json]

    assert names("q=rose") == ["Red rose", "White rose"]
    assert names("kind=greenery") == ["Fern"]
    assert names("active=false") == ["Old ribbon"]
    assert names("q=%25") == []  # a percent sign is a character, not a wildcard


def test_low_stock_lists_items_below_their_minimum(florist, shop):
    rose = make_item(shop, "Red rose", min_level=D(10))
    fern = make_item(shop, "Fern", min_level=D(5))
    make_item(shop, "Ribbon", min_level=D(0))
    supply(shop, (rose, 12, "40.00"), (fern, 6, "10.00"))
    stock.reserve(shop_id=shop.id, order_id=1, lines=[(rose.id, D(3))], actor_id=None)  # 9 available < 10
    db.session.commit()

    response = florist.get(f"{API}/low-stock")
    assert response.status_code == 200
    assert [(i["name"], i["available"]) for i in response.json] == [("Red rose", "9.000")]
    assert fresh(fern).available == D(6)


# --- supplies --------------------------------------------------------------------------------


def test_a_supply_makes_one_batch_per_line_expiring_after_shelf_life(manager, shop, today):
    rose = make_item(shop, "Red rose", shelf_life_days=7)
    ribbon = make_item(shop, "Ribbon", kind="packaging", unit="m", shelf_life_days=None)
    received = today - timedelta(days=2)

    response = manager.post(
        f"{API}/supplies",
        json={
            "supplier": "Flora Ltd",
            "received_on": iso(received),
            "lines": [
                {"item_id": rose.id, "quantity": "50", "unit_cost": "42.50"},
                {"item_id": ribbon.id, "quantity": "12.5", "unit_cost": "8"},
            ],
        },
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body["total_cost"] == "2225.00"  # 50 x 42.50 + 12.5 x 8
    assert body["created_by"] == {"id": manager.user.id, "name": manager.user.name}
    lines = {line["item_name"]: line for line in body["lines"]}
    assert lines["Red rose"]["expires_on"] == iso(received + timedelta(days=7))
    assert lines["Red rose"]["remaining"] == "50.000"
    assert lines["Ribbon"]["expires_on"] is None
    assert fresh(rose).on_hand == D(50)
    assert movement_sums(ribbon.id) == (D("12.5"), D(0))
    assert manager.get(f"{API}/supplies/{body['id']}").json == body


def test_a_supply_naming_another_shops_item_changes_nothing(manager, shop, other_shop):
    rose = make_item(shop, "Red rose")
    theirs = make_item(other_shop, "Their rose")
    response = manager.post(
        f"{API}/supplies",
        json={
            "supplier": "Flora",
            "lines": [
                {"item_id": rose.id, "quantity": "5", "unit_cost": "1"},
                {"item_id": theirs.id, "quantity": "5", "unit_cost": "1"},
            ],
        },
    )
    assert response.status_code == 422
    assert str(theirs.id) not in str(response.json["message"])
    assert fresh(rose).on_hand == 0 and fresh(theirs).on_hand == 0
    assert db.session.scalar(select(Supply.id).where(Supply.shop_id == shop.id)) is None


def test_a_supply_rejects_the_same_item_twice_and_empty_lines(manager, shop):
    rose = make_item(shop, "Red rose")
    line = {"item_id": rose.id, "quantity": "5", "unit_cost": "1"}
    twice = manager.post(f"{API}/supplies", json={"supplier": "Flora", "lines": [line, line]})
    assert twice.status_code == 422
    assert twice.json["errors"]["json"]["lines"] == {"1": {"item_id": ["Appears twice in the list."]}}
    assert manager.post(f"{API}/supplies", json={"supplier": "Flora", "lines": []}).status_code == 422
    for bad in ({"quantity": "0"}, {"quantity": "100000"}, {"unit_cost": "100000"}, {"unit_cost": "-1"}):
        response = manager.post(f"{API}/supplies", json={"supplier": "F", "lines": [{**line, **bad}]})
        assert response.status_code == 422, bad


def test_a_supply_cannot_be_dated_in_the_future(manager, shop, today):
    rose = make_item(shop, "Red rose")
    line = {"item_id": rose.id, "quantity": "5", "unit_cost": "1"}
    for day in (today + timedelta(days=1), date(9999, 12, 31)):
        response = manager.post(f"{API}/supplies", json={"supplier": "F", "received_on": iso(day), "lines": [line]})
        assert response.status_code == 422
        assert "received_on" in str(response.json["errors"])
    assert fresh(rose).on_hand == 0


def test_a_retried_supply_is_received_once(manager, shop):
    rose = make_item(shop, "Red rose")
    body = {"supplier": "Flora", "lines": [{"item_id": rose.id, "quantity": "10", "unit_cost": "40"}]}
    first = manager.post(f"{API}/supplies", json=body, headers={"Idempotency-Key": "supply-1"})
    retry = manager.post(f"{API}/supplies", json=body, headers={"Idempotency-Key": "supply-1"})
    assert first.status_code == retry.status_code == 201
    assert retry.json == first.json and retry.headers["Idempotent-Replayed"] == "true"
    assert fresh(rose).on_hand == D(10)


def test_supplies_list_filters_by_date_and_supplier(manager, shop, today):
    rose = make_item(shop, "Red rose")
    supply(shop, (rose, 1, "1"), supplier="Flora Ltd", received_on=today - timedelta(days=5))
    supply(shop, (rose, 1, "1"), supplier="Green World", received_on=today - timedelta(days=1))

    def suppliers(query):
        return [s["supplier"] for s in manager.get(f"{API}/supplies?{query}").json]

    assert suppliers("") == ["Green World", "Flora Ltd"]
    assert suppliers(f"received_from={iso(today - timedelta(days=2))}") == ["Green World"]
    assert suppliers(f"received_to={iso(today - timedelta(days=2))}") == ["Flora Ltd"]
    assert suppliers("supplier=flora") == ["Flora Ltd"]


# --- write-offs ------------------------------------------------------------------------------


@pytest.fixture
def roses_in_three_batches(shop, today):
    """Red roses: 5 at 70 (oldest), 5 at 50, 5 at 30 (newest); 7-day shelf life."""
    rose = make_item(shop, "Red rose", shelf_life_days=7)
    supply(shop, (rose, 5, "70.00"), received_on=today - timedelta(days=6))
    supply(shop, (rose, 5, "50.00"), received_on=today - timedelta(days=3))
    supply(shop, (rose, 5, "30.00"), received_on=today)
    return rose


def test_a_write_off_takes_the_batches_expiring_first_and_costs_them(florist, roses_in_three_batches):
    rose = roses_in_three_batches
    response = florist.post(
        f"{API}/write-offs",
        json={"reason": "wilted", "note": "heat", "lines": [{"item_id": rose.id, "quantity": "7"}]},
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body["cost"] == "450.00"  # 5 x 70 + 2 x 50
    assert [(line["quantity"], line["unit_cost"], line["cost"]) for line in body["lines"]] == [
        ("5.000", "70.00", "350.00"),
        ("2.000", "50.00", "100.00"),
    ]
    assert body["created_by"]["id"] == florist.user.id
    assert [b.remaining for b in batches_of(rose.id)] == [D(0), D(3), D(5)]
    assert movement_sums(rose.id) == (D(8), D(0))


def test_a_write_off_from_a_named_batch(florist, roses_in_three_batches):
    rose = roses_in_three_batches
    newest = batches_of(rose.id)[-1]
    response = florist.post(
        f"{API}/write-offs",
        json={"reason": "damaged", "lines": [{"item_id": rose.id, "quantity": "2", "batch_id": newest.id}]},
    )
    assert response.status_code == 201
    assert response.json["cost"] == "60.00"
    assert [b.remaining for b in batches_of(rose.id)] == [D(5), D(5), D(3)]


def test_a_write_off_cannot_take_more_than_is_on_hand(florist, shop, roses_in_three_batches):
    rose = roses_in_three_batches
    stock.reserve(shop_id=shop.id, order_id=9, lines=[(rose.id, D(12))], actor_id=None)
    db.session.commit()
    response = florist.post(
        f"{API}/write-offs", json={"reason": "lost", "lines": [{"item_id": rose.id, "quantity": 16}]}
    )
    assert response.status_code == 409
    assert response.json["errors"]["shortages"] == [
        {"item_id": rose.id, "name": "Red rose", "needed": "16.000", "available": "15.000"}
    ]
    assert (fresh(rose).on_hand, fresh(rose).reserved) == (D(15), D(12))


def test_a_write_off_naming_a_batch_of_another_item_or_shop_is_422(florist, shop, other_shop, roses_in_three_batches):
    rose = roses_in_three_batches
    fern = make_item(shop, "Fern")
    theirs = make_item(other_shop, "Their rose")
    supply(shop, (fern, 5, "10"))
    supply(other_shop, (theirs, 5, "10"))
    for batch in (batches_of(fern.id)[0], batches_of(theirs.id)[0]):
        response = florist.post(
            f"{API}/write-offs",
            json={"reason": "lost", "lines": [{"item_id": rose.id, "quantity": "1", "batch_id": batch.id}]},
        )
        assert response.status_code == 422
    assert fresh(theirs).on_hand == D(5)


def test_write_offs_list_by_reason_and_who_with_their_cost(as_role, shop, roses_in_three_batches):
    rose = roses_in_three_batches
    florist, manager = as_role("florist"), as_role("manager")
    line = {"item_id": rose.id, "quantity": "1"}
    assert florist.post(f"{API}/write-offs", json={"reason": "wilted", "lines": [line]}).status_code == 201
    assert florist.post(f"{API}/write-offs", json={"reason": "damaged", "lines": [line]}).status_code == 201
    assert manager.post(f"{API}/write-offs", json={"reason": "wilted", "lines": [line]}).status_code == 201

    wilted = manager.get(f"{API}/write-offs?reason=wilted")
    assert [w["cost"] for w in wilted.json] == ["70.00", "70.00"]
    assert wilted.headers["X-Total-Cost"] == "140.00"
    by_florist = manager.get(f"{API}/write-offs?created_by={florist.user.id}")
    assert [w["reason"] for w in by_florist.json] == ["damaged", "wilted"]
    assert by_florist.headers["X-Total-Cost"] == "140.00"
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert manager.get(f"{API}/write-offs", query_string={"from": tomorrow}).json == []


# --- counts ----------------------------------------------------------------------------------


def test_a_count_adjusts_down_expiring_first_and_up_with_a_new_batch(manager, shop, today, roses_in_three_batches):
    rose = roses_in_three_batches
    fern = make_item(shop, "Fern", shelf_life_days=10)
    supply(shop, (fern, 4, "12.00"), received_on=today - timedelta(days=2))
    supply(shop, (fern, 2, "15.00"), received_on=today - timedelta(days=1))

    response = manager.post(
        f"{API}/counts",
        json={"note": "Monday", "lines": [{"item_id": rose.id, "counted": "9"}, {"item_id": fern.id, "counted": "8"}]},
    )
    assert response.status_code == 201, response.json
    lines = {line["item_name"]: line for line in response.json["lines"]}
    assert (lines["Red rose"]["expected"], lines["Red rose"]["counted"], lines["Red rose"]["difference"]) == (
        "15.000",
        "9.000",
        "-6.000",
    )
    assert lines["Fern"]["difference"] == "2.000"
    assert response.json["created_by"]["id"] == manager.user.id
    assert [b.remaining for b in batches_of(rose.id)] == [D(0), D(4), D(5)]
    surplus = batches_of(fern.id)[-1]
    # Found stock: a new batch received today, at the latest price, expiring after the shelf life.
    assert (surplus.quantity, surplus.unit_cost, surplus.received_on) == (D(2), D("15.00"), today)
    assert surplus.expires_on == today + timedelta(days=10)
    assert movement_sums(rose.id) == (D(9), D(0)) and movement_sums(fern.id) == (D(8), D(0))
    adjustments = db.session.scalars(select(Movement).where(Movement.kind == "count_adjustment")).all()
    assert {m.user_id for m in adjustments} == {manager.user.id}


def test_a_count_below_what_orders_hold_leaves_them_short(manager, shop, roses_in_three_batches):
    rose = roses_in_three_batches
    stock.reserve(shop_id=shop.id, order_id=1, lines=[(rose.id, D(6))], actor_id=None)
    stock.reserve(shop_id=shop.id, order_id=2, lines=[(rose.id, D(4))], actor_id=None)
    db.session.commit()
    response = manager.post(f"{API}/counts", json={"lines": [{"item_id": rose.id, "counted": "8"}]})
    assert response.status_code == 201
    assert (fresh(rose).on_hand, fresh(rose).reserved) == (D(8), D(8))
    assert movement_sums(rose.id) == (D(8), D(8))
    held = db.session.scalars(select(Reservation).where(Reservation.item_id == rose.id).order_by(Reservation.order_id))
    assert [(r.order_id, r.quantity, r.short) for r in held] == [(1, D(6), D(0)), (2, D(2), D(2))]


def test_counts_list(manager, shop, roses_in_three_batches):
    rose = roses_in_three_batches
    assert manager.post(f"{API}/counts", json={"lines": [{"item_id": rose.id, "counted": "15"}]}).status_code == 201
    listed = manager.get(f"{API}/counts?created_by={manager.user.id}").json
    assert [line["difference"] for line in listed[0]["lines"]] == ["0.000"]
    assert manager.get(f"{API}/counts?created_by=999999").json == []


# --- movements and batches -------------------------------------------------------------------


def test_movements_filter_by_item_kind_and_order(manager, shop, roses_in_three_batches):
    rose = roses_in_three_batches
    fern = make_item(shop, "Fern")
    supply(shop, (fern, 3, "10"))
    stock.reserve(shop_id=shop.id, order_id=42, lines=[(rose.id, D(2)), (fern.id, D(1))], actor_id=None)
    stock.consume(shop_id=shop.id, order_id=42, actor_id=None)
    db.session.commit()

    def kinds(query):
        response = manager.get(f"{API}/movements?{query}")
        assert response.status_code == 200
        return sorted((m["kind"], m["item_name"], m["quantity"]) for m in response.json)

    assert kinds("order_id=42") == [
        ("consumption", "Fern", "-1.000"),
        ("consumption", "Red rose", "-2.000"),
        ("reservation", "Fern", "1.000"),
        ("reservation", "Red rose", "2.000"),
    ]
    assert kinds(f"item_id={fern.id}") == [
        ("consumption", "Fern", "-1.000"),
        ("reservation", "Fern", "1.000"),
        ("supply", "Fern", "3.000"),
    ]
    assert len(kinds("kind=supply")) == 4
    consumed = manager.get(f"{API}/movements?kind=consumption&item_id={rose.id}").json
    assert [(m["unit_cost"], m["cost"]) for m in consumed] == [("70.00", "140.00")]


def test_batches_filters_show_what_expired_and_what_is_about_to(florist, shop, today, roses_in_three_batches):
    rose = roses_in_three_batches  # expires: today+1, today+4, today+7
    old_fern = make_item(shop, "Fern", shelf_life_days=2)
    supply(shop, (old_fern, 3, "10"), received_on=today - timedelta(days=5))  # expired 3 days ago

    def batches(query):
        response = florist.get(f"{API}/batches?{query}")
        assert response.status_code == 200
        return [(b["item_name"], b["expires_on"]) for b in response.json]

    assert batches("expired=true") == [("Fern", iso(today - timedelta(days=3)))]
    assert batches(f"expiring_before={iso(today + timedelta(days=5))}&expired=false") == [
        ("Red rose", iso(today + timedelta(days=1))),
        ("Red rose", iso(today + timedelta(days=4))),
    ]
    assert len(batches(f"item_id={rose.id}")) == 3
    florist.post(f"{API}/write-offs", json={"reason": "wilted", "lines": [{"item_id": old_fern.id, "quantity": 3}]})
    assert batches("expired=true") == []
    assert batches("expired=true&include_empty=true") == [("Fern", iso(today - timedelta(days=3)))]


# --- fixed statement counts ------------------------------------------------------------------

_names = itertools.count()
LISTS = [
    "/items",
    "/low-stock",
    "/batches",
    "/movements",
    "/supplies",
    "/write-offs",
    "/counts",
]


def _fill(shop, n: int) -> None:
    for _ in range(n):
        item = make_item(shop, f"Flower {next(_names)}", min_level=D(100))
        supply(shop, (item, 5, "10"))
        services.create_write_off(
            shop_id=shop.id, actor_id=None, reason="wilted", lines=[{"item_id": item.id, "quantity": D(1)}]
        )
        services.create_count(shop_id=shop.id, actor_id=None, lines=[{"item_id": item.id, "counted": D(3)}])


@pytest.mark.parametrize("path", LISTS)
def test_list_statement_count_does_not_grow_with_the_page(manager, shop, count_queries, path):
    _fill(shop, 1)
    db.session.expire_all()  # rows the test made must not hide a lazy load behind the identity map
    with count_queries() as one:
        assert len(manager.get(f"{API}{path}").json) >= 1
    _fill(shop, 6)
    db.session.expire_all()
    with count_queries() as many:
        assert len(manager.get(f"{API}{path}").json) >= 7
    assert len(many) == len(one), many
