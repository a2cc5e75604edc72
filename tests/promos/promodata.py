"""Promo codes for tests, made through the service."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.promos import services as promos
from app.promos.models import PromoCode


def make_code(shop, code: str = "SPRING10", kind: str = "percent", value: str = "10", **fields: Any) -> PromoCode:
    data = {"code": code, "kind": kind, "value": Decimal(value), "min_order_total": Decimal("0"), **fields}
    return promos.create_promo_code(shop_id=shop.id, actor_id=None, data=data)
