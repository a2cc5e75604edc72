"""What a shop sells: categories, products and the recipes that say what a bouquet is made of."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.models import TimestampMixin
from app.common.types import UTCDateTime
from app.extensions import db

if TYPE_CHECKING:
    from app.warehouse.models import Item


class Category(TimestampMixin, db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0)

    __table_args__ = (UniqueConstraint("shop_id", "name"),)


class Product(TimestampMixin, db.Model):
    """A bouquet, a composition or a single item for sale."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A florist has to make it (a production task), as opposed to selling it off the shelf.
    needs_assembly: Mapped[bool] = mapped_column(Boolean, default=True)
    image_key: Mapped[str | None] = mapped_column(String(255))
    # Florist minutes to make one; NULL: from its recipe (app/workshop/services.py, `default_minutes`).
    florist_minutes: Mapped[int | None] = mapped_column(Integer)
    # DELETE archives: orders keep pointing at the product, the catalogue forgets it.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    category: Mapped[Category | None] = relationship()
    components: Mapped[list[RecipeComponent]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="RecipeComponent.id"
    )

    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("florist_minutes >= 0", name="florist_minutes_not_negative"),
        Index("ix_products_shop_active", "shop_id", "is_active"),
    )


class RecipeComponent(db.Model):
    """One line of a product's recipe: so much of a warehouse item per product."""

    __tablename__ = "recipe_components"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("warehouse_items.id", ondelete="RESTRICT"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3))

    product: Mapped[Product] = relationship(back_populates="components")
    item: Mapped[Item] = relationship()

    __table_args__ = (
        UniqueConstraint("product_id", "item_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )
