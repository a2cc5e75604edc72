"""A code with five uses under twenty racing orders: exactly five get the discount (real threads, PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.errors import RuleViolation
from app.extensions import db
from app.promos import services as promos
from app.promos.models import PromoCode
from tests.factories import ShopFactory
from tests.promos.promodata import make_code
from tests.slots.slotdata import run_in_parallel

pytestmark = pytest.mark.committed
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def uses_of(promo_id: int) -> int:
    return db.session.scalar(select(PromoCode.uses).where(PromoCode.id == promo_id))


def test_twenty_parallel_redemptions_of_a_code_with_five_uses_exactly_five_win(app):
    shop = ShopFactory()
    promo = make_code(shop, max_uses=5, value="10")
    shop_id, promo_id = shop.id, promo.id

    def redeem():
        redemption = promos.redeem(shop_id=shop_id, code="spring10", subtotal=Decimal("1000"), now=NOW)
        db.session.commit()
        return redemption

    results = run_in_parallel(app, [redeem] * 20)

    won = [r for r in results if isinstance(r, promos.Redemption)]
    assert len(won) == 5
    assert all(r.discount == Decimal("100.00") and r.promo_code_id == promo_id for r in won)
    refused = [r for r in results if not isinstance(r, promos.Redemption)]
    assert len(refused) == 15
    for refusal in refused:
        assert isinstance(refusal, RuleViolation), refusal
        assert refusal.errors == {"promo_code": ["This promo code has been used up."]}
    assert uses_of(promo_id) == 5


def test_parallel_returns_never_go_below_zero(app):
    shop = ShopFactory()
    promo = make_code(shop)
    shop_id, promo_id = shop.id, promo.id
    for _ in range(3):
        promos.redeem(shop_id=shop_id, code="SPRING10", subtotal=Decimal("100"), now=NOW)
    db.session.commit()

    def give_back():
        promos.return_use(shop_id=shop_id, promo_code_id=promo_id)
        db.session.commit()
        return "returned"

    assert run_in_parallel(app, [give_back] * 12) == ["returned"] * 12
    assert uses_of(promo_id) == 0
