"""Promo codes: `GET, POST /promo-codes`, `GET, PATCH /promo-codes/{id}` (admins and managers)."""

from __future__ import annotations

from flask.views import MethodView

from app.auth.access import MANAGERS, current_shop, shop_access
from app.common.api import Blueprint
from app.idempotency.decorators import idempotent
from app.promos import services
from app.promos.schemas import PromoCodeCreateSchema, PromoCodeQueryArgsSchema, PromoCodeSchema, PromoCodeUpdateSchema

blp = Blueprint("promo_codes", __name__, url_prefix="/api/v1/promo-codes", description="Promo codes.")


def _actor_id() -> int:
    return current_shop().user.id


@blp.route("")
class PromoCodes(MethodView):
    @shop_access(*MANAGERS)
    @blp.arguments(PromoCodeQueryArgsSchema, location="query")
    @blp.response(200, PromoCodeSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """The shop's promo codes, newest first; `q` searches the code."""
        codes, total = services.list_promo_codes(
            shop_id=current_shop().shop_id,
            active=args.get("active"),
            q=args.get("q"),
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return codes

    @shop_access(*MANAGERS)
    @idempotent
    @blp.arguments(PromoCodeCreateSchema)
    @blp.response(201, PromoCodeSchema)
    @blp.alt_response(409, description="The shop has a code with this text already (case-insensitive).")
    def post(self, data):
        """Add a promo code: percent or fixed, with an optional minimum total, use limit and validity."""
        return services.create_promo_code(shop_id=current_shop().shop_id, actor_id=_actor_id(), data=data)


@blp.route("/<int:promo_code_id>")
class PromoCodeById(MethodView):
    @shop_access(*MANAGERS)
    @blp.response(200, PromoCodeSchema)
    def get(self, promo_code_id):
        """One promo code, with the uses made."""
        return services.get_promo_code(shop_id=current_shop().shop_id, promo_code_id=promo_code_id)

    @shop_access(*MANAGERS)
    @blp.arguments(PromoCodeUpdateSchema)
    @blp.response(200, PromoCodeSchema)
    @blp.alt_response(409, description="The shop has a code with this text already (case-insensitive).")
    def patch(self, data, promo_code_id):
        """Change a code's terms or switch it off; `uses` is counted by orders only."""
        return services.update_promo_code(
            shop_id=current_shop().shop_id, promo_code_id=promo_code_id, actor_id=_actor_id(), data=data
        )
