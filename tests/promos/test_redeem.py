"""Redeeming a promo code on an order: the discount, every reason for a refusal, and the use counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.errors import RuleViolation
from app.extensions import db
from app.promos import services as promos
from app.promos.models import PromoCode
from tests.promos.promodata import make_code

D = Decimal
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def uses_of(promo_id: int) -> int:
    return (
        db.session.scalars(select(PromoCode).where(PromoCode.id == promo_id).execution_options(populate_existing=True))
        .one()
        .uses
    )


@pytest.mark.parametrize(
    ("kind", "value", "subtotal", "discount"),
    [
        ("percent", "10", "2500.00", "250.00"),
        ("percent", "15", "1234.55", "185.18"),  # 185.1825
        ("percent", "25", "0.10", "0.03"),  # 0.025 rounds half-up, not to even
        ("percent", "12.5", "99.99", "12.50"),  # 12.49875
        ("percent", "100", "830.00", "830.00"),
        ("fixed", "300", "2500.00", "300.00"),
        ("fixed", "500", "300.00", "300.00"),  # never more than the order
    ],
)
def test_discount_by_kind_rounded_to_kopecks_half_up(shop, kind, value, subtotal, discount):
    promo = make_code(shop, kind=kind, value=value)

    redemption = promos.redeem(shop_id=shop.id, code="SPRING10", subtotal=D(subtotal), now=NOW)

    assert redemption == promos.Redemption(promo_code_id=promo.id, code="SPRING10", discount=D(discount))
    assert uses_of(promo.id) == 1


def test_codes_are_case_insensitive(shop):
    promo = make_code(shop, code="Spring10")
    assert promo.code == "SPRING10"
    assert promos.redeem(shop_id=shop.id, code=" spring10 ", subtotal=D(100), now=NOW).promo_code_id == promo.id


REFUSALS = [
    ("unknown code", {}, "WINTER", "100", "No such promo code."),
    ("switched off", {"active": False}, "SPRING10", "100", "This promo code is switched off."),
    (
        "not yet valid",
        {"valid_from": NOW + timedelta(seconds=1)},
        "SPRING10",
        "100",
        "This promo code is not valid yet.",
    ),
    ("expired", {"valid_until": NOW}, "SPRING10", "100", "This promo code has expired."),
    (
        "below the minimum",
        {"min_order_total": D("1500")},
        "SPRING10",
        "1499.99",
        "The order total is below this promo code's minimum of 1500.00.",
    ),
    ("used up", {"max_uses": 0}, "SPRING10", "100", "This promo code has been used up."),
]


@pytest.mark.parametrize(
    ("terms", "code", "subtotal", "reason"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_each_refusal_is_422_with_its_reason_and_counts_no_use(shop, terms, code, subtotal, reason):
    promo = make_code(shop, **terms)

    with pytest.raises(RuleViolation) as refused:
        promos.redeem(shop_id=shop.id, code=code, subtotal=D(subtotal), now=NOW)

    assert refused.value.status_code == 422
    assert refused.value.errors == {"promo_code": [reason]}
    assert uses_of(promo.id) == 0


def test_valid_from_its_first_moment_and_at_the_minimum_exactly(shop):
    make_code(shop, valid_from=NOW, valid_until=NOW + timedelta(days=1), min_order_total=D("1500"))
    assert promos.redeem(shop_id=shop.id, code="SPRING10", subtotal=D("1500.00"), now=NOW).discount == D("150.00")


def test_the_last_use_goes_to_one_order_only(shop):
    promo = make_code(shop, max_uses=2)
    promos.redeem(shop_id=shop.id, code="SPRING10", subtotal=D(100), now=NOW)
    promos.redeem(shop_id=shop.id, code="SPRING10", subtotal=D(100), now=NOW)

    with pytest.raises(RuleViolation) as refused:
        promos.redeem(shop_id=shop.id, code="SPRING10", subtotal=D(100), now=NOW)

    assert refused.value.errors == {"promo_code": ["This promo code has been used up."]}
    assert uses_of(promo.id) == 2


def test_returning_a_use_frees_it_and_never_goes_below_zero(shop):
    promo = make_code(shop, max_uses=1)
    promos.redeem(shop_id=shop.id, code="SPRING10", subtotal=D(100), now=NOW)

    promos.return_use(shop_id=shop.id, promo_code_id=promo.id)
    promos.redeem(shop_id=shop.id, code="SPRING10", subtotal=D(100), now=NOW)  # usable again
    for _ in range(3):
        promos.return_use(shop_id=shop.id, promo_code_id=promo.id)

    assert uses_of(promo.id) == 0


def test_another_shops_code_does_not_exist_here(shop, other_shop):
    theirs = make_code(other_shop, code="THEIRS")
    with pytest.raises(RuleViolation):
        promos.redeem(shop_id=shop.id, code="THEIRS", subtotal=D(100), now=NOW)
    promos.redeem(shop_id=other_shop.id, code="THEIRS", subtotal=D(100), now=NOW)
    promos.return_use(shop_id=shop.id, promo_code_id=theirs.id)  # not this shop's to give back
    assert uses_of(theirs.id) == 1
