"""POST /orders/{id}/payments: payment status and amount due, refunds, and provider ids that never pay twice."""

from __future__ import annotations

from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.extensions import db
from app.orders.models import Payment
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


def test_a_providers_payment_is_recorded_even_above_what_is_due_for_the_manager_to_refund(front, boss):
    order = place(front, pickup(front))  # 380.00
    boss.post(f"{ORDERS}/{order.id}/status", json={"status": "cancelled", "comment": "Shop closed that day"})

    late_webhook = pay(boss, order.id, "380.00", "online", provider_payment_id="yk-late")
    refund = pay(boss, order.id, "-380.00", "online")

    assert (late_webhook.status_code, summary(late_webhook)) == (201, ("380.00", "0.00", "paid"))
    assert (refund.status_code, summary(refund)) == (201, ("0.00", "0.00", "refunded"))
