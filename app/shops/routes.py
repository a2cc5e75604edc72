from flask import g
from flask.views import MethodView

from app.auth.access import authenticated, current_account
from app.common.api import Blueprint
from app.idempotency.decorators import idempotent
from app.shops import services
from app.shops.schemas import ShopCreateSchema, ShopSchema, ShopUpdateSchema

blp = Blueprint("shops", __name__, url_prefix="/api/v1/shops", description="Shops (tenants) and their settings.")


@blp.route("")
class Shops(MethodView):
    @authenticated
    @blp.response(200, ShopSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """The shops you work in, with your role in each (no X-Shop-Id needed)."""
        shops, total = services.list_my_shops(
            user=g.user, page=pagination_parameters.page, page_size=pagination_parameters.page_size
        )
        pagination_parameters.item_count = total
        return shops

    @authenticated
    @idempotent
    @blp.arguments(ShopCreateSchema)
    @blp.response(201, ShopSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    def post(self, data):
        """Open another shop (you must be admin of a shop already); you become its admin."""
        return services.open_shop(user=current_account(), data=data)


@blp.route("/<int(max=2147483647):shop_id>")
class ShopDetail(MethodView):
    @authenticated
    @blp.etag
    @blp.response(200, ShopSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, shop_id):
        """A shop you work in; any other shop is 404."""
        return services.get_my_shop(user=g.user, shop_id=shop_id)

    @authenticated
    @blp.arguments(ShopUpdateSchema)
    @blp.response(200, ShopSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    def patch(self, data, shop_id):
        """Change the shop's details and settings (its admins only)."""
        return services.update_shop(user=g.user, shop_id=shop_id, data=data)
