"""Webhook endpoints as admins manage them, and the log's consumer that turns events into deliveries.

The consumer runs in the event dispatch transaction (app/events/dispatch.py): one delivery row per enabled
endpoint of the shop whose types match the event and that existed when it occurred, exactly once per
(endpoint, event) by a unique constraint, its first attempt queued after the commit.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.audit import services as audit
from app.common.pagination import page_of
from app.common.types import utcnow
from app.errors import ConflictError, NotFoundError, RuleViolation
from app.events import dispatch
from app.events.models import Event
from app.extensions import db
from app.webhooks import jobs, sending, signing
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

ROTATION_OVERLAP = timedelta(hours=24)  # the previous secret still signs this long after a rotation
PING_TYPE = "webhook.ping"
_ENDPOINTS_KEY = "webhook_endpoints_of_shop"
AUDITED_FIELDS = ("url", "event_types", "enabled", "description")


def type_matches(patterns: list[str], event_type: str) -> bool:
    """`order.created` names one type, `order.*` a family."""
    return any(event_type == p or (p.endswith(".*") and event_type.startswith(p[:-1])) for p in patterns)


def _check_url(url: str) -> None:
    problems = sending.url_problems(url, allow_private=current_app.config["WEBHOOK_ALLOW_PRIVATE"])
    if problems:
        raise RuleViolation("This URL cannot receive webhooks; see errors.", errors={"url": problems})


# --- endpoints --------------------------------------------------------------------------------------------


def list_endpoints(*, shop_id: int, page: int, page_size: int) -> tuple[list[WebhookEndpoint], int]:
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.shop_id == shop_id).order_by(WebhookEndpoint.id)
    return page_of(stmt, page=page, page_size=page_size)


def get_endpoint(*, shop_id: int, endpoint_id: int, lock: bool = False) -> WebhookEndpoint:
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.shop_id == shop_id)
    endpoint = db.session.scalars(stmt.with_for_update() if lock else stmt).first()
    if endpoint is None:
        raise NotFoundError("Webhook not found.")
    return endpoint


def create_endpoint(
    *,
    shop_id: int,
    actor_id: int,
    url: str,
    event_types: list[str],
    description: str | None = None,
    enabled: bool = True,
) -> tuple[WebhookEndpoint, str]:
    """Register a receiver; the endpoint and its secret, which is never shown again."""
    _check_url(url)
    secret = signing.new_secret()
    now = utcnow()
    endpoint = WebhookEndpoint(
        shop_id=shop_id,
        url=url,
        description=description,
        event_types=sorted(set(event_types)),
        enabled=enabled,
        secret_encrypted=signing.encrypt(secret),
        created_at=now,
        updated_at=now,
    )
    db.session.add(endpoint)
    db.session.flush()
    audit.record(
        shop_id=shop_id,
        actor_id=actor_id,
        action="webhook.created",
        entity_type="webhook",
        entity_id=endpoint.id,
        changes=audit.snapshot(endpoint, list(AUDITED_FIELDS)),
    )
    db.session.commit()
    return endpoint, secret


def update_endpoint(*, shop_id: int, endpoint_id: int, actor_id: int, data: dict[str, Any]) -> WebhookEndpoint:
    endpoint = get_endpoint(shop_id=shop_id, endpoint_id=endpoint_id, lock=True)
    if "url" in data:
        _check_url(data["url"])
    if "event_types" in data:
        data["event_types"] = sorted(set(data["event_types"]))
    changes = audit.apply_changes(endpoint, data)
    if changes.get("enabled") == [False, True]:  # enabled again: a fresh start
        endpoint.disabled_reason = None
        endpoint.failing_since = None
    if changes:
        endpoint.updated_at = utcnow()
        audit.record(
            shop_id=shop_id,
            actor_id=actor_id,
            action="webhook.updated",
            entity_type="webhook",
            entity_id=endpoint.id,
            changes=changes,
        )
    db.session.commit()
    return endpoint


def delete_endpoint(*, shop_id: int, endpoint_id: int, actor_id: int) -> None:
    endpoint = get_endpoint(shop_id=shop_id, endpoint_id=endpoint_id, lock=True)
    audit.record(
        shop_id=shop_id,
        actor_id=actor_id,
        action="webhook.deleted",
        entity_type="webhook",
        entity_id=endpoint.id,
        changes={"url": [endpoint.url, None]},
    )
    db.session.delete(endpoint)  # its deliveries go with it (ON DELETE CASCADE); a job finds nothing to claim
    db.session.commit()


def rotate_secret(*, shop_id: int, endpoint_id: int, actor_id: int) -> tuple[WebhookEndpoint, str]:
    """A new secret; the one it replaces keeps signing (beside it) for 24 h, so receivers can switch calmly."""
    endpoint = get_endpoint(shop_id=shop_id, endpoint_id=endpoint_id, lock=True)
    secret = signing.new_secret()
    now = utcnow()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
    endpoint.secret_encrypted = signing.encrypt(secret)
    endpoint.updated_at = now
    audit.record(
        shop_id=shop_id,
        actor_id=actor_id,
        action="webhook.secret_rotated",
        entity_type="webhook",
        entity_id=endpoint.id,
        changes={"previous_secret_expires_at": [None, endpoint.previous_secret_expires_at.isoformat()]},
    )
    db.session.commit()
    return endpoint, secret


def ping(*, shop_id: int, endpoint_id: int, actor_id: int) -> WebhookDelivery:
    """Send a synthetic `webhook.ping` message to the endpoint now (one attempt, kept as a delivery)."""
    endpoint = get_endpoint(shop_id=shop_id, endpoint_id=endpoint_id)
    now = utcnow()
    event_id = f"evt_{secrets.token_hex(16)}"
    delivery = WebhookDelivery(
        shop_id=shop_id,
        endpoint_id=endpoint.id,
        event_id=event_id,
        event_type=PING_TYPE,
        payload={
            "id": event_id,
            "position": 0,
            "type": PING_TYPE,
            "occurred_at": now.isoformat(),
            "subject": {"type": "webhook", "id": str(endpoint.id)},
            "data": {"webhook_id": endpoint.id, "message": "ping"},
        },
        status=DeliveryStatus.PENDING,
        job_id=jobs.new_job_id(),
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    db.session.add(delivery)
    db.session.flush()
    audit.record(
        shop_id=shop_id, actor_id=actor_id, action="webhook.pinged", entity_type="webhook", entity_id=endpoint.id
    )
    jobs.schedule_attempt(delivery.job_id)
    db.session.commit()
    return delivery


# --- deliveries -------------------------------------------------------------------------------------------


def list_deliveries(
    *, shop_id: int, endpoint_id: int, status: str | None, page: int, page_size: int
) -> tuple[list[WebhookDelivery], int]:
    get_endpoint(shop_id=shop_id, endpoint_id=endpoint_id)
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if status:
        stmt = stmt.where(WebhookDelivery.status == status)
    return page_of(stmt.order_by(WebhookDelivery.id.desc()), page=page, page_size=page_size)


def redeliver(*, shop_id: int, endpoint_id: int, delivery_id: int, actor_id: int) -> WebhookDelivery:
    """Send a delivery again now, whatever became of it (same `webhook-id`: a receiver that has it ignores it)."""
    endpoint = get_endpoint(shop_id=shop_id, endpoint_id=endpoint_id)
    delivery = db.session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint.id)
        .with_for_update()
    ).first()
    if delivery is None:
        raise NotFoundError("Webhook delivery not found.")
    if not endpoint.enabled and delivery.event_position is not None:
        raise ConflictError("The webhook is disabled; enable it first, then redeliver.")
    now = utcnow()
    delivery.status = DeliveryStatus.PENDING
    delivery.job_id = jobs.new_job_id()
    delivery.next_attempt_at = now
    delivery.error = None
    delivery.updated_at = now
    audit.record(
        shop_id=shop_id,
        actor_id=actor_id,
        action="webhook.redelivered",
        entity_type="webhook",
        entity_id=endpoint.id,
        changes={"delivery_id": [None, delivery.id], "event_id": [None, delivery.event_id]},
    )
    jobs.schedule_attempt(delivery.job_id)
    db.session.commit()
    return delivery


def forget_customer(shop_id: int, customer_id: int) -> int:
    """Erasure: the receivers' answers kept for deliveries of the customer's events go (they may echo the data).
    The request bodies are never kept: each attempt reads the event from the log. The caller commits."""
    return db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.shop_id == shop_id, WebhookDelivery.customer_id == customer_id)
        .values(response_body=None, payload=None)
    ).rowcount


# --- the log's consumer -----------------------------------------------------------------------------------


def _no_endpoints(shop_id: int) -> bool:
    return not _enabled_endpoints(shop_id)


@dispatch.consumer("webhooks", idle=_no_endpoints)
def deliveries_for_event(event: Event) -> None:
    """In the dispatch transaction: a delivery per enabled endpoint that wants the event and existed when it
    occurred; each first attempt is queued after the commit."""
    now = utcnow()
    for endpoint_id, patterns, created_at in _enabled_endpoints(event.shop_id):
        if created_at > event.occurred_at or not type_matches(patterns, event.type):
            continue
        job_id = jobs.job_for_new_delivery()
        values = {
            "shop_id": event.shop_id,
            "endpoint_id": endpoint_id,
            "event_id": event.event_id,
            "event_type": event.type,
            "event_position": event.position,
            "customer_id": event.customer_id,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "job_id": job_id,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        db.session.execute(_insert_once(values))  # its job is queued after the commit (or finds nothing to do)


def _enabled_endpoints(shop_id: int) -> list[tuple[int, list[str], datetime]]:
    """The shop's enabled endpoints, read once per dispatch transaction (a batch of up to 500 events)."""
    session = db.session()
    transaction = session.get_transaction()
    cached = session.info.get(_ENDPOINTS_KEY)
    if cached is None or cached[0] is not transaction or cached[1] != shop_id:
        rows = session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.event_types, WebhookEndpoint.created_at).where(
                WebhookEndpoint.shop_id == shop_id, WebhookEndpoint.enabled.is_(True)
            )
        ).all()
        cached = (transaction, shop_id, [tuple(row) for row in rows])
        session.info[_ENDPOINTS_KEY] = cached
    return cached[2]


def _insert_once(values: dict[str, Any]):
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        return (
            pg_insert(WebhookDelivery)
            .values(values)
            .on_conflict_do_nothing(constraint="uq_webhook_deliveries_endpoint_event")
        )
    if dialect == "sqlite":
        return (
            sqlite_insert(WebhookDelivery)
            .values(values)
            .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
        )
    return insert(WebhookDelivery).values(values)
