"""The orders API: intake, the day's list, changes, status, history and payments; a customer's orders."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from sqlalchemy import inspect

from app.auth.access import MANAGERS, current_shop, shop_access
from app.common.api import Blueprint
from app.idempotency.decorators import idempotent
from app.orders import reading, services
from app.orders.schemas import (
    OrderCreateSchema,
    OrderDetailSchema,
    OrderQueryArgsSchema,
    OrderSchema,
    OrderUpdateSchema,
    PaymentCreateSchema,
    PaymentResultSchema,
    StatusChangeCreateSchema,
    StatusChangeSchema,
)

blp = Blueprint(
    "orders", __name__, url_prefix="/api/v1/orders", description="Orders: intake, changes, status, payments."
)
customer_orders_blp = Blueprint(
    "customer-orders", __name__, url_prefix="/api/v1/customers", description="A customer's orders."
)

ETAG_HEADER = {"ETag": {"description": "The order's version, for If-Match.", "schema": {"type": "string"}}}
IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "schema": {"type": "string"},
    "description": "The ETag you read; 412 if the order changed since, 428 if missing.",
}
SHORTAGE_DOC = "Not enough stock: `errors.shortages` lists item_id, name, needed, available."
CONFLICT_DOC = (
    "A full or closed delivery window (`errors.window`), stock shortages (`errors.shortages`), the day's florist "
    "minutes spent (`errors.workshop`: date, minutes_left, minutes_needed, minutes_per_day), or a move the "
    "lifecycle does not have (`errors.status`: from, to, allowed)."
)


def _actor_id() -> int:
    return current_shop().user.id


def _answered(order_id: int, status: int = 200):
    return reading.answered(shop_id=current_shop().shop_id, order_id=order_id, status=status)


@blp.route("")
class Orders(MethodView):
    @shop_access(*MANAGERS)
    @blp.arguments(OrderQueryArgsSchema, location="query")
    @blp.response(200, OrderSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Orders by delivery day and window; filters combine, `q` searches numbers, names and phones."""
        orders, total = reading.list_orders(
            shop_id=current_shop().shop_id,
            statuses=args.get("status"),
            date_from=args.get("date_from"),
            date_to=args.get("date_to"),
            window_start=args.get("window_start"),
            fulfillment=args.get("fulfillment"),
            courier_id=args.get("courier_id"),
            unassigned=args.get("unassigned"),
            customer_id=args.get("customer_id"),
            q=args.get("q"),
            updated_since=args.get("updated_since"),
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return orders

    @shop_access(*MANAGERS)
    @idempotent
    @blp.arguments(OrderCreateSchema)
    @blp.response(201, OrderDetailSchema, headers=ETAG_HEADER)
    @blp.alt_response(
        409,
        description="The delivery window is full or closed (`errors.window` names it), or the day's florist "
        "minutes are spent (`errors.workshop`: date, minutes_left, minutes_needed, minutes_per_day).",
    )
    def post(self, data):
        """Take an order: prices from the catalogue, window capacity and promo use taken, totals computed."""
        order = services.create_order(shop_id=current_shop().shop_id, actor_id=_actor_id(), data=data)
        # The committed order is expired: its key, without reading the row again.
        return _answered(inspect(order).identity[0], 201)


@blp.route("/<int:order_id>")
class OrderById(MethodView):
    @shop_access(*MANAGERS)
    @blp.response(200, OrderDetailSchema, headers=ETAG_HEADER)
    def get(self, order_id):
        """One order with its lines, payments, totals and the amount due."""
        return _answered(order_id)

    @shop_access(*MANAGERS)
    @blp.arguments(OrderUpdateSchema)
    @blp.response(200, OrderDetailSchema, headers=ETAG_HEADER)
    @blp.alt_response(409, description=CONFLICT_DOC)
    @blp.alt_response(412, description="If-Match does not match: the order changed since it was read.")
    @blp.alt_response(428, description="If-Match is missing.")
    @blp.doc(parameters=[IF_MATCH])
    def patch(self, data, order_id):
        """Change a new or confirmed order (recipient, address, card, comment, lines, day and window)."""
        services.update_order(
            shop_id=current_shop().shop_id,
            order_id=order_id,
            actor_id=_actor_id(),
            data=data,
            if_match=request.headers.get("If-Match"),
        )
        return _answered(order_id)


@blp.route("/<int:order_id>/status")
class OrderStatusChanges(MethodView):
    @shop_access(*MANAGERS)
    @idempotent
    @blp.arguments(StatusChangeCreateSchema)
    @blp.response(200, OrderDetailSchema, headers=ETAG_HEADER)
    @blp.alt_response(409, description=CONFLICT_DOC)
    def post(self, data, order_id):
        """Confirm (reserves stock), ready (nothing to assemble), completed (pickup) or cancelled (with a reason).

        Asking for the status the order already has answers the order as it is.
        """
        order = services.change_status(
            shop_id=current_shop().shop_id,
            order_id=order_id,
            actor_id=_actor_id(),
            status=data["status"],
            comment=data["comment"],
            override_workshop=data["override_workshop"],
        )
        # Held while answering, so the card read now serves the commit's events too; its key, without reading it again.
        return _answered(inspect(order).identity[0])


@blp.route("/<int:order_id>/history")
class OrderHistory(MethodView):
    @shop_access(*MANAGERS)
    @blp.response(200, StatusChangeSchema(many=True))
    @blp.paginate()
    def get(self, order_id, pagination_parameters):
        """Every change of status: from, to, who, when, why; oldest first."""
        changes, total = services.list_history(
            shop_id=current_shop().shop_id,
            order_id=order_id,
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return changes


@blp.route("/<int:order_id>/payments")
class OrderPayments(MethodView):
    @shop_access(*MANAGERS)
    @idempotent
    @blp.arguments(PaymentCreateSchema)
    @blp.response(201, PaymentResultSchema)
    @blp.alt_response(200, schema=PaymentResultSchema, description="This provider payment was already recorded.")
    @blp.alt_response(409, description="Another order has this provider payment, or the order is cancelled.")
    def post(self, data, order_id):
        """Record a payment of at most the amount due, or a refund (negative) of at most what was paid.

        A `provider_payment_id` sent here is a reference and lifts no cap (422 above the amount due); only a
        payment provider's own confirmation may record more. Answers the order's payment status and amounts.
        """
        payment, created = services.record_payment(
            shop_id=current_shop().shop_id, order_id=order_id, actor_id=_actor_id(), **data
        )
        order = reading.order_card(shop_id=current_shop().shop_id, order_id=order_id)
        return {"payment": payment, "order": order}, 201 if created else 200


@customer_orders_blp.route("/<int:customer_id>/orders")
class CustomerOrders(MethodView):
    @shop_access(*MANAGERS)
    @customer_orders_blp.response(200, OrderSchema(many=True))
    @customer_orders_blp.paginate()
    def get(self, customer_id, pagination_parameters):
        """The customer's orders, latest delivery first."""
        orders, total = reading.list_customer_orders(
            shop_id=current_shop().shop_id,
            customer_id=customer_id,
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return orders
