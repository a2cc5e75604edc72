"""Is the process, the database, Redis up?"""

from __future__ import annotations

import logging

from sqlalchemy import text

from app.errors import short_reason
from app.extensions import db, redis_client

log = logging.getLogger(__name__)


def database_ok() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception as exc:  # any failure means "down" to a health check; one line, polled every few seconds
        log.warning("health: database unreachable (%s)", short_reason(exc))
        db.session.rollback()
        return False


def redis_ok() -> bool:
    try:
        return bool(redis_client.ping())
    except Exception as exc:
        log.warning("health: redis unreachable (%s)", short_reason(exc))
        return False
