"""The storefront API (`/api/v1/storefront/...`), for a shop's website or marketplace with an integration key."""

from __future__ import annotations

from flask.views import MethodView

from app.apikeys.access import current_key, key_access
from app.apikeys.models import Scope
from app.common.api import Blueprint
from app.storefront import services
from app.storefront.schemas import (
    QuoteRequestSchema,
    QuoteSchema,
    StorefrontOrderCreateSchema,
    StorefrontOrderSchema,
    StorefrontProductQueryArgsSchema,
    StorefrontProductSchema,
    StorefrontSlotQueryArgsSchema,
    StorefrontWindowSchema,
)

blp = Blueprint(
    "storefront",
    __name__,
    url_prefix="/api/v1/storefront",
    description="What a shop's website or marketplace calls, with an integration key (Bearer fcrm_...).",
)
ORDER_CONFLICT = (
    "The order cannot be taken: a full or closed window (`errors.window`, `errors.reason`), stock shortages "
    "(`errors.shortages`), the day's florist minutes spent (`errors.workshop`), a provider payment already on "
    "another order, or this external_id sent before with another body (`errors.external_id`)."
)


@blp.route("/products")
class StorefrontProducts(MethodView):
    @key_access(Scope.STOREFRONT_READ)
    @blp.arguments(StorefrontProductQueryArgsSchema, location="query")
    @blp.response(200, StorefrontProductSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Products on sale, by name: price, image, category, and whether one can be made (on `date`)."""
        products, total = services.list_products(
            shop_id=current_key().shop_id,
            day=args.get("date"),
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return products


@blp.route("/delivery-slots")
class StorefrontDeliverySlots(MethodView):
    @key_access(Scope.STOREFRONT_READ)
    @blp.arguments(StorefrontSlotQueryArgsSchema, location="query")
    @blp.response(200, StorefrontWindowSchema(many=True))
    def get(self, args):
        """The date's delivery windows: places left, fee, whether open, and until when each takes orders."""
        return services.delivery_windows(shop_id=current_key().shop_id, day=args["date"])


@blp.route("/quote")
class StorefrontQuote(MethodView):
    @key_access(Scope.STOREFRONT_READ)
    @blp.arguments(QuoteRequestSchema)
    @blp.response(200, QuoteSchema)
    def post(self, data):
        """Price an order and list every reason it cannot be taken now, in one answer; nothing is taken.

        Always 200 for a well-formed body: `ok: false` with `problems` (window full, closed or past its cut-off,
        a product off sale, stock short per item, the promo code refused and why). 422 only for a malformed body.
        """
        quote = services.quote(shop_id=current_key().shop_id, data=data)
        return {**quote.__dict__, "ok": quote.ok}


@blp.route("/orders")
class StorefrontOrders(MethodView):
    @key_access(Scope.ORDERS_WRITE)
    @blp.arguments(StorefrontOrderCreateSchema)
    @blp.response(201, StorefrontOrderSchema, description="The order was taken and confirmed.")
    @blp.alt_response(200, schema=StorefrontOrderSchema, description="This external_id was sent before: its order.")
    @blp.alt_response(409, description=ORDER_CONFLICT)
    def post(self, data):
        """Take the website's order under its `external_id`: intake's rules, confirmed at once, payment recorded.

        Sending the same `external_id` with the same body again answers the same order (200), never a second one.
        """
        shop_id = current_key().shop_id
        order_id, created = services.place_order(shop_id=shop_id, key_id=current_key().key_id, data=data)
        body = services.answer(shop_id=shop_id, order_id=order_id, external_id=data["external_id"])
        return body, 201 if created else 200


@blp.route("/orders/<string:external_id>")
class StorefrontOrderByExternalId(MethodView):
    @key_access(Scope.ORDERS_READ)
    @blp.response(200, StorefrontOrderSchema)
    @blp.alt_response(404, "NOT_FOUND")
    def get(self, external_id):
        """The order sent under `external_id`: number, status, payment status, total, window."""
        return services.order_status(shop_id=current_key().shop_id, external_id=external_id)
