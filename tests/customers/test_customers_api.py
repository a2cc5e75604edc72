"""`/customers`: create, read with ETag, change with If-Match, search, filter, delete."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.customers.models import Customer
from app.extensions import db
from tests.customers.customerdata import make_customer
from tests.factories import ShopFactory
from tests.warehouse.stockdata import staff_client

URL = "/api/v1/customers"


@pytest.fixture
def manager(app, shop):
    return staff_client(app, shop, "manager")


def test_create_parses_the_phone_with_the_shops_country(app, manager):
    response = manager.post(
        URL,
        json={
            "name": "Anna Petrova",
            "phone": "8 (916) 123-45-67",
            "email": "anna@example.test",
            "language": "en",
            "notes": "Likes peonies",
            "telegram_chat_id": "123456789",
        },
    )

    assert response.status_code == 201, response.json
    body = response.json
    assert body["phone"] == "+79161234567"
    assert (body["name"], body["email"], body["language"], body["notes"]) == (
        "Anna Petrova",
        "anna@example.test",
        "en",
        "Likes peonies",
    )
    assert (body["marketing_consent"], body["consent_changed_at"], body["anonymized_at"]) == (False, None, None)
    assert response.headers["ETag"] == manager.get(f"{URL}/{body['id']}").headers["ETag"]

    berlin = ShopFactory(country="DE", timezone="Europe/Berlin")
    german = staff_client(app, berlin, "admin").post(URL, json={"name": "Jonas", "phone": "030 1234567"})
    assert german.status_code == 201
    assert german.json["phone"] == "+49301234567"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Anna", "phone": "12"}, "phone"),
        ({"name": "Anna"}, "phone"),
        ({"name": "", "phone": "+79161234567"}, "name"),
        ({"name": "Anna", "phone": "+79161234567", "email": "not-an-email"}, "email"),
        ({"name": "Anna", "phone": "+79161234567", "language": "de"}, "language"),
        ({"name": "Anna", "phone": "+79161234567", "telegram_chat_id": "@anna"}, "telegram_chat_id"),
        ({"name": "Anna", "phone": "+79161234567", "anonymized_at": None}, "anonymized_at"),
    ],
)
def test_invalid_fields_are_422_naming_the_field(manager, body, field):
    response = manager.post(URL, json=body)
    assert response.status_code == 422
    assert field in response.json["errors"]["json"]


def test_a_phone_that_does_not_parse_is_422_naming_phone(manager):
    response = manager.post(URL, json={"name": "Anna", "phone": "+7 000 000"})
    assert (response.status_code, list(response.json["errors"])) == (422, ["phone"])


def test_the_same_phone_twice_is_409_naming_the_phone_and_the_customer(manager, shop, other_shop):
    existing = make_customer(shop, phone="+79161234567")
    make_customer(other_shop, phone="+79161110000")

    again = manager.post(URL, json={"name": "Someone", "phone": "8 916 123 45 67"})
    theirs = manager.post(URL, json={"name": "Someone", "phone": "+79161110000"})

    assert again.status_code == 409
    assert again.json["errors"] == {
        "phone": ["Another customer of this shop has this phone."],
        "customer_id": existing.id,
    }
    assert theirs.status_code == 201  # phones are unique per shop, not across shops


def test_consent_is_stamped_when_it_changes(manager, shop):
    with time_machine.travel(datetime(2026, 11, 1, 10, 0, tzinfo=UTC), tick=False):
        created = (
            staff_client(manager.app, shop, "manager")
            .post(URL, json={"name": "Anna", "phone": "+79161234567", "marketing_consent": True})
            .json
        )
    assert created["consent_changed_at"] == "2026-11-01T10:00:00+00:00"

    same = manager.patch(f"{URL}/{created['id']}", json={"marketing_consent": True, "notes": "VIP"}).json
    assert same["consent_changed_at"] == "2026-11-01T10:00:00+00:00"  # not changed: not stamped

    withdrawn = manager.patch(f"{URL}/{created['id']}", json={"marketing_consent": False}).json
    assert withdrawn["marketing_consent"] is False
    assert withdrawn["consent_changed_at"] > "2026-11-01T10:00:00+00:00"
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "customer").order_by(AuditEntry.id.desc())
    ).first()
    assert entry.changes["marketing_consent"] == [True, False]
    assert entry.changes["consent_changed_at"][0] == "2026-11-01T10:00:00+00:00"


def test_patch_with_a_stale_etag_is_412_and_changes_nothing(manager, shop):
    customer = make_customer(shop, name="Anna")
    read = manager.get(f"{URL}/{customer.id}")
    tag = read.headers["ETag"]

    first = manager.patch(f"{URL}/{customer.id}", json={"name": "Anna P."}, headers={"If-Match": tag})
    stale = manager.patch(f"{URL}/{customer.id}", json={"name": "Anna K."}, headers={"If-Match": tag})
    fresh = manager.patch(f"{URL}/{customer.id}", json={"name": "Anna K."}, headers={"If-Match": first.headers["ETag"]})

    assert first.status_code == 200 and first.headers["ETag"] != tag
    assert stale.status_code == 412
    assert stale.json["errors"] == {"headers": {"If-Match": ["Does not match the current version."]}}
    assert fresh.status_code == 200 and fresh.json["name"] == "Anna K."


def test_patch_to_another_customers_phone_is_409(manager, shop):
    anna = make_customer(shop, name="Anna", phone="+79161234567")
    boris = make_customer(shop, name="Boris")

    response = manager.patch(f"{URL}/{boris.id}", json={"phone": "89161234567"})
    own = manager.patch(f"{URL}/{anna.id}", json={"phone": "8 916 123 45 67"})  # her own number, written differently

    assert response.status_code == 409
    assert response.json["errors"]["customer_id"] == anna.id
    assert own.status_code == 200


def test_search_by_part_of_the_name_or_digits_of_the_phone(manager, shop, other_shop):
    anna = make_customer(shop, name="Anna Petrova", phone="+79161234567")
    boris = make_customer(shop, name="Boris Annenkov", phone="+79037654321")
    make_customer(shop, name="Vera", phone="+79990001122")
    make_customer(other_shop, name="Their Anna", phone="+79161234568")

    def found(q):
        return [c["name"] for c in manager.get(URL, query_string={"q": q}).json]

    assert found("ANN") == ["Boris Annenkov", "Anna Petrova"]  # case-insensitive, newest first
    assert found("916 123") == ["Anna Petrova"]
    assert found("+7 903 765-43") == ["Boris Annenkov"]
    assert found("54321") == ["Boris Annenkov"]
    assert found("%") == []  # a wildcard is a plain character
    assert {anna.id, boris.id} <= {c["id"] for c in manager.get(URL).json}


def test_search_takes_wildcards_and_the_escape_character_literally(manager, shop):
    names = ("A_B Flowers", "AxB Flowers", "50% Off", "500 Roses", "C/D Studio", "C\\D Studio")
    for number, name in enumerate(names, start=1):
        make_customer(shop, name=name, phone=f"+7916111111{number}")  # no "50" in any phone

    def found(q):
        return sorted(c["name"] for c in manager.get(URL, query_string={"q": q}).json)

    assert found("a_b") == ["A_B Flowers"]
    assert found("50%") == ["50% Off"]
    assert found("C/D") == ["C/D Studio"]
    assert found("C\\D") == ["C\\D Studio"]


def test_filters_by_consent_language_and_anonymized(manager, shop):
    make_customer(shop, name="Consenting", marketing_consent=True)
    make_customer(shop, name="English", language="en")
    gone = make_customer(shop, name="Gone")
    manager.post(f"{URL}/{gone.id}/anonymize")

    def names(**query):
        return sorted(c["name"] for c in manager.get(URL, query_string=query).json)

    assert names() == ["Consenting", "English"]  # anonymized customers are left out
    assert names(marketing_consent="true") == ["Consenting"]
    assert names(language="en") == ["English"]
    assert [c["id"] for c in manager.get(URL, query_string={"anonymized": "true"}).json] == [gone.id]


def test_the_list_runs_the_same_statements_for_one_customer_or_forty(app, manager, shop, count_queries):
    counts = []
    for how_many in (1, 39):
        for _ in range(how_many):
            make_customer(shop, marketing_consent=True)
        with count_queries() as statements:
            listed = manager.get(URL, query_string={"page_size": 100, "q": "anna", "marketing_consent": "true"}).json
        counts.append((len(listed), len(statements)))
    assert [n for n, _ in counts] == [1, 40]
    assert counts[0][1] == counts[1][1]


def test_delete_a_customer_without_orders(manager, shop):
    customer = make_customer(shop, name="Mistake")

    response = manager.delete(f"{URL}/{customer.id}")

    assert response.status_code == 204
    assert db.session.get(Customer, customer.id) is None
    assert manager.get(f"{URL}/{customer.id}").status_code == 404
    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity_type == "customer", AuditEntry.entity_id == str(customer.id))
        .order_by(AuditEntry.id)
    ).all()
    assert [e.action for e in entries] == ["create", "delete"]
    assert "Mistake" not in str([e.changes for e in entries])  # their name does not outlive them in the log


def test_a_retried_create_with_the_same_idempotency_key_makes_one_customer(manager, shop):
    body = {"name": "Anna", "phone": "+79161234567"}
    first = manager.post(URL, json=body, headers={"Idempotency-Key": "call-42"})
    retry = manager.post(URL, json=body, headers={"Idempotency-Key": "call-42"})

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json == first.json and retry.headers["Idempotent-Replayed"] == "true"
    assert db.session.scalar(select(func.count()).where(Customer.shop_id == shop.id)) == 1


def test_a_customer_without_a_language_gets_the_shops(app, manager):
    berlin = ShopFactory(timezone="Europe/Berlin", country="DE")
    berlin_manager = staff_client(app, berlin, "manager")
    db.session.commit()

    here = manager.post("/api/v1/customers", json={"name": "Анна", "phone": "+79161230001"})
    there = berlin_manager.post("/api/v1/customers", json={"name": "Anna", "phone": "+4915112345678"})
    chosen = berlin_manager.post("/api/v1/customers", json={"name": "Ida", "phone": "+4915112345679", "language": "ru"})

    assert [r.status_code for r in (here, there, chosen)] == [201, 201, 201]
    assert [r.get_json()["language"] for r in (here, there, chosen)] == ["ru", "en", "ru"]
