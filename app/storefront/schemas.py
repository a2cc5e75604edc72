"""What the storefront takes and answers: no staff data (no costs, no staff, no other customers)."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import EXCLUDE, ValidationError, fields, validate, validates_schema

from app.common.schemas import AwareDateTime, DecimalString, Money, Schema, StrictSchema, no_repeats
from app.orders.models import Fulfillment, OrderSource, PaymentStatus
from app.orders.schemas import DATES, HH_MM_DOC, STATUSES, CustomerInputSchema, OrderCreateSchema, _hh_mm, _lines
from app.storage import public_url

STOREFRONT_SOURCES = [OrderSource.WEBSITE.value, OrderSource.MARKETPLACE.value]
MAX_AMOUNT = Decimal("9999999999.99")

# What a quote or an order refusal names as its problem.
PROBLEM_CODES = (
    "product_unavailable",
    "window_unknown",
    "window_closed",
    "window_full",
    "pickup_time_passed",
    "shortage",
    "promo_code",
)


# --- products and windows --------------------------------------------------------------------------------


class StorefrontProductQueryArgsSchema(Schema):
    date = fields.Date(
        validate=DATES,
        metadata={"description": "Say whether each product can be made for this day (shop-local); default today."},
    )


class StorefrontProductSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    price = Money(required=True, dump_only=True)
    category_id = fields.Integer(required=True, allow_none=True)
    category = fields.String(required=True, allow_none=True, metadata={"description": "The category's name."})
    image_url = fields.Function(
        lambda product: public_url(product["image_key"]),
        required=True,
        metadata={"type": ["string", "null"], "description": "The product's image (public), or null."},
    )
    needs_assembly = fields.Boolean(required=True)
    available = fields.Boolean(
        required=True,
        metadata={
            "description": "One can be made: every item of its recipe has enough stock not reserved by other orders "
            "(on the date asked, batches expired by then do not count). Products with no recipe: always."
        },
    )


class StorefrontSlotQueryArgsSchema(Schema):
    date = fields.Date(required=True, validate=DATES, metadata={"description": "The delivery date (shop-local)."})


class StorefrontWindowSchema(Schema):
    date = fields.Date(required=True)
    start = fields.String(required=True, metadata={"example": "10:00", "description": "Shop-local HH:MM."})
    end = fields.String(required=True, metadata={"example": "14:00", "description": "Shop-local HH:MM."})
    starts_at = AwareDateTime(required=True)
    ends_at = AwareDateTime(required=True)
    left = fields.Integer(required=True, metadata={"description": "Places left."})
    delivery_fee = Money(required=True, dump_only=True)
    open = fields.Boolean(required=True, metadata={"description": "Takes orders now (not started, not past cut-off)."})
    orders_until = AwareDateTime(
        required=True, metadata={"description": "The cut-off: the window takes orders until then (shop time)."}
    )


# --- quote ---------------------------------------------------------------------------------------------


class QuoteRequestSchema(Schema):
    """The order's lines and when; any other field of an order body (customer, address, card ...) is ignored,
    so a website may send the body it will order with."""

    class Meta:
        unknown = EXCLUDE

    fulfillment = fields.String(
        load_default=Fulfillment.DELIVERY.value, validate=validate.OneOf([f.value for f in Fulfillment])
    )
    delivery_date = fields.Date(required=True, validate=DATES)
    window_start = _hh_mm(metadata={"description": "Delivery: the start of one of the day's windows."})
    pickup_time = _hh_mm(metadata={"description": "Pickup: when the customer comes (shop time)."})
    items = _lines(required=True)
    promo_code = fields.String(validate=validate.Length(min=1, max=40))

    @validates_schema
    def _lines_once(self, data, **kwargs):
        no_repeats(data.get("items") or [], "product_id", "items")

    @validates_schema
    def _when(self, data, **kwargs):
        needed = "pickup_time" if data.get("fulfillment") == Fulfillment.PICKUP.value else "window_start"
        if needed not in data:
            raise ValidationError("Required for this fulfillment.", field_name=needed)


class QuoteLineSchema(Schema):
    product_id = fields.Integer(required=True)
    name = fields.String(required=True)
    unit_price = Money(required=True, dump_only=True)
    quantity = fields.Integer(required=True)
    line_total = Money(required=True, dump_only=True)


class QuoteWindowSchema(Schema):
    date = fields.Date(required=True)
    start = fields.String(required=True, metadata=HH_MM_DOC)
    end = fields.String(required=True, metadata=HH_MM_DOC)


class QuoteProblemSchema(Schema):
    code = fields.String(required=True, metadata={"enum": list(PROBLEM_CODES)})
    message = fields.String(required=True, metadata={"description": "For people, in the caller's language."})
    field = fields.String(required=True, metadata={"example": "items.0.product_id"})
    details = fields.Dict(
        keys=fields.String(),
        required=True,
        metadata={
            "description": "product_unavailable: product_id; window_*: date, start; shortage: item_id, name, "
            "needed, available, product_ids; promo_code: reason (unknown, inactive, not_yet_valid, expired, "
            "below_minimum, used_up)."
        },
    )


class QuoteSchema(Schema):
    ok = fields.Boolean(required=True, metadata={"description": "True: the order can be taken as it is now."})
    currency = fields.String(required=True, metadata={"example": "RUB"})
    items = fields.List(fields.Nested(QuoteLineSchema), required=True, metadata={"description": "Lines on sale."})
    subtotal = Money(required=True, dump_only=True)
    delivery_fee = Money(required=True, dump_only=True)
    discount = Money(required=True, dump_only=True)
    total = Money(required=True, dump_only=True, metadata={"description": "subtotal − discount + delivery_fee."})
    window = fields.Nested(QuoteWindowSchema, required=True, allow_none=True)
    problems = fields.List(
        fields.Nested(QuoteProblemSchema),
        required=True,
        metadata={"description": "Every reason the order cannot be taken now; empty when ok."},
    )


# --- orders --------------------------------------------------------------------------------------------


class StorefrontCustomerSchema(CustomerInputSchema):
    email = fields.Email(validate=validate.Length(max=254), metadata={"description": "Kept if they have none."})


class OnlinePaymentSchema(StrictSchema):
    provider = fields.String(required=True, validate=validate.Length(min=1, max=40), metadata={"example": "yookassa"})
    provider_payment_id = fields.String(
        required=True,
        validate=validate.Length(min=1, max=128),
        metadata={"description": "The provider's id of the payment: one payment per id in the shop."},
    )
    amount = DecimalString(
        2, example="3200.00", required=True, validate=validate.Range(min=Decimal("0.01"), max=MAX_AMOUNT)
    )


class StorefrontOrderCreateSchema(OrderCreateSchema):
    class Meta:
        exclude = ("customer_id", "override_workshop")  # a website never overrides the florists' minutes

    external_id = fields.String(
        required=True,
        # Printable ASCII without "/" or spaces: it is a path segment of GET /storefront/orders/{external_id}.
        validate=[validate.Length(min=1, max=100), validate.Regexp(r"^[\x21-\x2e\x30-\x7e]+$")],
        metadata={
            "description": "The website's own id of the order (printable ASCII, no `/` or spaces): sending it "
            "again answers the same order.",
            "example": "web-10452",
        },
    )
    source = fields.String(load_default=OrderSource.WEBSITE.value, validate=validate.OneOf(STOREFRONT_SOURCES))
    customer = fields.Nested(StorefrontCustomerSchema, required=True, metadata={"description": "Found by phone."})
    payment = fields.Nested(
        OnlinePaymentSchema,
        metadata={"description": "Money already paid online, recorded with the order."},
    )


class StorefrontOrderLineSchema(Schema):
    product_id = fields.Integer(required=True)
    product_name = fields.String(required=True)
    unit_price = Money(required=True, dump_only=True)
    quantity = fields.Integer(required=True)
    line_total = Money(required=True, dump_only=True)


class StorefrontOrderSchema(Schema):
    external_id = fields.String(required=True)
    number = fields.String(required=True, metadata={"example": "0423-0017"})
    status = fields.String(required=True, metadata={"enum": STATUSES})
    source = fields.String(required=True, metadata={"enum": STOREFRONT_SOURCES})
    fulfillment = fields.String(required=True, metadata={"enum": [f.value for f in Fulfillment]})
    delivery_date = fields.Date(required=True)
    window_start = fields.String(required=True, metadata={**HH_MM_DOC, "description": "Or the pickup time."})
    window_end = fields.String(required=True, allow_none=True)
    items = fields.List(fields.Nested(StorefrontOrderLineSchema), required=True)
    subtotal = Money(required=True, dump_only=True)
    delivery_fee = Money(required=True, dump_only=True)
    discount = Money(required=True, dump_only=True)
    total = Money(required=True, dump_only=True)
    paid_amount = Money(required=True, dump_only=True)
    payment_status = fields.String(required=True, metadata={"enum": [s.value for s in PaymentStatus]})
    created_at = AwareDateTime(required=True)
