"""Webhooks: `GET, POST /webhooks`, `GET, PATCH, DELETE /webhooks/{id}`, rotate-secret, ping, deliveries (admins)."""

from __future__ import annotations

from types import SimpleNamespace

from flask.views import MethodView

from app.auth.access import current_shop, shop_access
from app.common.api import Blueprint
from app.users.models import Role
from app.webhooks import services
from app.webhooks.schemas import (
    WebhookCreateSchema,
    WebhookDeliveryQueryArgsSchema,
    WebhookDeliverySchema,
    WebhookSchema,
    WebhookUpdateSchema,
    WebhookWithSecretSchema,
)

blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/api/v1/webhooks",
    description="The shop's events POSTed to receivers, signed per Standard Webhooks (admins).",
)


def _with_secret(endpoint, secret: str) -> SimpleNamespace:
    """The endpoint as answered, with the secret it has now (this answer is the only place it is shown)."""
    return SimpleNamespace(**{name: getattr(endpoint, name) for name in WebhookSchema().fields}, secret=secret)


@blp.route("")
class Webhooks(MethodView):
    @shop_access(Role.ADMIN)
    @blp.response(200, WebhookSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """The shop's webhook endpoints (their secrets are never shown again)."""
        endpoints, total = services.list_endpoints(
            shop_id=current_shop().shop_id, page=pagination_parameters.page, page_size=pagination_parameters.page_size
        )
        pagination_parameters.item_count = total
        return endpoints

    @shop_access(Role.ADMIN)
    @blp.arguments(WebhookCreateSchema)
    @blp.response(201, WebhookWithSecretSchema)
    def post(self, data):
        """Register a receiver; the answer holds its signing secret, shown this once."""
        context = current_shop()
        endpoint, secret = services.create_endpoint(shop_id=context.shop_id, actor_id=context.user.id, **data)
        return _with_secret(endpoint, secret)


@blp.route("/<int(max=2147483647):webhook_id>")
class WebhookById(MethodView):
    @shop_access(Role.ADMIN)
    @blp.response(200, WebhookSchema)
    def get(self, webhook_id):
        """One webhook endpoint."""
        return services.get_endpoint(shop_id=current_shop().shop_id, endpoint_id=webhook_id)

    @shop_access(Role.ADMIN)
    @blp.arguments(WebhookUpdateSchema)
    @blp.response(200, WebhookSchema)
    def patch(self, data, webhook_id):
        """Change the URL, the types or the description; `enabled: true` turns a disabled endpoint back on."""
        context = current_shop()
        return services.update_endpoint(
            shop_id=context.shop_id, endpoint_id=webhook_id, actor_id=context.user.id, data=data
        )

    @shop_access(Role.ADMIN)
    @blp.response(204)
    def delete(self, webhook_id):
        """Remove the endpoint and its delivery log; nothing more is sent to it."""
        context = current_shop()
        services.delete_endpoint(shop_id=context.shop_id, endpoint_id=webhook_id, actor_id=context.user.id)


@blp.route("/<int(max=2147483647):webhook_id>/rotate-secret")
class RotateSecret(MethodView):
    @shop_access(Role.ADMIN)
    @blp.response(200, WebhookWithSecretSchema)
    def post(self, webhook_id):
        """A new signing secret, shown this once; the old one keeps signing beside it for 24 hours."""
        context = current_shop()
        endpoint, secret = services.rotate_secret(
            shop_id=context.shop_id, endpoint_id=webhook_id, actor_id=context.user.id
        )
        return _with_secret(endpoint, secret)


@blp.route("/<int(max=2147483647):webhook_id>/ping")
class Ping(MethodView):
    @shop_access(Role.ADMIN)
    @blp.response(202, WebhookDeliverySchema)
    def post(self, webhook_id):
        """Send a `webhook.ping` message to the endpoint now; its delivery shows how the receiver answered."""
        context = current_shop()
        return services.ping(shop_id=context.shop_id, endpoint_id=webhook_id, actor_id=context.user.id)


@blp.route("/<int(max=2147483647):webhook_id>/deliveries")
class Deliveries(MethodView):
    @shop_access(Role.ADMIN)
    @blp.arguments(WebhookDeliveryQueryArgsSchema, location="query")
    @blp.response(200, WebhookDeliverySchema(many=True))
    @blp.paginate()
    def get(self, args, webhook_id, pagination_parameters):
        """What was sent to the endpoint, newest first: status code, time taken, attempts, the answer's first 1 KB."""
        deliveries, total = services.list_deliveries(
            shop_id=current_shop().shop_id,
            endpoint_id=webhook_id,
            status=args.get("status"),
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return deliveries


@blp.route("/<int(max=2147483647):webhook_id>/deliveries/<int(max=9223372036854775807):delivery_id>/redeliver")
class Redeliver(MethodView):
    @shop_access(Role.ADMIN)
    @blp.response(202, WebhookDeliverySchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, webhook_id, delivery_id):
        """Send the delivery again now, with the same `webhook-id` (receivers that have it ignore it)."""
        context = current_shop()
        return services.redeliver(
            shop_id=context.shop_id, endpoint_id=webhook_id, delivery_id=delivery_id, actor_id=context.user.id
        )
