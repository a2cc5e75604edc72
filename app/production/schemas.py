"""Production task schemas: what the workshop tablet shows and sends."""

from __future__ import annotations

from marshmallow import fields, validate
from marshmallow.utils import get_value

from app.common.schemas import AwareDateTime, ObjectId, QueryId, Schema, StrictSchema, UserRefSchema
from app.orders.models import Fulfillment, OrderStatus
from app.production.models import TaskStatus
from app.storage import signed_url

TASK_STATUSES = [s.value for s in TaskStatus]
QUANTITY_DOC = {"type": "string", "format": "decimal", "example": "5.000", "pattern": r"^-?\d+(\.\d+)?$"}


class RecipeLineSchema(Schema):
    item_id = fields.Integer(required=True)
    name = fields.String(required=True, metadata={"example": "Red rose"})
    unit = fields.String(required=True, metadata={"example": "stem"})
    per_unit = fields.String(required=True, metadata={**QUANTITY_DOC, "description": "For one of the product."})
    quantity = fields.String(required=True, metadata={**QUANTITY_DOC, "description": "For the whole task."})


class TaskOrderSchema(Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True, metadata={"example": "0423-0017"})
    status = fields.String(required=True, metadata={"enum": [s.value for s in OrderStatus]})
    fulfillment = fields.String(required=True, metadata={"enum": [f.value for f in Fulfillment]})
    delivery_date = fields.Date(required=True, metadata={"description": "The shop-local day."})
    window_start = fields.String(required=True, metadata={"description": "Window start, or the pickup time."})
    window_end = fields.String(required=True, allow_none=True)
    stock_short = fields.Boolean(
        required=True, metadata={"description": "Stems the order held were written off: it cannot be completed yet."}
    )


class ProductionTaskSchema(Schema):
    id = fields.Integer(required=True)
    order_id = fields.Integer(required=True)
    order = fields.Nested(TaskOrderSchema, required=True)
    status = fields.String(required=True, metadata={"enum": TASK_STATUSES})
    product_id = fields.Integer(required=True)
    product_name = fields.String(required=True)
    quantity = fields.Integer(required=True, metadata={"description": "How many of the product to make."})
    card_text = fields.String(required=True, metadata={"description": "The card that goes with the bouquet."})
    recipe = fields.List(
        fields.Nested(RecipeLineSchema),
        required=True,
        metadata={"description": "What to take from the shelves, as reserved when the order was confirmed."},
    )
    due_at = AwareDateTime(
        required=True, metadata={"description": "Ready by: window start (or pickup time) less the lead time."}
    )
    florist_id = fields.Integer(required=True, allow_none=True)
    florist = fields.Nested(UserRefSchema, required=True, allow_none=True)
    assigned_at = AwareDateTime(required=True, allow_none=True)
    started_at = AwareDateTime(required=True, allow_none=True)
    completed_at = AwareDateTime(required=True, allow_none=True)
    cancelled_at = AwareDateTime(required=True, allow_none=True)
    photo_url = fields.Function(
        lambda task: signed_url(get_value(task, "photo_key")),  # a task, or a list row (a dict)
        required=True,
        allow_none=True,
        metadata={
            "type": "string",
            "format": "uri",
            "description": "The florist's photo of the finished bouquet: a signed link that expires (7 days; "
            "fetch the task again for a fresh one), or null.",
        },
    )
    created_at = AwareDateTime(required=True)
    updated_at = AwareDateTime(required=True)


class BouquetPhotoUploadSchema(Schema):
    photo = fields.Raw(
        required=True,
        metadata={
            "type": "string",
            "format": "binary",
            "description": "JPEG, PNG or WebP, 10 MB; 25 megapixels (JPEG; 6 progressive), 6 (PNG), 2 (WebP).",
        },
    )


class TaskAssignSchema(StrictSchema):
    florist_id = ObjectId(
        required=True,
        allow_none=True,
        metadata={"description": "An active florist of the shop; null takes a task that has not started back."},
    )


class TaskQueryArgsSchema(Schema):
    status = fields.List(
        fields.String(validate=validate.OneOf(TASK_STATUSES)), metadata={"description": "Repeat for several."}
    )
    due_before = AwareDateTime(metadata={"description": "Due before (ISO 8601, exclusive)."})
    due_after = AwareDateTime(metadata={"description": "Due at or after (ISO 8601)."})
    florist_id = QueryId(metadata={"description": "Only this florist's tasks."})
    unassigned = fields.Boolean(metadata={"description": "Only tasks without (true) or with (false) a florist."})
    order_id = QueryId(metadata={"description": "Only this order's tasks."})
    updated_since = AwareDateTime(metadata={"description": "Changed at or after (ISO 8601), for syncing."})
