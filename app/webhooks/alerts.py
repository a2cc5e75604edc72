"""An endpoint that stops receiving is disabled, and the shop's admins are told, each in their language."""

from __future__ import annotations

import logging
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import lazyload

from app.extensions import db
from app.messaging import templates
from app.messaging.services import channel_for_user, queue_message
from app.shops.models import Shop
from app.users.models import Membership, Role, User
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

FAILING = "failing"
GONE = "gone"
REASONS = {
    FAILING: "disabled: the receiver failed for {hours} hours without a success",
    GONE: "disabled: the receiver answered 410 Gone",
}


def disable_endpoint(endpoint_id: int, *, why: str, now: datetime, hours: int = 24) -> bool:
    """In the caller's transaction: disable the endpoint (once), end its pending deliveries, queue a message to
    each active admin of the shop (sent after the commit). False when it was disabled already."""
    reason = REASONS[why].format(hours=hours)
    disabled = db.session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.enabled.is_(True))
        .values(enabled=False, disabled_reason=reason, updated_at=now)
        .returning(WebhookEndpoint.shop_id, WebhookEndpoint.url)
    ).first()
    if disabled is None:
        return False
    shop_id, url = disabled
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.FAILED, next_attempt_at=None, error="endpoint disabled", updated_at=now)
    )
    log.warning("webhook endpoint %s of shop %s %s", endpoint_id, shop_id, reason)
    _tell_admins(shop_id, endpoint_id, why=why, host=urlsplit(url).hostname or "?", hours=hours, now=now)
    return True


def _tell_admins(shop_id: int, endpoint_id: int, *, why: str, host: str, hours: int, now: datetime) -> None:
    shop = db.session.get(Shop, shop_id)
    admins = db.session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .options(lazyload(User.memberships))
        .where(
            Membership.shop_id == shop_id,
            Membership.is_active,
            Membership.role == Role.ADMIN.value,
            User.is_active.is_(True),
        )
        .order_by(User.id)
    ).all()
    for admin in admins:
        channel, to = channel_for_user(admin)
        queue_message(
            kind="webhook_disabled",
            channel=channel,
            to=to,
            template=f"webhook_disabled_{why}",
            language=templates.language_for(admin.language),
            occurrence_key=f"webhook_disabled:{endpoint_id}:{int(now.timestamp())}:{admin.id}",
            context={"shop": shop.name if shop else "", "host": host, "hours": hours},
            shop_id=shop_id,
            user_id=admin.id,
            description=f"send webhook disabled alert for endpoint {endpoint_id}",
        )
