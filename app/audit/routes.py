from flask.views import MethodView

from app.audit import services
from app.audit.schemas import AuditEntrySchema, AuditQueryArgsSchema
from app.auth.access import current_shop, shop_access
from app.common.api import Blueprint
from app.users.models import Role

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit-log", description="Who changed what, for admins.")


@blp.route("")
class AuditLog(MethodView):
    @shop_access(Role.ADMIN)
    @blp.arguments(AuditQueryArgsSchema, location="query")
    @blp.response(200, AuditEntrySchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """The shop's audit log, newest first."""
        entries, total = services.list_entries(
            shop_id=current_shop().shop_id,
            entity_type=args.get("entity"),
            entity_id=args.get("entity_id"),
            actor_id=args.get("actor"),
            date_from=args.get("date_from"),
            date_to=args.get("date_to"),
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return entries
