"""Integration keys: `GET, POST /api-keys`, `DELETE /api-keys/{id}` (admins of the shop)."""

from __future__ import annotations

from flask.views import MethodView

from app.apikeys import services
from app.apikeys.schemas import ApiKeyCreatedSchema, ApiKeyCreateSchema, ApiKeyQueryArgsSchema, ApiKeySchema
from app.auth.access import current_shop, shop_access
from app.common.api import Blueprint
from app.users.models import Role

blp = Blueprint(
    "api_keys", __name__, url_prefix="/api/v1/api-keys", description="Integration keys for machine clients."
)


@blp.route("")
class ApiKeys(MethodView):
    @shop_access(Role.ADMIN)
    @blp.arguments(ApiKeyQueryArgsSchema, location="query")
    @blp.response(200, ApiKeySchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """The shop's integration keys, newest first: name, prefix, scopes, last use; never the key."""
        keys, total = services.list_keys(
            shop_id=current_shop().shop_id,
            revoked=args.get("revoked"),
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return keys

    @shop_access(Role.ADMIN)
    @blp.arguments(ApiKeyCreateSchema)
    @blp.response(201, ApiKeyCreatedSchema)
    def post(self, data):
        """Make a key for one purpose (the website, a marketplace); the answer shows the key this once."""
        row, key = services.create_key(
            shop_id=current_shop().shop_id, actor_id=current_shop().user.id, name=data["name"], scopes=data["scopes"]
        )
        return {**{name: getattr(row, name) for name in ApiKeySchema().fields}, "key": key}


@blp.route("/<int:key_id>")
class ApiKeyById(MethodView):
    @shop_access(Role.ADMIN)
    @blp.response(200, ApiKeySchema)
    def delete(self, key_id):
        """Revoke the key: its next request is refused (401). Revoking again answers the same."""
        return services.revoke_key(shop_id=current_shop().shop_id, key_id=key_id, actor_id=current_shop().user.id)
