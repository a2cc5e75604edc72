"""Every database session runs in UTC, whatever the server's default time zone."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from app.config import TestConfig
from app.extensions import db
from tests.foundation.conftest_apps import app_with


def test_sessions_run_in_utc_on_a_server_whose_default_zone_is_another():
    config = TestConfig()
    # What a server configured for Moscow gives every new session, set here through the connection's options.
    sep = "&" if "?" in config.SQLALCHEMY_DATABASE_URI else "?"
    config.SQLALCHEMY_DATABASE_URI += f"{sep}options=-c%20TimeZone%3DEurope%2FMoscow"
    with app_with(config=config) as moscow_app, moscow_app.app_context():
        zone = db.session.scalar(text("SHOW TimeZone"))
        # 23:30 UTC on March 7 is already March 8 in Moscow: the day SQL sees is the UTC one.
        day = db.session.scalar(
            text("SELECT CAST(CAST(:at AS timestamptz) AS date)"), {"at": datetime(2026, 3, 7, 23, 30, tzinfo=UTC)}
        )
        now = db.session.scalar(text("SELECT now()"))
        db.session.rollback()

    assert zone == "UTC"
    assert day.isoformat() == "2026-03-07"
    assert now.utcoffset().total_seconds() == 0
