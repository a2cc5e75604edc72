"""The production API: the workshop's task list and the florists' steps."""

from __future__ import annotations

from flask.views import MethodView

from app.auth.access import MANAGERS, current_shop, shop_access
from app.common.api import Blueprint
from app.idempotency.decorators import idempotent
from app.production import services
from app.production.schemas import (
    BouquetPhotoUploadSchema,
    ProductionTaskSchema,
    TaskAssignSchema,
    TaskQueryArgsSchema,
)
from app.users.models import Role

blp = Blueprint(
    "production-tasks",
    __name__,
    url_prefix="/api/v1/production-tasks",
    description="Production tasks: what the florists assemble, by when, from what.",
)

WORKSHOP = (Role.ADMIN, Role.MANAGER, Role.FLORIST)
STEP_CONFLICT = "The task cannot take this step now (cancelled, not started ...): `errors.task` is its current state."


def _caller() -> dict:
    shop = current_shop()
    return {"shop_id": shop.shop_id, "actor_id": shop.user.id, "actor_role": shop.role}


@blp.route("")
class Tasks(MethodView):
    @shop_access(*WORKSHOP)
    @blp.arguments(TaskQueryArgsSchema, location="query")
    @blp.response(200, ProductionTaskSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Tasks by due time, each with its recipe; a florist sees their own and the unassigned ones."""
        shop = current_shop()
        tasks, total = services.list_tasks(
            shop_id=shop.shop_id,
            viewer_id=shop.user.id,
            viewer_role=shop.role,
            statuses=args.get("status"),
            due_before=args.get("due_before"),
            due_after=args.get("due_after"),
            florist_id=args.get("florist_id"),
            unassigned=args.get("unassigned"),
            order_id=args.get("order_id"),
            updated_since=args.get("updated_since"),
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return tasks


@blp.route("/<int:task_id>")
class TaskById(MethodView):
    @shop_access(*WORKSHOP)
    @blp.response(200, ProductionTaskSchema)
    def get(self, task_id):
        """One task with its recipe (a florist: their own or an unassigned one)."""
        shop = current_shop()
        return services.get_task(shop_id=shop.shop_id, task_id=task_id, viewer_id=shop.user.id, viewer_role=shop.role)


@blp.route("/<int:task_id>/assign")
class TaskAssign(MethodView):
    @shop_access(*MANAGERS)
    @idempotent
    @blp.arguments(TaskAssignSchema)
    @blp.response(200, ProductionTaskSchema)
    @blp.alt_response(409, description="The task is done or cancelled, or in progress and `florist_id` is null.")
    def post(self, data, task_id):
        """Give the task to an active florist of the shop (or, before it starts, back to nobody)."""
        return services.assign_task(task_id=task_id, florist_id=data["florist_id"], **_caller())


@blp.route("/<int:task_id>/claim")
class TaskClaim(MethodView):
    @shop_access(Role.FLORIST)
    @idempotent
    @blp.response(200, ProductionTaskSchema)
    @blp.alt_response(409, description="Another florist has the task, or it is no longer pending.")
    def post(self, task_id):
        """Take an unassigned task; claiming one's own task again answers it as it is."""
        shop = current_shop()
        return services.claim_task(shop_id=shop.shop_id, task_id=task_id, florist_id=shop.user.id)


@blp.route("/<int:task_id>/start")
class TaskStart(MethodView):
    @shop_access(*WORKSHOP)
    @idempotent
    @blp.response(200, ProductionTaskSchema)
    @blp.alt_response(409, description=STEP_CONFLICT)
    def post(self, task_id):
        """Start assembling (an unassigned task becomes yours); the order's first start puts it in production."""
        return services.start_task(task_id=task_id, **_caller())


@blp.route("/<int:task_id>/complete")
class TaskComplete(MethodView):
    @shop_access(*WORKSHOP)
    @idempotent
    @blp.response(200, ProductionTaskSchema)
    @blp.alt_response(
        409,
        description=STEP_CONFLICT + " The order's last task while the order is `stock_short`: `errors.shortages`.",
    )
    def post(self, task_id):
        """Done; the order's last task consumes its reserved stock (expiring first) and makes the order ready."""
        return services.complete_task(task_id=task_id, **_caller())


@blp.route("/<int:task_id>/photo")
class TaskPhoto(MethodView):
    @shop_access(*WORKSHOP)
    @idempotent
    @blp.arguments(BouquetPhotoUploadSchema, location="files")
    @blp.response(200, ProductionTaskSchema)
    @blp.alt_response(403, description="A florist's photo of a task that is not theirs.")
    @blp.alt_response(409, description="The task has not started, or was cancelled.")
    @blp.alt_response(413, description="The photo is larger than 10 MB.")
    @blp.alt_response(415, description="Not a JPEG, PNG or WebP image (checked by content).")
    @blp.alt_response(503, "SERVICE_UNAVAILABLE")
    def put(self, files, task_id):
        """The finished bouquet's photo (multipart field `photo`), shown on the customer's tracking page; EXIF
        and GPS are stripped; a new photo replaces the old. The task's florist, managers and admins."""
        return services.set_photo(task_id=task_id, upload=files["photo"].stream, **_caller())
