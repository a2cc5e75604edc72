"""The test bed: real PostgreSQL and Redis, the schema built by the migrations, each test rolled back."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
import redis
from flask_migrate import upgrade
from sqlalchemy import event, make_url, text
from sqlalchemy.orm import scoped_session, sessionmaker

from app import create_app
from app.common.session import HeldCommits
from app.config import TestConfig
from app.extensions import db, init_migrations, redis_client
from tests.factories import MembershipFactory, ShopFactory, UserFactory
from tests.helpers import ApiClient

HOW_TO_START = (
    "start them with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` and "
    "`redis-server --daemonize yes --port 6379 --save '' --appendonly no`, or `docker compose up -d db redis`; "
    "or point TEST_DATABASE_URL / TEST_REDIS_URL at running servers."
)


def _require_services(config: TestConfig) -> None:
    problems = []
    try:
        psycopg.connect(
            make_url(config.SQLALCHEMY_DATABASE_URI).set(drivername="postgresql").render_as_string(False),
            connect_timeout=3,
        ).close()
    except psycopg.OperationalError as exc:
        problems.append(f"PostgreSQL at {config.SQLALCHEMY_DATABASE_URI} is unreachable ({str(exc).strip()})")
    try:
        redis.Redis.from_url(config.REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        problems.append(f"Redis at {config.REDIS_URL} is unreachable ({exc})")
    if problems:
        pytest.exit("; ".join(problems) + ".\nThe tests need both: " + HOW_TO_START, returncode=3)


def _rebuild_schema(app) -> None:
    """Drop everything and build the schema by running the migrations, as `flask db upgrade` does."""
    init_migrations(app)
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def app():
    config = TestConfig()
    _require_services(config)
    app = create_app(config)
    _rebuild_schema(app)
    return app


@pytest.fixture(autouse=True)
def _clean_redis(app):
    with app.app_context():
        redis_client.flushdb()
    yield


@pytest.fixture(autouse=True)
def _database(app, request) -> Iterator[None]:
    """Each test in one outer transaction, rolled back at the end; `committed` tests commit for real."""
    if request.node.get_closest_marker("committed"):
        with app.app_context():
            yield
            db.session.remove()
            _truncate_all()
        return
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = scoped_session(
            sessionmaker(class_=HeldCommits, bind=connection, join_transaction_mode="create_savepoint")
        )
        try:
            yield
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


def _truncate_all() -> None:
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def count_queries(app):
    """`with count_queries() as statements:` collects the SQL statements run inside the block."""

    @contextmanager
    def counter():
        statements: list[str] = []

        def record(_conn, _cursor, statement, _params, _context, _many):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
                statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            event.remove(db.engine, "before_cursor_execute", record)

    return counter


@pytest.fixture
def shop():
    return ShopFactory()


@pytest.fixture
def other_shop():
    return ShopFactory(name="Other Shop")


@pytest.fixture
def client(app) -> ApiClient:
    """An anonymous API client."""
    return ApiClient(app)


@pytest.fixture
def login(app, shop):
    """`login("manager")` → an API client acting as a new user with that role in `shop` (or `shop=`)."""

    def _login(role: str, shop=shop, **user_fields) -> ApiClient:
        user = UserFactory(**user_fields)
        MembershipFactory(user=user, shop=shop, role=role)
        db.session.commit()
        return ApiClient(app, user=user, shop_id=shop.id)

    return _login


@pytest.fixture
def admin(login) -> ApiClient:
    return login("admin")


@pytest.fixture
def manager(login) -> ApiClient:
    return login("manager")


@pytest.fixture
def florist(login) -> ApiClient:
    return login("florist")


@pytest.fixture
def courier(login) -> ApiClient:
    return login("courier")


@pytest.fixture
def tmp_media(tmp_path, app):
    """Uploaded files go to a temporary directory for the test."""
    previous = app.config["STORAGE_LOCAL_DIR"]
    app.config["STORAGE_LOCAL_DIR"] = str(tmp_path / "media")
    yield tmp_path / "media"
    app.config["STORAGE_LOCAL_DIR"] = previous


def pytest_report_header(config):
    return [
        f"database: {os.environ.get('TEST_DATABASE_URL', 'postgresql://postgres@127.0.0.1:5432/test')}",
        f"redis: {os.environ.get('TEST_REDIS_URL', 'redis://127.0.0.1:6379/15')}",
    ]
