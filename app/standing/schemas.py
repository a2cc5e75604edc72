"""Standing order schemas: the template is the body of POST /orders without its date; the rule is a calendar."""

from __future__ import annotations

import calendar

from marshmallow import ValidationError, fields, validate, validates_schema

from app.common.named_days import NAMED_DAYS
from app.common.schemas import AwareDateTime, QueryId, Schema, StrictSchema
from app.orders.schemas import DATES, OrderCreateSchema
from app.standing.models import OCCURRENCE_STATUSES
from app.standing.rules import FREQUENCIES

NAMED_DAY_DOC = (
    "march_8, valentines_day (Feb 14), knowledge_day (Sep 1), teachers_day_ru (Oct 5), mothers_day_ru (last "
    "Sunday of November), mothers_day_us (second Sunday of May), mothering_sunday_uk (21 days before Easter)."
)
RULE_DOC = (
    "weekly: `weekdays` (0 = Monday) every `interval` weeks; monthly: `month_day` (a month without that day: "
    "its last day) or `nth` (1–4, −1 = last) `weekday`; yearly: `month` + `month_day` (February 29 in other "
    "years: February 28) or `named_day`."
)


class StandingRuleSchema(StrictSchema):
    frequency = fields.String(required=True, validate=validate.OneOf(FREQUENCIES))
    interval = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1, max=52))
    weekdays = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=0, max=6)), validate=validate.Length(min=1, max=7)
    )
    month_day = fields.Integer(strict=True, validate=validate.Range(min=1, max=31))
    nth = fields.Integer(
        strict=True,
        validate=[validate.Range(min=-1, max=4), validate.NoneOf([0])],
        metadata={"description": "1–4, or −1: the last."},
    )
    weekday = fields.Integer(strict=True, validate=validate.Range(min=0, max=6))
    month = fields.Integer(strict=True, validate=validate.Range(min=1, max=12))
    named_day = fields.String(validate=validate.OneOf(list(NAMED_DAYS)), metadata={"description": NAMED_DAY_DOC})

    @validates_schema
    def _complete(self, data, **kwargs):
        frequency = data.get("frequency")
        given = {name for name in ("weekdays", "month_day", "nth", "weekday", "month", "named_day") if name in data}
        if frequency == "weekly":
            wanted, allowed = {"weekdays"}, {"weekdays"}
        elif frequency == "monthly":
            wanted = {"month_day"} if "month_day" in data else {"nth", "weekday"}
            allowed = wanted
        elif frequency == "yearly":
            wanted = {"named_day"} if "named_day" in data else {"month", "month_day"}
            allowed = wanted
        else:
            return
        errors = {name: ["Required for this rule."] for name in sorted(wanted - given)}
        errors.update({name: ["Not used by this rule."] for name in sorted(given - allowed)})
        if errors:
            raise ValidationError(errors)
        if frequency == "yearly" and "month" in data:
            longest = calendar.monthrange(2024, data["month"])[1]  # a leap year: February 29 is a date
            if data["month_day"] > longest:
                raise ValidationError({"month_day": ["That month has no such day."]})
        if "weekdays" in data and len(set(data["weekdays"])) != len(data["weekdays"]):
            raise ValidationError({"weekdays": ["Each weekday once."]})


class StandingTemplateSchema(OrderCreateSchema):
    """What each date's order is made of: POST /orders' body without `delivery_date` (and `source`,
    `override_workshop`: a date on a spent day is made holding no minutes, and the managers are told)."""

    class Meta:
        exclude = ("delivery_date", "source", "override_workshop")


class _Series(StrictSchema):
    rule = fields.Nested(StandingRuleSchema, metadata={"description": RULE_DOC})
    starts_on = fields.Date(validate=DATES, metadata={"description": "The first date the rule may fall on."})
    ends_on = fields.Date(allow_none=True, validate=DATES, metadata={"description": "The last one; or `count`."})
    count = fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=1, max=1000),
        metadata={"description": "Dates in all."},
    )
    lead_days = fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=60),
        metadata={"description": "How many days before the date its order is made (default 7)."},
    )

    @validates_schema
    def _end(self, data, **kwargs):
        if data.get("ends_on") and data.get("count"):
            raise ValidationError("Give an end date or a count, not both.", field_name="count")
        if data.get("ends_on") and data.get("starts_on") and data["ends_on"] < data["starts_on"]:
            raise ValidationError("The end comes before the start.", field_name="ends_on")


class StandingOrderCreateSchema(_Series):
    template = fields.Nested(StandingTemplateSchema, required=True)
    rule = fields.Nested(StandingRuleSchema, required=True, metadata={"description": RULE_DOC})
    starts_on = fields.Date(required=True, validate=DATES)


class StandingOrderUpdateSchema(_Series):
    template = fields.Dict(
        metadata={"description": "Fields of the template to change; the result is checked as on creation."}
    )


class StandingSkipSchema(StrictSchema):
    date = fields.Date(required=True, validate=DATES, metadata={"description": "One date of the series."})


class StandingOrderSchema(Schema):
    id = fields.Integer(required=True)
    customer_id = fields.Integer(required=True)
    template = fields.Dict(required=True)
    rule = fields.Dict(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True, allow_none=True)
    count = fields.Integer(required=True, allow_none=True)
    lead_days = fields.Integer(required=True)
    paused = fields.Boolean(required=True)
    next_date = fields.Date(
        required=True, allow_none=True, metadata={"description": "The next date not yet made; null: the series ended."}
    )
    version = fields.Integer(required=True)
    created_at = AwareDateTime(required=True)
    updated_at = AwareDateTime(required=True)


class StandingOccurrenceOrderSchema(Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    status = fields.String(required=True)


class StandingOccurrenceSchema(Schema):
    date = fields.Date(required=True)
    status = fields.String(required=True, metadata={"enum": ["planned", *OCCURRENCE_STATUSES]})
    order = fields.Nested(StandingOccurrenceOrderSchema, required=True, allow_none=True)
    problem = fields.String(
        required=True, metadata={"description": "Why the order was placed outside the rules, or none was made."}
    )


class StandingOccurrencesSchema(Schema):
    upcoming = fields.List(
        fields.Nested(StandingOccurrenceSchema),
        required=True,
        metadata={"description": "The next dates from today (planned or skipped), at most 10."},
    )
    past = fields.List(
        fields.Nested(StandingOccurrenceSchema),
        required=True,
        metadata={"description": "The dates made or failed, latest first, at most 50."},
    )


class StandingOrderQueryArgsSchema(Schema):
    customer_id = QueryId()
    paused = fields.Boolean()
