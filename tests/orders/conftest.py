"""Fixtures for order tests: a shop that takes orders, and clients per role that keep the test's session."""

from __future__ import annotations

import pytest

from app.extensions import db
from tests.orders.orderdata import Front, open_shop
from tests.warehouse.stockdata import staff_client


@pytest.fixture
def front(shop) -> Front:
    return open_shop(shop)


@pytest.fixture
def as_role(app, shop):
    """`as_role("florist")` → a client of a new florist of `shop` (or `shop=`)."""

    def _as_role(role: str, shop=shop):
        client = staff_client(app, shop, role)
        db.session.commit()  # a refused request rolls back; the caller must outlive that
        return client

    return _as_role


@pytest.fixture
def boss(as_role):
    """The shop's manager."""
    return as_role("manager")
