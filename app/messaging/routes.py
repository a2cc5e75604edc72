"""Seeing and fixing messages: the shop's message log, an admin's retry, and the RQ queues."""

from __future__ import annotations

from flask.views import MethodView

from app.auth.access import MANAGERS, current_shop, shop_access
from app.common.api import Blueprint
from app.idempotency.decorators import idempotent
from app.messaging import services
from app.messaging.schemas import MessageQueryArgsSchema, MessageSchema, QueuesSchema
from app.users.models import Role

blp = Blueprint(
    "messaging", __name__, url_prefix="/api/v1", description="The message log, retries, and the job queues."
)


@blp.route("/notifications")
class Notifications(MethodView):
    @shop_access(*MANAGERS)
    @blp.arguments(MessageQueryArgsSchema, location="query")
    @blp.response(200, MessageSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """The shop's messages (reminders, digests ...), newest first; recipients are masked."""
        messages, total = services.list_messages(
            shop_id=current_shop().shop_id,
            kind=args.get("kind"),
            status=args.get("status"),
            channel=args.get("channel"),
            user_id=args.get("user_id"),
            customer_id=args.get("customer_id"),
            order_id=args.get("order_id"),
            date_from=args.get("date_from"),
            date_to=args.get("date_to"),
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return messages


@blp.route("/notifications/<int:message_id>/retry")
class NotificationRetry(MethodView):
    @shop_access(Role.ADMIN)
    @idempotent
    @blp.response(202, MessageSchema)
    @blp.alt_response(409, description="Sent already, being sent right now, or its recipient can no longer get it.")
    def post(self, message_id):
        """Queue a failed or stuck message again, under the same occurrence key.

        A message stuck in `sending` may have reached the provider before its worker died: a retry
        can then deliver a second copy, so it is never automatic.
        """
        shop = current_shop()
        return services.retry_message(shop_id=shop.shop_id, message_id=message_id, actor_id=shop.user.id)


@blp.route("/queues")
class Queues(MethodView):
    @shop_access(*MANAGERS)
    @blp.response(200, QueuesSchema)
    @blp.alt_response(503, description="Redis is unavailable.")
    def get(self):
        """This shop's jobs in each queue (waiting, running, retrying, failed), the live workers, and its stuck
        messages. Other shops' jobs, and the periodic scans that serve every shop, are not counted."""
        shop_id = current_shop().shop_id
        overview = services.queue_overview(shop_id=shop_id)
        stuck, stuck_count = services.stuck_messages(shop_id=shop_id)
        return {**overview, "stuck_messages": stuck, "stuck_count": stuck_count}
