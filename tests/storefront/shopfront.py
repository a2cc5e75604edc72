"""Storefront test data: a shop ready to take orders, a key client, and website order bodies."""

from __future__ import annotations

from typing import Any

from tests.orders.orderdata import MORNING, Front

STOREFRONT = "/api/v1/storefront"


def website_order(front: Front, external_id: str = "web-1001", **fields: Any) -> dict[str, Any]:
    """The body of POST /storefront/orders: one bouquet delivered tomorrow morning, paid online."""
    body = {
        "external_id": external_id,
        "source": "website",
        "customer": {"name": "Olga Petrova", "phone": "+79161112233", "email": "olga@example.com"},
        "recipient_name": "Irina Sokolova",
        "recipient_phone": "+79162223344",
        "fulfillment": "delivery",
        "address": "Moscow, Arbat 10, flat 5",
        "delivery_date": front.day.isoformat(),
        "window_start": MORNING,
        "card_text": "Happy birthday, Ira!",
        "items": [{"product_id": front.bouquet.id, "quantity": 1}],
    }
    body.update(fields)
    return body


def paid(amount: str, provider_payment_id: str = "yk-1") -> dict[str, str]:
    return {"provider": "yookassa", "provider_payment_id": provider_payment_id, "amount": amount}
