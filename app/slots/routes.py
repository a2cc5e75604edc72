"""`GET /delivery-slots?date=`: a day's delivery windows and what is left of them."""

from __future__ import annotations

from flask.views import MethodView

from app.auth.access import current_shop, shop_access
from app.common.api import Blueprint
from app.slots import services
from app.slots.schemas import DeliverySlotQueryArgsSchema, DeliveryWindowSchema

blp = Blueprint(
    "delivery_slots", __name__, url_prefix="/api/v1/delivery-slots", description="Delivery windows and capacity."
)


@blp.route("")
class DeliverySlots(MethodView):
    @shop_access()
    @blp.arguments(DeliverySlotQueryArgsSchema, location="query")
    @blp.response(200, DeliveryWindowSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """The date's windows from the shop settings, in shop time, with capacity taken and left."""
        windows = services.day_windows(shop_id=current_shop().shop_id, delivery_date=args["date"])
        pagination_parameters.item_count = len(windows)
        first = pagination_parameters.first_item
        return windows[first : first + pagination_parameters.page_size]
