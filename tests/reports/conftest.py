"""Fixtures for report tests: a shop far east of Moscow, and the people who may read its reports."""

from __future__ import annotations

import pytest

from tests.factories import ShopFactory


@pytest.fixture
def vladivostok():
    """A shop at UTC+10 all year: its days start at 14:00 UTC the day before."""
    return ShopFactory(name="Цветы у моря", timezone="Asia/Vladivostok")


@pytest.fixture
def owner(login, vladivostok):
    """The Vladivostok shop's admin."""
    return login("admin", shop=vladivostok)
