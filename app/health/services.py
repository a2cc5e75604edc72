"""Is the process, the database, Redis up?"""

from __future__ import annotations

import logging

from sqlalchemy import text

from app.extensions import db, redis_client

log = logging.getLogger(__name__)


def database_ok() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure means "down" to a health check
        log.warning("health: database unreachable", exc_info=True)
        db.session.rollback()
        return False


def redis_ok() -> bool:
    try:
        return bool(redis_client.ping())
    except Exception:
        log.warning("health: redis unreachable", exc_info=True)
        return False
