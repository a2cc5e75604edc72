"""catalogue and warehouse: categories, products, recipes, items, batches, movements, reservations

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 12:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_categories_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
        sa.UniqueConstraint("shop_id", "name", name=op.f("uq_categories_shop_id_name")),
    )
    op.create_index(op.f("ix_categories_shop_id"), "categories", ["shop_id"], unique=False)
    op.create_table(
        "stock_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_stock_counts_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_stock_counts_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_counts")),
    )
    op.create_index("ix_stock_counts_shop_created", "stock_counts", ["shop_id", "created_at"], unique=False)
    op.create_table(
        "supplies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("supplier", sa.String(length=200), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_supplies_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_supplies_shop_id_shops"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplies")),
    )
    op.create_index("ix_supplies_shop_received", "supplies", ["shop_id", "received_on"], unique=False)
    op.create_table(
        "warehouse_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("min_level", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("shelf_life_days", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("on_hand", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("reserved", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('flower', 'greenery', 'packaging', 'other')", name=op.f("ck_warehouse_items_kind_known")
        ),
        sa.CheckConstraint("min_level >= 0", name=op.f("ck_warehouse_items_min_level_not_negative")),
        sa.CheckConstraint("on_hand >= 0", name=op.f("ck_warehouse_items_on_hand_not_negative")),
        sa.CheckConstraint(
            "reserved >= 0 AND reserved <= on_hand", name=op.f("ck_warehouse_items_reserved_within_on_hand")
        ),
        sa.CheckConstraint(
            "shelf_life_days IS NULL OR shelf_life_days > 0", name=op.f("ck_warehouse_items_shelf_life_positive")
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_warehouse_items_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warehouse_items")),
        sa.UniqueConstraint("shop_id", "name", name=op.f("uq_warehouse_items_shop_id_name")),
    )
    op.create_index(op.f("ix_warehouse_items_shop_id"), "warehouse_items", ["shop_id"], unique=False)
    op.create_table(
        "write_offs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("cost", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("reason IN ('wilted', 'damaged', 'lost', 'other')", name=op.f("ck_write_offs_reason_known")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_write_offs_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_write_offs_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_write_offs")),
    )
    op.create_index("ix_write_offs_shop_created", "write_offs", ["shop_id", "created_at"], unique=False)
    op.create_index("ix_write_offs_shop_reason", "write_offs", ["shop_id", "reason", "created_at"], unique=False)
    op.create_index("ix_write_offs_shop_who", "write_offs", ["shop_id", "created_by_id", "created_at"], unique=False)
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("needs_assembly", sa.Boolean(), nullable=False),
        sa.Column("image_key", sa.String(length=255), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("price >= 0", name=op.f("ck_products_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name=op.f("fk_products_category_id_categories"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_products_shop_id_shops"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
    )
    op.create_index(op.f("ix_products_category_id"), "products", ["category_id"], unique=False)
    op.create_index("ix_products_shop_active", "products", ["shop_id", "is_active"], unique=False)
    op.create_table(
        "stock_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("supply_id", sa.Integer(), nullable=True),
        sa.Column("count_id", sa.Integer(), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("unit_cost", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("remaining", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_stock_batches_quantity_positive")),
        sa.CheckConstraint(
            "remaining >= 0 AND remaining <= quantity", name=op.f("ck_stock_batches_remaining_within_quantity")
        ),
        sa.CheckConstraint("unit_cost >= 0", name=op.f("ck_stock_batches_unit_cost_not_negative")),
        sa.ForeignKeyConstraint(
            ["count_id"], ["stock_counts.id"], name=op.f("fk_stock_batches_count_id_stock_counts"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["warehouse_items.id"],
            name=op.f("fk_stock_batches_item_id_warehouse_items"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_stock_batches_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["supply_id"], ["supplies.id"], name=op.f("fk_stock_batches_supply_id_supplies"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_batches")),
    )
    op.create_index(
        "ix_stock_batches_item_fefo", "stock_batches", ["item_id", "expires_on", "received_on", "id"], unique=False
    )
    op.create_index("ix_stock_batches_shop_expires", "stock_batches", ["shop_id", "expires_on"], unique=False)
    op.create_index(op.f("ix_stock_batches_supply_id"), "stock_batches", ["supply_id"], unique=False)
    op.create_table(
        "stock_count_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("count_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("counted", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("difference", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.CheckConstraint("counted >= 0", name=op.f("ck_stock_count_lines_counted_not_negative")),
        sa.ForeignKeyConstraint(
            ["count_id"],
            ["stock_counts.id"],
            name=op.f("fk_stock_count_lines_count_id_stock_counts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["warehouse_items.id"],
            name=op.f("fk_stock_count_lines_item_id_warehouse_items"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_count_lines")),
        sa.UniqueConstraint("count_id", "item_id", name=op.f("uq_stock_count_lines_count_id_item_id")),
    )
    op.create_index(op.f("ix_stock_count_lines_count_id"), "stock_count_lines", ["count_id"], unique=False)
    op.create_index(op.f("ix_stock_count_lines_item_id"), "stock_count_lines", ["item_id"], unique=False)
    op.create_table(
        "stock_reservations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("cost", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('active', 'released', 'consumed')", name=op.f("ck_stock_reservations_state_known")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_stock_reservations_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["warehouse_items.id"],
            name=op.f("fk_stock_reservations_item_id_warehouse_items"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_stock_reservations_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_reservations")),
    )
    op.create_index(op.f("ix_stock_reservations_item_id"), "stock_reservations", ["item_id"], unique=False)
    op.create_index("ix_stock_reservations_order", "stock_reservations", ["order_id", "state"], unique=False)
    op.create_index(op.f("ix_stock_reservations_shop_id"), "stock_reservations", ["shop_id"], unique=False)
    op.create_table(
        "recipe_components",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_recipe_components_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["warehouse_items.id"],
            name=op.f("fk_recipe_components_item_id_warehouse_items"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_recipe_components_product_id_products"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_recipe_components_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recipe_components")),
        sa.UniqueConstraint("product_id", "item_id", name=op.f("uq_recipe_components_product_id_item_id")),
    )
    op.create_index(op.f("ix_recipe_components_item_id"), "recipe_components", ["item_id"], unique=False)
    op.create_index(op.f("ix_recipe_components_shop_id"), "recipe_components", ["shop_id"], unique=False)
    op.create_table(
        "stock_movements",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("unit_cost", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("cost", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("supply_id", sa.Integer(), nullable=True),
        sa.Column("write_off_id", sa.Integer(), nullable=True),
        sa.Column("count_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('supply', 'reservation', 'release', 'consumption', 'write_off', 'count_adjustment')",
            name=op.f("ck_stock_movements_kind_known"),
        ),
        sa.CheckConstraint("quantity <> 0", name=op.f("ck_stock_movements_quantity_not_zero")),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["stock_batches.id"],
            name=op.f("fk_stock_movements_batch_id_stock_batches"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["count_id"],
            ["stock_counts.id"],
            name=op.f("fk_stock_movements_count_id_stock_counts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["warehouse_items.id"],
            name=op.f("fk_stock_movements_item_id_warehouse_items"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_stock_movements_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["supply_id"], ["supplies.id"], name=op.f("fk_stock_movements_supply_id_supplies"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_stock_movements_user_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["write_off_id"],
            ["write_offs.id"],
            name=op.f("fk_stock_movements_write_off_id_write_offs"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_movements")),
    )
    op.create_index(op.f("ix_stock_movements_batch_id"), "stock_movements", ["batch_id"], unique=False)
    op.create_index(op.f("ix_stock_movements_count_id"), "stock_movements", ["count_id"], unique=False)
    op.create_index("ix_stock_movements_order", "stock_movements", ["order_id"], unique=False)
    op.create_index("ix_stock_movements_shop_created", "stock_movements", ["shop_id", "created_at"], unique=False)
    op.create_index(
        "ix_stock_movements_shop_item_created", "stock_movements", ["shop_id", "item_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_stock_movements_shop_kind_created", "stock_movements", ["shop_id", "kind", "created_at"], unique=False
    )
    op.create_index(op.f("ix_stock_movements_write_off_id"), "stock_movements", ["write_off_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_stock_movements_write_off_id"), table_name="stock_movements")
    op.drop_index("ix_stock_movements_shop_kind_created", table_name="stock_movements")
    op.drop_index("ix_stock_movements_shop_item_created", table_name="stock_movements")
    op.drop_index("ix_stock_movements_shop_created", table_name="stock_movements")
    op.drop_index("ix_stock_movements_order", table_name="stock_movements")
    op.drop_index(op.f("ix_stock_movements_count_id"), table_name="stock_movements")
    op.drop_index(op.f("ix_stock_movements_batch_id"), table_name="stock_movements")
    op.drop_table("stock_movements")
    op.drop_index(op.f("ix_recipe_components_shop_id"), table_name="recipe_components")
    op.drop_index(op.f("ix_recipe_components_item_id"), table_name="recipe_components")
    op.drop_table("recipe_components")
    op.drop_index(op.f("ix_stock_reservations_shop_id"), table_name="stock_reservations")
    op.drop_index("ix_stock_reservations_order", table_name="stock_reservations")
    op.drop_index(op.f("ix_stock_reservations_item_id"), table_name="stock_reservations")
    op.drop_table("stock_reservations")
    op.drop_index(op.f("ix_stock_count_lines_item_id"), table_name="stock_count_lines")
    op.drop_index(op.f("ix_stock_count_lines_count_id"), table_name="stock_count_lines")
    op.drop_table("stock_count_lines")
    op.drop_index(op.f("ix_stock_batches_supply_id"), table_name="stock_batches")
    op.drop_index("ix_stock_batches_shop_expires", table_name="stock_batches")
    op.drop_index("ix_stock_batches_item_fefo", table_name="stock_batches")
    op.drop_table("stock_batches")
    op.drop_index("ix_products_shop_active", table_name="products")
    op.drop_index(op.f("ix_products_category_id"), table_name="products")
    op.drop_table("products")
    op.drop_index("ix_write_offs_shop_who", table_name="write_offs")
    op.drop_index("ix_write_offs_shop_reason", table_name="write_offs")
    op.drop_index("ix_write_offs_shop_created", table_name="write_offs")
    op.drop_table("write_offs")
    op.drop_index(op.f("ix_warehouse_items_shop_id"), table_name="warehouse_items")
    op.drop_table("warehouse_items")
    op.drop_index("ix_supplies_shop_received", table_name="supplies")
    op.drop_table("supplies")
    op.drop_index("ix_stock_counts_shop_created", table_name="stock_counts")
    op.drop_table("stock_counts")
    op.drop_index(op.f("ix_categories_shop_id"), table_name="categories")
    op.drop_table("categories")
