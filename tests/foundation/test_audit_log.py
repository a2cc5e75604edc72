"""The audit log: written in the change's own transaction, read by admins of the shop only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from flask.views import MethodView
from marshmallow import Schema, fields
from sqlalchemy import func, select

from app.audit import services as audit
from app.audit.models import AuditEntry
from app.auth.access import MANAGERS, current_shop, shop_access
from app.common.api import Blueprint
from app.errors import ConflictError
from app.extensions import db
from app.shops.models import Shop
from tests.factories import UserFactory
from tests.foundation.conftest_apps import app_with, client_on

URL = "/api/v1/audit-log"
T0 = datetime(2026, 3, 8, 9, 0, tzinfo=UTC)


def add_entry(shop_id: int, *, minutes: int = 0, **fields) -> AuditEntry:
    values = {"actor_id": None, "action": "update", "entity_type": "order", "entity_id": "1", "changes": {}}
    values.update(fields)
    entry = AuditEntry(shop_id=shop_id, created_at=T0 + timedelta(minutes=minutes), **values)
    db.session.add(entry)
    return entry


# --- reading the log -------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("manager", 403), ("florist", 403), ("courier", 403)])
def test_only_admins_read_the_audit_log(login, role, status):
    assert login(role).get(URL).status_code == status


def test_anonymous_is_401(client):
    answer = client.get(URL)

    assert answer.status_code == 401
    assert answer.json["code"] == 401


def test_lists_the_callers_shop_only_newest_first(admin, shop, other_shop):
    shop_id, other_id = shop.id, other_shop.id
    for minute in (5, 1, 9):
        add_entry(shop_id, minutes=minute, entity_id=f"mine-{minute}")
    add_entry(other_id, minutes=7, entity_id="theirs")
    db.session.commit()

    answer = admin.get(URL)

    assert answer.status_code == 200
    assert [e["entity_id"] for e in answer.json] == ["mine-9", "mine-5", "mine-1"]
    assert {e["shop_id"] for e in answer.json} == {shop_id}
    assert json.loads(answer.headers["X-Pagination"])["total"] == 3


def test_another_shops_entries_never_appear_whatever_the_filter(admin, other_shop):
    other_id = other_shop.id
    add_entry(other_id, entity_type="order", entity_id="42")
    db.session.commit()

    answer = admin.get(URL, query_string={"entity": "order", "entity_id": "42"})

    assert answer.status_code == 200
    assert answer.json == []


def test_filters_by_entity_entity_id_actor_and_time(admin, shop):
    shop_id = shop.id
    florist = UserFactory()
    db.session.flush()
    florist_id = florist.id
    add_entry(shop_id, minutes=0, entity_type="order", entity_id="1", actor_id=florist_id)
    add_entry(shop_id, minutes=10, entity_type="order", entity_id="2")
    add_entry(shop_id, minutes=20, entity_type="customer", entity_id="1", actor_id=florist_id)
    add_entry(shop_id, minutes=30, entity_type="customer", entity_id="2")
    db.session.commit()

    def ids(**query) -> list[str]:
        answer = admin.get(URL, query_string=query)
        assert answer.status_code == 200, answer.json
        return [f"{e['entity_type']}:{e['entity_id']}" for e in answer.json]

    assert ids(entity="order") == ["order:2", "order:1"]
    assert ids(entity="customer", entity_id="1") == ["customer:1"]
    assert ids(actor=florist_id) == ["customer:1", "order:1"]
    # `from` is inclusive, `to` exclusive.
    assert ids(**{"from": (T0 + timedelta(minutes=10)).isoformat()}) == ["customer:2", "customer:1", "order:2"]
    assert ids(to=(T0 + timedelta(minutes=10)).isoformat()) == ["order:1"]
    window = {"from": (T0 + timedelta(minutes=5)).isoformat(), "to": (T0 + timedelta(minutes=25)).isoformat()}
    assert ids(**window) == ["customer:1", "order:2"]


def test_a_time_filter_without_a_zone_is_422(admin):
    answer = admin.get(URL, query_string={"from": "2026-03-08T09:00:00"})

    assert answer.status_code == 422
    assert "from" in answer.json["errors"]["query"]


def test_pages_through_the_log_with_the_pagination_header(admin, shop):
    shop_id = shop.id
    for minute in range(60):
        add_entry(shop_id, minutes=minute, entity_id=str(minute))
    db.session.commit()

    first = admin.get(URL, query_string={"page_size": 25})
    last = admin.get(URL, query_string={"page": 3, "page_size": 25})
    default = admin.get(URL)

    assert [e["entity_id"] for e in first.json] == [str(m) for m in range(59, 34, -1)]
    assert [e["entity_id"] for e in last.json] == [str(m) for m in range(9, -1, -1)]
    assert len(default.json) == 20
    meta = json.loads(first.headers["X-Pagination"])
    assert meta == {"total": 60, "total_pages": 3, "first_page": 1, "last_page": 3, "page": 1, "next_page": 2}
    assert json.loads(last.headers["X-Pagination"])["previous_page"] == 2


def test_a_page_size_over_100_is_422(admin):
    answer = admin.get(URL, query_string={"page_size": 101})

    assert answer.status_code == 422
    assert "page_size" in answer.json["errors"]["query"]


def test_a_page_costs_the_same_sql_whatever_its_size(admin, shop, count_queries):
    shop_id = shop.id
    for minute in range(60):
        add_entry(shop_id, minutes=minute, entity_id=str(minute), changes={"status": ["new", "confirmed"]})
    db.session.commit()

    counts = {}
    for size in (5, 50):
        db.session.remove()  # each request starts with an empty session, as in production
        with count_queries() as statements:
            answer = admin.get(URL, query_string={"page_size": size})
        assert len(answer.json) == size
        counts[size] = len(statements)

    assert counts[5] == counts[50]
    assert counts[5] <= 6  # the caller, their memberships, the count and the page


# --- writing the log -------------------------------------------------------------------------------


class RenameSchema(Schema):
    name = fields.String(required=True)
    refuse = fields.Boolean(load_default=False)


def rename_shop(*, shop_id: int, actor_id: int, name: str, refuse: bool) -> None:
    """A service in the house style: change, audit, then commit (or fail and leave nothing)."""
    shop = db.session.get(Shop, shop_id)
    changes = audit.apply_changes(shop, {"name": name})
    audit.record(
        shop_id=shop_id, actor_id=actor_id, action="update", entity_type="shop", entity_id=shop_id, changes=changes
    )
    db.session.flush()
    if refuse:
        raise ConflictError("The shop may not be renamed now.")
    db.session.commit()


def _audit_probe_blueprint() -> Blueprint:
    blp = Blueprint("audit_probe", __name__, url_prefix="/api/v1/_audit_probe")

    @blp.route("/rename")
    class Rename(MethodView):
        @shop_access(*MANAGERS)
        @blp.arguments(RenameSchema)
        @blp.response(204)
        def post(self, data):
            shop = current_shop()
            rename_shop(shop_id=shop.shop_id, actor_id=shop.user.id, **data)

    return blp


@pytest.fixture(scope="module")
def audit_probe_app(app):
    with app_with(_audit_probe_blueprint()) as test_app:
        yield test_app


@pytest.fixture
def probe(audit_probe_app):
    with audit_probe_app.app_context():
        yield audit_probe_app


def shop_entries(shop_id: int) -> list[AuditEntry]:
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.shop_id == shop_id, AuditEntry.entity_type == "shop")
    ).all()


def test_a_change_and_its_entry_commit_together(probe, manager, shop):
    shop_id, old_name, user_id = shop.id, shop.name, manager.user.id

    answer = client_on(probe, manager).post("/api/v1/_audit_probe/rename", json={"name": "Rose & Co"})

    assert answer.status_code == 204
    [entry] = shop_entries(shop_id)
    assert (entry.action, entry.entity_id, entry.actor_id) == ("update", str(shop_id), user_id)
    assert entry.changes == {"name": [old_name, "Rose & Co"]}
    assert entry.request_id == answer.headers["X-Request-ID"]


def test_a_change_rolled_back_leaves_no_entry(probe, manager, shop):
    shop_id, old_name = shop.id, shop.name

    answer = client_on(probe, manager).post("/api/v1/_audit_probe/rename", json={"name": "Gone", "refuse": True})

    assert answer.status_code == 409
    db.session.rollback()  # what the next request's session would see
    assert db.session.get(Shop, shop_id).name == old_name
    assert shop_entries(shop_id) == []


def test_record_joins_the_callers_transaction(shop):
    shop_id = shop.id
    db.session.commit()

    audit.record(shop_id=shop_id, actor_id=None, action="delete", entity_type="customer", entity_id=7)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.shop_id == shop_id)) == 0

    audit.record(shop_id=shop_id, actor_id=None, action="delete", entity_type="customer", entity_id=7)
    db.session.commit()
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.shop_id == shop_id)).all()
    assert (entry.entity_type, entry.entity_id, entry.changes) == ("customer", "7", {})


def test_apply_changes_reports_only_what_changed_and_masks_the_password():
    user = UserFactory(name="Anna", language="ru", password_hash="argon2-old")

    changes = audit.apply_changes(user, {"name": "Anna K.", "language": "ru", "password_hash": "argon2-new"})

    assert changes == {"name": ["Anna", "Anna K."], "password_hash": ["***", "***"]}
    assert (user.name, user.language, user.password_hash) == ("Anna K.", "ru", "argon2-new")
    assert audit.apply_changes(user, {"name": "Anna K."}) == {}


def test_changes_are_stored_as_json_values(shop):
    shop_id = shop.id

    class Order:  # any object: dates, money and enums become JSON text
        due = datetime(2026, 3, 8, 10, 0, tzinfo=UTC)
        total = Decimal("10.00")

    order = Order()
    changes = audit.apply_changes(order, {"due": datetime(2026, 3, 9, 10, 0, tzinfo=UTC), "total": Decimal("12.50")})
    audit.record(shop_id=shop_id, actor_id=None, action="update", entity_type="order", entity_id=1, changes=changes)
    db.session.commit()

    stored = db.session.scalars(select(AuditEntry.changes).where(AuditEntry.entity_type == "order")).one()
    assert stored == {
        "due": ["2026-03-08T10:00:00+00:00", "2026-03-09T10:00:00+00:00"],
        "total": ["10.00", "12.50"],
    }
