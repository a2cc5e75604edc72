"""POST /orders/{id}/payments: payment status and amount due, refunds, and provider ids that never pay twice."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.errors import NotFoundError
from app.extensions import db
from app.orders import services as orders
from app.orders.models import Order, Payment
from tests.orders.orderdata import delivery, open_shop, pickup, place, shop_of
from tests.promos.promodata import make_code

ORDERS = "/api/v1/orders"


def pay(client, order_id: int, amount: str, method: str = "cash", **fields):
    return client.post(f"{ORDERS}/{order_id}/payments", json={"amount": amount, "method": method, **fields})


def summary(response) -> tuple:
    order = response.json["order"]
    return order["paid_amount"], order["amount_due"], order["payment_status"]


def test_payments_move_the_order_from_unpaid_to_paid_and_refunds_to_refunded(front, boss):
    order = place(front, delivery(front))  # 2900.00 + 300.00

    part = pay(boss, order.id, "1200.50", "card")
    rest = pay(boss, order.id, "1999.50", "cash")
    some_back = pay(boss, order.id, "-200.00", "card", note="a wilted stem")
    all_back = pay(boss, order.id, "-3000.00", "cash")

    assert part.status_code == 201
    assert summary(part) == ("1200.50", "1999.50", "partly_paid")
    assert summary(rest) == ("3200.00", "0.00", "paid")
    assert summary(some_back) == ("3000.00", "200.00", "partly_paid")
    assert summary(all_back) == ("0.00", "3200.00", "refunded")
    refund = some_back.json["payment"]
    assert (refund["amount"], refund["method"], refund["note"], refund["provider_payment_id"]) == (
        "-200.00",
        "card",
        "a wilted stem",
        None,
    )
    assert refund["created_by_id"] == boss.user.id
    detail = boss.get(f"{ORDERS}/{order.id}").json
    assert [p["amount"] for p in detail["payments"]] == ["1200.50", "1999.50", "-200.00", "-3000.00"]
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_type == "order", AuditEntry.entity_id == str(order.id))
    ).all()
    assert sorted(actions) == ["create", "payment", "payment", "refund", "refund"]


def test_more_than_is_due_or_a_refund_above_what_was_paid_is_422(front, boss):
    order = place(front, pickup(front))  # 380.00
    pay(boss, order.id, "100.00")

    too_much = pay(boss, order.id, "280.01")
    too_much_back = pay(boss, order.id, "-100.01")

    assert (too_much.status_code, too_much.json["errors"]) == (422, {"amount": ["At most 280.00 is due."]})
    assert (too_much_back.status_code, too_much_back.json["errors"]) == (422, {"amount": ["At most 100.00 was paid."]})
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1


def test_a_cancelled_order_takes_refunds_only(front, boss):
    order = place(front, pickup(front))
    pay(boss, order.id, "380.00")
    boss.post(f"{ORDERS}/{order.id}/status", json={"status": "cancelled", "comment": "No longer needed"})

    payment = pay(boss, order.id, "10.00")
    refund = pay(boss, order.id, "-380.00")

    assert payment.status_code == 409
    assert (refund.status_code, summary(refund)) == (201, ("0.00", "0.00", "refunded"))


def test_a_provider_payment_id_records_one_payment_however_often_it_arrives(front, boss):
    order = place(front, delivery(front))

    first = pay(boss, order.id, "3200.00", "online", provider_payment_id="yk-2f1c")
    again = pay(boss, order.id, "3200.00", "online", provider_payment_id="yk-2f1c")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["payment"]["id"] == first.json["payment"]["id"]
    assert summary(again) == ("3200.00", "0.00", "paid")
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1


def test_a_provider_payment_id_of_another_order_is_409_but_another_shop_may_reuse_it(front, boss, as_role, other_shop):
    mine, other_order = place(front, delivery(front)), place(front, pickup(front))
    other = open_shop(other_shop, prefix="Their ")
    theirs = place(other, pickup(other))
    pay(boss, mine.id, "100.00", "online", provider_payment_id="pay-1")

    clash = pay(boss, other_order.id, "100.00", "online", provider_payment_id="pay-1")
    elsewhere = pay(as_role("manager", shop=other_shop), theirs.id, "100.00", "online", provider_payment_id="pay-1")

    assert clash.status_code == 409
    assert clash.json["errors"] == {"provider_payment_id": ["Already recorded on another order."]}
    assert elsewhere.status_code == 201


def test_invalid_amounts_and_methods_are_422(front, boss):
    order = place(front, pickup(front))

    for body, field in (
        ({"amount": "0", "method": "cash"}, "amount"),
        ({"amount": "10.005", "method": "cash"}, "amount"),
        ({"amount": "10", "method": "barter"}, "method"),
    ):
        response = boss.post(f"{ORDERS}/{order.id}/payments", json=body)
        assert response.status_code == 422, body
        assert field in response.json["errors"]["json"], body


def test_a_free_order_is_paid_from_the_start(front, boss):
    make_code(shop_of(front), code="FREE", kind="percent", value="100")

    response = boss.post(ORDERS, json=pickup(front, promo_code="FREE"))

    assert (response.json["total"], response.json["payment_status"], response.json["amount_due"]) == (
        "0.00",
        "paid",
        "0.00",
    )


def order_state(order_id: int) -> tuple:
    """What a payment could change: the order's money, status and version, its payments and audit entries."""
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    payments = db.session.scalar(select(func.count()).select_from(Payment).where(Payment.order_id == order_id))
    entries = db.session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.entity_type == "order", AuditEntry.entity_id == str(order_id))
    )
    return order.paid_amount, order.payment_status, order.status, order.version, payments, entries


