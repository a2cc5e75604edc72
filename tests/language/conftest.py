"""Fixtures for the language tests: a shop taking orders with clients per role, the error shape, a dead database."""

from tests.foundation.conftest import error_body, make_app  # noqa: F401  fixtures
from tests.foundation.test_database_down import dead_db_app  # noqa: F401  fixture
from tests.production.workshop import as_role, boss, front  # noqa: F401  fixtures
