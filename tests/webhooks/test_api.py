"""Registering endpoints: admins only, validated, audited without the secret, the secret shown once and kept
encrypted; lists in a fixed number of statements."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select, text

from app.audit.models import AuditEntry
from app.extensions import db
from app.webhooks import services
from app.webhooks.models import WebhookDelivery
from tests.webhooks.conftest import WEBHOOKS, register

HOOK = {"url": "https://hooks.example.com/flowers", "event_types": ["order.*", "delivery.delivered"]}


@pytest.fixture
def hook(admin) -> dict:
    created = admin.post(WEBHOOKS, json=HOOK)
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def test_an_admin_registers_an_endpoint_and_sees_its_secret_once(admin, hook):
    assert hook["secret"].startswith("whsec_") and len(hook["secret"]) > 40
    assert hook["url"] == HOOK["url"] and hook["event_types"] == ["delivery.delivered", "order.*"]
    assert hook["enabled"] is True and hook["description"] is None
    shown = admin.get(f"{WEBHOOKS}/{hook['id']}").get_json()
    listed = admin.get(WEBHOOKS).get_json()
    assert "secret" not in shown and [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]


def test_the_secret_is_stored_encrypted_and_never_audited_or_logged(admin, hook, caplog):
    caplog.set_level(logging.DEBUG)
    rotated = admin.post(f"{WEBHOOKS}/{hook['id']}/rotate-secret").get_json()["secret"]
    admin.patch(f"{WEBHOOKS}/{hook['id']}", json={"description": "CRM sync"})
    dump = json.dumps([list(r) for r in db.session.execute(text("SELECT * FROM webhook_endpoints")).all()], default=str)
    audit = json.dumps([e.changes for e in db.session.scalars(select(AuditEntry))])
    for secret in (hook["secret"], rotated):
        raw = secret.removeprefix("whsec_")
        assert raw not in dump and raw not in audit and raw not in caplog.text
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "webhook")).all()
    assert sorted(actions) == ["webhook.created", "webhook.secret_rotated", "webhook.updated"]


def test_patch_changes_what_it_names_and_enabling_again_clears_the_failure(admin, hook):
    off = admin.patch(f"{WEBHOOKS}/{hook['id']}", json={"enabled": False, "event_types": ["task.*"]})
    assert off.status_code == 200, off.get_json()
    assert off.get_json()["enabled"] is False and off.get_json()["event_types"] == ["task.*"]
    on = admin.patch(f"{WEBHOOKS}/{hook['id']}", json={"enabled": True}).get_json()
    assert on["enabled"] is True and on["disabled_reason"] is None and on["failing_since"] is None
    assert admin.patch(f"{WEBHOOKS}/{hook['id']}", json={}).status_code == 422


def test_delete_removes_the_endpoint_and_its_log(admin, hook):
    assert admin.delete(f"{WEBHOOKS}/{hook['id']}").status_code == 204
    assert admin.get(f"{WEBHOOKS}/{hook['id']}").status_code == 404
    assert admin.get(WEBHOOKS).get_json() == []


@pytest.mark.parametrize(
    "body, field",
    [
        ({**HOOK, "event_types": ["order.eaten"]}, "event_types"),
        ({**HOOK, "event_types": []}, "event_types"),
        ({**HOOK, "url": "ftp://hooks.example.com/x"}, "url"),
        ({**HOOK, "url": "https://user:pw@hooks.example.com/x"}, "url"),
        ({**HOOK, "url": "https://hooks.example.com/" + "x" * 2000}, "url"),
        ({**HOOK, "url": "https:///nohost"}, "url"),
        ({"url": HOOK["url"]}, "event_types"),
    ],
)
def test_an_unfit_endpoint_is_a_422_naming_the_field(admin, body, field):
    answer = admin.post(WEBHOOKS, json=body)
    assert answer.status_code == 422, answer.get_json()
    assert field in json.dumps(answer.get_json()["errors"])


def test_families_and_exact_types_are_accepted(admin):
    answer = admin.post(WEBHOOKS, json={**HOOK, "event_types": ["task.*", "stock.low", "message.*"]})
    assert answer.status_code == 201, answer.get_json()


ROUTES = [
    ("get", ""),
    ("post", ""),
    ("get", "/{id}"),
    ("patch", "/{id}"),
    ("delete", "/{id}"),
    ("post", "/{id}/rotate-secret"),
    ("post", "/{id}/ping"),
    ("get", "/{id}/deliveries"),
    ("post", "/{id}/deliveries/{delivery}/redeliver"),
]


def _call(client, method: str, path: str, hook: dict, delivery_id: int):
    url = WEBHOOKS + path.format(id=hook["id"], delivery=delivery_id)
    kwargs = {"json": HOOK} if method == "post" and path == "" else {}
    kwargs = {"json": {"description": "x"}} if method == "patch" else kwargs
    return getattr(client, method)(url, **kwargs)


@pytest.fixture
def ping_delivery(admin, hook) -> int:
    return admin.post(f"{WEBHOOKS}/{hook['id']}/ping").get_json()["id"]


@pytest.mark.parametrize("method, path", ROUTES)
@pytest.mark.parametrize("role", ["manager", "florist", "courier"])
def test_only_admins_manage_webhooks(login, hook, ping_delivery, method, path, role):
    assert _call(login(role), method, path, hook, ping_delivery).status_code == 403


@pytest.mark.parametrize("method, path", [r for r in ROUTES if r[1] != ""])
def test_another_shops_webhook_is_not_found(login, other_shop, hook, ping_delivery, method, path):
    stranger = login("admin", shop=other_shop)
    assert _call(stranger, method, path, hook, ping_delivery).status_code == 404


@pytest.mark.parametrize("method, path", ROUTES)
def test_the_admin_may_do_each(admin, hook, ping_delivery, method, path):
    assert _call(admin, method, path, hook, ping_delivery).status_code in (200, 201, 202, 204)


def test_webhooks_need_a_login(client):
    assert client.get(WEBHOOKS).status_code == 401


def _add_deliveries(shop_id: int, endpoint_id: int, count: int, start: int) -> None:
    for n in range(start, start + count):
        db.session.add(
            WebhookDelivery(
                shop_id=shop_id,
                endpoint_id=endpoint_id,
                event_id=f"evt_{n:032x}",
                event_type="order.created",
                status="failed",
                attempts=3,
                response_status=500,
                response_body="boom",
            )
        )
    db.session.commit()


def test_lists_take_a_fixed_number_of_statements_whatever_the_page_size(admin, count_queries):
    def counts() -> tuple[int, int]:
        first = admin.get(WEBHOOKS).get_json()[0]["id"]
        with count_queries() as hooks:
            assert admin.get(WEBHOOKS, query_string={"page_size": 100}).status_code == 200
        with count_queries() as sent:
            page = admin.get(f"{WEBHOOKS}/{first}/deliveries", query_string={"page_size": 100})
            assert page.status_code == 200
        return len(hooks), len(sent)

    for _ in range(2):
        admin.post(WEBHOOKS, json=HOOK)
    first_id = admin.get(WEBHOOKS).get_json()[0]["id"]
    _add_deliveries(admin.shop_id, first_id, 2, 0)
    small = counts()
    for _ in range(20):
        admin.post(WEBHOOKS, json=HOOK)
    _add_deliveries(admin.shop_id, first_id, 40, 100)
    assert counts() == small
    statuses = admin.get(f"{WEBHOOKS}/{first_id}/deliveries", query_string={"status": "failed", "page_size": 5})
    assert len(statuses.get_json()) == 5 and '"total": 42' in statuses.headers["X-Pagination"]


def test_registered_receivers_match_their_types(admin, receiver):
    hook = register(admin, receiver, types=["order.*", "delivery.delivered"])
    assert services.type_matches(hook["event_types"], "order.status_changed")
    assert services.type_matches(hook["event_types"], "delivery.delivered")
    assert not services.type_matches(hook["event_types"], "delivery.failed")
    assert not services.type_matches(["order.*"], "orders.created")
