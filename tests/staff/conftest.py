"""Fixtures for staff and shop tests."""

from __future__ import annotations

import pytest
from flask_jwt_extended import create_access_token

from app.extensions import db
from tests.factories import MembershipFactory, UserFactory
from tests.helpers import ApiClient


def client_as(app, user, shop) -> ApiClient:
    """A client with a fresh token for `user`, acting in `shop`.

    The token is made in the test's own app context: ApiClient(user=...) pushes and pops one, which
    ends the test's session and detaches every object the test holds.
    """
    client = ApiClient(app, shop_id=shop.id)
    client.user = user
    client.token = create_access_token(identity=user)
    return client


@pytest.fixture
def member(app):
    """`member(shop, "florist")` → (user, client acting in that shop); `user=` adds a shop to someone known."""

    def _member(shop, role: str, *, user=None, **user_fields):
        user = user or UserFactory(**user_fields)
        MembershipFactory(user=user, shop=shop, role=role)
        db.session.commit()
        return user, client_as(app, user, shop)

    return _member
