"""A customer's occasion dates: real calendar days only, per customer, per shop."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.extensions import db
from tests.customers.customerdata import make_customer, make_date
from tests.warehouse.stockdata import staff_client

URL = "/api/v1/customers"


@pytest.fixture
def manager(app, shop):
    return staff_client(app, shop, "manager")


@pytest.fixture
def customer(shop):
    return make_customer(shop)


def test_add_a_date_with_the_shops_reminder_default(manager, customer):
    response = manager.post(f"{URL}/{customer.id}/dates", json={"label": "Mother's birthday", "month": 5, "day": 14})

    assert response.status_code == 201, response.json
    body = response.json
    assert {k: body[k] for k in ("customer_id", "label", "month", "day", "year")} == {
        "customer_id": customer.id,
        "label": "Mother's birthday",
        "month": 5,
        "day": 14,
        "year": None,
    }
    assert (body["remind_days_before"], body["reminders_enabled"]) == (None, True)


@pytest.mark.parametrize(
    ("date", "status"),
    [
        ({"month": 2, "day": 29}, 201),  # comes round in leap years
        ({"month": 2, "day": 29, "year": 2024}, 201),
        ({"month": 2, "day": 29, "year": 2023}, 422),  # that year had no 29 February
        ({"month": 2, "day": 30}, 422),
        ({"month": 4, "day": 31}, 422),
        ({"month": 12, "day": 31}, 201),
        ({"month": 13, "day": 1}, 422),
        ({"month": 1, "day": 0}, 422),
        ({"month": 1, "day": 1, "remind_days_before": 61}, 422),
        ({"month": 1, "day": 1, "remind_days_before": 0}, 201),
        ({"month": "1", "day": 1}, 422),
    ],
)
def test_only_real_calendar_days(manager, customer, date, status):
    response = manager.post(f"{URL}/{customer.id}/dates", json={"label": "Day", **date})
    assert response.status_code == status, response.json
    if status == 422:
        assert set(response.json["errors"]["json"]) <= {"day", "month", "remind_days_before"}


def test_patch_checks_the_day_against_the_stored_month(manager, customer):
    april = make_date(customer, month=4, day=30)
    feb = make_date(customer, month=2, day=29)

    to_31 = manager.patch(f"{URL}/{customer.id}/dates/{april.id}", json={"day": 31})
    bad_year = manager.patch(f"{URL}/{customer.id}/dates/{feb.id}", json={"year": 2023})
    good = manager.patch(f"{URL}/{customer.id}/dates/{april.id}", json={"month": 5, "day": 31, "remind_days_before": 7})
    off = manager.patch(f"{URL}/{customer.id}/dates/{feb.id}", json={"reminders_enabled": False})

    assert (to_31.status_code, to_31.json["errors"]) == (422, {"day": ["No such day in that month."]})
    assert bad_year.status_code == 422
    assert (good.status_code, good.json["month"], good.json["day"], good.json["remind_days_before"]) == (200, 5, 31, 7)
    assert off.json["reminders_enabled"] is False
    assert manager.get(f"{URL}/{customer.id}/dates").json[1]["year"] is None  # the refused year was not saved


def test_list_in_calendar_order_and_delete(manager, shop, customer):
    make_date(customer, "New year", 12, 31)
    anniversary = make_date(customer, "Anniversary", 6, 1, year=2010)
    make_date(customer, "Birthday", 3, 8)
    make_date(make_customer(shop, name="Boris"), "Boris's", 1, 1)

    listed = manager.get(f"{URL}/{customer.id}/dates").json
    assert [d["label"] for d in listed] == ["Birthday", "Anniversary", "New year"]

    assert manager.delete(f"{URL}/{customer.id}/dates/{anniversary.id}").status_code == 204
    assert [d["label"] for d in manager.get(f"{URL}/{customer.id}/dates").json] == ["Birthday", "New year"]
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_id == str(customer.id)).order_by(AuditEntry.id)
    ).all()
    assert actions == ["create", "add_date", "add_date", "add_date", "delete_date"]


def test_another_customers_date_is_404(manager, shop, customer):
    theirs = make_date(make_customer(shop, name="Boris"))

    assert manager.patch(f"{URL}/{customer.id}/dates/{theirs.id}", json={"day": 2}).status_code == 404
    assert manager.delete(f"{URL}/{customer.id}/dates/{theirs.id}").status_code == 404
    assert manager.get(f"{URL}/{theirs.customer_id}/dates").json[0]["day"] == 8


def test_the_dates_list_runs_the_same_statements_for_one_date_or_twenty(manager, customer, count_queries):
    counts = []
    for how_many in (1, 19):
        for n in range(how_many):
            make_date(customer, f"Day {n}", 1 + n % 12, 1 + n)
        with count_queries() as statements:
            listed = manager.get(f"{URL}/{customer.id}/dates", query_string={"page_size": 100}).json
        counts.append((len(listed), len(statements)))
    assert [n for n, _ in counts] == [1, 20]
    assert counts[0][1] == counts[1][1]
