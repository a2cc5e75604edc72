"""Extension objects, unbound at import and bound to an app in `create_app`.

Nothing here connects to PostgreSQL or Redis at import time.
"""

from __future__ import annotations

from typing import Any

import redis
from flask import Flask, current_app
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_sqlalchemy import SQLAlchemy
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from rq import Queue
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from app.common.api import Api
from app.common.net import client_ip
from app.common.session import Session

# Queues named for what they carry, in the order a worker drains them: login codes, then the customers'
# order status messages, then the bulk of messages (reminders, alerts, digests), then scans and housekeeping,
# then webhook deliveries (a slow receiver never holds up a message).
QUEUE_NAMES = ("otp", "status", "messages", "default", "webhooks")


class Base(DeclarativeBase):
    # Named constraints, so migrations can drop them on PostgreSQL and SQLite alike.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class RedisClient:
    """The app's Redis connection: a real server, or an in-process emulation for `memory://`."""

    _fake_server = None  # one emulated server per process, shared by every app in it

    def init_app(self, app: Flask) -> None:
        url = app.config["REDIS_URL"]
        if url.startswith("memory://"):
            import fakeredis  # dev mode and unit tests only

            if RedisClient._fake_server is None:
                RedisClient._fake_server = fakeredis.FakeServer()
            client = fakeredis.FakeRedis(server=RedisClient._fake_server)
        else:
            # One quick retry: a health check or a 503 must not hang for seconds while Redis is down.
            client = redis.Redis.from_url(
                url,
                socket_connect_timeout=2,
                socket_timeout=5,
                health_check_interval=30,
                retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), retries=1),
            )
        app.extensions["redis"] = client

    @property
    def client(self) -> redis.Redis:
        return current_app.extensions["redis"]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


class Queues:
    """The RQ queues of the app; with JOBS_INLINE a job runs at once in the calling process."""

    def init_app(self, app: Flask) -> None:
        connection = app.extensions["redis"]
        inline = app.config["JOBS_INLINE"]
        app.extensions["queues"] = {
            name: Queue(name, connection=connection, is_async=not inline, default_timeout=120) for name in QUEUE_NAMES
        }

    def get(self, name: str) -> Queue:
        return current_app.extensions["queues"][name]

    def all(self) -> list[Queue]:
        return list(current_app.extensions["queues"].values())


db = SQLAlchemy(model_class=Base, session_options={"class_": Session})
jwt = JWTManager()
api = Api()
limiter = Limiter(key_func=client_ip, default_limits=[], headers_enabled=True)
redis_client = RedisClient()
queues = Queues()


def init_migrations(app: Flask) -> None:
    """Flask-Migrate on `app`: the `flask db ...` commands and `flask_migrate.upgrade()`. Only the flask command (see
    app/cli.py) and the tests call this, so an API worker never imports Alembic, 11 MB of every worker's memory."""
    if "migrate" in app.extensions:
        return
    from flask_migrate import Migrate

    is_sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    Migrate(app, db, compare_type=True, render_as_batch=is_sqlite)
