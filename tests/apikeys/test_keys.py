"""Integration keys: made and revoked by admins, shown once, kept hashed, scoped, per shop, rate-limited."""

from __future__ import annotations

import hashlib
import logging

import pytest
from sqlalchemy import select, text

from app.apikeys.models import ApiKey
from app.audit.models import AuditEntry
from app.catalogue import services as catalogue
from app.extensions import db
from app.log import mask_sensitive
from tests.apikeys.keydata import KeyClient, make_key

KEYS = "/api/v1/api-keys"
PRODUCTS = "/api/v1/storefront/products"


def test_an_admin_makes_a_key_that_is_shown_once_and_stored_only_as_its_hash(admin):
    made = admin.post(KEYS, json={"name": "website", "scopes": ["storefront:read", "orders:write"]})

    assert made.status_code == 201
    key = made.json["key"]
    assert key.startswith("fcrm_") and len(key) >= 5 + 43
    assert made.json["prefix"] == key[:12]
    assert made.json["scopes"] == ["orders:write", "storefront:read"]
    assert made.json["last_used_at"] is None
    # The database holds its SHA-256 and prefix, nowhere the key.
    row = db.session.get(ApiKey, made.json["id"])
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    dumped = db.session.execute(text("SELECT row_to_json(api_keys)::text FROM api_keys")).scalars().all()
    assert not any(key in line for line in dumped)
    # Listed without the key.
    listed = admin.get(KEYS)
    assert listed.status_code == 200
    assert [k["id"] for k in listed.json] == [made.json["id"]]
    assert "key" not in listed.json[0] and key not in listed.get_data(as_text=True)


def test_making_and_revoking_are_audited_without_the_key(admin):
    made = admin.post(KEYS, json={"name": "marketplace", "scopes": ["orders:read"]})
    admin.delete(f"{KEYS}/{made.json['id']}")

    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "api_key").order_by(AuditEntry.id)
    ).all()
    assert [e.action for e in entries] == ["create", "revoke"]
    assert all(e.entity_id == str(made.json["id"]) for e in entries)
    assert not any(made.json["key"] in str(e.changes) for e in entries)
    assert entries[0].changes["prefix"] == [None, made.json["prefix"]]


@pytest.mark.parametrize("role", ["manager", "florist", "courier"])
def test_only_admins_manage_keys(login, role, shop):
    id_, _ = make_key(shop)
    client = login(role)
    assert client.get(KEYS).status_code == 403
    assert client.post(KEYS, json={"name": "x", "scopes": ["orders:read"]}).status_code == 403
    assert client.delete(f"{KEYS}/{id_}").status_code == 403


def test_another_shops_key_is_not_found_and_never_listed(admin, other_shop):
    id_, _ = make_key(other_shop)
    assert admin.delete(f"{KEYS}/{id_}").status_code == 404
    assert admin.get(KEYS).json == []


def test_scopes_are_checked(admin):
    assert admin.post(KEYS, json={"name": "x", "scopes": ["orders:delete"]}).status_code == 422
    assert admin.post(KEYS, json={"name": "x", "scopes": []}).status_code == 422
    assert admin.post(KEYS, json={"name": "x", "scopes": ["orders:read", "orders:read"]}).status_code == 422


def test_a_key_without_the_scope_is_403_naming_it(app, shop):
    _, key = make_key(shop, scopes=["orders:read"])
    answer = KeyClient(app, key).get(PRODUCTS)
    assert answer.status_code == 403
    assert answer.json["errors"] == {"scope": ["storefront:read"]}
    assert "storefront:read" in answer.json["message"]


