"""A customer's data wherever the shop keeps it: the export, and the erasure (anonymization).

Above the domains that keep it (customers, orders, production, courier, messaging): each erases or
hands over its own part, and this module calls them all in one transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app import storage
from app.common.types import utcnow
from app.courier import services as courier
from app.customers import services as customers
from app.customers.models import Customer
from app.events import services as events
from app.extensions import db
from app.messaging import services as messaging
from app.orders import services as orders
from app.production import services as production
from app.tracking import services as tracking
from app.webhooks import services as webhooks


def export_customer(*, shop_id: int, customer_id: int) -> dict[str, Any]:
    """Everything the shop holds about the customer, as one JSON document."""
    document: dict[str, Any] = {"exported_at": utcnow()}
    document.update(customers.export_record(shop_id=shop_id, customer_id=customer_id))
    document["orders"] = orders.orders_for_export(shop_id, customer_id)
    document["messages"] = messaging.customer_messages(shop_id, customer_id)
    return document


def anonymize_customer(
    *, shop_id: int, customer_id: int, actor_id: int | None, now: datetime | None = None
) -> Customer:
    """Erase the customer's personal data for good; orders stay for the books. A second call changes nothing.

    Everywhere it is kept: the record, the dates, the audit entries, their orders (with the florists'
    tasks and the couriers' trips, proof and bouquet photos deleted, tracking links dead), the message log and
    the event log.
    """
    customer = customers.get_customer(shop_id=shop_id, customer_id=customer_id, lock=True)
    if customer.anonymized_at is not None:
        return customer
    customers.erase_record(customer, actor_id=actor_id, now=now or utcnow())
    order_ids = orders.anonymize_orders_of(shop_id, customer_id, actor_id)
    photos: list[str] = []
    if order_ids:
        production.forget_card_texts(shop_id=shop_id, order_ids=order_ids)
        photos = courier.forget_trips(shop_id=shop_id, order_ids=order_ids)
        photos += production.forget_photos(shop_id=shop_id, order_ids=order_ids)
        tracking.forget_links(shop_id, order_ids)  # the tracking pages die at once
    messaging.forget_customer(shop_id, customer_id)
    events.forget_customer(shop_id, customer_id)
    webhooks.forget_customer(shop_id, customer_id)
    for key in photos:  # only once no row points at them: a rollback must not lose a kept photo
        storage.delete_after_commit(key)
    db.session.commit()
    return customer
