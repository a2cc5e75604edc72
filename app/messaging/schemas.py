"""The message log and the queues as admins and managers read them: recipients masked, no job arguments."""

from marshmallow import fields, validate

from app.common.schemas import AwareDateTime, DateRangeArgs, QueryId, Schema
from app.messaging.models import MESSAGE_STATUSES
from app.messaging.providers import CHANNELS
from app.messaging.services import is_stuck


class MessageSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"example": "occasion_reminder"})
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    recipient = fields.String(
        attribute="recipient_masked", required=True, metadata={"description": "Masked: never the full address."}
    )
    template = fields.String(required=True)
    language = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(MESSAGE_STATUSES))
    stuck = fields.Function(
        is_stuck,
        required=True,
        metadata={"type": "boolean", "description": "Queued or sending with no word from a worker for 5 minutes."},
    )
    attempts = fields.Integer(required=True)
    provider_message_id = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    occurrence_key = fields.String(required=True)
    user_id = fields.Integer(allow_none=True, metadata={"description": "The member of staff it went to."})
    customer_id = fields.Integer(allow_none=True)
    order_id = fields.Integer(allow_none=True)
    created_at = AwareDateTime(required=True)
    updated_at = AwareDateTime(required=True)
    sent_at = AwareDateTime(allow_none=True)


class MessageQueryArgsSchema(DateRangeArgs):
    kind = fields.String(validate=validate.Length(min=1, max=32), metadata={"example": "stock_digest"})
    status = fields.String(validate=validate.OneOf(MESSAGE_STATUSES))
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    user_id = QueryId(metadata={"description": "Recipient: a staff member."})
    customer_id = QueryId(metadata={"description": "Recipient: a customer."})
    order_id = QueryId()


class FailedJobSchema(Schema):
    id = fields.String(required=True)
    func_name = fields.String(allow_none=True)
    error = fields.String(
        allow_none=True, metadata={"description": "The exception's type (with its text for provider errors)."}
    )
    ended_at = AwareDateTime(allow_none=True)


class QueueStateSchema(Schema):
    name = fields.String(required=True)
    queued = fields.Integer(required=True, metadata={"description": "This shop's jobs waiting for a worker."})
    started = fields.Integer(required=True, metadata={"description": "This shop's jobs running now."})
    scheduled = fields.Integer(required=True, metadata={"description": "This shop's jobs waiting for a retry."})
    failed = fields.Integer(required=True, metadata={"description": "This shop's failed jobs."})
    failed_jobs = fields.List(
        fields.Nested(FailedJobSchema), required=True, metadata={"description": "The last 5, newest first."}
    )


class WorkerStateSchema(Schema):
    name = fields.String(required=True)
    state = fields.String(required=True)
    queues = fields.List(fields.String(), required=True)
    last_heartbeat = AwareDateTime(allow_none=True)


class QueuesSchema(Schema):
    queues = fields.List(fields.Nested(QueueStateSchema), required=True)
    workers = fields.List(fields.Nested(WorkerStateSchema), required=True)
    stuck_messages = fields.List(
        fields.Nested(MessageSchema),
        required=True,
        metadata={"description": "This shop's messages with no word from a worker for 5 minutes (oldest 20)."},
    )
    stuck_count = fields.Integer(required=True)
