"""Order schemas. Money travels as decimal strings ("2900.00"); order line quantities are whole numbers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from marshmallow import ValidationError, fields, validate, validates_schema

from app.common.schemas import (
    AwareDateTime,
    DecimalString,
    Money,
    ObjectId,
    QueryId,
    Schema,
    StrictSchema,
    UserRefSchema,
    no_repeats,
)
from app.orders.models import Fulfillment, OrderSource, OrderStatus, PaymentMethod, PaymentStatus
from app.shops.schemas import validate_hh_mm

MAX_AMOUNT = Decimal("9999999999.99")
# Far enough for any real order; keeps date arithmetic in every time zone away from year 9999.
DATES = validate.Range(min=date(2000, 1, 1), max=date(2099, 12, 31))
STATUSES = [s.value for s in OrderStatus]
PAYMENT_STATUSES = [s.value for s in PaymentStatus]
OVERPAID_DOC = "Held beyond what the order costs (all that was paid, if cancelled): to refund."
STATUS_DOC = "`overpaid`: a provider confirmed more than was due, or the order was cancelled or cut after payment."
HH_MM_DOC = {"example": "10:00", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"}


def _hh_mm(**kwargs) -> fields.String:
    return fields.String(validate=validate_hh_mm, metadata={**HH_MM_DOC, **kwargs.pop("metadata", {})}, **kwargs)


# --- out -------------------------------------------------------------------------------------


class CustomerRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    phone = fields.String(required=True, allow_none=True, metadata={"description": "E.164; null once anonymized."})


class OrderItemSchema(Schema):
    id = fields.Integer(required=True)
    product_id = fields.Integer(required=True)
    product_name = fields.String(required=True, metadata={"description": "As it was called when sold."})
    unit_price = Money(required=True, dump_only=True, metadata={"description": "The price when it was ordered."})
    quantity = fields.Integer(required=True)
    line_total = Money(required=True, dump_only=True)
    needs_assembly = fields.Boolean(required=True)


class PaymentSchema(Schema):
    id = fields.Integer(required=True)
    amount = DecimalString(
        2, example="1500.00", required=True, dump_only=True, metadata={"description": "Negative: a refund."}
    )
    method = fields.String(required=True, metadata={"enum": [m.value for m in PaymentMethod]})
    provider_payment_id = fields.String(required=True, allow_none=True)
    note = fields.String(required=True)
    created_by_id = fields.Integer(required=True, allow_none=True)
    created_at = AwareDateTime(required=True)


class OrderSchema(Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True, metadata={"example": "0423-0017", "description": "Unique in the shop."})
    status = fields.String(required=True, metadata={"enum": STATUSES})
    fulfillment = fields.String(required=True, metadata={"enum": [f.value for f in Fulfillment]})
    source = fields.String(required=True, metadata={"enum": [s.value for s in OrderSource]})
    customer_id = fields.Integer(required=True)
    customer = fields.Nested(CustomerRefSchema, required=True)
    recipient_name = fields.String(required=True)
    recipient_phone = fields.String(required=True, allow_none=True)
    address = fields.String(required=True, allow_none=True, metadata={"description": "Null for pickups."})
    card_text = fields.String(required=True)
    comment = fields.String(required=True)
    delivery_date = fields.Date(required=True, metadata={"description": "The shop-local day of delivery or pickup."})
    window_start = fields.String(
        required=True, metadata={**HH_MM_DOC, "description": "Delivery window start, or the pickup time (shop time)."}
    )
    window_end = fields.String(required=True, allow_none=True, metadata={"description": "Null for pickups."})
    pickup_time = fields.String(required=True, allow_none=True, metadata={"description": "Null for deliveries."})
    scheduled_at = AwareDateTime(required=True, metadata={"description": "Window start or pickup time, UTC."})
    items = fields.List(fields.Nested(OrderItemSchema), required=True)
    subtotal = Money(required=True, dump_only=True)
    delivery_fee = Money(required=True, dump_only=True)
    discount = Money(required=True, dump_only=True)
    total = Money(required=True, dump_only=True, metadata={"description": "subtotal − discount + delivery_fee."})
    paid_amount = Money(required=True, dump_only=True, metadata={"description": "Payments less refunds."})
    amount_due = Money(required=True, dump_only=True, metadata={"description": "Still to collect; 0 if cancelled."})
    overpaid_amount = Money(required=True, dump_only=True, metadata={"description": OVERPAID_DOC})
    payment_status = fields.String(required=True, metadata={"enum": PAYMENT_STATUSES, "description": STATUS_DOC})
    promo_code = fields.String(required=True, allow_none=True)
    courier_id = fields.Integer(required=True, allow_none=True)
    courier = fields.Nested(UserRefSchema, required=True, allow_none=True)
    cost_of_goods = Money(
        required=True, allow_none=True, dump_only=True, metadata={"description": "Stock consumed, once it is."}
    )
    stock_short = fields.Boolean(
        required=True,
        dump_only=True,
        metadata={
            "description": "Stems it held were written off (or counted missing) and no stock stood in: it cannot be "
            "assembled until stock of the item comes in or its lines are changed."
        },
    )
    version = fields.Integer(
        required=True,
        dump_only=True,
        metadata={"description": "Goes up with every change of the order (its ETag says the same); events carry it."},
    )
    created_at = AwareDateTime(required=True)
    updated_at = AwareDateTime(required=True)


class OrderDetailSchema(OrderSchema):
    payments = fields.List(fields.Nested(PaymentSchema), required=True)


class OrderExportSchema(OrderDetailSchema):
    """An order in a customer's data export."""


