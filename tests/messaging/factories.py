"""Factories for the messaging tests: customers with occasion dates, persisted through the test's session."""

import factory

from app.customers.models import Customer, OccasionDate
from tests.factories import BaseFactory, ShopFactory


class CustomerFactory(BaseFactory):
    class Meta:
        model = Customer

    shop = factory.SubFactory(ShopFactory)
    shop_id = factory.SelfAttribute("shop.id")
    phone = factory.Sequence(lambda n: f"+7926{n:07d}")
    name = factory.Sequence(lambda n: f"Customer {n}")
    language = "ru"
    marketing_consent = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        kwargs.pop("shop", None)  # Customer has no `shop` relationship: the id is enough
        return super()._create(model_class, *args, **kwargs)


class OccasionDateFactory(BaseFactory):
    class Meta:
        model = OccasionDate

    customer = factory.SubFactory(CustomerFactory)
    shop_id = factory.SelfAttribute("customer.shop_id")
    label = "день рождения мамы"
    month = 3
    day = 29
    reminders_enabled = True