def test_a_revoked_key_is_refused_on_its_next_request(app, admin, shop):
    id_, key = make_key(shop)
    client = KeyClient(app, key)
    assert client.get(PRODUCTS).status_code == 200

    revoked = admin.delete(f"{KEYS}/{id_}")
    assert revoked.status_code == 200 and revoked.json["revoked_at"] is not None

    refused = client.get(PRODUCTS)
    assert refused.status_code == 401
    assert refused.json["errors"] == {"authorization": ["revoked"]}
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    # Revoking again answers the same, and the audit has one revocation.
    assert admin.delete(f"{KEYS}/{id_}").json["revoked_at"] == revoked.json["revoked_at"]


def test_an_unknown_or_missing_key_is_401(app, client):
    assert KeyClient(app, "fcrm_" + "x" * 43).get(PRODUCTS).json["errors"] == {"authorization": ["unknown key"]}
    assert client.get(PRODUCTS).status_code == 401


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/api/v1/orders"),
        ("POST", "/api/v1/orders"),
        ("GET", "/api/v1/products"),
        ("GET", "/api/v1/customers"),
        ("GET", "/api/v1/auth/me"),
        ("GET", "/api/v1/api-keys"),
        ("GET", "/api/v1/events"),
    ],
)
def test_staff_endpoints_refuse_a_key_saying_why(app, shop, method, path):
    _, key = make_key(shop)
    answer = KeyClient(app, key).request(method, path, json={}, headers={"X-Shop-Id": str(shop.id)})
    assert answer.status_code == 401
    assert answer.json["errors"] == {"authorization": ["integration key on a staff endpoint"]}
    assert "storefront" in answer.json["message"]


def test_the_storefront_refuses_a_staff_token(admin):
    answer = admin.get(PRODUCTS)
    assert answer.status_code == 401
    assert answer.json["errors"] == {"authorization": ["not an integration key"]}


def test_a_key_acts_in_its_own_shop_only(app, shop, other_shop):
    catalogue.create_product(shop_id=other_shop.id, actor_id=None, data={"name": "Theirs", "price": 100})
    mine = catalogue.create_product(shop_id=shop.id, actor_id=None, data={"name": "Mine", "price": 100})
    db.session.commit()
    _, key = make_key(shop)
    client = KeyClient(app, key)
    # X-Shop-Id is not how a key picks a shop: it is ignored.
    listed = client.get(PRODUCTS, headers={"X-Shop-Id": str(other_shop.id)})
    assert [p["id"] for p in listed.json] == [mine.id]
    assert client.get("/api/v1/storefront/orders/nope").status_code == 404


def test_last_use_is_written_at_most_once_a_minute(app, shop, count_queries):
    id_, key = make_key(shop)
    client = KeyClient(app, key)
    client.get(PRODUCTS)
    first = db.session.get(ApiKey, id_)
    db.session.refresh(first)
    assert first.last_used_at is not None
    seen = first.last_used_at

    with count_queries() as statements:
        client.get(PRODUCTS)
    assert not any(s.lstrip().upper().startswith("UPDATE API_KEYS") for s in statements)
    db.session.refresh(first)
    assert first.last_used_at == seen


def test_a_key_has_its_own_rate_limit(app, shop, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_API_KEY", "3 per minute")
    _, key = make_key(shop)
    _, other = make_key(shop, name="marketplace")
    client = KeyClient(app, key)
    answers = [client.get(PRODUCTS) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    # One budget across the key's calls, not per endpoint.
    refused = client.get("/api/v1/storefront/delivery-slots?date=2030-01-01")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert set(refused.json) == {"code", "status", "message", "errors"}
    assert KeyClient(app, other).get(PRODUCTS).status_code == 200


def test_keys_never_reach_the_logs(app, shop, caplog):
    _, key = make_key(shop)
    assert key[5:] not in mask_sensitive(f"Authorization: Bearer {key}")
    assert mask_sensitive(f"sent {key} twice") == "sent fcrm_*** twice"
    assert mask_sensitive(f'{{"key": "{key}"}}') == '{"key": "fcrm_***"}'
    with caplog.at_level(logging.DEBUG):
        KeyClient(app, key).get(PRODUCTS + f"?q={key}")
    assert key not in caplog.text
