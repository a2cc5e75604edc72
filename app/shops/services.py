"""Shops: the tenants, and the settings other domains read through `effective_settings`."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from app.audit import services as audit
from app.auth.tokens import Caller
from app.common.pagination import page_of
from app.errors import NotFoundError, PermissionDenied
from app.extensions import db
from app.shops.models import Shop
from app.users.models import Membership, Role, User

SHOP_FIELDS = ["name", "timezone", "currency", "country", "address"]
# What a shop that never set a key gets; ShopSettingsSchema validates the same keys.
SETTINGS_DEFAULTS: dict[str, Any] = {
    "occasion_reminder_days": 3,
    "assembly_lead_minutes": 60,
    "same_day_cutoff": None,
    "order_status_messages": False,
    "notification_email": None,
    "public_phone": None,
    "workshop_minutes_per_day": None,
}


@dataclass(frozen=True)
class MyShop:
    """A shop as one of its members sees it: the shop and their role there."""

    shop: Shop
    role: str

    @property
    def settings(self) -> dict[str, Any]:
        return effective_settings(self.shop)


# Where Russian is what a shop's customers and e-mails are written in, unless a person chose otherwise.
RUSSIAN_SPEAKING_COUNTRIES = frozenset({"RU", "BY", "KZ", "KG"})


def shop_language(country: str) -> str:
    """The language of a shop in `country`: for its own e-mail, and for a customer who chose none."""
    return "ru" if country in RUSSIAN_SPEAKING_COUNTRIES else "en"


def effective_settings(shop: Shop) -> dict[str, Any]:
    """Every known setting of the shop, defaults filled in (delivery fees as decimal strings)."""
    stored = {key: value for key, value in (shop.settings or {}).items() if key in SETTINGS_DEFAULTS}
    return copy.deepcopy({**SETTINGS_DEFAULTS, **stored})


def create_shop(
    *,
    owner: User,
    actor_id: int | None,
    name: str,
    timezone: str = "Europe/Moscow",
    currency: str = "RUB",
    country: str = "RU",
    address: str = "",
    settings: dict | None = None,
    commit: bool = True,
) -> Shop:
    """A new shop with `owner` as its admin."""
    shop = Shop(
        name=name, timezone=timezone, currency=currency, country=country, address=address, settings=settings or {}
    )
    db.session.add(shop)
    db.session.flush()
    owner.memberships.append(Membership(shop_id=shop.id, role=Role.ADMIN.value))
    audit.record(
        shop_id=shop.id,
        actor_id=actor_id,
        action="create",
        entity_type="shop",
        entity_id=shop.id,
        changes={**audit.snapshot(shop, SHOP_FIELDS), **({"settings": [None, settings]} if settings else {})},
    )
    if commit:
        db.session.commit()
    return shop


def find_shop_by_name(name: str) -> Shop | None:
    return db.session.scalars(select(Shop).where(Shop.name == name)).first()


def list_my_shops(*, user: User | Caller, page: int, page_size: int) -> tuple[list[MyShop], int]:
    """The shops the user may act in, with their role in each, by name."""
    stmt = (
        select(Membership)
        .join(Membership.shop)
        .options(contains_eager(Membership.shop))
        .where(Membership.user_id == user.id, Membership.is_active)
        .order_by(Shop.name, Shop.id)
    )
    memberships, total = page_of(stmt, page=page, page_size=page_size)
    return [MyShop(shop=m.shop, role=m.role) for m in memberships], total


def get_my_shop(*, user: User | Caller, shop_id: int) -> MyShop:
    """The shop if the user works there; any other shop is 404."""
    membership = next((m for m in user.memberships if m.shop_id == shop_id), None)
    if membership is None:
        raise NotFoundError("Shop not found.")
    return MyShop(shop=db.session.get_one(Shop, shop_id), role=membership.role)


def open_shop(*, user: User, data: dict[str, Any]) -> MyShop:
    """Another shop, opened by someone who is admin of a shop already; they become its admin."""
    if not any(m.role == Role.ADMIN.value for m in user.memberships):
        raise PermissionDenied("Only a shop's admin may open another shop.", errors={"role": ["admin required"]})
    shop = create_shop(owner=user, actor_id=user.id, commit=False, **data)
    db.session.commit()
    return get_my_shop(user=user, shop_id=shop.id)


def update_shop(*, user: User | Caller, shop_id: int, data: dict[str, Any]) -> MyShop:
    """Change the shop's details and settings (its admins only)."""
    mine = get_my_shop(user=user, shop_id=shop_id)
    if mine.role != Role.ADMIN.value:
        raise PermissionDenied("Only the shop's admins change its settings.", errors={"role": [mine.role]})
    # Read again under the lock: `get_my_shop` read it before, and another admin's save may have come between.
    shop = db.session.scalars(
        select(Shop).where(Shop.id == shop_id).with_for_update().execution_options(populate_existing=True)
    ).one()
    data = dict(data)
    new_settings = data.pop("settings", None)
    changes = audit.apply_changes(shop, data)
    if new_settings:
        before = effective_settings(shop)
        # Only the keys sent change; assigning a new dict makes the JSON column save.
        shop.settings = {**(shop.settings or {}), **new_settings}
        after = effective_settings(shop)
        changes.update({f"settings.{key}": [before[key], after[key]] for key in after if before[key] != after[key]})
    if changes:
        audit.record(
            shop_id=shop_id, actor_id=user.id, action="update", entity_type="shop", entity_id=shop_id, changes=changes
        )
        db.session.commit()
    return MyShop(shop=shop, role=mine.role)
