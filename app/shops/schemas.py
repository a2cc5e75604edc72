"""Shops and their settings. Settings have known keys only; what a shop never set reads as the default."""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache

import phonenumbers
from marshmallow import ValidationError, fields, validate

from app.common.schemas import AwareDateTime, ChangeSchema, Schema
from app.users.models import ROLE_VALUES
from app.users.schemas import no_nul

MAX_WORKSHOP_MINUTES = 1_000_000
HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


# What the validators below accept, said in the document too.
TIMEZONE_DOC = {"maxLength": 64, "example": "Europe/Moscow"}
COUNTRY_DOC = {"pattern": "^[A-Z]{2}$", "example": "RU"}
HH_MM_DOC = {"pattern": HH_MM.pattern}


def validate_timezone(value: str) -> None:
    if value not in _time_zones():
        raise ValidationError("Not an IANA time zone name (e.g. Europe/Moscow).")


def validate_country(value: str) -> None:
    # The country is also the default region for phone numbers, so it must be one phonenumbers knows.
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError("Not an ISO 3166-1 alpha-2 country code (e.g. RU).")


def validate_hh_mm(value: str) -> None:
    if not HH_MM.match(value):
        raise ValidationError("A time of day as HH:MM (00:00 to 23:59).")


class ShopSettingsSchema(Schema):
    occasion_reminder_days = fields.Integer(
        validate=validate.Range(0, 60), metadata={"description": "Days before a customer's date. Default 3."}
    )
    assembly_lead_minutes = fields.Integer(
        validate=validate.Range(0, 24 * 60),
        metadata={"description": "How long before delivery a bouquet must be ready. Default 60."},
    )
    same_day_cutoff = fields.String(
        allow_none=True,
        validate=validate_hh_mm,
        metadata={
            **HH_MM_DOC,
            "description": "Last local time for same-day delivery orders; null: none. Default null.",
        },
    )
    order_status_messages = fields.Boolean(
        metadata={"description": "Tell customers when their order is out and delivered. Default false."}
    )
    notification_email = fields.Email(allow_none=True, metadata={"description": "Where digests go. Default null."})
    public_phone = fields.String(
        allow_none=True,
        validate=validate.Length(max=32),
        metadata={"description": "The shop's phone for customers, shown on the tracking page. Default null."},
    )
    workshop_minutes_per_day = fields.Integer(
        allow_none=True,
        strict=True,
        validate=validate.Range(0, MAX_WORKSHOP_MINUTES),
        metadata={
            "description": "The florists' minutes a delivery date has for its orders (a date override may say "
            "otherwise); null: unlimited. Default null."
        },
    )


class ShopSchema(Schema):
    """A shop and the caller's role in it."""

    id = fields.Integer(attribute="shop.id", required=True)
    name = fields.String(attribute="shop.name", required=True)
    timezone = fields.String(attribute="shop.timezone", required=True)
    currency = fields.String(attribute="shop.currency", required=True)
    country = fields.String(attribute="shop.country", required=True)
    address = fields.String(attribute="shop.address", required=True)
    settings = fields.Nested(
        ShopSettingsSchema, required=True, metadata={"description": "Every known setting, defaults filled in."}
    )
    role = fields.String(required=True, metadata={"enum": list(ROLE_VALUES), "description": "Your role here."})
    created_at = AwareDateTime(attribute="shop.created_at", required=True)


class ShopCreateSchema(Schema):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=120), no_nul])
    timezone = fields.String(load_default="Europe/Moscow", validate=validate_timezone, metadata=TIMEZONE_DOC)
    currency = fields.String(
        load_default="RUB", validate=validate.Regexp(r"^[A-Z]{3}$", error="An ISO 4217 code (e.g. RUB).")
    )
    country = fields.String(load_default="RU", validate=validate_country, metadata=COUNTRY_DOC)
    address = fields.String(load_default="", validate=[validate.Length(max=500), no_nul])
    settings = fields.Nested(ShopSettingsSchema, load_default=dict)


class ShopUpdateSchema(ChangeSchema):
    name = fields.String(validate=[validate.Length(min=1, max=120), no_nul])
    timezone = fields.String(validate=validate_timezone, metadata=TIMEZONE_DOC)
    currency = fields.String(validate=validate.Regexp(r"^[A-Z]{3}$", error="An ISO 4217 code (e.g. RUB)."))
    country = fields.String(validate=validate_country, metadata=COUNTRY_DOC)
    address = fields.String(validate=[validate.Length(max=500), no_nul])
    settings = fields.Nested(
        ShopSettingsSchema,
        metadata={"description": "Only the keys sent change. Delivery windows are /delivery-windows now."},
    )
