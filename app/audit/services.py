"""The audit log: one call per mutation, in the mutation's own transaction."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.common.context import request_id_var
from app.common.pagination import page_of
from app.extensions import db

SECRET_FIELDS = {"password_hash", "password"}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def apply_changes(entity: Any, data: dict[str, Any]) -> dict[str, list[Any]]:
    """Set `data` on `entity`; return `{field: [old, new]}` for what actually changed."""
    changes: dict[str, list[Any]] = {}
    for field, new in data.items():
        old = getattr(entity, field)
        if old != new:
            setattr(entity, field, new)
            if field in SECRET_FIELDS:
                changes[field] = ["***", "***"]
            else:
                changes[field] = [_jsonable(old), _jsonable(new)]
    return changes


def snapshot(entity: Any, fields: list[str]) -> dict[str, list[Any]]:
    """The fields of a newly created entity, in the `{field: [None, value]}` shape of a change."""
    return {f: [None, "***" if f in SECRET_FIELDS else _jsonable(getattr(entity, f))] for f in fields}


def record_in_own_shops(
    user: Any, *, action: str, entity_type: str, entity_id: Any, changes: dict[str, Any] | None = None
) -> None:
    """One entry per shop `user` is an active member of, so every admin of theirs sees what they did."""
    for shop_id in [m.shop_id for m in user.memberships] or [None]:
        record(
            shop_id=shop_id,
            actor_id=user.id,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            changes=changes,
        )


def record(
    *,
    shop_id: int | None,
    actor_id: int | None,
    action: str,
    entity_type: str,
    entity_id: Any,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to the current transaction (the caller commits it with the change)."""
    entry = AuditEntry(
        shop_id=shop_id,
        actor_id=actor_id,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        changes=changes or {},
        request_id=request_id_var.get(),
    )
    db.session.add(entry)
    return entry


def list_entries(
    *,
    shop_id: int,
    entity_type: str | None = None,
    entity_id: str | None = None,
    actor_id: int | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    page: int,
    page_size: int,
) -> tuple[list[AuditEntry], int]:
    stmt = select(AuditEntry).where(AuditEntry.shop_id == shop_id)
    if entity_type:
        stmt = stmt.where(AuditEntry.entity_type == entity_type)
    if entity_id:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    if actor_id:
        stmt = stmt.where(AuditEntry.actor_id == actor_id)
    if date_from:
        stmt = stmt.where(AuditEntry.created_at >= date_from)
    if date_to:
        stmt = stmt.where(AuditEntry.created_at < date_to)
    stmt = stmt.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    return page_of(stmt, page=page, page_size=page_size)
