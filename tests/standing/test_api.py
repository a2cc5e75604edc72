"""The standing orders API: a series kept by managers, its dates skipped, paused and resumed, what became of
each date; roles, another shop's series, and lists in a fixed number of statements."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.common.types import utcnow
from app.extensions import db
from app.orders.models import Order
from app.standing import services as standing
from app.standing.models import StandingOccurrence
from tests.orders.orderdata import open_shop
from tests.standing.standingdata import body, make_series, occurrences_of, template
from tests.warehouse.stockdata import staff_client

URL = "/api/v1/standing-orders"


def today(shop) -> date:
    return datetime.now(ZoneInfo(shop.timezone)).date()


def next_friday(shop) -> date:
    day = today(shop) + timedelta(days=1)
    return day + timedelta(days=(4 - day.weekday()) % 7)


@pytest.fixture
def front(shop):
    return open_shop(shop)


@pytest.fixture
def boss(app, shop):
    client = staff_client(app, shop, "manager")
    db.session.commit()
    return client


def test_a_manager_starts_a_series_and_reads_it_back(boss, front, shop):
    answer = boss.post(URL, json=body(front, starts_on=today(shop), lead_days=3, ends_on="2099-12-31"))
    assert answer.status_code == 201, answer.json
    series = answer.json
    assert series["rule"] == {"frequency": "weekly", "interval": 1, "weekdays": [4]}
    assert series["next_date"] == next_friday(shop).isoformat() or series["next_date"] == today(shop).isoformat()
    assert (series["lead_days"], series["paused"], series["count"], series["ends_on"]) == (3, False, None, "2099-12-31")
    assert series["template"]["customer_id"] == series["customer_id"]
    assert series["template"]["items"] == [{"product_id": front.bouquet.id, "quantity": 1}]
    assert boss.get(f"{URL}/{series['id']}").json == series
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "standing_order", AuditEntry.entity_id == str(series["id"]))
    ).one()
    assert entry.action == "create"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rule": {"frequency": "weekly"}}, "rule"),
        ({"rule": {"frequency": "monthly", "month_day": 10, "nth": 1}}, "rule"),
        ({"rule": {"frequency": "yearly", "month": 2, "month_day": 30}}, "rule"),
        ({"rule": {"frequency": "yearly", "named_day": "boxing_day"}}, "rule"),
        ({"ends_on": "2099-01-01", "count": 3}, "count"),
        ({"lead_days": 61}, "lead_days"),
    ],
)
def test_a_rule_that_makes_no_sense_is_422(boss, front, shop, change, field):
    answer = boss.post(URL, json={**body(front, starts_on=today(shop)), **change})
    assert answer.status_code == 422, answer.json
    assert field in answer.json["errors"]["json"]


def test_the_template_is_checked_as_the_body_of_an_order(boss, front, shop):
    no_window = template(front)
    del no_window["window_start"]
    answer = boss.post(URL, json=body(front, starts_on=today(shop), template=no_window))
    assert answer.status_code == 422
    assert answer.json["errors"]["json"]["template"] == {"window_start": ["Required for delivery."]}
    bad_phone = boss.post(
        URL, json=body(front, starts_on=today(shop), template=template(front, recipient_phone="12345"))
    )
    assert bad_phone.status_code == 422
    assert "recipient_phone" in bad_phone.json["errors"]["template"]
    front.bouquet.is_active = False
    db.session.commit()
    answer = boss.post(URL, json=body(front, starts_on=today(shop)))
    assert answer.status_code == 422
    assert "items" in answer.json["errors"]["template"]


def test_skip_pause_resume_and_what_became_of_each_date(boss, front, shop):
    series_id = boss.post(URL, json=body(front, starts_on=today(shop) + timedelta(days=1))).json["id"]
    first = date.fromisoformat(boss.get(f"{URL}/{series_id}").json["next_date"])
    second = first + timedelta(days=7)

    assert boss.post(f"{URL}/{series_id}/skip", json={"date": second.isoformat()}).status_code == 200
    assert boss.post(f"{URL}/{series_id}/skip", json={"date": second.isoformat()}).status_code == 200  # again: same
    not_friday = boss.post(f"{URL}/{series_id}/skip", json={"date": (second + timedelta(days=1)).isoformat()})
    assert not_friday.status_code == 422

    standing.make_due_occurrences(now=utcnow())  # the first Friday is within 7 days: made now
    made = db.session.scalars(select(Order).where(Order.shop_id == shop.id)).one()
    already = boss.post(f"{URL}/{series_id}/skip", json={"date": first.isoformat()})
    assert already.status_code == 409

    seen = boss.get(f"{URL}/{series_id}/occurrences").json
    assert seen["upcoming"][0] == {
        "date": first.isoformat(),
        "status": "made",
        "order": {"id": made.id, "number": made.number, "status": "new"},
        "problem": "",
    }
    assert seen["upcoming"][1] == {"date": second.isoformat(), "status": "skipped", "order": None, "problem": ""}
    assert seen["upcoming"][2]["status"] == "planned"
    assert len(seen["upcoming"]) == 10 and seen["past"] == []

    paused = boss.post(f"{URL}/{series_id}/pause")
    assert (paused.status_code, paused.json["paused"]) == (200, True)
    assert boss.get(URL, query_string={"paused": "true"}).json[0]["id"] == series_id
    resumed = boss.post(f"{URL}/{series_id}/resume")
    assert (resumed.status_code, resumed.json["paused"]) == (200, False)
    actions = db.session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.entity_type == "standing_order", AuditEntry.entity_id == str(series_id))
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["create", "skip", "pause", "resume"]


def test_patch_changes_the_template_and_rule_and_delete_keeps_the_orders_made(boss, front, shop):
    series_id = boss.post(URL, json=body(front, starts_on=today(shop) + timedelta(days=1))).json["id"]
    standing.make_due_occurrences(now=utcnow())
    answer = boss.patch(
        f"{URL}/{series_id}",
        json={"template": {"card_text": "Monthly now"}, "rule": {"frequency": "monthly", "nth": -1, "weekday": 4}},
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["template"]["card_text"] == "Monthly now"
    assert answer.json["version"] == 2
    bad = boss.patch(f"{URL}/{series_id}", json={"template": {"fulfillment": "pickup"}})
    assert bad.status_code == 422
    assert bad.json["errors"]["template"] == {"pickup_time": ["Required for pickup."]}

    assert boss.delete(f"{URL}/{series_id}").status_code == 204
    assert boss.get(f"{URL}/{series_id}").status_code == 404
    assert db.session.scalars(select(Order.card_text).where(Order.shop_id == shop.id)).all() == [
        "For you, as every Friday"
    ]
    assert db.session.scalars(select(StandingOccurrence)).all() == []


ENDPOINTS = [
    ("get", URL, None),
    ("post", URL, "body"),
    ("get", URL + "/{id}", None),
    ("patch", URL + "/{id}", {"lead_days": 2}),
    ("delete", URL + "/{id}", None),
    ("post", URL + "/{id}/skip", "skip"),
    ("post", URL + "/{id}/pause", None),
    ("post", URL + "/{id}/resume", None),
    ("get", URL + "/{id}/occurrences", None),
]


ROLES = [("admin", True), ("manager", True), ("florist", False), ("courier", False)]


@pytest.mark.parametrize(("method", "path", "payload"), ENDPOINTS)
@pytest.mark.parametrize(("role", "allowed"), ROLES)
def test_managers_and_admins_only(app, shop, front, method, path, payload, role, allowed):
    series = make_series(front, now=utcnow(), starts_on=today(shop))
    client = staff_client(app, shop, role)
    db.session.commit()
    json = (
        {"body": body(front, starts_on=today(shop)), "skip": {"date": series.next_date.isoformat()}}.get(
            payload, payload
        )
        if isinstance(payload, str)
        else payload
    )
    answer = client.request(method.upper(), path.format(id=series.id), json=json)
    if allowed:
        assert answer.status_code in (200, 201, 204), answer.json
    else:
        assert answer.status_code == 403


@pytest.mark.parametrize(("method", "path", "payload"), [e for e in ENDPOINTS if "{id}" in e[1]])
def test_another_shops_series_is_404_and_stays_as_it_was(app, shop, other_shop, method, path, payload):
    theirs = open_shop(other_shop, prefix="Their ")
    series = make_series(theirs, now=utcnow(), starts_on=today(other_shop))
    client = staff_client(app, shop, "admin")
    db.session.commit()
    json = {"skip": {"date": series.next_date.isoformat()}}.get(payload) if isinstance(payload, str) else payload
    answer = client.request(method.upper(), path.format(id=series.id), json=json)
    assert answer.status_code == 404
    assert "Their" not in answer.get_data(as_text=True)
    db.session.expire_all()
    assert standing.get_standing_order(shop_id=other_shop.id, standing_order_id=series.id).version == 1
    assert occurrences_of(series.id) == []


def test_the_list_runs_the_same_statements_for_3_or_12_series(boss, front, shop, count_queries):
    def statements() -> int:
        with count_queries() as ran:
            answer = boss.get(URL, query_string={"page_size": 50})
        assert answer.status_code == 200
        return len(ran), len(answer.json)

    for _ in range(3):
        make_series(front, now=utcnow(), starts_on=today(shop))
    db.session.commit()
    few, shown = statements()
    assert shown == 3
    for _ in range(9):
        make_series(front, now=utcnow(), starts_on=today(shop))
    db.session.commit()
    many, shown = statements()
    assert shown == 12
    assert many == few


def test_occurrences_run_the_same_statements_for_1_or_8_past_dates(boss, front, shop, count_queries):
    series = make_series(front, now=utcnow(), starts_on=today(shop) - timedelta(days=70))

    def record_past(weeks) -> tuple[int, list]:
        for week in weeks:  # past dates recorded as the scan would have
            day = series.next_date - timedelta(weeks=week)
            db.session.add(StandingOccurrence(shop_id=shop.id, standing_order_id=series.id, date=day, status="failed"))
        db.session.commit()
        with count_queries() as ran:
            answer = boss.get(f"{URL}/{series.id}/occurrences")
        assert answer.status_code == 200
        return len(ran), answer.json["past"]

    few, past = record_past([1])
    assert len(past) == 1
    many, past = record_past(range(2, 9))
    assert len(past) == 8 and past[0]["status"] == "failed"
    assert many == few
