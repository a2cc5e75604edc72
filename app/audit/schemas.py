from marshmallow import fields, validate

from app.common.schemas import AwareDateTime, DateRangeArgs, QueryId, Schema


class AuditEntrySchema(Schema):
    id = fields.Integer(required=True)
    shop_id = fields.Integer(allow_none=True)
    actor_id = fields.Integer(allow_none=True)
    action = fields.String(required=True)
    entity_type = fields.String(required=True)
    entity_id = fields.String(required=True)
    changes = fields.Dict(required=True, metadata={"description": "{field: [old, new]}"})
    request_id = fields.String(allow_none=True)
    created_at = AwareDateTime(required=True)


class AuditQueryArgsSchema(DateRangeArgs):
    entity = fields.String(validate=validate.Length(max=40), metadata={"description": "Entity type, e.g. user."})
    entity_id = fields.String(validate=validate.Length(max=64))
    actor = QueryId(metadata={"description": "Actor's user id."})
