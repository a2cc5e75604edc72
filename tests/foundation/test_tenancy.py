"""Tenancy: which shop a request acts in, and whether the caller's role there may use a view."""

from __future__ import annotations

import pytest
from flask.views import MethodView
from marshmallow import Schema, fields
from sqlalchemy import delete, update

from app.auth.access import MANAGERS, current_shop, shop_access
from app.common.api import Blueprint
from app.extensions import db
from app.users.models import Membership, User
from tests.factories import MembershipFactory, UserFactory
from tests.foundation.conftest_apps import app_with
from tests.helpers import ApiClient

URL = "/api/v1/_tenancy/whoami"


class WhoAmISchema(Schema):
    user_id = fields.Integer()
    shop_id = fields.Integer()
    role = fields.String()


def _tenancy_blueprint() -> Blueprint:
    blp = Blueprint("tenancy_probe", __name__, url_prefix="/api/v1/_tenancy")

    @blp.route("/whoami")
    class WhoAmI(MethodView):
        @shop_access(*MANAGERS)
        @blp.response(200, WhoAmISchema)
        def get(self):
            shop = current_shop()
            return {"user_id": shop.user.id, "shop_id": shop.shop_id, "role": shop.role.value}

    return blp


@pytest.fixture(scope="module")
def tenancy_app(app):
    with app_with(_tenancy_blueprint()) as test_app:
        yield test_app


@pytest.fixture
def probe(tenancy_app):
    with tenancy_app.app_context():
        yield tenancy_app


def staff(probe, shop, role: str, *, header_shop_id: int | None) -> ApiClient:
    """A new user with `role` in `shop`. (Building the client ends the test's session: read ids first.)"""
    user = UserFactory()
    MembershipFactory(user=user, shop=shop, role=role)
    db.session.commit()
    return ApiClient(probe, user=user, shop_id=header_shop_id)


@pytest.mark.parametrize(
    ("role", "target", "status"),
    [
        ("admin", "own", 200),
        ("manager", "own", 200),
        ("florist", "own", 403),
        ("courier", "own", 403),
        ("admin", "other", 404),
        ("manager", "other", 404),
        ("florist", "other", 404),
        ("courier", "other", 404),
        ("admin", "missing", 404),
        ("florist", "missing", 404),
    ],
)
def test_role_and_shop_decide_the_answer(probe, shop, other_shop, role, target, status):
    own_id = shop.id
    shop_id = {"own": own_id, "other": other_shop.id, "missing": other_shop.id + 1000}[target]
    client = staff(probe, shop, role, header_shop_id=shop_id)

    answer = client.get(URL)

    assert answer.status_code == status
    if status == 200:
        assert answer.json == {"user_id": client.user.id, "shop_id": own_id, "role": role}
    if status == 403:
        assert answer.json["errors"] == {"role": [role]}


def test_another_shop_looks_exactly_like_a_shop_that_does_not_exist(probe, shop, other_shop):
    other_id = other_shop.id
    admin = staff(probe, shop, "admin", header_shop_id=other_id)

    foreign = admin.get(URL)
    admin.shop_id = other_id + 1000
    missing = admin.get(URL)

    assert foreign.status_code == missing.status_code == 404
    assert foreign.json == missing.json


def test_one_membership_needs_no_shop_header(probe, shop):
    shop_id = shop.id
    manager = staff(probe, shop, "manager", header_shop_id=None)

    answer = manager.get(URL)

    assert answer.status_code == 200
    assert answer.json["shop_id"] == shop_id


def test_two_shops_without_a_header_is_422_naming_it(probe, shop, other_shop):
    user = UserFactory()
    MembershipFactory(user=user, shop=shop, role="admin")
    MembershipFactory(user=user, shop=other_shop, role="admin")
    db.session.commit()
    admin = ApiClient(probe, user=user)

    answer = admin.get(URL)

    assert answer.status_code == 422
    assert "X-Shop-Id" in answer.json["errors"]["headers"]


def test_the_header_picks_the_shop_and_the_role_held_there(probe, shop, other_shop):
    user = UserFactory()
    MembershipFactory(user=user, shop=shop, role="manager")
    MembershipFactory(user=user, shop=other_shop, role="florist")
    db.session.commit()
    shop_id, other_id = shop.id, other_shop.id

    in_shop = ApiClient(probe, user=user, shop_id=shop_id).get(URL)
    in_other = ApiClient(probe, user=user, shop_id=other_id).get(URL)

    assert (in_shop.status_code, in_shop.json["role"]) == (200, "manager")
    assert (in_other.status_code, in_other.json["errors"]) == (403, {"role": ["florist"]})


@pytest.mark.parametrize("header", ["abc", "1.5", ""])
def test_a_shop_header_that_is_not_an_id_is_422(probe, shop, header):
    admin = staff(probe, shop, "admin", header_shop_id=None)

    answer = admin.get(URL, headers={"X-Shop-Id": header})

    assert answer.status_code == 422
    assert "X-Shop-Id" in answer.json["errors"]["headers"]


def test_anonymous_and_bad_tokens_are_401(probe):
    anonymous = probe.test_client().get(URL)
    forged = probe.test_client().get(URL, headers={"Authorization": "Bearer not.a.token"})

    assert anonymous.status_code == 401
    assert forged.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"


def test_a_deactivated_users_token_stops_working_at_once(probe, shop):
    admin = staff(probe, shop, "admin", header_shop_id=shop.id)
    assert admin.get(URL).status_code == 200

    db.session.execute(update(User).where(User.id == admin.user.id).values(is_active=False))
    db.session.commit()

    assert admin.get(URL).status_code == 401


def test_a_role_change_takes_effect_on_the_next_request(probe, shop):
    client = staff(probe, shop, "manager", header_shop_id=shop.id)
    user_id = client.user.id

    def set_role(role: str) -> None:
        db.session.execute(update(Membership).where(Membership.user_id == user_id).values(role=role))
        db.session.commit()

    first = client.get(URL)
    set_role("florist")
    demoted = client.get(URL)
    set_role("admin")
    promoted = client.get(URL)
    db.session.execute(delete(Membership).where(Membership.user_id == user_id))
    db.session.commit()
    removed = client.get(URL)

    assert (first.status_code, demoted.status_code, promoted.status_code, removed.status_code) == (200, 403, 200, 404)
    assert promoted.json["role"] == "admin"
