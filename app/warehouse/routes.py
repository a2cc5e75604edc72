"""The warehouse API: items, supplies, write-offs, counts, movements, batches, low stock."""

from __future__ import annotations

from flask.views import MethodView

from app.auth.access import MANAGERS, current_shop, shop_access
from app.common.api import Blueprint
from app.idempotency.decorators import idempotent
from app.users.models import Role
from app.warehouse import services
from app.warehouse.schemas import (
    BatchQueryArgsSchema,
    BatchSchema,
    CountCreateSchema,
    CountQueryArgsSchema,
    CountSchema,
    ItemCreateSchema,
    ItemQueryArgsSchema,
    ItemSchema,
    ItemUpdateSchema,
    MovementQueryArgsSchema,
    MovementSchema,
    SupplyCreateSchema,
    SupplyQueryArgsSchema,
    SupplySchema,
    WriteOffCreateSchema,
    WriteOffQueryArgsSchema,
    WriteOffSchema,
)

blp = Blueprint(
    "warehouse", __name__, url_prefix="/api/v1/warehouse", description="Perishable stock: items, batches, movements."
)

# SPEC §3: florists read the stock (items, batches, low stock) and write off; supplies (suppliers, unit
# costs), counts and the movements ledger that records both are the managers'.
STOCK_READERS = (Role.ADMIN, Role.MANAGER, Role.FLORIST)
WRITERS_OFF = (Role.ADMIN, Role.MANAGER, Role.FLORIST)
ETAG_HEADER = {"ETag": {"description": "The representation's version.", "schema": {"type": "string"}}}
SHORTAGE_DOC = (
    "More than is on hand (or in the named batch): `errors.shortages` lists item_id, name, needed, available "
    "(and batch_id). Or orders were taking these items at that moment: try again."
)
BUSY_DOC = "Orders were taking these items at that moment: try again."


def _actor_id() -> int:
    return current_shop().user.id


