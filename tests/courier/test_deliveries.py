"""Deliveries: assigning couriers, the courier's list, and each step's rules, retries and late arrivals."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.common.types import utcnow
from app.courier.models import CourierAssignment, Delivery
from app.extensions import db
from app.users.models import Membership
from tests.orders.orderdata import EVENING, delivery, history_of, pickup, place
from tests.production.workshop import (
    DELIVERIES,
    ORDERS,
    audit_of,
    confirmed,
    delivery_in,
    ok,
    order_row,
    payments_of,
    trip_of,
)
from tests.warehouse.stockdata import D

CARD_FIELDS = {
    "order_id",
    "number",
    "status",
    "courier_id",
    "delivery_date",
    "window_start",
    "window_end",
    "window_starts_at",
    "recipient_name",
    "recipient_phone",
    "address",
    "note",
    "amount_due",
    "attempts",
    "picked_up_at",
    "failed_at",
    "failure_reason",
    "failure_comment",
    "delivered_at",
    "client_completed_at",
    "amount_collected",
    "photo_url",
    "updated_at",
}


# --- assigning ---------------------------------------------------------------------------------


def test_a_manager_assigns_and_reassigns_a_courier(front, boss, as_role):
    first, second = as_role("courier"), as_role("courier")
    order_id = confirmed(front, boss)

    assigned = ok(boss.post(f"{ORDERS}/{order_id}/courier", json={"courier_id": first.user.id}))
    assert assigned["courier_id"] == first.user.id and "ETag" in boss.get(f"{ORDERS}/{order_id}").headers
    ok(boss.post(f"{ORDERS}/{order_id}/courier", json={"courier_id": first.user.id}))  # the same: nothing changes
    ok(boss.post(f"{ORDERS}/{order_id}/courier", json={"courier_id": second.user.id}))

    assert [c["order_id"] for c in ok(second.get(DELIVERIES))] == [order_id]
    assert ok(first.get(DELIVERIES)) == []
    rows = db.session.scalars(select(CourierAssignment).where(CourierAssignment.order_id == order_id).order_by("id"))
    assert [(r.courier_id, r.ended_at is None) for r in rows] == [(first.user.id, False), (second.user.id, True)]
    assert [a for a, _ in audit_of("order", order_id)].count("assign_courier") == 2

    taken_back = ok(boss.post(f"{ORDERS}/{order_id}/courier", json={"courier_id": None}))
    assert taken_back["courier"] is None and ok(second.get(DELIVERIES)) == []

    ok(boss.post(f"{ORDERS}/{order_id}/courier", json={"courier_id": first.user.id}))  # given back to the first
    rows = db.session.scalars(select(CourierAssignment).where(CourierAssignment.order_id == order_id).order_by("id"))
    assert [(r.courier_id, r.ended_at is None) for r in rows] == [
        (first.user.id, False),
        (second.user.id, False),
        (first.user.id, True),
    ]
    assert [c["order_id"] for c in ok(first.get(DELIVERIES))] == [order_id]
    assert trips_of(order_id) == 1


def test_the_first_courier_is_given_the_order_without_reading_its_assignments_or_trip(
    front, boss, as_role, count_queries
):
    courier = as_role("courier")
    order_id = confirmed(front, boss)

    with count_queries() as statements:
        ok(boss.post(f"{ORDERS}/{order_id}/courier", json={"courier_id": courier.user.id}))

    reads = [s for s in statements if "FROM courier_assignments" in s or "FROM deliveries" in s]
    assert reads == [], reads  # an order without a courier has no open assignment and no trip yet
    assert trips_of(order_id) == 1
    assert [c["order_id"] for c in ok(courier.get(DELIVERIES))] == [order_id]


def trips_of(order_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Delivery).where(Delivery.order_id == order_id))


def test_only_an_active_courier_of_the_shop_is_assigned(front, boss, as_role, other_shop):
    order_id = confirmed(front, boss)
    florist, gone, elsewhere = as_role("florist"), as_role("courier"), as_role("courier", shop=other_shop)
    membership = db.session.scalars(select(Membership).where(Membership.user_id == gone.user.id)).one()
    membership.deactivated_at = utcnow()
    db.session.commit()

    for user_id in (florist.user.id, gone.user.id, elsewhere.user.id):
        refused = boss.post(f"{ORDERS}/{order_id}/courier", json={"courier_id": user_id})
        assert refused.status_code == 422 and "courier_id" in refused.json["errors"]
    assert order_row(order_id).courier_id is None


@pytest.mark.parametrize("status", ["new", "out_for_delivery", "delivered", "cancelled"])
def test_a_courier_is_assigned_only_before_the_flowers_leave_or_after_a_failed_trip(front, boss, as_role, status):
    courier = as_role("courier")
    order_id = delivery_in(front, status, None)

    refused = boss.post(f"{ORDERS}/{order_id}/courier", json={"courier_id": courier.user.id})

    assert refused.status_code == 409
    assert refused.json["errors"]["status"]["current"] == status


def test_a_pickup_order_has_no_courier(front, boss, as_role):
    courier = as_role("courier")
    order_id = confirmed(front, boss, pickup(front))

    refused = boss.post(f"{ORDERS}/{order_id}/courier", json={"courier_id": courier.user.id})

    assert refused.status_code == 409 and "fulfillment" in refused.json["errors"]
    assert courier.post(f"{DELIVERIES}/{order_id}/pickup").status_code == 404
    assert boss.post(f"{DELIVERIES}/{order_id}/pickup").status_code == 404


# --- the courier's list ------------------------------------------------------------------------


def test_the_courier_sees_only_their_deliveries_and_only_the_door(front, boss, as_role):
    courier, colleague = as_role("courier"), as_role("courier")
    mine = delivery_in(front, "ready", courier)
    delivery_in(front, "ready", colleague)
    place(front, delivery(front))  # nobody's yet

    (card,) = ok(courier.get(DELIVERIES))

    assert set(card) == CARD_FIELDS
    assert card["order_id"] == mine and card["courier_id"] == courier.user.id
    assert card["photo_url"] is None and card["attempts"] == 0
    # Managers see every delivery that has a courier, or one courier's.
    assert len(ok(boss.get(DELIVERIES))) == 2
    assert [c["order_id"] for c in ok(boss.get(DELIVERIES, query_string={"courier_id": courier.user.id}))] == [mine]


def test_the_delivery_list_filters_by_day_status_and_change(front, boss, as_role):
    courier = as_role("courier")
    tomorrow = delivery_in(front, "ready", courier)
    later = delivery_in(front, "out_for_delivery", courier, window_start=EVENING)
    day_after = delivery_in(front, "ready", courier, delivery_date=(front.day + timedelta(days=1)).isoformat())

    def ids(**query) -> list[int]:
        return [c["order_id"] for c in ok(courier.get(DELIVERIES, query_string=query))]

    assert ids() == [tomorrow, later, day_after]  # by day, then window
    assert ids(date=front.day.isoformat()) == [tomorrow, later]
    assert ids(status="out_for_delivery") == [later]
    since = utcnow()
    assert ids(updated_since=(since + timedelta(seconds=1)).isoformat()) == []
    ok(courier.post(f"{DELIVERIES}/{tomorrow}/pickup"))
    assert ids(updated_since=since.isoformat()) == [tomorrow]
    assert courier.get(DELIVERIES, query_string={"date": "tomorrow"}).status_code == 422


def test_the_delivery_list_runs_the_same_statements_for_5_or_50(front, boss, as_role, count_queries):
    courier = as_role("courier")
    for i in range(7):  # windows hold five orders each
        delivery_in(front, "ready", courier, window_start=EVENING if i % 2 else "10:00")

    counts = {}
    for size in (5, 50):
        db.session.expire_all()
        with count_queries() as statements:
            answer = courier.get(DELIVERIES, query_string={"page_size": size})
        cards = ok(answer)
        counts[size] = len(statements)
        assert json.loads(answer.headers["X-Pagination"])["total"] == 7  # counted once, carried by the page
        assert len(cards) == min(size, 7)
    # the caller with their memberships, the page with its count and trips
    assert counts[5] == counts[50] == 2, counts


def test_a_poll_that_finds_nothing_new_is_one_statement_and_a_page_past_the_last_still_counts(
    front, boss, as_role, count_queries
):
    courier = as_role("courier")
    for _ in range(3):
        delivery_in(front, "ready", courier)
    since = (utcnow() + timedelta(seconds=1)).isoformat()

    def page(**query) -> tuple[list, int, int]:
        db.session.expire_all()
        with count_queries() as statements:
            answer = courier.get(DELIVERIES, query_string=query)
        return ok(answer), json.loads(answer.headers["X-Pagination"])["total"], len(statements)

    # The courier app's poll, most of a peak day's requests: nothing changed, so nothing to count.
    assert page(updated_since=since) == ([], 0, 2)  # the caller, the page
    cards, total, _statements = page(page_size=2, page=2)
    assert (len(cards), total) == (1, 3)
    assert page(page_size=2, page=3) == ([], 3, 3)  # past the last: the total is asked for on its own


def test_the_listed_deliveries_are_the_delivery_cards(app, front, boss, as_role):
    import io

    from app.courier import services
    from app.courier.schemas import DeliverySchema
    from app.users.models import Role
    from tests.production.workshop import photo

    courier = as_role("courier")
    waiting = delivery_in(front, "ready", courier, comment="Code 1234")
    failed = delivery_in(front, "ready", courier, window_start=EVENING)
    delivered = delivery_in(front, "ready", courier)
    ok(courier.post(f"{DELIVERIES}/{failed}/pickup"))
    ok(courier.post(f"{DELIVERIES}/{failed}/fail", json={"reason": "nobody_home"}))
    ok(courier.post(f"{DELIVERIES}/{delivered}/pickup"))
    ok(courier.put(f"{DELIVERIES}/{delivered}/photo", data={"photo": (io.BytesIO(photo()), "door.jpg")}))
    ok(courier.post(f"{DELIVERIES}/{delivered}/deliver", json={"amount_collected": "1000.00"}))
    untouched = place(front, delivery(front), status="ready")  # a courier set, no trip row yet
    untouched.courier_id = courier.user.id
    db.session.commit()
    db.session.expire_all()
    mine = {"shop_id": front.shop_id, "viewer_id": courier.user.id, "viewer_role": Role.COURIER}

    with app.test_request_context():  # photo links are absolute URLs
        listed, total = services.list_deliveries(**mine, page=1, page_size=50)
        cards = [services.get_delivery(**mine, order_id=row["order_id"]) for row in listed]
        assert DeliverySchema(many=True).dump(listed) == listed  # the list is read in the schema's shape
        assert listed == DeliverySchema(many=True).dump(cards)  # as marshmallow dumps the ORM's cards
    assert total == 4 and {row["order_id"] for row in listed} == {waiting, failed, delivered, untouched.id}
    by_id = {row["order_id"]: row for row in listed}
    assert by_id[waiting]["picked_up_at"] is None and by_id[waiting]["note"] == "Code 1234"
    assert by_id[failed]["failure_reason"] == "nobody_home"
    assert by_id[untouched.id]["attempts"] is None
    assert by_id[delivered]["photo_url"] and by_id[delivered]["amount_collected"] == "1000.00"


# --- the steps ---------------------------------------------------------------------------------


def test_pickup_needs_a_ready_order_with_a_courier(front, boss, as_role):
    courier = as_role("courier")
    unassigned = delivery_in(front, "ready", None)
    in_production = delivery_in(front, "in_production", courier)

    refused = boss.post(f"{DELIVERIES}/{unassigned}/pickup")
    assert refused.status_code == 409 and refused.json["message"].startswith("Назначьте курьера")
    early = courier.post(f"{DELIVERIES}/{in_production}/pickup")
    assert early.status_code == 409
    assert early.json["errors"]["status"]["from"] == "in_production"
    assert early.json["errors"]["delivery"] == {
        "order_id": in_production,
        "status": "in_production",
        "assigned_to_you": True,
    }


def test_a_manager_may_send_the_courier_out(front, boss, as_role):
    courier = as_role("courier")
    order_id = delivery_in(front, "ready", courier)

    ok(boss.post(f"{DELIVERIES}/{order_id}/pickup"))

    assert history_of(order_id)[-1] == ("ready", "out_for_delivery")


def test_fail_needs_a_reason_and_other_needs_words(front, as_role):
    courier = as_role("courier")
    order_id = delivery_in(front, "out_for_delivery", courier)

    assert courier.post(f"{DELIVERIES}/{order_id}/fail", json={}).status_code == 422
    assert courier.post(f"{DELIVERIES}/{order_id}/fail", json={"reason": "dog"}).status_code == 422
    unexplained = courier.post(f"{DELIVERIES}/{order_id}/fail", json={"reason": "other"})
    assert unexplained.status_code == 422 and "comment" in unexplained.json["errors"]
    assert order_row(order_id).status == "out_for_delivery"

    failed = ok(courier.post(f"{DELIVERIES}/{order_id}/fail", json={"reason": "refused", "comment": "wrong flowers"}))
    again = ok(courier.post(f"{DELIVERIES}/{order_id}/fail", json={"reason": "refused", "comment": "wrong flowers"}))
    assert failed["failure_comment"] == "wrong flowers" and again == failed
    assert history_of(order_id).count(("out_for_delivery", "delivery_failed")) == 1


def test_a_retried_deliver_answers_the_state_reached_once(front, as_role):
    courier = as_role("courier")
    order_id = delivery_in(front, "out_for_delivery", courier)
    body = {"amount_collected": "3200.00", "completed_at": "2025-01-02T12:41:00+03:00"}

    first = ok(courier.post(f"{DELIVERIES}/{order_id}/deliver", json=body))
    again = ok(courier.post(f"{DELIVERIES}/{order_id}/deliver", json=body))

    assert again == first
    assert len(payments_of(order_id)) == 1
    assert history_of(order_id).count(("out_for_delivery", "delivered")) == 1
    assert first["client_completed_at"] == "2025-01-02T09:41:00+00:00"


def test_cash_at_the_door_is_recorded_under_the_one_lock_of_the_order(front, as_role, count_queries):
    """The payment is taken under the row lock the deliver step already holds: the order is locked (and read) once,
    and written once, its paid amount with its status."""
    courier = as_role("courier")
    order_id = delivery_in(front, "out_for_delivery", courier)

    with count_queries() as statements:
        card = ok(courier.post(f"{DELIVERIES}/{order_id}/deliver", json={"amount_collected": "3200.00"}))

    locks = [s for s in statements if "FOR UPDATE" in s and "FROM orders" in s]
    assert len(locks) == 1, locks
    writes = [s for s in statements if s.lstrip().startswith(("UPDATE orders", "INSERT INTO audit_log"))]
    assert len(writes) == 2, writes
    assert card["status"] == "delivered" and card["amount_collected"] == "3200.00"
    assert [payment.amount for payment in payments_of(order_id)] == [D("3200.00")]
    row = order_row(order_id)
    assert (row.status, row.paid_amount, row.payment_status) == ("delivered", D("3200.00"), "paid")


@pytest.mark.parametrize(
    ("status", "step", "kind"), [("ready", "pickup", "picked_up"), ("out_for_delivery", "deliver", "delivered")]
)
def test_a_courier_step_reads_the_order_card_and_the_delivery_card_for_its_events_in_one_statement(
    front, boss, as_role, count_queries, status, step, kind
):
    """Managers hear of the order, the courier of the delivery: both cards of the same commit, read together."""
    courier = as_role("courier")
    order_id = delivery_in(front, status, courier)

    with count_queries() as statements:
        answer = ok(courier.post(f"{DELIVERIES}/{order_id}/{step}", headers={"Idempotency-Key": f"{step}-{order_id}"}))

    reads = [s for s in statements if s.lstrip().startswith("SELECT") and ("order_items" in s or "deliveries" in s)]
    assert len(reads) == 1, reads  # the order with its lines and payments, and its trip: one statement
    managers = boss.get("/api/v1/events", query_string={"types": "order.status_changed"}).get_json()["events"]
    couriers = courier.get("/api/v1/events", query_string={"types": f"delivery.{kind}"}).get_json()["events"]
    assert managers[-1]["data"] == boss.get(f"{ORDERS}/{order_id}").get_json()
    assert couriers[-1]["data"] == courier.get(f"{DELIVERIES}/{order_id}").get_json() == answer


def picked_up(front, courier) -> int:
    """A delivery the courier really picked up (the server keeps the moment); its id."""
    order_id = delivery_in(front, "ready", courier)
    ok(courier.post(f"{DELIVERIES}/{order_id}/pickup"))
    return order_id


def deliver_at(courier, order_id: int, moment, **body):
    return courier.post(f"{DELIVERIES}/{order_id}/deliver", json={"completed_at": moment.isoformat(), **body})


@pytest.mark.parametrize(
    ("when", "blamed"),
    [
        (lambda picked, now: now + timedelta(minutes=6), "server's time"),
        (lambda picked, now: now + timedelta(days=1), "server's time"),
    ],
    ids=["6 minutes ahead", "tomorrow"],
)
def test_a_hand_over_time_in_the_future_is_422_naming_the_field_and_changes_nothing(front, as_role, when, blamed):
    courier = as_role("courier")
    order_id = picked_up(front, courier)
    picked = trip_of(order_id).picked_up_at

    refused = deliver_at(courier, order_id, when(picked, utcnow()), amount_collected="3200.00")

    assert refused.status_code == 422
    assert set(refused.json["errors"]) == {"completed_at"}
    assert blamed in refused.json["errors"]["completed_at"][0]
    trip = trip_of(order_id)
    assert (trip.delivered_at, trip.client_completed_at, trip.amount_collected) == (None, None, None)
    assert order_row(order_id).status == "out_for_delivery" and payments_of(order_id) == []
    assert history_of(order_id)[-1] == ("ready", "out_for_delivery")


def test_a_phone_clock_a_little_off_is_brought_inside_the_trip(front, as_role):
    courier = as_role("courier")
    ahead, behind = picked_up(front, courier), picked_up(front, courier)

    ok(deliver_at(courier, ahead, utcnow() + timedelta(minutes=4)))
    ok(deliver_at(courier, behind, trip_of(behind).picked_up_at - timedelta(minutes=4)))

    # Never after the server saw the hand-over, never before the flowers left.
    assert trip_of(ahead).client_completed_at == trip_of(ahead).delivered_at
    assert trip_of(behind).client_completed_at == trip_of(behind).picked_up_at


def test_steps_queued_offline_and_sent_together_count_the_hand_over_from_the_servers_pickup(front, as_role):
    """Pickup at 14:00 and hand-over at 14:30 were queued in a dead zone and reach the server at 19:00: the
    server's pickup is 19:00, so the phone's 14:30 is taken as 19:00, never refused and never counted early."""
    courier = as_role("courier")
    order_id = picked_up(front, courier)

    ok(deliver_at(courier, order_id, trip_of(order_id).picked_up_at - timedelta(hours=4, minutes=30)))

    trip = trip_of(order_id)
    assert order_row(order_id).status == "delivered"
    assert trip.client_completed_at == trip.picked_up_at


def test_a_hand_over_sent_late_from_a_phone_that_was_offline_keeps_the_phones_time(front, as_role):
    courier = as_role("courier")
    order_id = picked_up(front, courier)
    trip = trip_of(order_id)
    trip.picked_up_at = utcnow() - timedelta(hours=2)  # left the shop two hours ago
    db.session.commit()
    at_the_door = utcnow() - timedelta(minutes=50)

    card = ok(deliver_at(courier, order_id, at_the_door))

    assert trip_of(order_id).client_completed_at == at_the_door
    assert card["client_completed_at"] == at_the_door.isoformat()


def test_more_cash_than_is_due_is_refused_and_nothing_changes(front, as_role):
    courier = as_role("courier")
    order_id = delivery_in(front, "out_for_delivery", courier)

    refused = courier.post(f"{DELIVERIES}/{order_id}/deliver", json={"amount_collected": "5000.00"})

    assert refused.status_code == 422 and "amount" in refused.json["errors"]
    assert order_row(order_id).status == "out_for_delivery" and payments_of(order_id) == []


def test_a_deliver_arriving_after_the_order_was_cancelled_is_409_with_the_current_state(front, boss, as_role):
    courier = as_role("courier")
    order_id = delivery_in(front, "out_for_delivery", courier)
    ok(boss.post(f"{ORDERS}/{order_id}/status", json={"status": "cancelled", "comment": "the customer called"}))

    late = courier.post(f"{DELIVERIES}/{order_id}/deliver", json={"amount_collected": "3200.00"})

    assert late.status_code == 409
    assert late.json["errors"]["status"] == {"from": "cancelled", "to": "delivered", "allowed": []}
    assert late.json["errors"]["delivery"]["status"] == "cancelled"
    assert order_row(order_id).status == "cancelled" and payments_of(order_id) == []
    # The app's sync still shows the delivery, cancelled.
    assert [c["status"] for c in ok(courier.get(DELIVERIES))] == ["cancelled"]


@pytest.mark.parametrize(
    ("status", "step", "body", "allowed"),
    [
        # From ready the courier can only pick up; cancelling or handing over in the shop is the back office's.
        ("ready", "deliver", {}, ["out_for_delivery"]),
        ("ready", "fail", {"reason": "nobody_home"}, ["out_for_delivery"]),
        ("out_for_delivery", "return", None, ["delivered", "delivery_failed"]),
        ("delivery_failed", "deliver", {}, ["out_for_delivery", "ready"]),
        ("in_production", "pickup", None, []),
        ("delivered", "pickup", None, []),
        ("delivered", "fail", {"reason": "nobody_home"}, []),
    ],
)
def test_steps_out_of_turn_are_409_naming_only_the_couriers_next_steps(front, as_role, status, step, body, allowed):
    courier = as_role("courier")
    order_id = delivery_in(front, status, courier)
    before = history_of(order_id)

    refused = courier.post(f"{DELIVERIES}/{order_id}/{step}", json=body)

    assert refused.status_code == 409, refused.json
    assert refused.json["errors"]["status"]["from"] == status
    assert refused.json["errors"]["status"]["allowed"] == allowed
    assert history_of(order_id) == before and order_row(order_id).status == status


def test_a_late_step_tells_each_caller_what_they_can_do_on_this_delivery(front, boss, as_role):
    courier, colleague = as_role("courier"), as_role("courier")
    reassigned = delivery_in(front, "ready", courier)
    ok(boss.post(f"{ORDERS}/{reassigned}/courier", json={"courier_id": colleague.user.id}))
    nobodys = delivery_in(front, "ready", None)

    late = courier.post(f"{DELIVERIES}/{reassigned}/pickup")
    assert late.status_code == 409 and late.json["errors"]["delivery"]["assigned_to_you"] is False
    assert late.json["errors"]["status"]["allowed"] == []  # no longer theirs: nothing to do
    # The courier who has it now, and the manager acting for them, may still send it out.
    for caller in (colleague, boss):
        early = caller.post(f"{DELIVERIES}/{reassigned}/deliver", json={})
        assert early.status_code == 409 and early.json["errors"]["status"]["allowed"] == ["out_for_delivery"]
    # Without a courier nothing leaves the shop, whoever asks.
    unassigned = boss.post(f"{DELIVERIES}/{nobodys}/pickup")
    assert unassigned.status_code == 409 and unassigned.json["errors"]["status"]["allowed"] == []
    assert order_row(reassigned).status == "ready" and order_row(nobodys).status == "ready"


def test_another_couriers_or_another_shops_delivery_is_404_and_untouched(front, as_role, other_shop):
    from tests.orders.orderdata import open_shop

    courier, colleague = as_role("courier"), as_role("courier")
    theirs = delivery_in(front, "out_for_delivery", colleague)
    other_front = open_shop(other_shop, prefix="Their ")
    elsewhere = delivery_in(other_front, "out_for_delivery", as_role("courier", shop=other_shop))

    for order_id in (theirs, elsewhere):
        for step, body in (("pickup", None), ("deliver", {}), ("fail", {"reason": "refused"}), ("return", None)):
            response = courier.post(f"{DELIVERIES}/{order_id}/{step}", json=body)
            assert response.status_code == 404, (order_id, step)
            assert "Their" not in response.get_data(as_text=True)
        assert courier.get(f"{DELIVERIES}/{order_id}").status_code == 404
        assert order_row(order_id).status == "out_for_delivery"
    assert ok(courier.get(DELIVERIES)) == []


def test_a_florist_on_courier_endpoints_is_403(front, as_role):
    florist, courier = as_role("florist"), as_role("courier")
    order_id = delivery_in(front, "out_for_delivery", courier)

    assert florist.get(DELIVERIES).status_code == 403
    for step in ("pickup", "deliver", "fail", "return"):
        assert florist.post(f"{DELIVERIES}/{order_id}/{step}", json={"reason": "refused"}).status_code == 403
    assert florist.put(f"{DELIVERIES}/{order_id}/photo").status_code == 403
    assert order_row(order_id).status == "out_for_delivery"


def test_the_trip_keeps_the_failure_and_the_cash(front, as_role):
    courier = as_role("courier")
    order_id = delivery_in(front, "out_for_delivery", courier)
    ok(courier.post(f"{DELIVERIES}/{order_id}/fail", json={"reason": "wrong_address", "comment": "no such flat"}))
    ok(courier.post(f"{DELIVERIES}/{order_id}/pickup"))
    ok(courier.post(f"{DELIVERIES}/{order_id}/deliver", json={"amount_collected": "200.00"}))

    trip = trip_of(order_id)
    assert (trip.failure_reason, trip.failure_comment, trip.attempts) == ("wrong_address", "no such flat", 1)
    assert trip.amount_collected == D("200.00") and trip.payment_id == payments_of(order_id)[0].id
    assert order_row(order_id).amount_due == D("3000.00")


def test_a_manager_acting_for_the_courier_is_named_in_the_history_and_the_audit(front, boss, as_role):
    courier = as_role("courier")
    failed = delivery_in(front, "out_for_delivery", courier)
    delivered = delivery_in(front, "out_for_delivery", courier)

    # The courier's phone died: the manager records what the courier phoned in.
    ok(boss.post(f"{DELIVERIES}/{failed}/fail", json={"reason": "nobody_home"}))
    ok(boss.post(f"{DELIVERIES}/{delivered}/deliver", json={"amount_collected": "3200.00"}))

    for order_id, target in ((failed, "delivery_failed"), (delivered, "delivered")):
        last = ok(boss.get(f"{ORDERS}/{order_id}/history"))[-1]
        assert (last["to_status"], last["actor"]["id"]) == (target, boss.user.id)
        assert ("status", boss.user.id) in audit_of("order", order_id)
        assert ("status", courier.user.id) not in audit_of("order", order_id)
        assert order_row(order_id).courier_id == courier.user.id  # still the courier's delivery
    (cash,) = payments_of(delivered)
    assert (cash.amount, cash.created_by_id) == (D("3200.00"), boss.user.id)
