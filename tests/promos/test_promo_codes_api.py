"""`/promo-codes`: managing codes over the API, who may, and nothing of another shop."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.extensions import db
from app.promos import services as promos
from tests.promos.promodata import make_code
from tests.warehouse.stockdata import staff_client

URL = "/api/v1/promo-codes"
ROLES = ("admin", "manager", "florist", "courier")


@pytest.fixture
def manager(app, shop):
    return staff_client(app, shop, "manager")


def test_create_returns_the_code_upper_cased_with_no_uses(manager, shop):
    response = manager.post(
        URL,
        json={
            "code": "spring-10",
            "kind": "percent",
            "value": "10",
            "min_order_total": "1500",
            "max_uses": 100,
            "valid_from": "2026-03-01T00:00:00+03:00",
            "valid_until": "2026-03-09T00:00:00+03:00",
        },
    )

    assert response.status_code == 201, response.json
    body = response.json
    assert {k: body[k] for k in ("code", "kind", "value", "min_order_total", "max_uses", "uses", "active")} == {
        "code": "SPRING-10",
        "kind": "percent",
        "value": "10.00",
        "min_order_total": "1500.00",
        "max_uses": 100,
        "uses": 0,
        "active": True,
    }
    assert body["valid_from"] == "2026-02-28T21:00:00+00:00"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "promo_code")).one()
    assert (entry.action, entry.entity_id, entry.actor_id) == ("create", str(body["id"]), manager.user.id)


def test_defaults_unlimited_and_no_minimum(manager):
    body = manager.post(URL, json={"code": "GIFT", "kind": "fixed", "value": "300"}).json
    assert (body["max_uses"], body["min_order_total"], body["valid_from"], body["valid_until"]) == (
        None,
        "0.00",
        None,
        None,
    )


def test_the_same_code_in_another_case_is_409_naming_the_code(manager, shop, other_shop):
    make_code(shop, code="SPRING10")
    make_code(other_shop, code="AUTUMN")

    taken = manager.post(URL, json={"code": "Spring10", "kind": "fixed", "value": "1"})
    elsewhere = manager.post(URL, json={"code": "autumn", "kind": "fixed", "value": "1"})

    assert taken.status_code == 409
    assert taken.json["errors"] == {"code": ["Already used in this shop."]}
    assert elsewhere.status_code == 201  # codes are per shop


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "X", "kind": "percent", "value": "100.01"}, "value"),
        ({"code": "X", "kind": "percent", "value": "-1"}, "value"),
        ({"code": "X", "kind": "fixed", "value": "10.005"}, "value"),
        ({"code": "X", "kind": "bogus", "value": "1"}, "kind"),
        ({"code": "", "kind": "fixed", "value": "1"}, "code"),
        ({"code": "NO SPACES", "kind": "fixed", "value": "1"}, "code"),
        ({"code": "X", "kind": "fixed", "value": "1", "uses": 5}, "uses"),
        ({"code": "X", "kind": "fixed", "value": "1", "max_uses": 0}, "max_uses"),
        (
            {
                "code": "X",
                "kind": "fixed",
                "value": "1",
                "valid_from": "2026-03-09T00:00:00Z",
                "valid_until": "2026-03-01T00:00:00Z",
            },
            "valid_until",
        ),
    ],
)
def test_invalid_terms_are_422_naming_the_field(manager, body, field):
    response = manager.post(URL, json=body)
    assert response.status_code == 422
    assert field in response.json["errors"]["json"]


def test_patch_changes_terms_and_keeps_uses(manager, shop):
    promo = make_code(shop, kind="fixed", value="200", max_uses=10)
    promos.redeem(shop_id=shop.id, code="SPRING10", subtotal=Decimal(1000))

    response = manager.patch(f"{URL}/{promo.id}", json={"value": "250", "active": False})

    assert response.status_code == 200
    assert (response.json["value"], response.json["active"], response.json["uses"]) == ("250.00", False, 1)
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "promo_code", AuditEntry.action == "update")
    ).one()
    assert entry.changes == {"value": ["200.00", "250.00"], "active": [True, False]}


def test_patch_checks_the_terms_as_they_will_be_saved(manager, shop):
    fixed = make_code(shop, code="BIG", kind="fixed", value="500")
    make_code(shop, code="OTHER")

    as_percent = manager.patch(f"{URL}/{fixed.id}", json={"kind": "percent"})  # 500 %
    renamed = manager.patch(f"{URL}/{fixed.id}", json={"code": "other"})
    uses = manager.patch(f"{URL}/{fixed.id}", json={"uses": 0})

    assert (as_percent.status_code, as_percent.json["errors"]) == (422, {"value": ["At most 100 for a percent code."]})
    assert (renamed.status_code, renamed.json["errors"]) == (409, {"code": ["Already used in this shop."]})
    assert uses.status_code == 422
    assert manager.get(f"{URL}/{fixed.id}").json["kind"] == "fixed"


def test_lowering_max_uses_below_the_uses_made_leaves_the_code_used_up(manager, shop):
    promo = make_code(shop, max_uses=5)
    for _ in range(3):
        promos.redeem(shop_id=shop.id, code="SPRING10", subtotal=Decimal(100))

    response = manager.patch(f"{URL}/{promo.id}", json={"max_uses": 2})

    assert response.status_code == 200
    assert (response.json["max_uses"], response.json["uses"]) == (2, 3)
    with pytest.raises(Exception, match="used up"):
        promos.redeem(shop_id=shop.id, code="SPRING10", subtotal=Decimal(100))


def test_list_newest_first_with_search_and_active_filter(manager, shop, other_shop):
    make_code(shop, code="SPRING10")
    make_code(shop, code="SUMMER", active=False)
    make_code(shop, code="SPRINGTIME")
    make_code(other_shop, code="THEIRSPRING")

    everything = manager.get(URL).json
    spring = manager.get(URL, query_string={"q": "spring"}).json
    inactive = manager.get(URL, query_string={"active": "false"}).json

    assert [c["code"] for c in everything] == ["SPRINGTIME", "SUMMER", "SPRING10"]
    assert [c["code"] for c in spring] == ["SPRINGTIME", "SPRING10"]
    assert [c["code"] for c in inactive] == ["SUMMER"]


def test_the_list_runs_the_same_statements_for_one_code_or_thirty(app, shop, manager, count_queries):
    counts = []
    for batch in (range(1), range(1, 30)):
        for number in batch:
            make_code(shop, code=f"CODE{number}")
        with count_queries() as statements:
            listed = manager.get(URL, query_string={"page_size": 100}).json
        counts.append((len(listed), len(statements)))
    assert [listed for listed, _ in counts] == [1, 30]
    assert counts[0][1] == counts[1][1]


# --- who may -----------------------------------------------------------------------------------

# endpoint → how to call it on the own shop's or the other shop's code
REQUESTS = {
    "GET /promo-codes": lambda c, own, other, where: c.get(URL, headers={"X-Shop-Id": str(where)}),
    "POST /promo-codes": lambda c, own, other, where: c.post(
        URL, json={"code": f"NEW{id(c)}", "kind": "fixed", "value": "1"}, headers={"X-Shop-Id": str(where)}
    ),
    "GET /promo-codes/{id}": lambda c, own, other, where: c.get(f"{URL}/{own if where == 'own' else other}"),
    "PATCH /promo-codes/{id}": lambda c, own, other, where: c.patch(
        f"{URL}/{own if where == 'own' else other}", json={"active": False}
    ),
}
MATRIX = [
    # endpoint, own shop (admin, manager, florist, courier), other shop
    ("GET /promo-codes", (200, 200, 403, 403), (404, 404, 404, 404)),
    ("POST /promo-codes", (201, 201, 403, 403), (404, 404, 404, 404)),
    ("GET /promo-codes/{id}", (200, 200, 403, 403), (404, 404, 403, 403)),
    ("PATCH /promo-codes/{id}", (200, 200, 403, 403), (404, 404, 403, 403)),
]
CASES = [(e, "own", own) for e, own, _ in MATRIX] + [(e, "other", other) for e, _, other in MATRIX]


def test_every_promo_code_endpoint_is_in_the_matrix(app):
    paths = app.test_client().get("/openapi.json").json["paths"]
    documented = {
        f"{method.upper()} {path.removeprefix('/api/v1').replace('{promo_code_id}', '{id}')}"
        for path, operations in paths.items()
        if path.startswith(URL)
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert documented == {e for e, _, _ in MATRIX}


@pytest.mark.parametrize(("endpoint", "where", "expected"), CASES, ids=[f"{e} [{w}]" for e, w, _ in CASES])
def test_role_matrix_and_shop_isolation(app, shop, other_shop, endpoint, where, expected):
    own, other = make_code(shop, code="OURS"), make_code(other_shop, code="THEIRS")
    target_shop = shop.id if where == "own" else other_shop.id
    got = {}
    for role in ROLES:
        client = staff_client(app, shop, role)
        response = REQUESTS[endpoint](client, own.id, other.id, target_shop if "{id}" not in endpoint else where)
        got[role] = response.status_code
        assert "THEIRS" not in response.get_data(as_text=True)
    assert got == dict(zip(ROLES, expected, strict=True))
    db.session.refresh(other)
    assert (other.active, other.code) == (True, "THEIRS")
