"""Warehouse schemas. Quantities and money travel as decimal strings ("0.500"), never floats."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from marshmallow import fields, validate, validates_schema

from app.common.schemas import (
    AwareDateTime,
    DateRangeArgs,
    Money,
    ObjectId,
    Quantity,
    QueryId,
    Schema,
    StrictSchema,
    UserRefSchema,
    no_repeats,
)
from app.warehouse.models import ItemKind, MovementKind, WriteOffReason

# One line's quantity and unit cost: their product (a line's cost) still fits NUMERIC(12, 2).
MAX_UNIT_COST = Decimal("99999.99")


# --- items -----------------------------------------------------------------------------------


class ItemSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": [k.value for k in ItemKind]})
    unit = fields.String(required=True, metadata={"example": "stem"})
    min_level = Quantity(required=True, dump_only=True)
    shelf_life_days = fields.Integer(allow_none=True, required=True)
    pack_size = fields.Integer(required=True, metadata={"description": "Sold by the wholesaler in packs of this many."})
    supplier = fields.String(allow_none=True, required=True)
    is_active = fields.Boolean(required=True)
    on_hand = Quantity(required=True, dump_only=True)
    reserved = Quantity(required=True, dump_only=True)
    available = Quantity(required=True, dump_only=True, metadata={"description": "On hand minus reserved."})
    created_at = AwareDateTime(required=True)
    updated_at = AwareDateTime(required=True)


class ItemCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    kind = fields.String(load_default=ItemKind.FLOWER.value, validate=validate.OneOf([k.value for k in ItemKind]))
    unit = fields.String(load_default="stem", validate=validate.Length(min=1, max=16))
    min_level = Quantity(positive=False, load_default=Decimal("0"))
    shelf_life_days = fields.Integer(
        strict=True,
        allow_none=True,
        load_default=None,
        validate=validate.Range(min=1, max=3650),
        metadata={"description": "Days a batch keeps; null for items that do not perish."},
    )
    pack_size = fields.Integer(
        strict=True,
        load_default=1,
        validate=validate.Range(min=1, max=100000),
        metadata={"description": "The wholesaler sells it in packs of this many; the purchase plan buys whole packs."},
    )
    supplier = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.Length(max=200),
        metadata={"description": "Who the shop buys it from; null: the supplier of its latest supply."},
    )


class ItemUpdateSchema(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=120))
    kind = fields.String(validate=validate.OneOf([k.value for k in ItemKind]))
    unit = fields.String(validate=validate.Length(min=1, max=16))
    min_level = Quantity(positive=False)
    shelf_life_days = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=3650))
    pack_size = fields.Integer(strict=True, validate=validate.Range(min=1, max=100000))
    supplier = fields.String(allow_none=True, validate=validate.Length(max=200))
    is_active = fields.Boolean()


class ItemQueryArgsSchema(Schema):
    kind = fields.String(validate=validate.OneOf([k.value for k in ItemKind]))
    active = fields.Boolean(metadata={"description": "Only active (true) or retired (false) items."})
    q = fields.String(validate=validate.Length(min=1, max=120), metadata={"description": "Part of the name."})


# --- batches and supplies --------------------------------------------------------------------


class BatchSchema(Schema):
    id = fields.Integer(required=True)
    item_id = fields.Integer(required=True)
    item_name = fields.String(required=True, attribute="item.name")
    supply_id = fields.Integer(allow_none=True, required=True)
    received_on = fields.Date(required=True)
    expires_on = fields.Date(allow_none=True, required=True)
    unit_cost = Money(required=True, dump_only=True)
    quantity = Quantity(required=True, dump_only=True, metadata={"description": "Received."})
    remaining = Quantity(required=True, dump_only=True)


class BatchQueryArgsSchema(Schema):
    item_id = QueryId()
    expiring_before = fields.Date(metadata={"description": "Batches that expire before this date."})
    expired = fields.Boolean(metadata={"description": "Batches already expired (true) or still good (false)."})
    include_empty = fields.Boolean(load_default=False, metadata={"description": "Also batches used up."})


class SupplyLineCreateSchema(StrictSchema):
    item_id = ObjectId(required=True)
    quantity = Quantity(required=True)
    unit_cost = Money(required=True, maximum=MAX_UNIT_COST)


class SupplyCreateSchema(StrictSchema):
    supplier = fields.String(required=True, validate=validate.Length(min=1, max=200))
    received_on = fields.Date(
        validate=validate.Range(min=date(2000, 1, 1)),
        metadata={"description": "The delivery's date, not in the future; today in the shop by default."},
    )
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    lines = fields.List(fields.Nested(SupplyLineCreateSchema), required=True, validate=validate.Length(min=1, max=200))

    @validates_schema
    def _one_line_per_item(self, data, **kwargs):
        no_repeats(data.get("lines", []), "item_id")


class SupplySchema(Schema):
    id = fields.Integer(required=True)
    supplier = fields.String(required=True)
    received_on = fields.Date(required=True)
    note = fields.String(required=True)
    created_by = fields.Nested(UserRefSchema, allow_none=True, required=True)
    created_at = AwareDateTime(required=True)
    total_cost = Money(required=True, dump_only=True)
    lines = fields.List(fields.Nested(BatchSchema), attribute="batches", required=True)


class SupplyQueryArgsSchema(Schema):
    received_from = fields.Date(metadata={"description": "Received on or after."})
    received_to = fields.Date(metadata={"description": "Received on or before."})
    supplier = fields.String(validate=validate.Length(min=1, max=200), metadata={"description": "Part of the name."})


# --- movements -------------------------------------------------------------------------------


class MovementSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": [k.value for k in MovementKind]})
    item_id = fields.Integer(required=True)
    item_name = fields.String(required=True, attribute="item.name")
    batch_id = fields.Integer(allow_none=True, required=True)
    quantity = Quantity(
        required=True,
        dump_only=True,
        metadata={"description": "Signed: the change of on hand, or of reserved for reservations and releases."},
    )
    unit_cost = Money(allow_none=True, required=True, dump_only=True)
    cost = Money(allow_none=True, required=True, dump_only=True)
    order_id = fields.Integer(allow_none=True, required=True)
    supply_id = fields.Integer(allow_none=True, required=True)
    write_off_id = fields.Integer(allow_none=True, required=True)
    count_id = fields.Integer(allow_none=True, required=True)
    user_id = fields.Integer(allow_none=True, required=True)
    reason = fields.String(allow_none=True, required=True)
    created_at = AwareDateTime(required=True)


class MovementQueryArgsSchema(DateRangeArgs):
    item_id = QueryId()
    kind = fields.String(validate=validate.OneOf([k.value for k in MovementKind]))
    order_id = QueryId()


# --- write-offs ------------------------------------------------------------------------------


class WriteOffLineCreateSchema(StrictSchema):
    item_id = ObjectId(required=True)
    quantity = Quantity(required=True)
    batch_id = ObjectId(allow_none=True, load_default=None, metadata={"description": "Else expiring first."})


class WriteOffCreateSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.OneOf([r.value for r in WriteOffReason]))
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    lines = fields.List(
        fields.Nested(WriteOffLineCreateSchema), required=True, validate=validate.Length(min=1, max=100)
    )


class WriteOffLineSchema(Schema):
    item_id = fields.Integer(required=True)
    item_name = fields.String(required=True, attribute="item.name")
    batch_id = fields.Integer(required=True)
    quantity = Quantity(required=True, dump_only=True, attribute="taken")
    unit_cost = Money(required=True, dump_only=True)
    cost = Money(required=True, dump_only=True)


class WriteOffSchema(Schema):
    id = fields.Integer(required=True)
    reason = fields.String(required=True, metadata={"enum": [r.value for r in WriteOffReason]})
    note = fields.String(required=True)
    cost = Money(required=True, dump_only=True, metadata={"description": "What the written-off stock cost."})
    created_by = fields.Nested(UserRefSchema, allow_none=True, required=True)
    created_at = AwareDateTime(required=True)
    lines = fields.List(fields.Nested(WriteOffLineSchema), required=True)


class WriteOffQueryArgsSchema(DateRangeArgs):
    reason = fields.String(validate=validate.OneOf([r.value for r in WriteOffReason]))
    created_by = QueryId(metadata={"description": "Who wrote it off (user id)."})


# --- counts ----------------------------------------------------------------------------------


class CountLineCreateSchema(StrictSchema):
    item_id = ObjectId(required=True)
    counted = Quantity(positive=False, required=True)


class CountCreateSchema(StrictSchema):
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    lines = fields.List(fields.Nested(CountLineCreateSchema), required=True, validate=validate.Length(min=1, max=500))

    @validates_schema
    def _one_line_per_item(self, data, **kwargs):
        no_repeats(data.get("lines", []), "item_id")


class CountLineSchema(Schema):
    item_id = fields.Integer(required=True)
    item_name = fields.String(required=True, attribute="item.name")
    expected = Quantity(required=True, dump_only=True, metadata={"description": "On hand before the count."})
    counted = Quantity(required=True, dump_only=True)
    difference = Quantity(required=True, dump_only=True)


class CountSchema(Schema):
    id = fields.Integer(required=True)
    note = fields.String(required=True)
    created_by = fields.Nested(UserRefSchema, allow_none=True, required=True)
    created_at = AwareDateTime(required=True)
    lines = fields.List(fields.Nested(CountLineSchema), required=True)


class CountQueryArgsSchema(DateRangeArgs):
    created_by = QueryId(metadata={"description": "Who counted (user id)."})