@pytest.mark.parametrize("amount", ["50000.00", "3200.01"])
def test_a_provider_id_typed_by_staff_lifts_no_cap(front, boss, amount):
    order = place(front, delivery(front))  # 3200.00 due
    before = order_state(order.id)

    inflated = pay(boss, order.id, amount, "online", provider_payment_id="yk-made-up")

    assert inflated.status_code == 422
    assert inflated.json["errors"] == {"amount": ["At most 3200.00 is due."]}
    assert inflated.json["message"] == "Это больше суммы к оплате; проверьте сумму."
    assert order_state(order.id) == before
    exact = pay(boss, order.id, "3200.00", "online", provider_payment_id="yk-made-up")
    assert (exact.status_code, summary(exact)) == (201, ("3200.00", "0.00", "paid"))


def test_a_paid_order_takes_nothing_more_whatever_the_fields(front, boss):
    order = place(front, pickup(front))  # 380.00
    pay(boss, order.id, "380.00")
    before = order_state(order.id)

    for fields in ({}, {"provider_payment_id": "yk-1"}, {"note": "tip"}):
        again = pay(boss, order.id, "0.01", "card", **fields)
        assert (again.status_code, again.json["errors"]) == (422, {"amount": ["At most 0.00 is due."]}), fields
    assert order_state(order.id) == before


def test_a_cancelled_order_takes_no_payment_even_with_a_provider_id(front, boss):
    order = place(front, pickup(front))
    boss.post(f"{ORDERS}/{order.id}/status", json={"status": "cancelled", "comment": "Shop closed that day"})
    before = order_state(order.id)

    late = pay(boss, order.id, "380.00", "online", provider_payment_id="yk-late")
    refund = pay(boss, order.id, "-1.00", "cash")

    assert late.status_code == 409
    assert late.json["errors"] == {"amount": ["The order is cancelled; a refund is a negative amount."]}
    assert (refund.status_code, refund.json["errors"]) == (422, {"amount": ["At most 0.00 was paid."]})
    assert order_state(order.id) == before


def test_refunds_never_exceed_what_was_paid_net(front, boss):
    order = place(front, pickup(front))
    pay(boss, order.id, "380.00")
    pay(boss, order.id, "-200.00")
    before = order_state(order.id)

    too_much = pay(boss, order.id, "-180.01", "cash")
    with_provider_id = pay(boss, order.id, "-380.00", "online", provider_payment_id="yk-refund")

    assert (too_much.status_code, too_much.json["errors"]) == (422, {"amount": ["At most 180.00 was paid."]})
    assert (with_provider_id.status_code, with_provider_id.json["errors"]) == (
        422,
        {"amount": ["At most 180.00 was paid."]},
    )
    assert order_state(order.id) == before


def test_cancelling_a_paid_order_shows_the_money_to_give_back(front, boss):
    order = place(front, pickup(front))
    pay(boss, order.id, "300.00")

    boss.post(f"{ORDERS}/{order.id}/status", json={"status": "cancelled", "comment": "No longer needed"})
    cancelled = boss.get(f"{ORDERS}/{order.id}").json
    refund = pay(boss, order.id, "-300.00")

    assert (cancelled["payment_status"], cancelled["overpaid_amount"], cancelled["amount_due"]) == (
        "overpaid",
        "300.00",
        "0.00",
    )
    assert (refund.json["order"]["payment_status"], refund.json["order"]["overpaid_amount"]) == ("refunded", "0.00")


