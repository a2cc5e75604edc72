"""Promo codes: managing them, and redeeming one on an order with its use counted atomically.

`redeem` and `return_use` never commit: the order's transaction does, so a use is counted
exactly when the order that used it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from app.audit import services as audit
from app.common.pagination import page_of
from app.common.types import utcnow
from app.errors import ConflictError, NotFoundError, RuleViolation
from app.extensions import db
from app.promos.models import PromoCode

PROMO_FIELDS = ["code", "kind", "value", "min_order_total", "max_uses", "valid_from", "valid_until", "active"]
CENT = Decimal("0.01")

REASONS = {
    "unknown": "No such promo code.",
    "inactive": "This promo code is switched off.",
    "not_yet_valid": "This promo code is not valid yet.",
    "expired": "This promo code has expired.",
    "below_minimum": "The order total is below this promo code's minimum of {minimum}.",
    "used_up": "This promo code has been used up.",
}


@dataclass(frozen=True)
class Redemption:
    promo_code_id: int
    code: str
    discount: Decimal


def normalize_code(code: str) -> str:
    """Codes are case-insensitive and stored upper-cased."""
    return code.strip().upper()


def _refuse(reason: str, **details: Any) -> RuleViolation:
    return RuleViolation(REASONS[reason], errors={"promo_code": [REASONS[reason].format(**details)]}, params=details)


def discount_for(promo: PromoCode, subtotal: Decimal) -> Decimal:
    """Percent of the subtotal or a fixed amount, rounded to kopecks half-up, never above the subtotal."""
    if promo.kind == "percent":
        amount = (subtotal * promo.value / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)
    else:
        amount = promo.value.quantize(CENT, rounding=ROUND_HALF_UP)
    return min(amount, subtotal.quantize(CENT, rounding=ROUND_HALF_UP))


def redeem(*, shop_id: int, code: str, subtotal: Decimal, now: datetime | None = None) -> Redemption:
    """Check the code against the order's subtotal and count one use; RuleViolation (422) with the reason if not."""
    now = now or utcnow()
    promo = db.session.scalars(
        select(PromoCode)
        .where(PromoCode.shop_id == shop_id, PromoCode.code == normalize_code(code))
        .execution_options(populate_existing=True)
    ).first()
    if promo is None:
        raise _refuse("unknown")
    if not promo.active:
        raise _refuse("inactive")
    if promo.valid_from is not None and now < promo.valid_from:
        raise _refuse("not_yet_valid")
    if promo.valid_until is not None and now >= promo.valid_until:
        raise _refuse("expired")
    if subtotal < promo.min_order_total:
        raise _refuse("below_minimum", minimum=f"{promo.min_order_total:.2f}")
    counted = db.session.execute(
        update(PromoCode)
        # Checked under the row lock: of racing orders only max_uses get through.
        .where(PromoCode.id == promo.id, or_(PromoCode.max_uses.is_(None), PromoCode.uses < PromoCode.max_uses))
        .values(uses=PromoCode.uses + 1)
        .execution_options(synchronize_session=False)
    )
    if counted.rowcount == 0:
        raise _refuse("used_up")
    return Redemption(promo_code_id=promo.id, code=promo.code, discount=discount_for(promo, subtotal))


def return_use(*, shop_id: int, promo_code_id: int) -> None:
    """Give a use back (the order was cancelled); never below zero."""
    db.session.execute(
        update(PromoCode)
        .where(PromoCode.id == promo_code_id, PromoCode.shop_id == shop_id, PromoCode.uses > 0)
        .values(uses=PromoCode.uses - 1)
        .execution_options(synchronize_session=False)
    )


# --- managing codes --------------------------------------------------------------------------


def get_promo_code(*, shop_id: int, promo_code_id: int, lock: bool = False) -> PromoCode:
    stmt = select(PromoCode).where(PromoCode.id == promo_code_id, PromoCode.shop_id == shop_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    promo = db.session.scalars(stmt).first()
    if promo is None:
        raise NotFoundError("Promo code not found.")
    return promo


def list_promo_codes(
    *, shop_id: int, active: bool | None = None, q: str | None = None, page: int, page_size: int
) -> tuple[list[PromoCode], int]:
    stmt = select(PromoCode).where(PromoCode.shop_id == shop_id)
    if active is not None:
        stmt = stmt.where(PromoCode.active.is_(active))
    if q:
        stmt = stmt.where(PromoCode.code.contains(normalize_code(q), autoescape=True))
    return page_of(stmt.order_by(PromoCode.created_at.desc(), PromoCode.id.desc()), page=page, page_size=page_size)


def _check_terms(terms: dict[str, Any]) -> None:
    """Rules across fields, checked on the code as it will be saved (before anything is changed)."""
    if terms["kind"] == "percent" and terms["value"] > 100:
        raise RuleViolation("A percent discount is at most 100.", errors={"value": ["At most 100 for a percent code."]})
    start, end = terms.get("valid_from"), terms.get("valid_until")
    if start is not None and end is not None and end <= start:
        raise RuleViolation(
            "The code must end after it starts.", errors={"valid_until": ["Must be later than valid_from."]}
        )


def _code_taken() -> ConflictError:
    return ConflictError(
        "A promo code with this code already exists; choose another text.",
        errors={"code": ["Already used in this shop."]},
    )


def _code_exists(shop_id: int, code: str, *, other_than: int | None = None) -> bool:
    stmt = select(PromoCode.id).where(PromoCode.shop_id == shop_id, PromoCode.code == code)
    if other_than is not None:
        stmt = stmt.where(PromoCode.id != other_than)
    return db.session.scalar(stmt) is not None


def _flush_or_conflict() -> None:
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # a concurrent request took the code first
        raise _code_taken() from None


def create_promo_code(*, shop_id: int, actor_id: int | None, data: dict[str, Any]) -> PromoCode:
    data = {**data, "code": normalize_code(data["code"])}
    if _code_exists(shop_id, data["code"]):
        raise _code_taken()
    _check_terms(data)
    promo = PromoCode(shop_id=shop_id, uses=0, **data)
    db.session.add(promo)
    _flush_or_conflict()
    audit.record(
        shop_id=shop_id,
        actor_id=actor_id,
        action="create",
        entity_type="promo_code",
        entity_id=promo.id,
        changes=audit.snapshot(promo, PROMO_FIELDS),
    )
    db.session.commit()
    return promo


def update_promo_code(*, shop_id: int, promo_code_id: int, actor_id: int | None, data: dict[str, Any]) -> PromoCode:
    """Change a code's terms; lowering max_uses below the uses made simply leaves it used up."""
    promo = get_promo_code(shop_id=shop_id, promo_code_id=promo_code_id, lock=True)
    data = dict(data)
    if "code" in data:
        data["code"] = normalize_code(data["code"])
        if _code_exists(shop_id, data["code"], other_than=promo.id):
            raise _code_taken()
    _check_terms({**{field: getattr(promo, field) for field in PROMO_FIELDS}, **data})
    changes = audit.apply_changes(promo, data)
    if not changes:
        return promo
    _flush_or_conflict()
    audit.record(
        shop_id=shop_id,
        actor_id=actor_id,
        action="update",
        entity_type="promo_code",
        entity_id=promo.id,
        changes=changes,
    )
    db.session.commit()
    return promo
