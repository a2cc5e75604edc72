"""Customer and occasion date schemas."""

from __future__ import annotations

import calendar

from marshmallow import ValidationError, fields, validate, validates_schema

from app.common.schemas import AwareDateTime, Schema, StrictSchema
from app.users.schemas import LANGUAGES, no_nul

LEAP_YEAR = 2000  # a date without a year may be 29 February


def day_exists(month: int, day: int, year: int | None) -> bool:
    """29 Feb is a date (it comes round in leap years), 31 Apr is not; with a year, that year decides."""
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year or LEAP_YEAR, month)[1]


PHONE = {
    "validate": [validate.Length(min=5, max=32), no_nul],
    "metadata": {
        "description": "Parsed with the shop's country as the default region; E.164 out.",
        "example": "+79161234567",
    },
}
TELEGRAM_CHAT_ID = validate.Regexp(r"^-?\d{1,20}$", error="A Telegram chat id (digits).")


class CustomerSchema(Schema):
    id = fields.Integer(required=True)
    phone = fields.String(required=True, allow_none=True, metadata={"description": "E.164; null once anonymized."})
    name = fields.String(required=True)
    email = fields.String(required=True, allow_none=True)
    language = fields.String(required=True, metadata={"enum": list(LANGUAGES)})
    notes = fields.String(required=True)
    marketing_consent = fields.Boolean(required=True)
    consent_changed_at = AwareDateTime(required=True, allow_none=True)
    telegram_chat_id = fields.String(required=True, allow_none=True)
    anonymized_at = AwareDateTime(required=True, allow_none=True)
    created_at = AwareDateTime(required=True)
    updated_at = AwareDateTime(required=True)


class CustomerCreateSchema(StrictSchema):
    phone = fields.String(required=True, **PHONE)
    name = fields.String(required=True, validate=[validate.Length(min=1, max=120), no_nul])
    email = fields.Email(allow_none=True, load_default=None, validate=validate.Length(max=254))
    # Not given: the shop's language (Russian in Russian-speaking countries, else English).
    language = fields.String(load_default=None, validate=validate.OneOf(LANGUAGES))
    notes = fields.String(load_default="", validate=[validate.Length(max=5000), no_nul])
    marketing_consent = fields.Boolean(load_default=False)
    telegram_chat_id = fields.String(allow_none=True, load_default=None, validate=TELEGRAM_CHAT_ID)


class CustomerUpdateSchema(StrictSchema):
    phone = fields.String(**PHONE)
    name = fields.String(validate=[validate.Length(min=1, max=120), no_nul])
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    notes = fields.String(validate=[validate.Length(max=5000), no_nul])
    marketing_consent = fields.Boolean()
    telegram_chat_id = fields.String(allow_none=True, validate=TELEGRAM_CHAT_ID)


class CustomerQueryArgsSchema(Schema):
    q = fields.String(
        validate=[validate.Length(min=1, max=100), no_nul],
        metadata={"description": "Part of the name, or digits of the phone."},
    )
    marketing_consent = fields.Boolean()
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    anonymized = fields.Boolean(
        metadata={"description": "true: only anonymized customers. Default: anonymized customers are left out."}
    )


class OccasionDateSchema(Schema):
    id = fields.Integer(required=True)
    customer_id = fields.Integer(required=True)
    label = fields.String(required=True, metadata={"example": "Mother's birthday"})
    month = fields.Integer(required=True)
    day = fields.Integer(required=True)
    year = fields.Integer(required=True, allow_none=True)
    remind_days_before = fields.Integer(
        required=True, allow_none=True, metadata={"description": "null: the shop's occasion_reminder_days."}
    )
    reminders_enabled = fields.Boolean(required=True)
    created_at = AwareDateTime(required=True)
    updated_at = AwareDateTime(required=True)


LABEL = [validate.Length(min=1, max=120), no_nul]
YEAR_DOC = {"description": "Optional: the year it began (a birth year, a wedding year)."}
REMIND_DOC = {"description": "null: the shop's occasion_reminder_days."}


class OccasionDateCreateSchema(StrictSchema):
    label = fields.String(required=True, validate=LABEL)
    month = fields.Integer(required=True, strict=True, validate=validate.Range(1, 12))
    day = fields.Integer(required=True, strict=True, validate=validate.Range(1, 31))
    year = fields.Integer(
        strict=True, allow_none=True, load_default=None, validate=validate.Range(1900, 2100), metadata=YEAR_DOC
    )
    remind_days_before = fields.Integer(
        strict=True, allow_none=True, load_default=None, validate=validate.Range(0, 60), metadata=REMIND_DOC
    )
    reminders_enabled = fields.Boolean(load_default=True)

    @validates_schema
    def _real_date(self, data, **kwargs):
        if {"month", "day"} <= data.keys() and not day_exists(data["month"], data["day"], data.get("year")):
            raise ValidationError("No such day in that month.", field_name="day")


class OccasionDateUpdateSchema(StrictSchema):
    """Month, day and year are checked together with the stored ones by the service."""

    label = fields.String(validate=LABEL)
    month = fields.Integer(strict=True, validate=validate.Range(1, 12))
    day = fields.Integer(strict=True, validate=validate.Range(1, 31))
    year = fields.Integer(strict=True, allow_none=True, validate=validate.Range(1900, 2100), metadata=YEAR_DOC)
    remind_days_before = fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(0, 60), metadata=REMIND_DOC
    )
    reminders_enabled = fields.Boolean()


class CustomerMessageSchema(Schema):
    """A message the shop sent (or tried to send) the customer, as the message log holds it."""

    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    channel = fields.String(required=True)
    recipient = fields.String(
        required=True, attribute="recipient_masked", metadata={"description": "Masked, as the log keeps it."}
    )
    template = fields.String(required=True)
    language = fields.String(required=True)
    status = fields.String(required=True)
    attempts = fields.Integer(required=True)
    order_id = fields.Integer(allow_none=True)
    created_at = AwareDateTime(required=True)
    sent_at = AwareDateTime(allow_none=True)


class CustomerExportSchema(Schema):
    exported_at = AwareDateTime(required=True)
    customer = fields.Nested(CustomerSchema, required=True)
    dates = fields.List(fields.Nested(OccasionDateSchema), required=True)
    audit = fields.List(
        fields.Dict(), required=True, metadata={"description": "Changes made to this customer: who, when, what."}
    )
    orders = fields.List(fields.Dict(), metadata={"description": "The customer's orders, when the shop has orders."})
    messages = fields.List(
        fields.Nested(CustomerMessageSchema),
        required=True,
        metadata={"description": "The message log rows of messages to the customer, oldest first."},
    )