@blp.route("/items")
class Items(MethodView):
    @shop_access(*STOCK_READERS)
    @blp.arguments(ItemQueryArgsSchema, location="query")
    @blp.response(200, ItemSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Warehouse items with on hand, reserved and available, by name."""
        items, total = services.list_items(
            shop_id=current_shop().shop_id,
            kind=args.get("kind"),
            active=args.get("active"),
            q=args.get("q"),
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return items

    @shop_access(*MANAGERS)
    @idempotent
    @blp.arguments(ItemCreateSchema)
    @blp.response(201, ItemSchema, headers=ETAG_HEADER)
    @blp.alt_response(409, description="An item with this name already exists.")
    def post(self, data):
        """Set up a new item (a flower, greenery, packaging)."""
        item = services.create_item(shop_id=current_shop().shop_id, actor_id=_actor_id(), data=data)
        return item, 201, {"ETag": services.version_tag(item)}


@blp.route("/items/<int:item_id>")
class ItemById(MethodView):
    @shop_access(*STOCK_READERS)
    @blp.response(200, ItemSchema, headers=ETAG_HEADER)
    def get(self, item_id):
        """One item with its stock."""
        item = services.get_item(shop_id=current_shop().shop_id, item_id=item_id)
        return item, 200, {"ETag": services.version_tag(item)}

    @shop_access(*MANAGERS)
    @blp.arguments(ItemUpdateSchema)
    @blp.response(200, ItemSchema, headers=ETAG_HEADER)
    @blp.alt_response(409, description="An item with this name already exists.")
    def patch(self, data, item_id):
        """Change an item's setup; stock changes only through supplies, write-offs and counts."""
        item = services.update_item(shop_id=current_shop().shop_id, item_id=item_id, actor_id=_actor_id(), data=data)
        return item, 200, {"ETag": services.version_tag(item)}


@blp.route("/low-stock")
class LowStock(MethodView):
    @shop_access(*STOCK_READERS)
    @blp.response(200, ItemSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """Active items whose available stock is below their minimum level."""
        items, total = services.list_low_stock(
            shop_id=current_shop().shop_id,
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return items


@blp.route("/batches")
class Batches(MethodView):
    @shop_access(*STOCK_READERS)
    @blp.arguments(BatchQueryArgsSchema, location="query")
    @blp.response(200, BatchSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Batches still in stock, expiring first; `expired=true` lists what should be written off."""
        batches, total = services.list_batches(
            shop_id=current_shop().shop_id,
            item_id=args.get("item_id"),
            expiring_before=args.get("expiring_before"),
            expired=args.get("expired"),
            include_empty=args["include_empty"],
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return batches


@blp.route("/movements")
class Movements(MethodView):
    @shop_access(*MANAGERS)
    @blp.arguments(MovementQueryArgsSchema, location="query")
    @blp.response(200, MovementSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Every change of stock, newest first. Movements are never changed or deleted."""
        movements, total = services.list_movements(
            shop_id=current_shop().shop_id,
            item_id=args.get("item_id"),
            kind=args.get("kind"),
            order_id=args.get("order_id"),
            date_from=args.get("date_from"),
            date_to=args.get("date_to"),
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return movements


@blp.route("/supplies")
class Supplies(MethodView):
    @shop_access(*MANAGERS)
    @blp.arguments(SupplyQueryArgsSchema, location="query")
    @blp.response(200, SupplySchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Deliveries received, newest first."""
        supplies, total = services.list_supplies(
            shop_id=current_shop().shop_id,
            received_from=args.get("received_from"),
            received_to=args.get("received_to"),
            supplier=args.get("supplier"),
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return supplies

    @shop_access(*MANAGERS)
    @idempotent
    @blp.arguments(SupplyCreateSchema)
    @blp.response(201, SupplySchema)
    @blp.alt_response(409, description=BUSY_DOC)
    def post(self, data):
        """Receive a delivery: each line becomes a batch expiring after the item's shelf life; orders short of
        its items are refilled, the one due first first."""
        shop_id = current_shop().shop_id
        supply = services.create_supply(shop_id=shop_id, actor_id=_actor_id(), **data)
        return services.get_supply(shop_id=shop_id, supply_id=supply.id)


@blp.route("/supplies/<int:supply_id>")
class SupplyById(MethodView):
    @shop_access(*MANAGERS)
    @blp.response(200, SupplySchema, headers=ETAG_HEADER)
    def get(self, supply_id):
        """One delivery with its batches."""
        supply = services.get_supply(shop_id=current_shop().shop_id, supply_id=supply_id)
        return supply, 200, {"ETag": services.version_tag(supply)}


@blp.route("/write-offs")
class WriteOffs(MethodView):
    @shop_access(*STOCK_READERS)
    @blp.arguments(WriteOffQueryArgsSchema, location="query")
    @blp.response(
        200,
        WriteOffSchema(many=True),
        headers={
            "X-Total-Cost": {
                "description": "The cost of every write-off matching the filters (all pages).",
                "schema": {"type": "string", "format": "decimal"},
            }
        },
    )
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Stock thrown away, newest first, with what it cost."""
        write_offs, total, total_cost = services.list_write_offs(
            shop_id=current_shop().shop_id,
            reason=args.get("reason"),
            created_by=args.get("created_by"),
            date_from=args.get("date_from"),
            date_to=args.get("date_to"),
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return write_offs, 200, {"X-Total-Cost": str(total_cost)}

    @shop_access(*WRITERS_OFF)
    @idempotent
    @blp.arguments(WriteOffCreateSchema)
    @blp.response(201, WriteOffSchema)
    @blp.alt_response(409, description=SHORTAGE_DOC)
    def post(self, data):
        """Write stock off (wilted, damaged, lost): from the named batch, else expiring first.

        Reserved stems too: orders left without enough stock are flagged `stock_short` and the managers told.
        """
        return services.create_write_off(shop_id=current_shop().shop_id, actor_id=_actor_id(), **data)


@blp.route("/counts")
class Counts(MethodView):
    @shop_access(*MANAGERS)
    @blp.arguments(CountQueryArgsSchema, location="query")
    @blp.response(200, CountSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Stocktakes, newest first."""
        counts, total = services.list_counts(
            shop_id=current_shop().shop_id,
            created_by=args.get("created_by"),
            date_from=args.get("date_from"),
            date_to=args.get("date_to"),
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return counts

    @shop_access(*MANAGERS)
    @idempotent
    @blp.arguments(CountCreateSchema)
    @blp.response(201, CountSchema)
    @blp.alt_response(409, description=BUSY_DOC)
    def post(self, data):
        """Record a stocktake: differences become adjustment movements (a shortfall expiring first).

        Counted below what orders hold, they are left short as by a write-off; a surplus refills short orders.
        """
        return services.create_count(shop_id=current_shop().shop_id, actor_id=_actor_id(), **data)
