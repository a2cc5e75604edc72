"""Catalogue schemas: categories, products, recipes and a product's cost."""

from __future__ import annotations

from marshmallow import fields, validate, validates_schema

from app.common.schemas import (
    AwareDateTime,
    DecimalString,
    Money,
    ObjectId,
    Quantity,
    QueryId,
    Schema,
    StrictSchema,
    no_repeats,
)
from app.storage import public_url


class CategorySchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    position = fields.Integer(required=True)
    created_at = AwareDateTime(required=True)
    updated_at = AwareDateTime(required=True)


class CategoryCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    position = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0, max=10000))


FLORIST_MINUTES_DOC = (
    "Florist minutes to make one, counted against the delivery date's workshop minutes. Null: from the recipe, "
    "5 minutes plus 1 per recipe unit (rounded up) if it needs assembly, else 0."
)
MAX_FLORIST_MINUTES = 10000


def _florist_minutes(**kwargs):
    return fields.Integer(
        allow_none=True,
        strict=True,
        validate=validate.Range(0, MAX_FLORIST_MINUTES),
        metadata={"description": FLORIST_MINUTES_DOC},
        **kwargs,
    )


class ProductSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    category_id = fields.Integer(allow_none=True, required=True)
    price = Money(required=True, dump_only=True)
    is_active = fields.Boolean(required=True)
    needs_assembly = fields.Boolean(required=True)
    florist_minutes = fields.Integer(allow_none=True, required=True, metadata={"description": FLORIST_MINUTES_DOC})
    image_url = fields.Function(
        lambda product: public_url(product.image_key),
        required=True,
        metadata={"type": ["string", "null"], "description": "Where the image is served (cached), or null."},
    )
    created_at = AwareDateTime(required=True)
    updated_at = AwareDateTime(required=True)


class ProductCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=5000))
    category_id = ObjectId(allow_none=True, load_default=None)
    price = Money(required=True)
    is_active = fields.Boolean(load_default=True)
    needs_assembly = fields.Boolean(
        load_default=True,
        metadata={"description": "A florist makes it (production task) rather than selling it as is."},
    )
    florist_minutes = _florist_minutes(load_default=None)


class ProductUpdateSchema(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(validate=validate.Length(max=5000))
    category_id = ObjectId(allow_none=True)
    price = Money()
    is_active = fields.Boolean()
    needs_assembly = fields.Boolean()
    florist_minutes = _florist_minutes()


class ProductQueryArgsSchema(Schema):
    category_id = QueryId()
    active = fields.Boolean(metadata={"description": "Only products on sale (true) or off sale (false)."})
    q = fields.String(validate=validate.Length(min=1, max=200), metadata={"description": "Part of the name."})


class ImageUploadSchema(Schema):
    image = fields.Raw(
        required=True,
        metadata={
            "type": "string",
            "format": "binary",
            "description": "JPEG, PNG or WebP, at most 10 MB and 25 megapixels (JPEG; 6 progressive), 6 (PNG), "
            "2 (WebP); kept at most 2048 px on the long side.",
        },
    )


class RecipeComponentSchema(Schema):
    item_id = fields.Integer(required=True)
    item_name = fields.String(required=True, attribute="item.name")
    unit = fields.String(required=True, attribute="item.unit")
    quantity = Quantity(required=True, dump_only=True, metadata={"description": "Per one product."})


class RecipeSchema(Schema):
    product_id = fields.Integer(required=True, attribute="id")
    components = fields.List(fields.Nested(RecipeComponentSchema), required=True)


class RecipeComponentInputSchema(StrictSchema):
    item_id = ObjectId(required=True)
    quantity = Quantity(required=True)


class RecipeUpdateSchema(StrictSchema):
    components = fields.List(fields.Nested(RecipeComponentInputSchema), required=True, validate=validate.Length(max=50))

    @validates_schema
    def _one_line_per_item(self, data, **kwargs):
        no_repeats(data.get("components", []), "item_id", "components")


class CostBatchSchema(Schema):
    batch_id = fields.Integer(required=True)
    expires_on = fields.Date(allow_none=True, required=True)
    quantity = Quantity(required=True, dump_only=True)
    unit_cost = Money(required=True, dump_only=True)


class CostComponentSchema(Schema):
    item_id = fields.Integer(required=True)
    item_name = fields.String(required=True)
    unit = fields.String(required=True)
    quantity = Quantity(required=True, dump_only=True, metadata={"description": "Per one product."})
    cost = Money(required=True, dump_only=True)
    available = Quantity(required=True, dump_only=True)
    missing = Quantity(
        required=True,
        dump_only=True,
        metadata={"description": "Not in stock now; priced at the item's latest unit cost."},
    )
    batches = fields.List(fields.Nested(CostBatchSchema), required=True)


class ProductCostSchema(Schema):
    product_id = fields.Integer(required=True)
    price = Money(required=True, dump_only=True)
    cost = Money(
        required=True, dump_only=True, metadata={"description": "The components from the batches expiring first."}
    )
    margin = DecimalString(
        2, example="1250.00", required=True, dump_only=True, metadata={"description": "Price - cost."}
    )
    margin_percent = DecimalString(
        1, example="62.5", allow_none=True, required=True, dump_only=True, metadata={"description": "Null at price 0."}
    )
    can_make = fields.Integer(
        allow_none=True, required=True, metadata={"description": "From available stock; null without a recipe."}
    )
    components = fields.List(fields.Nested(CostComponentSchema), required=True)
