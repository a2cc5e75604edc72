"""The migrations build exactly the schema the models describe, go down cleanly and up again.

Each test works on a scratch database of its own (never the suite's database): a PostgreSQL
database named after TEST_DATABASE_URL's plus `_migrations`, and a SQLite file for the dev mode.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import downgrade, upgrade

from app import config as app_config
from app import create_app
from app.extensions import db, init_migrations

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


@pytest.fixture
def scratch_postgres_url() -> Iterator[str]:
    """An empty PostgreSQL database on the test server, dropped afterwards."""
    test_url = sa.engine.make_url(app_config.TestConfig().SQLALCHEMY_DATABASE_URI)
    scratch = test_url.set(database=f"{test_url.database}_migrations")
    server = sa.create_engine(test_url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = server.dialect.identifier_preparer.quote(scratch.database)

    def drop() -> None:
        with server.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    drop()  # a run that was killed may have left it behind
    with server.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        yield scratch.render_as_string(hide_password=False)
    finally:
        drop()
        server.dispose()


def _app_on(database_url: str) -> Flask:
    config = app_config.TestConfig()
    config.SQLALCHEMY_DATABASE_URI = database_url
    app = create_app(config)
    init_migrations(app)
    return app


def _schema_differences() -> list:
    """What autogenerate would put in a new migration: [] when the models match the database."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def _table_names() -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


def _walk_down_and_up(app: Flask) -> None:
    """Upgrade an empty database to head, compare with the models, go to base, and up again."""
    model_tables = set(db.metadata.tables)
    with app.app_context():
        assert _table_names() == set(), "the scratch database must start empty"

        upgrade(directory=MIGRATIONS_DIR)
        assert _table_names() == model_tables | {"alembic_version"}
        differences = _schema_differences()
        assert differences == [], f"the models differ from the migrated schema; a migration is missing: {differences}"

        downgrade(directory=MIGRATIONS_DIR, revision="base")
        assert _table_names() == {"alembic_version"}
        with db.engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar_one() == 0

        upgrade(directory=MIGRATIONS_DIR)
        assert _schema_differences() == []
        db.engine.dispose()


def test_migrations_on_postgresql_match_the_models_and_go_down_and_up(scratch_postgres_url):
    app = _app_on(scratch_postgres_url)
    _walk_down_and_up(app)


def test_downgrade_on_postgresql_leaves_no_types_behind(scratch_postgres_url):
    # drop_table does not drop PostgreSQL ENUM types; a leftover one breaks the next upgrade on a real server.
    app = _app_on(scratch_postgres_url)
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR)
        downgrade(directory=MIGRATIONS_DIR, revision="base")
        with db.engine.connect() as connection:
            leftovers = connection.execute(
                sa.text(
                    "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                    "WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'c') "
                    "AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid)"
                )
            ).scalars()
            sequences = connection.execute(
                sa.text("SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = 'public'")
            ).scalars()
            assert (list(leftovers), list(sequences)) == ([], [])
        db.engine.dispose()


def test_migrations_on_sqlite_for_the_dev_mode(tmp_path):
    app = _app_on(f"sqlite:///{tmp_path / 'dev.db'}")
    assert app.extensions["migrate"].configure_args["render_as_batch"] is True
    _walk_down_and_up(app)


def test_migrations_have_exactly_one_head():
    heads = ScriptDirectory(MIGRATIONS_DIR).get_heads()
    assert len(heads) == 1, f"several heads {heads}: merge them (`flask db merge heads`) or fix a down_revision"
