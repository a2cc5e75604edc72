"""`/delivery-windows`: the weekly windows as their own resource, with If-Match, overlap checks and roles."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.extensions import db
from app.slots.models import DeliveryWindow
from tests.slots.slotdata import shop_with_windows, window
from tests.warehouse.stockdata import staff_client

URL = "/api/v1/delivery-windows"
BODY = {"weekday": 0, "start": "10:00", "end": "14:00", "capacity": 5, "delivery_fee": "300"}


def audit_of(shop_id: int) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.shop_id == shop_id, AuditEntry.entity_type == "delivery_window")
            .order_by(AuditEntry.id)
        )
    )


def member(app, shop, role: str):
    client = staff_client(app, shop, role)
    db.session.commit()  # a refused request rolls back; the client must outlive that
    return client


@pytest.fixture
def admin(app, shop):
    return member(app, shop, "admin")


def test_a_window_is_made_read_changed_and_removed_with_its_etag(app, shop, admin):
    made = admin.post(URL, json=BODY)
    assert made.status_code == 201, made.json
    assert made.json["delivery_fee"] == "300.00"
    assert (made.json["enabled"], made.json["version"]) == (True, 1)
    window_id, tag = made.json["id"], made.headers["ETag"]

    read = admin.get(f"{URL}/{window_id}")
    assert read.headers["ETag"] == tag
    assert [w["id"] for w in admin.get(URL).json] == [window_id]

    changed = admin.patch(f"{URL}/{window_id}", json={"capacity": 8}, headers={"If-Match": tag})
    assert changed.status_code == 200, changed.json
    assert (changed.json["capacity"], changed.json["version"]) == (8, 2)
    assert changed.headers["ETag"] != tag

    stale = admin.patch(f"{URL}/{window_id}", json={"capacity": 9}, headers={"If-Match": tag})
    assert stale.status_code == 412
    missing = admin.patch(f"{URL}/{window_id}", json={"capacity": 9})
    assert missing.status_code == 428
    assert admin.delete(f"{URL}/{window_id}", headers={"If-Match": tag}).status_code == 412
    assert admin.delete(f"{URL}/{window_id}").status_code == 428

    gone = admin.delete(f"{URL}/{window_id}", headers={"If-Match": changed.headers["ETag"]})
    assert gone.status_code == 204
    assert admin.get(URL).json == []
    assert [e.action for e in audit_of(shop.id)] == ["create", "update", "delete"]
    assert audit_of(shop.id)[1].changes == {"capacity": [5, 8]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**BODY, "weekday": 7}, "weekday"),
        ({**BODY, "start": "9:00"}, "start"),
        ({**BODY, "start": "15:00"}, "end"),
        ({**BODY, "capacity": 0}, "capacity"),
        ({**BODY, "delivery_fee": "-1"}, "delivery_fee"),
        ({**BODY, "colour": "red"}, "colour"),
    ],
)
def test_windows_are_validated(admin, shop, body, field):
    response = admin.post(URL, json=body)
    assert response.status_code == 422
    assert field in response.json["errors"]["json"]
    assert audit_of(shop.id) == []


def test_an_overlapping_window_that_weekday_is_refused_back_to_back_and_other_days_are_fine(admin, shop):
    assert admin.post(URL, json=BODY).status_code == 201
    overlapping = admin.post(URL, json={**BODY, "start": "13:00", "end": "16:00"})
    assert overlapping.status_code == 422
    assert "start" in overlapping.json["errors"]
    assert admin.post(URL, json={**BODY, "start": "14:00", "end": "18:00"}).status_code == 201
    assert admin.post(URL, json={**BODY, "weekday": 6}).status_code == 201
    # A disabled window may overlap; enabling it then is refused.
    off = admin.post(URL, json={**BODY, "start": "12:00", "end": "13:00", "enabled": False})
    assert off.status_code == 201
    on = admin.patch(f"{URL}/{off.json['id']}", json={"enabled": True}, headers={"If-Match": off.headers["ETag"]})
    assert on.status_code == 422
    moved = admin.patch(f"{URL}/{off.json['id']}", json={"end": "09:00"}, headers={"If-Match": off.headers["ETag"]})
    assert moved.status_code == 422  # ends before it starts


def test_a_change_to_the_same_values_or_an_overlapping_one_leaves_the_window_and_its_audit_as_they_were(admin, shop):
    made = admin.post(URL, json=BODY)
    assert admin.post(URL, json={**BODY, "start": "14:00", "end": "18:00"}).status_code == 201
    url, tag = f"{URL}/{made.json['id']}", made.headers["ETag"]

    same = admin.patch(url, json={"capacity": 5, "delivery_fee": "300"}, headers={"If-Match": tag})
    assert (same.status_code, same.json["version"], same.headers["ETag"]) == (200, 1, tag)
    overlapping = admin.patch(url, json={"end": "15:00"}, headers={"If-Match": tag})
    assert overlapping.status_code == 422
    assert "start" in overlapping.json["errors"]

    kept = admin.get(url)
    assert (kept.json["version"], kept.headers["ETag"]) == (1, tag)
    assert [e.action for e in audit_of(shop.id)] == ["create", "create"]


@pytest.mark.parametrize("role", ["florist", "courier"])
def test_every_role_reads_admins_and_managers_write(app, shop, role):
    shop_with = shop_with_windows(window(0, "10:00", "14:00"))
    reader = member(app, shop_with, role)
    assert len(reader.get(URL).json) == 1
    assert reader.post(URL, json=BODY).status_code == 403
    [row] = reader.get(URL).json
    assert reader.patch(f"{URL}/{row['id']}", json={"capacity": 1}, headers={"If-Match": "*"}).status_code == 403
    manager = member(app, shop_with, "manager")
    changed = manager.patch(f"{URL}/{row['id']}", json={"capacity": 1}, headers={"If-Match": "*"})
    assert changed.status_code == 200


def test_another_shops_window_is_404(app, shop, admin):
    theirs = shop_with_windows(window(0, "10:00", "14:00"), name="Their shop")
    their_id = db.session.scalars(select(DeliveryWindow.id).where(DeliveryWindow.shop_id == theirs.id)).one()
    db.session.commit()
    assert admin.get(f"{URL}/{their_id}").status_code == 404
    assert admin.patch(f"{URL}/{their_id}", json={"capacity": 1}, headers={"If-Match": "*"}).status_code == 404
    assert admin.delete(f"{URL}/{their_id}", headers={"If-Match": "*"}).status_code == 404
    assert admin.get(URL).json == []
    assert db.session.get(DeliveryWindow, their_id).capacity == 3


def test_the_old_settings_route_no_longer_takes_windows(admin, shop):
    response = admin.patch(f"/api/v1/shops/{shop.id}", json={"settings": {"delivery_slots": [BODY]}})
    assert response.status_code == 422
    assert "delivery_slots" not in admin.get(f"/api/v1/shops/{shop.id}").json["settings"]
