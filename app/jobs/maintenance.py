"""Housekeeping jobs."""

import logging

from app.auth.services import purge_expired_logins
from app.idempotency.services import purge_expired

log = logging.getLogger(__name__)


def purge_idempotency_keys() -> int:
    """Forget idempotency keys older than their 24 h."""
    removed = purge_expired()
    log.info("purged %d expired idempotency keys", removed)
    return removed


def purge_expired_login_sessions() -> int:
    """Forget logins whose refresh tokens have all expired, so refresh_tokens does not grow for ever."""
    removed = purge_expired_logins()
    log.info("purged %d expired login sessions", removed)
    return removed
