from flask import g, has_request_context
from marshmallow import ValidationError, fields, post_dump, validate

from app.common.schemas import AwareDateTime, ChangeSchema, Schema
from app.common.types import utcnow
from app.users.models import ROLE_VALUES, InvitationStatus

LANGUAGES = ("ru", "en")
PASSWORD_LENGTH = validate.Length(min=8, max=256)


def no_nul(value: str) -> None:
    # PostgreSQL text cannot hold NUL: say so as a 422 instead of failing in the driver.
    if "\x00" in value:
        raise ValidationError("NUL characters are not allowed.")


def name_field(**kwargs) -> fields.String:
    return fields.String(validate=[validate.Length(min=1, max=120), no_nul], **kwargs)


def external_id_field() -> fields.String:
    return fields.String(
        allow_none=True,
        validate=[validate.Length(min=1, max=128), no_nul],
        metadata={
            "description": (
                "Admins only: the person's user id at the trusted identity service (POST /auth/exchange); "
                "null unlinks it."
            ),
            "example": "partner-user-42",
        },
    )


def _viewer_is_admin() -> bool:
    shop = g.get("shop") if has_request_context() else None
    return shop is not None and shop.role == "admin"


class MembershipSchema(Schema):
    shop_id = fields.Integer(required=True)
    role = fields.String(required=True, metadata={"enum": list(ROLE_VALUES)})


class UserSchema(Schema):
    id = fields.Integer(required=True)
    phone = fields.String(required=True)
    email = fields.String(allow_none=True)
    name = fields.String(required=True)
    language = fields.String(required=True)
    is_active = fields.Boolean(required=True)
    telegram_chat_id = fields.String(allow_none=True)
    has_password = fields.Boolean(required=True, metadata={"description": "False for OTP-only staff."})


class UserWithMembershipsSchema(UserSchema):
    memberships = fields.List(
        fields.Nested(MembershipSchema),
        required=True,
        metadata={"description": "The shops the user may act in, with their role in each."},
    )


class StaffSchema(Schema):
    """A person as the shop sees them: the user and their membership of this shop."""

    id = fields.Integer(attribute="user_id", required=True, metadata={"description": "The user's id."})
    name = fields.String(attribute="user.name", required=True)
    phone = fields.String(attribute="user.phone", required=True)
    email = fields.String(attribute="user.email", allow_none=True)
    language = fields.String(attribute="user.language", required=True)
    has_password = fields.Boolean(
        attribute="user.has_password",
        required=True,
        allow_none=True,
        metadata={"description": "False for OTP-only staff; null (like email) for a person who also works elsewhere."},
    )
    role = fields.String(required=True, metadata={"enum": list(ROLE_VALUES)})
    is_active = fields.Boolean(required=True, metadata={"description": "Active in this shop."})
    deactivated_at = AwareDateTime(allow_none=True)
    joined_at = AwareDateTime(attribute="created_at", required=True)
    external_id = fields.String(
        attribute="user.external_id",
        allow_none=True,
        metadata={"description": "Only in an admin's view: the person's id at the trusted identity service."},
    )

    @post_dump(pass_original=True)
    def _hide_what_is_not_this_shops(self, data: dict, membership, **_kwargs) -> dict:
        if getattr(membership, "shared_with_other_shops", False):
            # Their account serves another shop too: its e-mail and login setup are not this shop's to see.
            data.update(email=None, has_password=None, external_id=None)
        if not _viewer_is_admin():
            data.pop("external_id", None)
        return data


INVITATION_STATES = [s.value for s in InvitationStatus]


def _state(invitation) -> str:
    return invitation.state(utcnow())


