"""Fixtures for storefront tests: a shop that takes orders (tests/orders/orderdata.py)."""

from __future__ import annotations

import pytest

from tests.orders.orderdata import Front, open_shop


@pytest.fixture
def front(shop) -> Front:
    return open_shop(shop)
