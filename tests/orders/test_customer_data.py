"""What the customers' export and anonymization take from orders: all of it, then none of the personal part."""

from __future__ import annotations

import json

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.extensions import db
from app.orders import services
from app.orders.models import Order
from tests.orders.orderdata import delivery, open_shop, pickup, place

PERSONAL = ("Irina Sokolova", "+79162223344", "Arbat 10", "Happy birthday", "Call before")


def test_the_export_holds_every_order_with_lines_payments_and_history(front, boss, other_shop):
    order = place(front, delivery(front))
    place(front, pickup(front))  # another customer's
    other = open_shop(other_shop, prefix="Their ")
    place(other, delivery(other))  # the same phone in another shop is another customer
    boss.post(f"/api/v1/orders/{order.id}/payments", json={"amount": "500.00", "method": "card"})
    boss.post(f"/api/v1/orders/{order.id}/status", json={"status": "confirmed"})

    exported = services.orders_for_export(front.shop_id, order.customer_id)

    assert [o["number"] for o in exported] == [order.number]
    (only,) = exported
    assert (only["recipient_name"], only["recipient_phone"], only["card_text"]) == (
        "Irina Sokolova",
        "+79162223344",
        "Happy birthday, Ira!",
    )
    assert [i["product_name"] for i in only["items"]] == ["Bouquet of roses"]
    assert [p["amount"] for p in only["payments"]] == ["500.00"]
    assert [(h["from_status"], h["to_status"]) for h in only["history"]] == [(None, "new"), ("new", "confirmed")]
    assert "Their" not in json.dumps(exported)  # and it is JSON as it stands


def test_anonymizing_erases_the_personal_fields_and_keeps_the_books(front, boss):
    order = place(front, delivery(front))
    boss.post(f"/api/v1/orders/{order.id}/payments", json={"amount": "500.00", "method": "card"})
    untouched = place(front, delivery(front, customer={"name": "Someone else", "phone": "+79035550000"}))

    services.anonymize_orders_of(front.shop_id, order.customer_id, actor_id=boss.user.id)
    db.session.commit()

    gone = db.session.get(Order, order.id)
    db.session.refresh(gone)
    assert (gone.recipient_name, gone.recipient_phone, gone.address, gone.card_text, gone.comment) == (
        "",
        None,
        None,
        "",
        "",
    )
    assert (gone.total, gone.paid_amount, gone.number) == (order.total, 500, order.number)
    text = json.dumps(services.orders_for_export(front.shop_id, order.customer_id))
    for personal in PERSONAL:
        assert personal not in text
    audit_text = str(db.session.scalars(select(AuditEntry.changes).where(AuditEntry.entity_type == "order")).all())
    for personal in PERSONAL:
        assert personal not in audit_text
    kept = db.session.get(Order, untouched.id)
    assert kept.recipient_name == "Irina Sokolova"


def test_an_anonymized_orders_etag_moves_so_a_stale_patch_cannot_restore_the_data(front, boss):
    order = place(front, delivery(front))
    etag = boss.get(f"/api/v1/orders/{order.id}").headers["ETag"]

    services.anonymize_orders_of(front.shop_id, order.customer_id)
    db.session.commit()
    response = boss.patch(f"/api/v1/orders/{order.id}", json={"card_text": "x"}, headers={"If-Match": etag})

    assert response.status_code == 412
