"""Integration keys as the API shows them: never the key itself, except once in the creating answer."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from app.apikeys.models import Scope
from app.common.schemas import AwareDateTime, Schema, StrictSchema

SCOPES = [s.value for s in Scope]


class ApiKeySchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefix = fields.String(
        required=True, metadata={"example": "fcrm_3kQ9xZ2a", "description": "The key's first characters."}
    )
    scopes = fields.List(fields.String(metadata={"enum": SCOPES}), required=True)
    created_by_id = fields.Integer(required=True, allow_none=True)
    created_at = AwareDateTime(required=True)
    last_used_at = AwareDateTime(
        required=True, allow_none=True, metadata={"description": "Within a minute; null if never used."}
    )
    revoked_at = AwareDateTime(required=True, allow_none=True)


class ApiKeyCreatedSchema(ApiKeySchema):
    key = fields.String(
        required=True,
        metadata={
            "example": "fcrm_3kQ9xZ2aBvL0...",
            "description": "The key, shown this once: only its hash is kept. Send it as `Authorization: Bearer <key>`.",
        },
    )


class ApiKeyCreateSchema(StrictSchema):
    name = fields.String(
        required=True,
        validate=validate.Length(min=1, max=120),
        metadata={"description": "What the key is for, e.g. `website`."},
    )
    scopes = fields.List(
        fields.String(validate=validate.OneOf(SCOPES)),
        required=True,
        validate=validate.Length(min=1, max=len(SCOPES)),
        metadata={"description": "storefront:read (catalogue, windows, quotes), orders:write, orders:read."},
    )

    @validates_schema
    def _scopes_once(self, data, **kwargs):
        scopes = data.get("scopes") or []
        if len(set(scopes)) != len(scopes):
            raise ValidationError("A scope appears twice.", field_name="scopes")


class ApiKeyQueryArgsSchema(Schema):
    revoked = fields.Boolean(metadata={"description": "Only revoked (true) or live (false) keys."})
