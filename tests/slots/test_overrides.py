"""`/delivery-window-overrides`: a date's windows replaced, adjusted, surcharged or closed; what
`/delivery-slots` shows for it, what intake (POST /orders) honours, and over-booked windows."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.events.models import Event
from app.extensions import db
from app.messaging.models import MessageLog
from app.orders.models import Order
from tests.orders.orderdata import EVENING, MORNING, Front, count_orders, delivery, open_shop, place
from tests.slots.slotdata import shop_with_windows, window
from tests.warehouse.stockdata import staff_client

URL = "/api/v1/delivery-window-overrides"
SLOTS = "/api/v1/delivery-slots"
ORDERS = "/api/v1/orders"
MARCH_8 = date(2030, 3, 8)  # a Friday


@pytest.fixture
def as_role(app, shop):
    def _as_role(role: str, shop=shop):
        client = staff_client(app, shop, role)
        db.session.commit()  # a refused request rolls back; the caller must outlive that
        return client

    return _as_role


@pytest.fixture
def front(shop) -> Front:
    return open_shop(shop)  # 10:00 (300.00) and 14:00 (450.00) every day, 5 places each; day = tomorrow


@pytest.fixture
def boss(as_role):
    return as_role("manager")


def day_of(client, day: date) -> list[dict]:
    response = client.get(SLOTS, query_string={"date": day.isoformat()})
    assert response.status_code == 200, response.json
    assert "X-Pagination" not in response.headers
    return response.json


def plan(client, **body):
    response = client.post(URL, json={k: (v.isoformat() if isinstance(v, date) else v) for k, v in body.items()})
    return response


def slot_alerts(shop_id: int) -> list[MessageLog]:
    return list(
        db.session.scalars(
            select(MessageLog)
            .where(MessageLog.shop_id == shop_id, MessageLog.kind == "slot_over_booked")
            .order_by(MessageLog.id)
        )
    )


def audit_of(shop_id: int) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity_type == "delivery_window_override", AuditEntry.shop_id == shop_id)
            .order_by(AuditEntry.id)
        )
    )


def test_adjust_changes_capacities_adds_a_window_and_a_surcharge(front, boss):
    made = plan(
        boss,
        date=MARCH_8,
        mode="adjust",
        capacity_changes={MORNING: 40},
        windows=[{"start": "18:00", "end": "21:00", "capacity": 30, "delivery_fee": "500"}],
        surcharge="200",
        note="March 8",
    )
    assert made.status_code == 201, made.json
    assert made.json["surcharge"] == "200.00" and made.json["version"] == 1
    assert made.headers["ETag"]

    shown = [(w["start"], w["capacity"], w["delivery_fee"], w["over_booked"]) for w in day_of(boss, MARCH_8)]
    assert shown == [(MORNING, 40, "500.00", False), (EVENING, 5, "650.00", False), ("18:00", 30, "700.00", False)]
    # Another day keeps the weekly windows.
    assert [w["capacity"] for w in day_of(boss, date(2030, 3, 9))] == [5, 5]
    assert [e.action for e in audit_of(front.shop_id)] == ["create"]


def test_replace_and_close_and_the_way_back(front, boss):
    made = plan(
        boss,
        date=MARCH_8,
        mode="replace",
        windows=[
            {"start": "12:00", "end": "15:00", "capacity": 40, "delivery_fee": "400"},
            {"start": "08:00", "end": "12:00", "capacity": 40, "delivery_fee": "400"},
        ],
    )
    assert made.status_code == 201, made.json
    assert [(w["start"], w["capacity"]) for w in day_of(boss, MARCH_8)] == [("08:00", 40), ("12:00", 40)]

    closed = boss.patch(
        f"{URL}/{made.json['id']}", json={"mode": "closed", "windows": []}, headers={"If-Match": made.headers["ETag"]}
    )
    assert closed.status_code == 200, closed.json
    assert day_of(boss, MARCH_8) == []
    assert (
        boss.patch(
            f"{URL}/{made.json['id']}", json={"note": "x"}, headers={"If-Match": made.headers["ETag"]}
        ).status_code
        == 412
    )
    assert boss.patch(f"{URL}/{made.json['id']}", json={"note": "x"}).status_code == 428
    assert boss.delete(f"{URL}/{made.json['id']}").status_code == 428

    gone = boss.delete(f"{URL}/{made.json['id']}", headers={"If-Match": closed.headers["ETag"]})
    assert gone.status_code == 204
    assert [w["start"] for w in day_of(boss, MARCH_8)] == [MORNING, EVENING]
    assert boss.get(URL).json == []


def test_a_change_of_an_override_is_audited_with_what_changed_and_a_refused_or_empty_one_writes_nothing(front, boss):
    made = plan(boss, date=MARCH_8, mode="adjust", surcharge="200")
    assert made.status_code == 201, made.json
    url, tag = f"{URL}/{made.json['id']}", made.headers["ETag"]

    same = boss.patch(url, json={"surcharge": "200.00", "note": ""}, headers={"If-Match": tag})
    assert (same.status_code, same.json["version"], same.headers["ETag"]) == (200, 1, tag)
    assert [e.action for e in audit_of(front.shop_id)] == ["create"]

    noted = boss.patch(url, json={"note": "March 8"}, headers={"If-Match": tag})
    assert noted.status_code == 200, noted.json
    assert (noted.json["note"], noted.json["version"]) == ("March 8", 2)
    assert noted.headers["ETag"] != tag
    assert [(e.action, e.changes) for e in audit_of(front.shop_id)][1:] == [("update", {"note": ["", "March 8"]})]

    refused = boss.patch(url, json={"capacity_changes": {"11:00": 3}}, headers={"If-Match": noted.headers["ETag"]})
    assert refused.status_code == 422
    assert "capacity_changes" in refused.json["errors"]
    kept = boss.get(url)
    assert (kept.json["version"], kept.headers["ETag"]) == (2, noted.headers["ETag"])
    assert [e.action for e in audit_of(front.shop_id)] == ["create", "update"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mode": "closed", "windows": [{"start": "08:00", "end": "09:00", "capacity": 1, "delivery_fee": "0"}]},
         "mode"),
        ({"mode": "closed", "surcharge": "100"}, "mode"),
        ({"mode": "replace"}, "windows"),
        ({"mode": "replace", "windows": [{"start": "08:00", "end": "09:00", "capacity": 1, "delivery_fee": "0"}],
          "capacity_changes": {MORNING: 3}}, "capacity_changes"),
        ({"mode": "replace", "windows": [
            {"start": "08:00", "end": "10:00", "capacity": 1, "delivery_fee": "0"},
            {"start": "09:00", "end": "11:00", "capacity": 1, "delivery_fee": "0"},
        ]}, "windows"),
        ({"mode": "adjust", "capacity_changes": {"11:00": 3}}, "capacity_changes"),
        ({"mode": "adjust", "windows": [{"start": "13:00", "end": "15:00", "capacity": 1, "delivery_fee": "0"}]},
         "windows"),
        ({"mode": "adjust"}, "mode"),
    ],
)  # fmt: skip
def test_an_override_that_does_not_fit_its_mode_or_the_day_is_422(front, boss, body, field):
    response = plan(boss, date=MARCH_8, **body)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"], response.json
    assert boss.get(URL).json == []


def test_one_override_per_date_and_never_for_a_past_date(front, boss):
    assert plan(boss, date=MARCH_8, mode="closed").status_code == 201
    again = plan(boss, date=MARCH_8, mode="adjust", surcharge="100")
    assert again.status_code == 409
    assert again.json["errors"] == {"date": "2030-03-08"}
    assert plan(boss, date=date(2020, 3, 8), mode="closed").status_code == 422
    listed = boss.get(URL, query_string={"from": "2030-03-01", "to": "2030-03-31"}).json
    assert [o["date"] for o in listed] == ["2030-03-08"]
    assert boss.get(URL, query_string={"from": "2030-04-01"}).json == []


def test_staff_read_managers_write_and_another_shops_override_is_404(app, front, boss, as_role, other_shop):
    made = plan(boss, date=MARCH_8, mode="closed")
    florist = as_role("florist")
    assert [o["id"] for o in florist.get(URL).json] == [made.json["id"]]
    assert plan(florist, date=date(2030, 3, 9), mode="closed").status_code == 403
    assert florist.delete(f"{URL}/{made.json['id']}", headers={"If-Match": "*"}).status_code == 403

    stranger = as_role("admin", shop=other_shop)
    assert stranger.get(f"{URL}/{made.json['id']}").status_code == 404
    assert stranger.patch(f"{URL}/{made.json['id']}", json={"note": "x"}, headers={"If-Match": "*"}).status_code == 404
    assert stranger.delete(f"{URL}/{made.json['id']}", headers={"If-Match": "*"}).status_code == 404
    assert stranger.get(URL).json == []
    assert boss.get(f"{URL}/{made.json['id']}").status_code == 200


# --- intake honours the override -------------------------------------------------------------------


def test_a_closed_day_refuses_orders_naming_the_window(front, boss):
    assert plan(boss, date=front.day, mode="closed").status_code == 201

    refused = boss.post(ORDERS, json=delivery(front))

    assert refused.status_code == 409
    assert refused.json["errors"] == {
        "window": {"date": front.day.isoformat(), "start": MORNING},
        "reason": "day_closed",
    }
    assert count_orders(front.shop_id) == 0


def test_the_surcharge_is_in_the_orders_delivery_fee(front, boss):
    assert plan(boss, date=front.day, mode="adjust", surcharge="200").status_code == 201

    made = boss.post(ORDERS, json=delivery(front))

    assert made.status_code == 201, made.json
    assert made.json["delivery_fee"] == "500.00"  # the morning's 300.00 + 200.00
    assert made.json["total"] == "3400.00"


def test_replaced_windows_are_the_only_ones_taken_and_their_capacity_holds(front, boss):
    windows = [{"start": "09:00", "end": "11:00", "capacity": 1, "delivery_fee": "100"}]
    assert plan(boss, date=front.day, mode="replace", windows=windows).status_code == 201

    unknown = boss.post(ORDERS, json=delivery(front))
    first = boss.post(ORDERS, json=delivery(front, window_start="09:00"))
    full = boss.post(ORDERS, json=delivery(front, window_start="09:00"))

    assert unknown.status_code == 409 and unknown.json["errors"]["reason"] == "unknown"
    assert first.status_code == 201 and first.json["delivery_fee"] == "100.00"
    assert full.status_code == 409 and full.json["errors"]["reason"] == "full"


# --- lowering capacity below what is booked ------------------------------------------------------


def test_lowering_capacity_below_the_booked_orders_keeps_them_shows_over_booked_and_tells_managers_once(front, boss):
    for _ in range(3):
        place(front, delivery(front))
    made = plan(boss, date=front.day, mode="adjust", capacity_changes={MORNING: 1})
    assert made.status_code == 201, made.json

    morning = day_of(boss, front.day)[0]
    assert (morning["capacity"], morning["taken"], morning["left"], morning["over_booked"]) == (1, 3, 0, True)
    assert count_orders(front.shop_id) == 3
    assert db.session.scalar(select(func.count()).select_from(Order).where(Order.status == "new")) == 3
    [alert] = slot_alerts(front.shop_id)
    assert alert.user_id == boss.user.id
    assert alert.context["count"] == 1
    assert f"{MORNING} (3/1)" in alert.context["windows"]

    [event] = db.session.scalars(select(Event).where(Event.type == "slots.over_booked")).all()
    assert event.data == {"windows": [{"date": front.day.isoformat(), "start": MORNING, "capacity": 1, "taken": 3}]}

    # Another change that leaves the same windows over-booked tells nobody again.
    noted = boss.patch(f"{URL}/{made.json['id']}", json={"note": "peak"}, headers={"If-Match": made.headers["ETag"]})
    assert noted.status_code == 200
    assert len(slot_alerts(front.shop_id)) == 1
    assert len(db.session.scalars(select(Event).where(Event.type == "slots.over_booked")).all()) == 1
    # A new order is refused, the others stay.
    assert boss.post(ORDERS, json=delivery(front)).status_code == 409
    assert count_orders(front.shop_id) == 3


def test_lowering_a_weekly_window_below_its_orders_tells_managers_and_keeps_the_orders(front, boss):
    for _ in range(2):
        place(front, delivery(front))
    [morning] = [
        w
        for w in boss.get("/api/v1/delivery-windows", query_string={"weekday": front.day.weekday()}).json
        if w["start"] == MORNING
    ]

    lowered = boss.patch(f"/api/v1/delivery-windows/{morning['id']}", json={"capacity": 1}, headers={"If-Match": "*"})

    assert lowered.status_code == 200, lowered.json
    shown = day_of(boss, front.day)[0]
    assert (shown["capacity"], shown["taken"], shown["over_booked"]) == (1, 2, True)
    assert len(slot_alerts(front.shop_id)) == 1
    assert count_orders(front.shop_id) == 2


# --- a fixed number of statements ------------------------------------------------------------------


def test_delivery_slots_runs_the_same_statements_with_or_without_an_override(app, as_role, count_queries):
    plain = shop_with_windows(window(4, "10:00", "11:00"), window(4, "12:00", "13:00"))
    planned = shop_with_windows(*(window(4, f"{h:02d}:00", f"{h:02d}:30") for h in range(2, 12)), name="Planned")
    db.session.commit()
    clients = [as_role("florist", shop=plain), as_role("manager", shop=planned)]
    extra = [{"start": f"{h:02d}:00", "end": f"{h:02d}:30", "capacity": 9, "delivery_fee": "1"} for h in range(14, 22)]
    made = plan(clients[1], date=MARCH_8, mode="adjust", capacity_changes={"02:00": 40}, windows=extra, surcharge="5")
    assert made.status_code == 201, made.json
    counts = []
    for client in clients:
        with count_queries() as statements:
            body = day_of(client, MARCH_8)
        counts.append(len(statements))
        assert len(body) in (2, 18)
    assert counts[0] == counts[1]
