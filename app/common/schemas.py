"""Fields and base schemas shared by every domain."""

from __future__ import annotations

import decimal
from datetime import UTC
from decimal import Decimal

import marshmallow
from marshmallow import ValidationError, fields, validate, validates_schema

from app.common.phones import InvalidPhone, normalize_phone

MAX_ID = 2**31 - 1
MAX_PRICE = Decimal("999999999")  # NUMERIC(12, 2) holds ten integer digits
MAX_QUANTITY = Decimal("99999.999")


class Shaped(dict):
    """A resource as the API sends it (JSON-ready values), read by a shape for `schema` (app/common/shapes.py)."""

    __slots__ = ("schema",)


class Schema(marshmallow.Schema):
    """Every schema of the API. What a shape read for this schema is already its dump (app/common/shapes.py), and is
    sent as it is; anything else (ORM objects) marshmallow dumps."""

    def dump(self, obj, *, many: bool | None = None):
        many = self.many if many is None else many
        if many:
            if obj and all(type(each) is Shaped and each.schema is type(self) for each in obj):
                return list(obj)
        elif type(obj) is Shaped and obj.schema is type(self):
            return obj
        return super().dump(obj, many=many)


class StrictSchema(Schema):
    """Input schemas reject unknown fields (marshmallow's default), naming them."""


class ChangeSchema(Schema):
    """A PATCH body: at least one field, so a missing or empty body is a 422 rather than a change of nothing."""

    @validates_schema
    def _something_to_change(self, data, **kwargs):
        if not data:
            raise ValidationError("Send at least one field to change.")


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


class AwareDateTime(fields.AwareDateTime):
    """An instant with its offset; one that has no UTC time (0001-01-01T00:00:00+01:00) is refused, not a 500."""

    def _deserialize(self, value, attr, data, **kwargs):
        instant = super()._deserialize(value, attr, data, **kwargs)
        try:
            instant.astimezone(UTC)
        except OverflowError:
            raise ValidationError("Not a valid datetime: out of range in UTC.") from None
        return instant


class DateRangeArgs(Schema):
    date_from = AwareDateTime(data_key="from", metadata={"description": "From (ISO 8601, inclusive)."})
    date_to = AwareDateTime(data_key="to", metadata={"description": "To (ISO 8601, exclusive)."})


# --- money, quantities and references: decimals travel as strings ("0.500"), never floats ---------


class DecimalString(fields.Decimal):
    """A decimal as a string in and out; more decimal places than the column holds is an error, not a rounding."""

    def __init__(self, places: int, *, example: str, **kwargs):
        metadata = {"type": "string", "format": "decimal", "example": example, **kwargs.pop("metadata", {})}
        super().__init__(places=places, as_string=True, metadata=metadata, **kwargs)
        self.max_places = places

    def _validated(self, value):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        try:
            exponent = Decimal(str(value)).as_tuple().exponent
        except (decimal.InvalidOperation, ValueError, TypeError):
            raise self.make_error("invalid") from None
        if isinstance(exponent, int) and exponent < -self.max_places:
            raise ValidationError(f"At most {self.max_places} decimal places.")
        return super()._validated(value)


def Quantity(*, positive: bool = True, **kwargs) -> DecimalString:
    """A stock quantity: three decimal places (0.5 kg of eucalyptus)."""
    if "validate" not in kwargs and not kwargs.get("dump_only"):
        kwargs["validate"] = validate.Range(min=0, min_inclusive=not positive, max=MAX_QUANTITY)
    return DecimalString(3, example="12.500", **kwargs)


def Money(*, maximum: Decimal = MAX_PRICE, **kwargs) -> DecimalString:
    """An amount of money in the shop's currency: two decimal places."""
    if "validate" not in kwargs and not kwargs.get("dump_only"):
        kwargs["validate"] = validate.Range(min=0, max=maximum)
    return DecimalString(2, example="45.50", **kwargs)


def ObjectId(*, strict: bool = True, **kwargs) -> fields.Integer:
    """The id of a row: a positive 32-bit integer (in a query string, digits are fine)."""
    return fields.Integer(strict=strict, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def QueryId(**kwargs) -> fields.Integer:
    return ObjectId(strict=False, **kwargs)


def no_repeats(rows: list[dict], key: str, field: str = "lines") -> None:
    seen: set = set()
    for index, row in enumerate(rows):
        if row[key] in seen:
            raise ValidationError({index: {key: ["Appears twice in the list."]}}, field)
        seen.add(row[key])


class UserRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
