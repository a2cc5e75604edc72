"""The courier API: a courier's deliveries and their steps; and a manager assigning the courier to an order."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import inspect

from app.auth.access import MANAGERS, current_shop, shop_access
from app.common.api import Blueprint
from app.courier import services
from app.courier.schemas import (
    CourierAssignSchema,
    DeliverSchema,
    DeliveryQueryArgsSchema,
    DeliverySchema,
    FailSchema,
    PhotoUploadSchema,
)
from app.idempotency.decorators import idempotent
from app.orders import reading
from app.orders.schemas import OrderDetailSchema
from app.users.models import Role

blp = Blueprint(
    "courier",
    __name__,
    url_prefix="/api/v1/courier/deliveries",
    description="Deliveries: the courier's list, pick-up, hand-over, failed attempts, proof photos.",
)
order_courier_blp = Blueprint(
    "order-courier", __name__, url_prefix="/api/v1/orders", description="Assigning a courier to a delivery order."
)

DELIVERY_STAFF = (Role.ADMIN, Role.MANAGER, Role.COURIER)
LATE = (
    "The delivery cannot take this step now (cancelled, delivered, not picked up, or given to another courier): "
    "`errors.delivery` is its current state, `errors.status` the move refused."
)


def _caller() -> dict:
    shop = current_shop()
    return {"shop_id": shop.shop_id, "actor_id": shop.user.id, "actor_role": shop.role}


@blp.route("")
class Deliveries(MethodView):
    @shop_access(*DELIVERY_STAFF)
    @blp.arguments(DeliveryQueryArgsSchema, location="query")
    @blp.response(200, DeliverySchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """A courier's own deliveries by day and window (managers: every delivery with a courier)."""
        shop = current_shop()
        cards, total = services.list_deliveries(
            shop_id=shop.shop_id,
            viewer_id=shop.user.id,
            viewer_role=shop.role,
            day=args.get("date"),
            statuses=args.get("status"),
            courier_id=args.get("courier_id"),
            updated_since=args.get("updated_since"),
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return cards


@blp.route("/<int:order_id>")
class DeliveryById(MethodView):
    @shop_access(*DELIVERY_STAFF)
    @blp.response(200, DeliverySchema)
    def get(self, order_id):
        """One delivery as the courier app shows it (managers: any delivery order, with its proof photo)."""
        shop = current_shop()
        return services.get_delivery(
            shop_id=shop.shop_id, order_id=order_id, viewer_id=shop.user.id, viewer_role=shop.role
        )


@blp.route("/<int:order_id>/pickup")
class DeliveryPickup(MethodView):
    @shop_access(*DELIVERY_STAFF)
    @idempotent
    @blp.response(200, DeliverySchema)
    @blp.alt_response(409, description=LATE)
    def post(self, order_id):
        """Leave the shop with the flowers: ready → out for delivery; after a failed trip, out again."""
        return services.pick_up(order_id=order_id, **_caller())


@blp.route("/<int:order_id>/deliver")
class DeliveryDeliver(MethodView):
    @shop_access(*DELIVERY_STAFF)
    @idempotent
    @blp.arguments(DeliverSchema, required=False)
    @blp.response(200, DeliverySchema)
    @blp.alt_response(409, description=LATE)
    def post(self, data, order_id):
        """Handed over: out for delivery → delivered; cash collected becomes one cash payment."""
        return services.deliver(order_id=order_id, **data, **_caller())


@blp.route("/<int:order_id>/fail")
class DeliveryFail(MethodView):
    @shop_access(*DELIVERY_STAFF)
    @idempotent
    @blp.arguments(FailSchema)
    @blp.response(200, DeliverySchema)
    @blp.alt_response(409, description=LATE)
    def post(self, data, order_id):
        """Could not hand over: out for delivery → delivery failed, with the reason."""
        return services.fail(order_id=order_id, **data, **_caller())


@blp.route("/<int:order_id>/return")
class DeliveryReturn(MethodView):
    @shop_access(*DELIVERY_STAFF)
    @idempotent
    @blp.response(200, DeliverySchema)
    @blp.alt_response(409, description=LATE)
    def post(self, order_id):
        """Back in the shop after a failed trip: delivery failed → ready."""
        return services.return_to_shop(order_id=order_id, **_caller())


@blp.route("/<int:order_id>/photo")
class DeliveryPhoto(MethodView):
    @shop_access(*DELIVERY_STAFF)
    @idempotent
    @blp.arguments(PhotoUploadSchema, location="files")
    @blp.response(200, DeliverySchema)
    @blp.alt_response(409, description="The delivery has not left the shop, or was given to another courier.")
    @blp.alt_response(413, description="The photo is larger than 10 MB.")
    @blp.alt_response(415, description="Not a JPEG, PNG or WebP image (checked by content).")
    @blp.alt_response(503, "SERVICE_UNAVAILABLE")
    def put(self, files, order_id):
        """Proof of delivery (multipart field `photo`); EXIF and GPS are stripped; a new photo replaces the old.

        With an `Idempotency-Key`, a retry of the same photo answers the first upload and stores nothing more.
        """
        return services.set_photo(order_id=order_id, upload=files["photo"].stream, **_caller())


@order_courier_blp.route("/<int:order_id>/courier")
class OrderCourier(MethodView):
    @shop_access(*MANAGERS)
    @idempotent
    @order_courier_blp.arguments(CourierAssignSchema)
    @order_courier_blp.response(
        200, OrderDetailSchema, headers={"ETag": {"description": "The order's version.", "schema": {"type": "string"}}}
    )
    @order_courier_blp.alt_response(409, description="A pickup order, or one already out, delivered or closed.")
    def post(self, data, order_id):
        """Assign or reassign an active courier of the shop to a delivery order (null: take it back)."""
        shop = current_shop()
        order = services.assign_courier(
            shop_id=shop.shop_id, order_id=order_id, courier_id=data["courier_id"], actor_id=shop.user.id
        )
        # Held while answering, so the card read now serves the commit's events too; its key, without reading it again.
        return reading.answered(shop_id=shop.shop_id, order_id=inspect(order).identity[0])
