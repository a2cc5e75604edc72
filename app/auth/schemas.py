from marshmallow import fields, validate

from app.common.schemas import Schema
from app.users.schemas import UserWithMembershipsSchema


class LoginSchema(Schema):
    login = fields.String(
        required=True,
        validate=validate.Length(min=3, max=254),
        metadata={"description": "Phone (any common format) or e-mail.", "example": "+79160000001"},
    )
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))


class TokenPairSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "Access token lifetime, seconds."})
    user = fields.Nested(UserWithMembershipsSchema, required=True)


class LogoutSchema(Schema):
    refresh_token = fields.String(
        load_only=True,
        validate=validate.Length(max=4096),
        metadata={"description": "Also end the login of this refresh token (optional)."},
    )
