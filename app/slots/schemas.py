"""Delivery windows as the API shows them: the weekly windows, a date's override, and a day's merged windows."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import ValidationError, fields, validate, validates_schema

from app.common.schemas import AwareDateTime, ChangeSchema, Money, Schema
from app.shops.schemas import HH_MM_DOC, MAX_WORKSHOP_MINUTES, validate_hh_mm
from app.slots.models import OVERRIDE_MODES

MAX_CAPACITY = 10000


class DeliverySlotQueryArgsSchema(Schema):
    date = fields.Date(required=True, metadata={"description": "The delivery date (shop-local), YYYY-MM-DD."})


class DeliveryWindowSchema(Schema):
    """One window of one date: the weekly window with that date's override applied."""

    date = fields.Date(required=True)
    start = fields.String(required=True, metadata={"example": "10:00", "description": "Shop-local HH:MM."})
    end = fields.String(required=True, metadata={"example": "14:00", "description": "Shop-local HH:MM."})
    starts_at = AwareDateTime(
        required=True, metadata={"description": "The window's start in shop time, with that date's UTC offset."}
    )
    ends_at = AwareDateTime(required=True)
    capacity = fields.Integer(required=True)
    taken = fields.Integer(required=True, metadata={"description": "Orders in this window."})
    left = fields.Integer(required=True, metadata={"description": "Capacity minus taken, never below 0."})
    over_booked = fields.Boolean(
        required=True,
        metadata={"description": "More orders than capacity (it was lowered after they came); no order is dropped."},
    )
    delivery_fee = Money(required=True, dump_only=True, metadata={"description": "With the date's surcharge."})
    open = fields.Boolean(
        required=True, metadata={"description": "False once the window has started, or past today's same-day cut-off."}
    )
    workshop_minutes = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "The day's florist minutes (the same on every window of the day); null: unlimited."},
    )
    workshop_minutes_left = fields.Integer(
        required=True,
        allow_none=True,
        metadata={
            "description": "The day's florist minutes its orders do not hold yet, never below 0; null: unlimited."
        },
    )


# --- the weekly windows -------------------------------------------------------------------------------


def _ends_after_start(data: dict) -> None:
    if "start" in data and "end" in data and data["start"] >= data["end"]:
        raise ValidationError("The window ends after it starts.", field_name="end")


class WeeklyWindowSchema(Schema):
    """A weekly delivery window: one weekday per window."""

    id = fields.Integer(dump_only=True, required=True)
    weekday = fields.Integer(required=True, validate=validate.Range(0, 6), metadata={"description": "0 = Monday."})
    start = fields.String(required=True, validate=validate_hh_mm, metadata={**HH_MM_DOC, "example": "10:00"})
    end = fields.String(required=True, validate=validate_hh_mm, metadata={**HH_MM_DOC, "example": "14:00"})
    capacity = fields.Integer(
        required=True,
        validate=validate.Range(1, MAX_CAPACITY),
        metadata={"description": "Deliveries the window takes."},
    )
    delivery_fee = Money(required=True)
    enabled = fields.Boolean(load_default=True, metadata={"description": "A disabled window takes no orders."})
    version = fields.Integer(dump_only=True, required=True, metadata={"description": "The ETag's version."})
    updated_at = AwareDateTime(dump_only=True, required=True)

    @validates_schema
    def _window(self, data, **kwargs):
        _ends_after_start(data)


class WeeklyWindowUpdateSchema(ChangeSchema):
    weekday = fields.Integer(validate=validate.Range(0, 6))
    start = fields.String(validate=validate_hh_mm, metadata=HH_MM_DOC)
    end = fields.String(validate=validate_hh_mm, metadata=HH_MM_DOC)
    capacity = fields.Integer(validate=validate.Range(1, MAX_CAPACITY))
    delivery_fee = Money()
    enabled = fields.Boolean()


class WeeklyWindowQueryArgsSchema(Schema):
    weekday = fields.Integer(validate=validate.Range(0, 6), metadata={"description": "Only this weekday's."})


# --- a date's override --------------------------------------------------------------------------------


class OverrideWindowSchema(Schema):
    """A window of the override's date (shop-local times)."""

    start = fields.String(required=True, validate=validate_hh_mm, metadata={**HH_MM_DOC, "example": "09:00"})
    end = fields.String(required=True, validate=validate_hh_mm, metadata={**HH_MM_DOC, "example": "11:00"})
    capacity = fields.Integer(required=True, validate=validate.Range(1, MAX_CAPACITY))
    delivery_fee = Money(required=True)

    @validates_schema
    def _window(self, data, **kwargs):
        _ends_after_start(data)


MODE_DOC = (
    '"replace": `windows` are the day\'s windows instead of the weekly ones; "adjust": the weekly windows, '
    'with `capacity_changes` ({start: capacity}) applied and `windows` added; "closed": no deliveries that day.'
)


def _workshop_minutes(**kwargs):
    return fields.Integer(
        allow_none=True,
        strict=True,
        validate=validate.Range(0, MAX_WORKSHOP_MINUTES),
        metadata={
            "description": "The florists' minutes that date, in any mode (pickups are made on a closed day too); "
            "null: the shop's `workshop_minutes_per_day`."
        },
        **kwargs,
    )


class OverrideSchema(Schema):
    """What one date does differently from the weekly windows."""

    id = fields.Integer(dump_only=True, required=True)
    date = fields.Date(required=True, metadata={"description": "The shop-local date; one override per date."})
    mode = fields.String(required=True, validate=validate.OneOf(OVERRIDE_MODES), metadata={"description": MODE_DOC})
    windows = fields.List(
        fields.Nested(OverrideWindowSchema),
        load_default=list,
        metadata={"description": "replace: the day's windows; adjust: windows added to the weekly ones."},
    )
    capacity_changes = fields.Dict(
        keys=fields.String(validate=validate_hh_mm),
        values=fields.Integer(validate=validate.Range(0, MAX_CAPACITY)),
        load_default=dict,
        metadata={"description": "adjust only: a weekly window's start → its capacity that day.", "example": {}},
    )
    surcharge = Money(
        load_default=Decimal("0.00"),
        metadata={"description": "Added to every window's delivery fee that day (replace, adjust)."},
    )
    note = fields.String(load_default="", validate=validate.Length(max=200), metadata={"example": "March 8"})
    workshop_minutes = _workshop_minutes(load_default=None)
    version = fields.Integer(dump_only=True, required=True)
    updated_at = AwareDateTime(dump_only=True, required=True)


class OverrideUpdateSchema(ChangeSchema):
    """The date stays; everything else may change (the whole override is checked again)."""

    mode = fields.String(validate=validate.OneOf(OVERRIDE_MODES))
    windows = fields.List(fields.Nested(OverrideWindowSchema))
    capacity_changes = fields.Dict(
        keys=fields.String(validate=validate_hh_mm), values=fields.Integer(validate=validate.Range(0, MAX_CAPACITY))
    )
    surcharge = Money()
    note = fields.String(validate=validate.Length(max=200))
    workshop_minutes = _workshop_minutes()


class OverrideQueryArgsSchema(Schema):
    date_from = fields.Date(data_key="from", metadata={"description": "From this date (inclusive)."})
    date_to = fields.Date(data_key="to", metadata={"description": "To this date (inclusive)."})
