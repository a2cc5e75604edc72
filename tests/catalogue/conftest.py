"""Fixtures for catalogue tests: clients per role that keep the test's session alive."""

from __future__ import annotations

import pytest

from tests.warehouse.stockdata import staff_client


@pytest.fixture
def as_role(app, shop):
    """`as_role("florist")` → a client of a new florist of `shop` (or `shop=`)."""

    def _as_role(role: str, shop=shop):
        return staff_client(app, shop, role)

    return _as_role