class StatusChangeSchema(Schema):
    id = fields.Integer(required=True)
    from_status = fields.String(required=True, allow_none=True, metadata={"description": "Null: created."})
    to_status = fields.String(required=True)
    actor = fields.Nested(UserRefSchema, required=True, allow_none=True)
    comment = fields.String(required=True)
    created_at = AwareDateTime(required=True)


class OrderPaymentSummarySchema(Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    total = Money(required=True, dump_only=True)
    paid_amount = Money(required=True, dump_only=True)
    amount_due = Money(required=True, dump_only=True)
    overpaid_amount = Money(required=True, dump_only=True, metadata={"description": OVERPAID_DOC})
    payment_status = fields.String(required=True, metadata={"enum": PAYMENT_STATUSES, "description": STATUS_DOC})


class PaymentResultSchema(Schema):
    payment = fields.Nested(PaymentSchema, required=True)
    order = fields.Nested(OrderPaymentSummarySchema, required=True)


# --- in --------------------------------------------------------------------------------------


class CustomerInputSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    phone = fields.String(required=True, validate=validate.Length(min=5, max=32), metadata={"example": "+79161234567"})


class OrderItemCreateSchema(StrictSchema):
    product_id = ObjectId(required=True)
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=999))
    unit_price = Money(
        load_only=True, metadata={"description": "Ignored: the server takes the price from the catalogue."}
    )


def _lines(**kwargs) -> fields.List:
    return fields.List(fields.Nested(OrderItemCreateSchema), validate=validate.Length(min=1, max=50), **kwargs)


OVERRIDE_WORKSHOP_DOC = (
    "Take the florist minutes even when the day has not enough left (managers and admins; audited). Without "
    "it, a spent day answers 409 with `errors.workshop`."
)


def _override_workshop():
    return fields.Boolean(load_default=False, metadata={"description": OVERRIDE_WORKSHOP_DOC})


class OrderCreateSchema(StrictSchema):
    customer_id = ObjectId(metadata={"description": "An existing customer; or send `customer`."})
    customer = fields.Nested(CustomerInputSchema, metadata={"description": "Found by phone in this shop, or created."})
    recipient_name = fields.String(
        validate=validate.Length(max=120), metadata={"description": "Default: the customer's name."}
    )
    recipient_phone = fields.String(
        validate=validate.Length(min=5, max=32), metadata={"description": "Default: the customer's phone."}
    )
    fulfillment = fields.String(required=True, validate=validate.OneOf([f.value for f in Fulfillment]))
    address = fields.String(validate=validate.Length(min=1, max=500), metadata={"description": "For delivery."})
    delivery_date = fields.Date(
        required=True, validate=DATES, metadata={"description": "The shop-local day of delivery or pickup."}
    )
    window_start = _hh_mm(metadata={"description": "Delivery: the start of one of the day's windows."})
    pickup_time = _hh_mm(metadata={"description": "Pickup: when the customer comes (shop time)."})
    card_text = fields.String(load_default="", validate=validate.Length(max=1000))
    comment = fields.String(load_default="", validate=validate.Length(max=2000))
    items = _lines(required=True)
    promo_code = fields.String(validate=validate.Length(min=1, max=40))
    source = fields.String(
        load_default=OrderSource.PHONE.value, validate=validate.OneOf([s.value for s in OrderSource])
    )
    override_workshop = _override_workshop()

    @validates_schema
    def _one_customer(self, data, **kwargs):
        if ("customer_id" in data) == ("customer" in data):
            raise ValidationError("Send either customer_id or customer (name and phone).", field_name="customer_id")

    @validates_schema
    def _lines_once(self, data, **kwargs):
        no_repeats(data.get("items") or [], "product_id", "items")

    @validates_schema
    def _where_and_when(self, data, **kwargs):
        if data.get("fulfillment") == Fulfillment.DELIVERY.value:
            errors = {name: ["Required for delivery."] for name in ("address", "window_start") if name not in data}
            if "pickup_time" in data:
                errors["pickup_time"] = ["Only for pickup."]
        elif data.get("fulfillment") == Fulfillment.PICKUP.value:
            errors = {name: ["Only for delivery."] for name in ("address", "window_start") if name in data}
            if "pickup_time" not in data:
                errors["pickup_time"] = ["Required for pickup."]
        else:
            return
        if errors:
            raise ValidationError(errors)


