from marshmallow import ValidationError, fields, validate

from app.common.schemas import AwareDateTime, Schema
from app.events.models import EVENT_TYPES

FAMILIES = sorted({name.split(".")[0] + ".*" for name in EVENT_TYPES})
MAX_POSITION = 2**63 - 1


class TypesField(fields.List):
    """`types=order.created&types=task.*`, or the same comma-separated in one value."""

    def __init__(self, **kwargs):
        super().__init__(fields.String(validate=validate.Length(max=400)), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        names = [name.strip() for each in super()._deserialize(value, attr, data, **kwargs) for name in each.split(",")]
        unknown = sorted({name for name in names if name not in EVENT_TYPES and name not in FAMILIES})
        if unknown:
            raise ValidationError(f"Unknown event types: {', '.join(unknown)}.")
        return names


class FeedArgsSchema(Schema):
    after = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=MAX_POSITION),
        metadata={"description": "The last position you have; 0 for the oldest kept."},
    )
    types = TypesField(
        metadata={
            "description": "Only these types (`order.created`) or families (`order.*`); repeat or separate with commas."
        }
    )
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class SubjectSchema(Schema):
    type = fields.String(required=True, metadata={"enum": ["order", "task", "delivery", "stock", "message"]})
    id = fields.String(required=True)


class EventSchema(Schema):
    id = fields.String(required=True, metadata={"description": "Unique; receivers deduplicate by it."})
    position = fields.Integer(required=True, metadata={"description": "Increases; resume after the last you have."})
    type = fields.String(required=True, metadata={"enum": list(EVENT_TYPES)})
    occurred_at = AwareDateTime(required=True)
    subject = fields.Nested(SubjectSchema, required=True)
    data = fields.Dict(
        required=True, metadata={"description": "The subject's representation in the API at that moment."}
    )


class FeedSchema(Schema):
    events = fields.List(fields.Nested(EventSchema), required=True)
    next_after = fields.Integer(required=True, metadata={"description": "Send as `after` for the next page."})
    has_more = fields.Boolean(required=True)


class StreamArgsSchema(Schema):
    after = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=MAX_POSITION),
        metadata={"description": "The last position you have; a Last-Event-ID header wins over it."},
    )
    types = TypesField(metadata={"description": "Only these types or families, as in the feed."})
    ticket = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "A ticket from POST /api/v1/events/tickets, instead of the Bearer header."},
    )


class TicketSchema(Schema):
    ticket = fields.String(required=True, metadata={"description": "Send as `?ticket=` to the stream, once."})
    expires_in = fields.Integer(required=True, metadata={"description": "Seconds it stays usable."})
