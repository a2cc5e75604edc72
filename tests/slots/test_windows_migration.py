"""Migration 0024: every shop's settings.delivery_slots become rows of delivery_windows (and come back down)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy.dialects import postgresql

from app.extensions import db
from tests.test_migrations import MIGRATIONS_DIR, _app_on, scratch_postgres_url  # noqa: F401  (a fixture)

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SHOPS = sa.table(
    "shops",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("timezone", sa.String),
    sa.column("currency", sa.String),
    sa.column("country", sa.String),
    sa.column("address", sa.String),
    sa.column("settings", JSON),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
OLD_WINDOWS = [
    {"weekday": 0, "start": "10:00", "end": "14:00", "capacity": 5, "delivery_fee": "300.00"},
    {"weekday": 0, "start": "14:00", "end": "18:00", "capacity": 3, "delivery_fee": "450.50"},
    {"weekday": 5, "start": "09:00", "end": "12:00", "capacity": 12, "delivery_fee": "0.00"},
]


def _shop(connection, name: str, settings: dict) -> int:
    now = datetime.now(UTC)
    return connection.execute(
        sa.insert(SHOPS)
        .values(
            name=name,
            timezone="Europe/Moscow",
            currency="RUB",
            country="RU",
            address="",
            settings=settings,
            created_at=now,
            updated_at=now,
        )
        .returning(SHOPS.c.id)
    ).scalar_one()


def _windows(connection) -> list[tuple]:
    return [
        tuple(row)
        for row in connection.execute(
            sa.text(
                'SELECT shop_id, weekday, start, "end", capacity, delivery_fee::text, enabled, version '
                "FROM delivery_windows ORDER BY shop_id, weekday, start"
            )
        )
    ]


def test_settings_windows_move_into_the_table_and_back(scratch_postgres_url):  # noqa: F811
    app = _app_on(scratch_postgres_url)
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR, revision="0023")
        with db.engine.begin() as connection:
            planned = _shop(connection, "Planned", {"delivery_slots": OLD_WINDOWS, "same_day_cutoff": "14:00"})
            empty = _shop(connection, "Empty", {"delivery_slots": []})
            untouched = _shop(connection, "Untouched", {"occasion_reminder_days": 5})

        upgrade(directory=MIGRATIONS_DIR)

        with db.engine.connect() as connection:
            assert _windows(connection) == [
                (planned, 0, "10:00", "14:00", 5, "300.00", True, 1),
                (planned, 0, "14:00", "18:00", 3, "450.50", True, 1),
                (planned, 5, "09:00", "12:00", 12, "0.00", True, 1),
            ]
            settings = dict(connection.execute(sa.select(SHOPS.c.id, SHOPS.c.settings)).all())
        assert settings == {
            planned: {"same_day_cutoff": "14:00"},
            empty: {},
            untouched: {"occasion_reminder_days": 5},
        }

        downgrade(directory=MIGRATIONS_DIR, revision="0023")

        with db.engine.connect() as connection:
            settings = dict(connection.execute(sa.select(SHOPS.c.id, SHOPS.c.settings)).all())
        assert settings[planned] == {"same_day_cutoff": "14:00", "delivery_slots": OLD_WINDOWS}
        assert settings[untouched] == {"occasion_reminder_days": 5}
        db.engine.dispose()
