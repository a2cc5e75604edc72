"""Catalogue rules: categories, products, recipes, images, and what a product costs to make."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import IO, Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app import storage
from app.audit import services as audit
from app.catalogue.models import Category, Product, RecipeComponent
from app.common.pagination import page_of
from app.common.types import utcnow
from app.errors import ConflictError, NotFoundError, PreconditionFailed, RuleViolation
from app.extensions import db
from app.warehouse import stock
from app.warehouse.models import ZERO, Item, money
from app.warehouse.services import version_tag

PRODUCT_FIELDS = ["name", "description", "category_id", "price", "is_active", "needs_assembly", "florist_minutes"]


# --- categories ------------------------------------------------------------------------------


def create_category(
    *, shop_id: int, actor_id: int | None, name: str, position: int = 0, commit: bool = True
) -> Category:
    taken = ConflictError(
        "A category with this name already exists; choose another name.",
        errors={"name": ["Already used in this shop."]},
    )
    if db.session.scalar(select(Category.id).where(Category.shop_id == shop_id, Category.name == name)):
        raise taken
    category = Category(shop_id=shop_id, name=name, position=position)
    db.session.add(category)
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent create won the name
        db.session.rollback()
        raise taken from None
    audit.record(
        shop_id=shop_id,
        actor_id=actor_id,
        action="create",
        entity_type="category",
        entity_id=category.id,
        changes=audit.snapshot(category, ["name", "position"]),
    )
    if commit:
        db.session.commit()
    return category


def list_categories(*, shop_id: int, page: int, page_size: int) -> tuple[list[Category], int]:
    stmt = select(Category).where(Category.shop_id == shop_id).order_by(Category.position, Category.name, Category.id)
    return page_of(stmt, page=page, page_size=page_size)


def _require_category(shop_id: int, category_id: int | None) -> None:
    if category_id is None:
        return
    if not db.session.scalar(select(Category.id).where(Category.id == category_id, Category.shop_id == shop_id)):
        raise RuleViolation("No such category.", errors={"category_id": ["No such category in this shop."]})


# --- products --------------------------------------------------------------------------------


def get_product(*, shop_id: int, product_id: int, lock: bool = False) -> Product:
    stmt = select(Product).where(Product.id == product_id, Product.shop_id == shop_id, Product.archived_at.is_(None))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    product = db.session.scalars(stmt).first()
    if product is None:
        raise NotFoundError("Product not found.")
    return product


def create_product(*, shop_id: int, actor_id: int | None, data: dict[str, Any], commit: bool = True) -> Product:
    _require_category(shop_id, data.get("category_id"))
    product = Product(shop_id=shop_id, **data)
    db.session.add(product)
    db.session.flush()
    audit.record(
        shop_id=shop_id,
        actor_id=actor_id,
        action="create",
        entity_type="product",
        entity_id=product.id,
        changes=audit.snapshot(product, PRODUCT_FIELDS),
    )
    if commit:
        db.session.commit()
    return product


def _matches(if_match: str, tag: str) -> bool:
    candidates = {c.strip().removeprefix("W/") for c in if_match.split(",")}
    return "*" in candidates or tag in candidates


def update_product(
    *, shop_id: int, product_id: int, actor_id: int | None, data: dict[str, Any], if_match: str | None = None
) -> Product:
    """Change a product; with `if_match`, only if nobody changed it since that version (else 412)."""
    product = get_product(shop_id=shop_id, product_id=product_id, lock=True)
    if if_match is not None and not _matches(if_match, version_tag(product)):
        raise PreconditionFailed(
            "The product was changed since you read it; reload it and try again.",
            errors={"headers": {"If-Match": ["Does not match the current version."]}},
        )
    if "category_id" in data:
        _require_category(shop_id, data["category_id"])
    changes = audit.apply_changes(product, data)
    if changes:
        audit.record(
            shop_id=shop_id,
            actor_id=actor_id,
            action="update",
            entity_type="product",
            entity_id=product.id,
            changes=changes,
        )
        db.session.commit()
    return product


def archive_product(*, shop_id: int, product_id: int, actor_id: int | None) -> None:
    """DELETE: the product leaves the catalogue; orders that sold it keep their reference."""
    product = get_product(shop_id=shop_id, product_id=product_id, lock=True)
    product.archived_at = utcnow()
    product.is_active = False
    audit.record(
        shop_id=shop_id,
        actor_id=actor_id,
        action="delete",
        entity_type="product",
        entity_id=product.id,
        changes={"archived_at": [None, product.archived_at.isoformat()]},
    )
    db.session.commit()


def list_products(
    *,
    shop_id: int,
    category_id: int | None = None,
    active: bool | None = None,
    q: str | None = None,
    page: int,
    page_size: int,
) -> tuple[list[Product], int]:
    stmt = select(Product).where(Product.shop_id == shop_id, Product.archived_at.is_(None))
    if category_id:
        stmt = stmt.where(Product.category_id == category_id)
    if active is not None:
        stmt = stmt.where(Product.is_active.is_(active))
    if q:
        stmt = stmt.where(
            or_(Product.name.icontains(q, autoescape=True), Product.description.icontains(q, autoescape=True))
        )
    return page_of(stmt.order_by(Product.name, Product.id), page=page, page_size=page_size)


def set_product_image(*, shop_id: int, product_id: int, actor_id: int | None, upload: IO[bytes]) -> Product:
    """Check, clean and store a new image; the old file goes once the new one is committed."""
    product = get_product(shop_id=shop_id, product_id=product_id, lock=True)
    image = storage.clean_image(upload)
    backend = storage.get_storage()
    key = storage.new_key(f"shops/{shop_id}/products/{product.id}", image.extension)
    backend.save(key, image.data, image.content_type)
    old_key, product.image_key = product.image_key, key
    audit.record(
        shop_id=shop_id,
        actor_id=actor_id,
        action="update",
        entity_type="product",
        entity_id=product.id,
        changes={"image_key": [old_key, key]},
    )
    storage.delete_after_commit(old_key)
    try:
        db.session.commit()
    except Exception:
        storage.delete_quietly(key)
        raise
    return product


# --- recipes ---------------------------------------------------------------------------------


def get_recipe(*, shop_id: int, product_id: int) -> Product:
    """The product with its components (and their items) loaded."""
    stmt = (
        select(Product)
        .where(Product.id == product_id, Product.shop_id == shop_id, Product.archived_at.is_(None))
        .options(selectinload(Product.components).joinedload(RecipeComponent.item))
    )
    product = db.session.scalars(stmt).first()
    if product is None:
        raise NotFoundError("Product not found.")
    return product


def set_recipe(
    *, shop_id: int, product_id: int, actor_id: int | None, components: list[dict[str, Any]], commit: bool = True
) -> Product:
    """Replace the recipe: active items of this shop only, positive quantities, each item once."""
    get_product(shop_id=shop_id, product_id=product_id, lock=True)  # one recipe change at a time
    product = get_recipe(shop_id=shop_id, product_id=product_id)
    wanted = {c["item_id"]: c["quantity"] for c in components}
    found = set(
        db.session.scalars(
            select(Item.id).where(Item.shop_id == shop_id, Item.id.in_(wanted), Item.is_active.is_(True))
        )
    )
    unknown = [i for i, c in enumerate(components) if c["item_id"] not in found]
    if unknown:
        raise RuleViolation(
            "Unknown or retired warehouse items.",
            errors={"components": {str(i): {"item_id": ["No such active item in this shop."]} for i in unknown}},
        )
    before = {c.item_id: str(c.quantity) for c in product.components}
    current = {c.item_id: c for c in product.components}
    for item_id, component in current.items():
        if item_id not in wanted:
            product.components.remove(component)
    for item_id, qty in wanted.items():
        if item_id in current:
            current[item_id].quantity = qty
        else:
            product.components.append(RecipeComponent(shop_id=shop_id, item_id=item_id, quantity=qty))
    after = {item_id: str(qty) for item_id, qty in wanted.items()}
    if before != after:
        product.updated_at = utcnow()  # the recipe is part of the product: its ETag moves
        audit.record(
            shop_id=shop_id,
            actor_id=actor_id,
            action="update",
            entity_type="product",
            entity_id=product.id,
            changes={"recipe": [before, after]},
        )
    if not commit:
        db.session.flush()
        return product
    db.session.commit()
    return get_recipe(shop_id=shop_id, product_id=product_id)


# --- cost ------------------------------------------------------------------------------------


@dataclass
class ComponentCost:
    item_id: int
    item_name: str
    unit: str
    quantity: Decimal
    cost: Decimal
    available: Decimal
    missing: Decimal
    batches: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ProductCost:
    product_id: int
    price: Decimal
    cost: Decimal
    margin: Decimal
    margin_percent: Decimal | None
    can_make: int | None
    components: list[ComponentCost]


def product_cost(*, shop_id: int, product_id: int) -> ProductCost:
    """What one more of the product costs now: each component from the batches that would be used
    (expiring first), missing stock at the item's latest unit cost; the margin; how many can be made."""
    product = get_recipe(shop_id=shop_id, product_id=product_id)
    item_ids = [c.item_id for c in product.components]
    batches_by_item = stock.batches_in_fefo_order(item_ids, lock=False) if item_ids else defaultdict(list)

    components = []
    for component in product.components:
        item = component.item
        takes, missing = stock.plan_fefo(batches_by_item[item.id], component.quantity)
        cost = sum((take.cost for take in takes), ZERO)
        if missing > 0:
            cost += money(stock.latest_unit_cost(item.id) * missing)
        components.append(
            ComponentCost(
                item_id=item.id,
                item_name=item.name,
                unit=item.unit,
                quantity=component.quantity,
                cost=money(cost),
                available=item.available,
                missing=missing,
                batches=[
                    {
                        "batch_id": t.batch.id,
                        "expires_on": t.batch.expires_on,
                        "quantity": t.quantity,
                        "unit_cost": t.batch.unit_cost,
                    }
                    for t in takes
                ],
            )
        )
    total = money(sum((c.cost for c in components), ZERO))
    margin = product.price - total
    margin_percent = (
        (margin * 100 / product.price).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if product.price > 0 else None
    )
    can_make = (
        min(int((c.available / c.quantity).to_integral_value(rounding=ROUND_FLOOR)) for c in components)
        if components
        else None
    )
    return ProductCost(
        product_id=product.id,
        price=product.price,
        cost=total,
        margin=margin,
        margin_percent=margin_percent,
        can_make=max(can_make, 0) if can_make is not None else None,
        components=components,
    )
