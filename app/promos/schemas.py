"""Promo code schemas: money and percents as decimal strings."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import fields, validate, validates_schema
from marshmallow.exceptions import ValidationError

from app.common.schemas import MAX_ID, MAX_PRICE, AwareDateTime, Money, Schema, StrictSchema
from app.promos.models import PROMO_KINDS
from app.users.schemas import no_nul

CODE_FIELD = {
    "validate": [
        validate.Length(min=1, max=40),
        validate.Regexp(r"^\s*[\w-]+\s*$", error="Letters, digits, '-' and '_' only."),
        no_nul,
    ],
    "metadata": {"example": "SPRING10", "description": "Case-insensitive; stored upper-cased."},
}
VALUE_DOC = {"description": "Percent (0-100) for kind=percent, an amount of money for kind=fixed."}


class PromoCodeSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": list(PROMO_KINDS)})
    value = Money(required=True, dump_only=True, metadata=VALUE_DOC)
    min_order_total = Money(required=True, dump_only=True)
    max_uses = fields.Integer(required=True, allow_none=True, metadata={"description": "null: unlimited."})
    uses = fields.Integer(required=True, metadata={"description": "Orders that used it (cancelled ones give it back)."})
    valid_from = AwareDateTime(required=True, allow_none=True)
    valid_until = AwareDateTime(required=True, allow_none=True)
    active = fields.Boolean(required=True)
    created_at = AwareDateTime(required=True)
    updated_at = AwareDateTime(required=True)


def _valid_window(data: dict) -> None:
    start, end = data.get("valid_from"), data.get("valid_until")
    if start is not None and end is not None and end <= start:
        raise ValidationError("Must be later than valid_from.", field_name="valid_until")


class PromoCodeCreateSchema(StrictSchema):
    code = fields.String(required=True, **CODE_FIELD)
    kind = fields.String(required=True, validate=validate.OneOf(PROMO_KINDS))
    value = Money(required=True, maximum=MAX_PRICE, metadata=VALUE_DOC)
    min_order_total = Money(load_default=Decimal("0"))
    max_uses = fields.Integer(
        strict=True, allow_none=True, load_default=None, validate=validate.Range(min=1, max=MAX_ID)
    )
    valid_from = AwareDateTime(allow_none=True, load_default=None)
    valid_until = AwareDateTime(allow_none=True, load_default=None)
    active = fields.Boolean(load_default=True)

    @validates_schema
    def _rules(self, data, **kwargs):
        if data.get("kind") == "percent" and data.get("value") is not None and data["value"] > 100:
            raise ValidationError("At most 100 for a percent code.", field_name="value")
        _valid_window(data)


class PromoCodeUpdateSchema(StrictSchema):
    code = fields.String(**CODE_FIELD)
    kind = fields.String(validate=validate.OneOf(PROMO_KINDS))
    value = Money(maximum=MAX_PRICE, metadata=VALUE_DOC)
    min_order_total = Money()
    max_uses = fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=0, max=MAX_ID),
        metadata={"description": "null: unlimited; below the uses made, the code is used up."},
    )
    valid_from = AwareDateTime(allow_none=True)
    valid_until = AwareDateTime(allow_none=True)
    active = fields.Boolean()

    @validates_schema
    def _rules(self, data, **kwargs):
        _valid_window(data)


class PromoCodeQueryArgsSchema(Schema):
    active = fields.Boolean()
    q = fields.String(validate=[validate.Length(min=1, max=40), no_nul], metadata={"description": "Part of the code."})
