"""The customer's tracking link, built from PUBLIC_BASE_URL: status messages are sent from jobs, where no
request says which host the customer reaches us at."""

from __future__ import annotations

from flask import current_app


def tracking_url(token: str | None) -> str | None:
    if not token:
        return None
    return f"{current_app.config['PUBLIC_BASE_URL']}/t/{token}"
