"""Fixtures for the tracking tests: a shop taking orders, and clients per role that keep the test's session."""

from tests.production.workshop import as_role, boss, front  # noqa: F401  fixtures
