"""Fields and base schemas shared by every domain."""

from __future__ import annotations

import marshmallow
from marshmallow import ValidationError, fields, validate

from app.common.dumping import plan_of, run_plan
from app.common.phones import InvalidPhone, normalize_phone


class Schema(marshmallow.Schema):
    """Every schema of the API: marshmallow's, with its dump compiled once per schema instance (app/common/dumping.py).

    Hooks (pre_dump, post_dump) and `many` work as in marshmallow, which still serializes the fields the plan does
    not know.
    """

    def _serialize(self, obj, *, many: bool = False):
        plan = plan_of(self)
        if plan is None:
            return super()._serialize(obj, many=many)
        if many and obj is not None:
            return [run_plan(self, plan, each) for each in obj]
        return run_plan(self, plan, obj)


class StrictSchema(Schema):
    """Input schemas reject unknown fields (marshmallow's default), naming them."""


class PhoneField(fields.String):
    """A phone number in, E.164 out. The default region is RU; services re-parse with the shop's."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).setdefault("example", "+79161234567")
        super().__init__(validate=validate.Length(min=5, max=32), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalize_phone(raw)
        except InvalidPhone as exc:
            raise ValidationError(str(exc)) from exc


class DateRangeArgs(Schema):
    date_from = fields.AwareDateTime(data_key="from", metadata={"description": "From (ISO 8601, inclusive)."})
    date_to = fields.AwareDateTime(data_key="to", metadata={"description": "To (ISO 8601, exclusive)."})
