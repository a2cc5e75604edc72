"""An integration key: a shop's machine client, its scopes, and only the SHA-256 of its secret."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.common.types import JSONType, UTCDateTime, utcnow
from app.extensions import db


class Scope(StrEnum):
    STOREFRONT_READ = "storefront:read"
    ORDERS_WRITE = "orders:write"
    ORDERS_READ = "orders:read"


class ApiKey(db.Model):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    # What it is for ("website", "Yandex Market"): one key per purpose, revoked on its own.
    name: Mapped[str] = mapped_column(String(120))
    # The first characters of the key ("fcrm_AbCdEfG"), so people can tell keys apart; not a secret on its own.
    prefix: Mapped[str] = mapped_column(String(16))
    # SHA-256 (hex) of the whole key: the key has 256 random bits, so a fast hash is enough and a lookup by it is exact.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Written at most once a minute per key (app/apikeys/access.py), never once per request.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (Index("ix_api_keys_shop", "shop_id", "id"),)
