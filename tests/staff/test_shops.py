"""Shops: mine, opening another, and the admins' settings."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.extensions import db
from app.shops.models import Shop
from tests.factories import MembershipFactory, ShopFactory

SLOT = {"weekday": 0, "start": "10:00", "end": "14:00", "capacity": 5, "delivery_fee": "300"}


def shop_audit(shop_id: int) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.shop_id == shop_id, AuditEntry.entity_type == "shop")
            .order_by(AuditEntry.id)
        )
    )


def test_my_shops_list_each_shop_with_my_role_there_without_a_shop_header(app, shop, other_shop, member):
    ShopFactory(name="Not mine")
    person, client = member(shop, "florist")
    member(other_shop, "admin", user=person)
    client.shop_id = None

    response = client.get("/api/v1/shops")

    assert response.status_code == 200
    assert sorted((s["name"], s["role"]) for s in response.json) == sorted(
        [(shop.name, "florist"), ("Other Shop", "admin")]
    )
    assert json.loads(response.headers["X-Pagination"])["total"] == 2


def test_a_shop_that_deactivated_me_is_gone_from_my_shops(app, shop, other_shop, member):
    person, client = member(shop, "florist")
    member(other_shop, "courier", user=person)
    _, boss = member(shop, "admin")
    assert boss.delete(f"/api/v1/users/{person.id}").status_code == 204
    client.shop_id = None

    assert [s["id"] for s in client.get("/api/v1/shops").json] == [other_shop.id]
    assert client.get(f"/api/v1/shops/{shop.id}").status_code == 404


def test_my_shops_run_the_same_statements_for_5_and_50(shop, member, count_queries):
    person, client = member(shop, "admin")
    for _ in range(12):
        MembershipFactory(user=person, shop=ShopFactory(), role="manager")
    db.session.commit()

    db.session.expire_all()
    with count_queries() as small:
        five = client.get("/api/v1/shops", query_string={"page_size": 5})
    db.session.expire_all()
    with count_queries() as large:
        fifty = client.get("/api/v1/shops", query_string={"page_size": 50})

    assert (len(five.json), len(fifty.json)) == (5, 13)
    assert len(small) == len(large)


def test_an_admin_opens_another_shop_and_runs_it(admin):
    body = {"name": "Riverside", "timezone": "Asia/Yekaterinburg", "settings": {"occasion_reminder_days": 5}}
    response = admin.post("/api/v1/shops", json=body, headers={"Idempotency-Key": "open-riverside"})
    replay = admin.post("/api/v1/shops", json=body, headers={"Idempotency-Key": "open-riverside"})

    assert response.status_code == 201, response.json
    assert replay.json == response.json
    assert db.session.scalars(select(Shop.id).where(Shop.name == "Riverside")).all() == [response.json["id"]]
    new = response.json
    assert (new["role"], new["timezone"], new["currency"], new["country"]) == (
        "admin",
        "Asia/Yekaterinburg",
        "RUB",
        "RU",
    )
    assert new["settings"]["occasion_reminder_days"] == 5
    assert new["settings"]["assembly_lead_minutes"] == 60
    staff = admin.get("/api/v1/users", headers={"X-Shop-Id": str(new["id"])})
    assert [(p["id"], p["role"]) for p in staff.json] == [(admin.user.id, "admin")]
    [entry] = shop_audit(new["id"])
    assert entry.action == "create" and entry.actor_id == admin.user.id
    assert entry.changes["name"] == [None, "Riverside"]


def test_admin_somewhere_is_enough_to_open_a_shop(shop, other_shop, member):
    person, as_florist = member(shop, "florist")
    member(other_shop, "admin", user=person)

    assert as_florist.post("/api/v1/shops", json={"name": "Third"}).status_code == 201


def test_patch_changes_details_and_writes_the_changed_fields(admin, shop):
    response = admin.patch(
        f"/api/v1/shops/{shop.id}",
        json={"name": "Roses & Co", "timezone": "Europe/Berlin", "currency": "EUR", "country": "DE", "address": "X"},
    )

    assert response.status_code == 200, response.json
    assert {k: response.json[k] for k in ("name", "timezone", "currency", "country", "address")} == {
        "name": "Roses & Co",
        "timezone": "Europe/Berlin",
        "currency": "EUR",
        "country": "DE",
        "address": "X",
    }
    [entry] = shop_audit(shop.id)
    assert entry.action == "update" and entry.actor_id == admin.user.id
    assert entry.changes["timezone"] == ["Europe/Moscow", "Europe/Berlin"]
    assert entry.changes["currency"] == ["RUB", "EUR"]
    assert set(entry.changes) == {"name", "timezone", "currency", "country", "address"}


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "europe/moscow", "UTC+3", "../etc/passwd", ""])
def test_timezone_must_be_an_iana_name(admin, shop, zone):
    response = admin.patch(f"/api/v1/shops/{shop.id}", json={"timezone": zone})

    assert response.status_code == 422
    assert "timezone" in response.json["errors"]["json"]
    assert admin.get(f"/api/v1/shops/{shop.id}").json["timezone"] == "Europe/Moscow"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"currency": "rub"}, "currency"),
        ({"currency": "RUBL"}, "currency"),
        ({"country": "XX"}, "country"),
        ({"country": "RUS"}, "country"),
        ({"name": ""}, "name"),
        ({"address": "Nul\x00Street"}, "address"),
        ({"owner": 1}, "owner"),
    ],
)
def test_shop_fields_are_validated_by_name(admin, shop, body, field):
    response = admin.patch(f"/api/v1/shops/{shop.id}", json=body)

    assert response.status_code == 422
    assert field in response.json["errors"]["json"]


def test_settings_show_defaults_and_a_patch_changes_only_the_keys_sent(admin, shop):
    before = admin.get(f"/api/v1/shops/{shop.id}").json["settings"]
    assert before == {
        "occasion_reminder_days": 3,
        "assembly_lead_minutes": 60,
        "same_day_cutoff": None,
        "order_status_messages": False,
        "notification_email": None,
        "public_phone": None,
        "workshop_minutes_per_day": None,
    }

    first = admin.patch(f"/api/v1/shops/{shop.id}", json={"settings": {"same_day_cutoff": "14:30"}})
    second = admin.patch(f"/api/v1/shops/{shop.id}", json={"settings": {"occasion_reminder_days": 7}})

    assert (first.status_code, second.status_code) == (200, 200)
    settings = second.json["settings"]
    assert settings["occasion_reminder_days"] == 7
    assert settings["same_day_cutoff"] == "14:30"
    entries = shop_audit(shop.id)
    assert entries[-1].changes == {"settings.occasion_reminder_days": [3, 7]}
    assert entries[0].changes == {"settings.same_day_cutoff": [None, "14:30"]}


@pytest.mark.parametrize(
    ("settings", "path"),
    [
        ({"loyalty_points": True}, ["loyalty_points"]),
        ({"occasion_reminder_days": -1}, ["occasion_reminder_days"]),
        ({"assembly_lead_minutes": "soon"}, ["assembly_lead_minutes"]),
        ({"same_day_cutoff": "25:00"}, ["same_day_cutoff"]),
        ({"workshop_minutes_per_day": -1}, ["workshop_minutes_per_day"]),
        ({"notification_email": "nope"}, ["notification_email"]),
        ({"order_status_messages": "sometimes"}, ["order_status_messages"]),
        # Retired: delivery windows are /delivery-windows now (tests/slots).
        ({"delivery_slots": [SLOT]}, ["delivery_slots"]),
    ],
)
def test_settings_are_validated_and_errors_name_the_key(admin, shop, settings, path):
    response = admin.patch(f"/api/v1/shops/{shop.id}", json={"settings": settings})

    assert response.status_code == 422, response.json
    errors = response.json["errors"]["json"]["settings"]
    for key in path:
        assert key in errors, (key, errors)
        errors = errors[key]
    assert shop_audit(shop.id) == []


def test_a_single_shop_has_an_etag(admin, shop):
    first = admin.get(f"/api/v1/shops/{shop.id}")

    assert first.headers.get("ETag")
    again = admin.get(f"/api/v1/shops/{shop.id}", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
