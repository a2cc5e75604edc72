from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.common.types import BigIntPK, JSONType, UTCDateTime, utcnow
from app.extensions import db


class AuditEntry(db.Model):
    """Who did what to which entity, with the changed fields. Written in the change's own transaction."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    changes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_audit_log_shop_created", "shop_id", "created_at"),
        Index("ix_audit_log_shop_entity", "shop_id", "entity_type", "entity_id"),
        Index("ix_audit_log_shop_actor", "shop_id", "actor_id", "created_at"),
    )
