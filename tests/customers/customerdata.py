"""Customers for tests, made through the services."""

from __future__ import annotations

import itertools
from typing import Any

from app.customers import services as customers
from app.customers.models import Customer, OccasionDate

_numbers = itertools.count(1)


def make_customer(shop, name: str = "Anna Petrova", phone: str | None = None, **fields: Any) -> Customer:
    phone = phone or f"+7903{next(_numbers):07d}"
    return customers.create_customer(shop_id=shop.id, actor_id=None, data={"name": name, "phone": phone, **fields})


def make_date(customer: Customer, label: str = "Birthday", month: int = 3, day: int = 8, **fields: Any) -> OccasionDate:
    data = {"label": label, "month": month, "day": day, **fields}
    return customers.add_date(shop_id=customer.shop_id, customer_id=customer.id, actor_id=None, data=data)