def test_cutting_a_paid_order_below_what_was_paid_shows_the_overpayment(front, boss):
    order = place(front, pickup(front, items=[{"product_id": front.stem.id, "quantity": 3}]))  # 570.00
    pay(boss, order.id, "570.00")
    etag = boss.get(f"{ORDERS}/{order.id}").headers["ETag"]

    cut = boss.patch(
        f"{ORDERS}/{order.id}",
        json={"items": [{"product_id": front.stem.id, "quantity": 1}]},
        headers={"If-Match": etag},
    )

    assert cut.status_code == 200
    assert (cut.json["total"], cut.json["payment_status"], cut.json["overpaid_amount"]) == (
        "190.00",
        "overpaid",
        "380.00",
    )
    listed = boss.get(ORDERS).json
    assert [(o["payment_status"], o["overpaid_amount"]) for o in listed if o["id"] == order.id] == [
        ("overpaid", "380.00")
    ]


# --- a payment provider's own confirmation (the service the provider integration calls) ---------------------


def test_a_providers_confirmation_above_the_amount_due_is_recorded_and_shown_as_overpaid(front, boss):
    order = place(front, pickup(front))  # 380.00

    payment, created = orders.record_provider_payment(
        shop_id=front.shop_id, order_id=order.id, amount=D("500.00"), provider_payment_id="yk-9a1"
    )
    again, created_again = orders.record_provider_payment(
        shop_id=front.shop_id, order_id=order.id, amount=D("500.00"), provider_payment_id="yk-9a1"
    )
    card = boss.get(f"{ORDERS}/{order.id}").json
    refund = pay(boss, order.id, "-120.00", "online", note="the overpayment back")

    assert (created, created_again, again.id) == (True, False, payment.id)
    assert (payment.method, payment.created_by_id) == ("online", None)
    assert (card["paid_amount"], card["amount_due"], card["overpaid_amount"], card["payment_status"]) == (
        "500.00",
        "0.00",
        "120.00",
        "overpaid",
    )
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity_id == str(order.id), AuditEntry.action == "payment")
    ).one()
    assert (entry.actor_id, entry.changes["provider_confirmed"], entry.changes["payment_status"]) == (
        None,
        [None, True],
        ["unpaid", "overpaid"],
    )
    assert (refund.status_code, refund.json["order"]["payment_status"], refund.json["order"]["overpaid_amount"]) == (
        201,
        "paid",
        "0.00",
    )


def test_a_providers_late_confirmation_on_a_cancelled_order_is_recorded_for_the_manager_to_refund(front, boss):
    order = place(front, pickup(front))
    boss.post(f"{ORDERS}/{order.id}/status", json={"status": "cancelled", "comment": "Shop closed that day"})

    orders.record_provider_payment(
        shop_id=front.shop_id, order_id=order.id, amount=D("380.00"), provider_payment_id="yk-late"
    )
    late = boss.get(f"{ORDERS}/{order.id}").json
    too_much_back = pay(boss, order.id, "-380.01", "online")
    refund = pay(boss, order.id, "-380.00", "online")

    assert (late["payment_status"], late["overpaid_amount"], late["amount_due"]) == ("overpaid", "380.00", "0.00")
    assert too_much_back.status_code == 422
    assert (refund.status_code, summary(refund)) == (201, ("0.00", "0.00", "refunded"))


def test_a_providers_confirmation_carries_its_id_and_money_in(front):
    order = place(front, pickup(front))
    before = order_state(order.id)

    for amount, provider_id in ((D("-10.00"), "yk-1"), (D("0"), "yk-2"), (D("10.00"), "")):
        with pytest.raises(ValueError):
            orders.record_provider_payment(
                shop_id=front.shop_id, order_id=order.id, amount=amount, provider_payment_id=provider_id
            )
    assert order_state(order.id) == before


def test_a_providers_confirmation_for_another_shops_order_is_not_found(front, other_shop):
    other = open_shop(other_shop, prefix="Their ")
    theirs = place(other, pickup(other))

    with pytest.raises(NotFoundError):
        orders.record_provider_payment(
            shop_id=front.shop_id, order_id=theirs.id, amount=D("380.00"), provider_payment_id="yk-x"
        )
    assert order_state(theirs.id)[:2] == (D("0.00"), "unpaid")
