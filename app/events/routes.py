"""The event log over HTTP: the catch-up feed (the live stream is app/events/stream.py, its own process)."""

from flask.views import MethodView

from app.auth.access import STAFF_ROLES, current_shop, shop_access
from app.common.api import Blueprint
from app.events import services
from app.events.schemas import FeedArgsSchema, FeedSchema

blp = Blueprint("events", __name__, url_prefix="/api/v1/events", description="What happened in the shop, in order.")


@blp.route("")
class Feed(MethodView):
    @shop_access(*STAFF_ROLES)
    @blp.arguments(FeedArgsSchema, location="query")
    @blp.response(200, FeedSchema)
    def get(self, args):
        """The events after a position, oldest first: a courier gets their own deliveries, a florist their tasks."""
        context = current_shop()
        events = services.read(
            shop_id=context.shop_id,
            role=context.role,
            user_id=context.user.id,
            after=args["after"],
            types=args.get("types"),
            limit=args["limit"] + 1,
        )
        page = events[: args["limit"]]
        return {
            "events": page,
            "next_after": page[-1]["position"] if page else args["after"],
            "has_more": len(events) > len(page),
        }
