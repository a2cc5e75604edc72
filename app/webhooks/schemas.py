from marshmallow import ValidationError, fields, validate

from app.common.schemas import AwareDateTime, ChangeSchema, Schema, StrictSchema
from app.events.models import EVENT_TYPES
from app.events.schemas import FAMILIES
from app.webhooks.sending import MAX_URL_LENGTH

STATUSES = ["pending", "succeeded", "failed"]


def _known_types(names: list[str]) -> None:
    unknown = sorted({name for name in names if name not in EVENT_TYPES and name not in FAMILIES})
    if unknown:
        raise ValidationError(f"Unknown event types: {', '.join(unknown)}.")


def _types_field(**kwargs) -> fields.List:
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=40)),
        validate=[validate.Length(min=1, max=len(EVENT_TYPES) + len(FAMILIES)), _known_types],
        metadata={"description": "Types (`order.created`) or families (`order.*`) the endpoint receives."},
        **kwargs,
    )


class WebhookSchema(Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    description = fields.String(allow_none=True)
    event_types = fields.List(fields.String(), required=True)
    enabled = fields.Boolean(required=True)
    disabled_reason = fields.String(allow_none=True, metadata={"description": "Why it was disabled by itself."})
    failing_since = AwareDateTime(allow_none=True, metadata={"description": "First failure since a success."})
    last_success_at = AwareDateTime(allow_none=True)
    previous_secret_expires_at = AwareDateTime(
        allow_none=True, metadata={"description": "Until then the secret replaced by a rotation signs too."}
    )
    created_at = AwareDateTime(required=True)
    updated_at = AwareDateTime(required=True)


class WebhookWithSecretSchema(WebhookSchema):
    secret = fields.String(
        required=True,
        metadata={"description": "`whsec_...`: shown in this answer only. Keep it to verify the signatures."},
    )


class WebhookCreateSchema(StrictSchema):
    url = fields.String(required=True, validate=validate.Length(min=8, max=MAX_URL_LENGTH))
    event_types = _types_field(required=True)
    description = fields.String(allow_none=True, validate=validate.Length(max=500))
    enabled = fields.Boolean(load_default=True)


class WebhookUpdateSchema(ChangeSchema):
    url = fields.String(validate=validate.Length(min=8, max=MAX_URL_LENGTH))
    event_types = _types_field()
    description = fields.String(allow_none=True, validate=validate.Length(max=500))
    enabled = fields.Boolean()


class WebhookDeliverySchema(Schema):
    id = fields.Integer(required=True)
    event_id = fields.String(required=True, metadata={"description": "The `webhook-id` header sent."})
    event_type = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": STATUSES})
    attempts = fields.Integer(required=True)
    next_attempt_at = AwareDateTime(allow_none=True)
    last_attempt_at = AwareDateTime(allow_none=True)
    response_status = fields.Integer(allow_none=True, metadata={"description": "The receiver's HTTP status."})
    response_ms = fields.Integer(allow_none=True, metadata={"description": "How long the last attempt took."})
    response_body = fields.String(allow_none=True, metadata={"description": "The first 1 KB of the answer."})
    error = fields.String(allow_none=True)
    created_at = AwareDateTime(required=True)
    updated_at = AwareDateTime(required=True)


class WebhookDeliveryQueryArgsSchema(Schema):
    status = fields.String(validate=validate.OneOf(STATUSES))
