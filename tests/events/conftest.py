from __future__ import annotations

import pytest

from tests.orders.orderdata import Front, open_shop


@pytest.fixture
def front(shop) -> Front:
    return open_shop(shop)