class StaffInvitationSchema(Schema):
    """An invitation as the shop sees it: what it typed, the role and the answer; the account only once accepted."""

    id = fields.Integer(required=True)
    phone = fields.String(required=True, metadata={"description": "As the shop gave it (E.164)."})
    name = fields.String(required=True, metadata={"description": "As the shop gave it, not the account's name."})
    role = fields.String(required=True, metadata={"enum": list(ROLE_VALUES)})
    status = fields.Method(
        "_status",
        required=True,
        metadata={"type": "string", "enum": INVITATION_STATES, "description": "A waiting one past its time: expired."},
    )
    user_id = fields.Method(
        "_member",
        required=True,
        allow_none=True,
        metadata={"type": "integer", "description": "The person's user id, once they are on the staff; else null."},
    )
    invited_by_id = fields.Integer(required=True, allow_none=True)
    created_at = AwareDateTime(required=True)
    expires_at = AwareDateTime(required=True, metadata={"description": "Unanswered by then, it expires."})
    answered_at = AwareDateTime(required=True, allow_none=True)

    def _status(self, invitation) -> str:
        return _state(invitation)

    def _member(self, invitation) -> int | None:
        return invitation.user_id if invitation.status == InvitationStatus.ACCEPTED.value else None


class StaffAddedSchema(Schema):
    """The answer to adding a person: the same for a phone new to the system and for one that has an account."""

    id = fields.Integer(required=True, metadata={"description": "The invitation's id (GET /invitations)."})
    phone = fields.String(required=True, metadata={"description": "As given, in E.164."})
    name = fields.String(required=True, metadata={"description": "As given."})
    role = fields.String(required=True, metadata={"enum": list(ROLE_VALUES)})
    created_at = AwareDateTime(required=True)
    expires_at = AwareDateTime(required=True, metadata={"description": "An invitation not answered by then expires."})


class InvitationQueryArgsSchema(Schema):
    status = fields.String(validate=validate.OneOf(INVITATION_STATES))


class ShopRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class MyInvitationSchema(Schema):
    """An invitation as the invited person sees it."""

    id = fields.Integer(required=True)
    shop = fields.Nested(ShopRefSchema, required=True)
    role = fields.String(required=True, metadata={"enum": list(ROLE_VALUES)})
    status = fields.Function(_state, required=True, metadata={"type": "string", "enum": INVITATION_STATES})
    created_at = AwareDateTime(required=True)
    expires_at = AwareDateTime(required=True)
    answered_at = AwareDateTime(required=True, allow_none=True)


class StaffQueryArgsSchema(Schema):
    role = fields.String(validate=validate.OneOf(ROLE_VALUES))
    active = fields.Boolean(metadata={"description": "Only active (true) or only deactivated (false) staff."})
    q = fields.String(
        validate=[validate.Length(min=1, max=100), no_nul],
        metadata={"description": "Search in name, phone and e-mail."},
    )


class StaffCreateSchema(Schema):
    name = name_field(required=True)
    phone = fields.String(
        required=True,
        validate=[validate.Length(min=5, max=32), no_nul],
        metadata={"description": "Parsed with the shop's country as the default region.", "example": "+79161234567"},
    )
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    role = fields.String(required=True, validate=validate.OneOf(ROLE_VALUES))
    password = fields.String(
        load_only=True,
        validate=PASSWORD_LENGTH,
        metadata={
            "description": "Optional: staff without one log in by OTP. Only for a phone new to the system; "
            "a person who already has an account keeps theirs (so do email, language and external_id)."
        },
    )
    # Not given: the shop's language (Russian in Russian-speaking countries, else English).
    language = fields.String(load_default=None, validate=validate.OneOf(LANGUAGES))
    external_id = external_id_field()


class StaffUpdateSchema(Schema):
    name = name_field()
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    role = fields.String(validate=validate.OneOf(ROLE_VALUES))
    is_active = fields.Boolean(
        metadata={"description": "false deactivates the person in this shop (like DELETE); true brings them back."}
    )
    external_id = external_id_field()


class MeUpdateSchema(ChangeSchema):
    name = name_field()
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    telegram_chat_id = fields.String(
        allow_none=True,
        validate=validate.Regexp(r"^-?\d{1,20}$", error="A Telegram chat id is a number."),
        metadata={"description": "The chat the bot writes to; null unlinks it.", "example": "123456789"},
    )


class PasswordChangeSchema(Schema):
    current_password = fields.String(
        load_only=True,
        validate=validate.Length(min=1, max=256),
        metadata={"description": "Required when you already have a password."},
    )
    new_password = fields.String(required=True, load_only=True, validate=PASSWORD_LENGTH)
