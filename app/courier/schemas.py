"""Courier schemas: a delivery as the courier app sees it (the door, not the customer), and the steps' bodies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from marshmallow import fields, validate
from marshmallow.utils import get_value

from app.common.schemas import AwareDateTime, DecimalString, Money, ObjectId, QueryId, Schema, StrictSchema
from app.courier.models import FailureReason
from app.orders.models import OrderStatus
from app.storage import signed_url

STATUSES = [s.value for s in OrderStatus]
REASONS = [r.value for r in FailureReason]
MAX_AMOUNT = Decimal("9999999999.99")


class DeliverySchema(Schema):
    """Only what the door needs: recipient, address, window, note, amount due; nothing else of the customer."""

    order_id = fields.Integer(required=True, attribute="order.id")
    number = fields.String(required=True, attribute="order.number", metadata={"example": "0423-0017"})
    status = fields.String(required=True, attribute="order.status", metadata={"enum": STATUSES})
    courier_id = fields.Integer(required=True, allow_none=True, attribute="order.courier_id")
    delivery_date = fields.Date(required=True, attribute="order.delivery_date", metadata={"description": "Shop-local."})
    window_start = fields.String(required=True, attribute="order.window_start", metadata={"example": "10:00"})
    window_end = fields.String(required=True, allow_none=True, attribute="order.window_end")
    window_starts_at = AwareDateTime(
        required=True, attribute="order.scheduled_at", metadata={"description": "The window's start, UTC."}
    )
    recipient_name = fields.String(required=True, attribute="order.recipient_name")
    recipient_phone = fields.String(required=True, allow_none=True, attribute="order.recipient_phone")
    address = fields.String(required=True, allow_none=True, attribute="order.address")
    note = fields.String(
        required=True,
        attribute="order.comment",
        metadata={
            "description": "The order's comment: what the courier needs at the door (entrance code, call first)."
        },
    )
    amount_due = Money(
        required=True, dump_only=True, attribute="order.amount_due", metadata={"description": "To collect in cash."}
    )
    attempts = fields.Integer(required=True, allow_none=True, metadata={"description": "Trips out of the shop."})
    picked_up_at = AwareDateTime(required=True, allow_none=True)
    failed_at = AwareDateTime(required=True, allow_none=True)
    failure_reason = fields.String(required=True, allow_none=True, metadata={"enum": [*REASONS, None]})
    failure_comment = fields.String(required=True, allow_none=True)
    delivered_at = AwareDateTime(required=True, allow_none=True, metadata={"description": "Server time."})
    client_completed_at = AwareDateTime(
        required=True, allow_none=True, metadata={"description": "The courier's phone's time of the hand-over."}
    )
    amount_collected = Money(required=True, allow_none=True, dump_only=True)
    photo_url = fields.Function(
        lambda card: signed_url(get_value(card, "photo_key")),  # a card, or a list row (a dict)
        required=True,
        allow_none=True,
        metadata={
            "type": "string",
            "format": "uri",
            "description": "Proof of delivery: a signed link that expires (7 days; fetch the card again for a "
            "fresh one), or null.",
        },
    )
    updated_at = AwareDateTime(required=True, attribute="order.updated_at")


class DeliverSchema(StrictSchema):
    completed_at = AwareDateTime(
        metadata={
            "description": "When the phone says the flowers were handed over (kept beside the server's time): "
            "between the pickup and now, 5 minutes of clock skew allowed, else 422."
        }
    )
    amount_collected = DecimalString(
        2,
        example="2900.00",
        validate=validate.Range(min=0, max=MAX_AMOUNT),
        metadata={"description": "Cash taken at the door: recorded once as a cash payment; at most the amount due."},
    )
    comment = fields.String(load_default="", validate=validate.Length(max=2000))


class FailSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.OneOf(REASONS))
    comment = fields.String(
        load_default="", validate=validate.Length(max=2000), metadata={"description": "Required for `other`."}
    )


class PhotoUploadSchema(Schema):
    photo = fields.Raw(
        required=True,
        metadata={
            "type": "string",
            "format": "binary",
            "description": "JPEG, PNG or WebP, 10 MB; 25 megapixels (JPEG; 6 progressive), 6 (PNG), 2 (WebP).",
        },
    )


class CourierAssignSchema(StrictSchema):
    courier_id = ObjectId(
        required=True,
        allow_none=True,
        metadata={"description": "An active courier of the shop; null takes the delivery back."},
    )


class DeliveryQueryArgsSchema(Schema):
    date = fields.Date(
        validate=validate.Range(min=date(2000, 1, 1), max=date(2099, 12, 31)),
        metadata={"description": "The shop-local delivery day."},
    )
    status = fields.List(fields.String(validate=validate.OneOf(STATUSES)), metadata={"description": "Repeatable."})
    courier_id = QueryId(metadata={"description": "Managers: one courier's deliveries."})
    updated_since = AwareDateTime(metadata={"description": "Changed at or after (ISO 8601), for syncing."})
