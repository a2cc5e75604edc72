"""Errors to Sentry when SENTRY_DSN is set, with no personal data."""

from typing import Any
from urllib.parse import unquote

from flask import Flask

from app.log import mask_sensitive

# The parts of an event that can carry what a user typed or a log line said (frame variables included).
_SCRUBBED_PARTS = ("exception", "threads", "logentry", "message", "breadcrumbs", "extra", "request")


def _mask_all(value: Any) -> Any:
    if isinstance(value, str):
        # "?q=%2B79161234567" (a query string, a repr of the request): decode, or the masks miss the phone.
        return mask_sensitive(unquote(value) if "%" in value else value)
    if isinstance(value, dict):
        return {key: _mask_all(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_all(item) for item in value]
    return value


def _scrub(event: dict, _hint: dict) -> dict:
    """Mask phones, codes, tokens and e-mails anywhere in the event before it leaves the process."""
    for part in _SCRUBBED_PARTS:
        if part in event:
            event[part] = _mask_all(event[part])
    return event


def init_sentry(app: Flask) -> None:
    dsn = app.config.get("SENTRY_DSN")
    if not dsn:
        return
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration

    # No user data by default (send_default_pii is deprecated and off); `_scrub` masks what the events carry.
    sentry_sdk.init(
        dsn=dsn,
        integrations=[FlaskIntegration()],
        environment=app.config["ENV_NAME"],
        before_send=_scrub,
        # Frame locals hold codes and tokens under innocent names ("code"); masking by pattern can't see them.
        include_local_variables=False,
        traces_sample_rate=0.0,
    )
