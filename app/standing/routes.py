"""Standing orders: `GET, POST /standing-orders`, `GET, PATCH, DELETE /standing-orders/{id}`, a date skipped,
the series paused and resumed, and `GET /standing-orders/{id}/occurrences` (managers and admins)."""

from __future__ import annotations

from flask.views import MethodView

from app.auth.access import MANAGERS, current_shop, shop_access
from app.common.api import Blueprint
from app.idempotency.decorators import idempotent
from app.standing import services
from app.standing.schemas import (
    StandingOccurrencesSchema,
    StandingOrderCreateSchema,
    StandingOrderQueryArgsSchema,
    StandingOrderSchema,
    StandingOrderUpdateSchema,
    StandingSkipSchema,
)

blp = Blueprint(
    "standing_orders",
    __name__,
    url_prefix="/api/v1/standing-orders",
    description="Standing orders: a customer's order made again by a calendar rule.",
)


def _actor_id() -> int:
    return current_shop().user.id


@blp.route("")
class StandingOrders(MethodView):
    @shop_access(*MANAGERS)
    @blp.arguments(StandingOrderQueryArgsSchema, location="query")
    @blp.response(200, StandingOrderSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """The shop's standing orders, newest first."""
        rows, total = services.list_standing_orders(
            shop_id=current_shop().shop_id,
            customer_id=args.get("customer_id"),
            paused=args.get("paused"),
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return rows

    @shop_access(*MANAGERS)
    @idempotent
    @blp.arguments(StandingOrderCreateSchema)
    @blp.response(201, StandingOrderSchema)
    def post(self, data):
        """Start a series: the template (POST /orders' body without the date), the rule, its start and end.

        Each date's order is made `lead_days` (default 7) before it, through the usual intake.
        """
        return services.create_standing_order(shop_id=current_shop().shop_id, actor_id=_actor_id(), data=data)


@blp.route("/<int:standing_order_id>")
class StandingOrderById(MethodView):
    @shop_access(*MANAGERS)
    @blp.response(200, StandingOrderSchema)
    def get(self, standing_order_id):
        """One standing order with its next date."""
        return services.get_standing_order(shop_id=current_shop().shop_id, standing_order_id=standing_order_id)

    @shop_access(*MANAGERS)
    @blp.arguments(StandingOrderUpdateSchema)
    @blp.response(200, StandingOrderSchema)
    def patch(self, data, standing_order_id):
        """Change the template or the rule: the dates not made yet follow; made and skipped dates stay."""
        return services.update_standing_order(
            shop_id=current_shop().shop_id, standing_order_id=standing_order_id, actor_id=_actor_id(), data=data
        )

    @shop_access(*MANAGERS)
    @blp.response(204)
    def delete(self, standing_order_id):
        """End the series; the orders already made stay."""
        services.delete_standing_order(
            shop_id=current_shop().shop_id, standing_order_id=standing_order_id, actor_id=_actor_id()
        )


@blp.route("/<int:standing_order_id>/skip")
class StandingOrderSkip(MethodView):
    @shop_access(*MANAGERS)
    @blp.arguments(StandingSkipSchema)
    @blp.response(200, StandingOrderSchema)
    @blp.alt_response(409, description="That date's order is made already: change or cancel the order.")
    def post(self, data, standing_order_id):
        """Leave out one date of the series (it is never made); skipping it again changes nothing."""
        return services.skip_date(
            shop_id=current_shop().shop_id, standing_order_id=standing_order_id, actor_id=_actor_id(), day=data["date"]
        )


@blp.route("/<int:standing_order_id>/pause")
class StandingOrderPause(MethodView):
    @shop_access(*MANAGERS)
    @blp.response(200, StandingOrderSchema)
    def post(self, standing_order_id):
        """Stop making dates until resumed."""
        return services.set_paused(
            shop_id=current_shop().shop_id, standing_order_id=standing_order_id, actor_id=_actor_id(), paused=True
        )


@blp.route("/<int:standing_order_id>/resume")
class StandingOrderResume(MethodView):
    @shop_access(*MANAGERS)
    @blp.response(200, StandingOrderSchema)
    def post(self, standing_order_id):
        """Make dates again, from today on: the dates that passed while paused are not made."""
        return services.set_paused(
            shop_id=current_shop().shop_id, standing_order_id=standing_order_id, actor_id=_actor_id(), paused=False
        )


@blp.route("/<int:standing_order_id>/occurrences")
class StandingOrderOccurrences(MethodView):
    @shop_access(*MANAGERS)
    @blp.response(200, StandingOccurrencesSchema)
    def get(self, standing_order_id):
        """The next 10 dates (planned, skipped, or made ahead) and the latest 50 past ones: made (the order's
        id, number and status), skipped, or failed with the reason."""
        return services.occurrences(shop_id=current_shop().shop_id, standing_order_id=standing_order_id)
