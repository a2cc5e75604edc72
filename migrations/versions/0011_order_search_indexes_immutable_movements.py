"""trigram indexes for the orders' `q` search; stock movements can be neither updated nor deleted

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 00:00:00

The database refuses UPDATE and DELETE on stock_movements, with two exceptions that keep the foreign
keys' own actions working: deleting a shop (ON DELETE CASCADE) takes its movements along, and
deleting a user (ON DELETE SET NULL) forgets who made a movement and nothing else. TRUNCATE fires
no row trigger. On SQLite a batch migration that rebuilds stock_movements drops its triggers:
create them again in that migration.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ORDER_SEARCH_COLUMNS = ("number", "recipient_name", "recipient_phone")
REFUSAL = "stock movements are never updated or deleted: record a new movement instead"
# Every column but user_id, as of this revision: a deleted user's SET NULL may change nothing else.
OTHER_MOVEMENT_COLUMNS = (
    "id",
    "shop_id",
    "item_id",
    "batch_id",
    "kind",
    "quantity",
    "unit_cost",
    "cost",
    "order_id",
    "supply_id",
    "write_off_id",
    "count_id",
    "reason",
    "created_at",
)

POSTGRESQL_FUNCTION = f"""
CREATE FUNCTION stock_movements_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM shops WHERE id = OLD.shop_id) THEN
        RETURN OLD;  -- the shop is being deleted: its stock history goes with it
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.user_id IS NULL AND OLD.user_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM users WHERE id = OLD.user_id)
       AND (to_jsonb(NEW) - 'user_id') = (to_jsonb(OLD) - 'user_id') THEN
        RETURN NEW;  -- the user is being deleted: the movement forgets who, nothing else
    END IF;
    RAISE EXCEPTION '{REFUSAL}' USING ERRCODE = 'restrict_violation';
END
$$
"""


def _sqlite_triggers() -> list[str]:
    unchanged = " AND ".join(f"NEW.{column} IS OLD.{column}" for column in OTHER_MOVEMENT_COLUMNS)
    return [
        f"""CREATE TRIGGER stock_movements_no_update BEFORE UPDATE ON stock_movements
        WHEN NOT (NEW.user_id IS NULL AND OLD.user_id IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM users WHERE id = OLD.user_id) AND {unchanged})
        BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END""",
        f"""CREATE TRIGGER stock_movements_no_delete BEFORE DELETE ON stock_movements
        WHEN EXISTS (SELECT 1 FROM shops WHERE id = OLD.shop_id)
        BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END""",
    ]


def upgrade():
    # The orders' `q` search (ILIKE '%...%') over number and recipient; pg_trgm exists since 0005.
    for column in ORDER_SEARCH_COLUMNS:
        op.create_index(
            f"ix_orders_{column}_trgm",
            "orders",
            [column],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_FUNCTION)
        op.execute(
            "CREATE TRIGGER stock_movements_immutable BEFORE UPDATE OR DELETE ON stock_movements "
            "FOR EACH ROW EXECUTE FUNCTION stock_movements_immutable()"
        )
    else:
        for statement in _sqlite_triggers():
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS stock_movements_immutable ON stock_movements")
        op.execute("DROP FUNCTION IF EXISTS stock_movements_immutable()")
    else:
        op.execute("DROP TRIGGER IF EXISTS stock_movements_no_update")
        op.execute("DROP TRIGGER IF EXISTS stock_movements_no_delete")
    for column in reversed(ORDER_SEARCH_COLUMNS):
        op.drop_index(f"ix_orders_{column}_trgm", table_name="orders")