class OrderUpdateSchema(StrictSchema):
    recipient_name = fields.String(validate=validate.Length(max=120))
    recipient_phone = fields.String(validate=validate.Length(min=5, max=32))
    address = fields.String(validate=validate.Length(min=1, max=500), metadata={"description": "Delivery only."})
    card_text = fields.String(validate=validate.Length(max=1000))
    comment = fields.String(validate=validate.Length(max=2000))
    delivery_date = fields.Date(validate=DATES, metadata={"description": "Moves the order (and its window)."})
    window_start = _hh_mm(metadata={"description": "Delivery only: another window; capacity moves with it."})
    pickup_time = _hh_mm(metadata={"description": "Pickup only."})
    items = _lines(
        metadata={
            "description": "All the lines; products already on the order keep their price. Confirmed "
            "orders re-reserve stock, all or nothing."
        }
    )
    override_workshop = fields.Boolean(
        metadata={"description": "The florist minutes follow new lines or a new date; " + OVERRIDE_WORKSHOP_DOC}
    )

    @validates_schema
    def _lines_once(self, data, **kwargs):
        no_repeats(data.get("items") or [], "product_id", "items")


class StatusChangeCreateSchema(StrictSchema):
    status = fields.String(
        required=True,
        validate=validate.OneOf(STATUSES),
        metadata={"description": "Here: confirmed, ready (nothing to assemble), completed (pickup), cancelled."},
    )
    comment = fields.String(
        load_default="", validate=validate.Length(max=2000), metadata={"description": "Required to cancel."}
    )
    override_workshop = fields.Boolean(
        load_default=False,
        metadata={"description": "Confirming an order that holds no florist minutes yet; " + OVERRIDE_WORKSHOP_DOC},
    )


def _not_zero(value: Decimal) -> None:
    if value == 0:
        raise ValidationError("A payment is not zero.")


class PaymentCreateSchema(StrictSchema):
    amount = DecimalString(
        2,
        example="1500.00",
        required=True,
        validate=[validate.Range(min=-MAX_AMOUNT, max=MAX_AMOUNT), _not_zero],
        metadata={"description": "Money in; negative for a refund."},
    )
    method = fields.String(required=True, validate=validate.OneOf([m.value for m in PaymentMethod]))
    provider_payment_id = fields.String(
        validate=validate.Length(min=1, max=128),
        metadata={
            "description": "The payment provider's id, as a reference: one payment per id in the shop. It lifts no "
            "cap: a payment is at most the amount due."
        },
    )
    note = fields.String(load_default="", validate=validate.Length(max=1000))


class OrderQueryArgsSchema(Schema):
    status = fields.List(
        fields.String(validate=validate.OneOf(STATUSES)), metadata={"description": "Repeat for several."}
    )
    date_from = fields.Date(validate=DATES, metadata={"description": "Delivery (or pickup) day from, inclusive."})
    date_to = fields.Date(validate=DATES, metadata={"description": "Delivery (or pickup) day to, inclusive."})
    window_start = _hh_mm(metadata={"description": "Only the window starting at this time."})
    fulfillment = fields.String(validate=validate.OneOf([f.value for f in Fulfillment]))
    courier_id = QueryId()
    unassigned = fields.Boolean(metadata={"description": "Only orders without (true) or with (false) a courier."})
    customer_id = QueryId()
    q = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Part of the number, or of the customer's or recipient's name or phone."},
    )
    updated_since = AwareDateTime(metadata={"description": "Changed at or after (ISO 8601), for syncing."})
