"""Test data factories (factory-boy), persisted through the test's session."""

import factory
from factory.alchemy import SQLAlchemyModelFactory

from app.auth.passwords import hash_password
from app.extensions import db
from app.shops.models import Shop
from app.users.models import Membership, User

TEST_PASSWORD = "correct horse battery"
_PASSWORD_HASH = hash_password(TEST_PASSWORD)  # argon2 is slow on purpose: hash once per run


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731  the session of the running test
        sqlalchemy_session_persistence = "flush"


class ShopFactory(BaseFactory):
    class Meta:
        model = Shop

    name = factory.Sequence(lambda n: f"Shop {n}")
    timezone = "Europe/Moscow"
    currency = "RUB"
    country = "RU"
    address = factory.Sequence(lambda n: f"Flower street {n}")
    settings = factory.LazyFunction(dict)


class UserFactory(BaseFactory):
    class Meta:
        model = User

    phone = factory.Sequence(lambda n: f"+7916{n:07d}")
    email = factory.Sequence(lambda n: f"staff{n}@example.test")
    name = factory.Sequence(lambda n: f"Staff {n}")
    password_hash = _PASSWORD_HASH
    language = "ru"
    is_active = True


class MembershipFactory(BaseFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    shop = factory.SubFactory(ShopFactory)
    role = "manager"
