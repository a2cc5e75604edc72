"""Report schemas: the query arguments, and each report's JSON (whose tables are also its CSV files).

Money and quantities are decimal strings ("1250.00"), as everywhere in the API.
"""

from __future__ import annotations

from datetime import date

from marshmallow import ValidationError, fields, validate, validates_schema

from app.common.named_days import NAMED_DAYS
from app.common.schemas import DecimalString, Schema
from app.courier.models import FailureReason
from app.reports.periods import GroupBy
from app.reports.purchase_plan import DEFAULT_GROWTH
from app.reports.purchase_plan import MAX_DAYS as MAX_PLAN_DAYS
from app.reports.services import DEFAULT_EXPIRING_DAYS, DEFAULT_TOP
from app.warehouse.models import WriteOffReason

# Far enough for any real order; keeps date arithmetic in every time zone away from year 9999.
DATES = validate.Range(min=date(2000, 1, 1), max=date(2099, 12, 31))


def Money(**kwargs) -> DecimalString:
    return DecimalString(2, example="1250.00", dump_only=True, required=True, **kwargs)


def Quantity(**kwargs) -> DecimalString:
    return DecimalString(3, example="12.500", dump_only=True, required=True, **kwargs)


def Percent(**kwargs) -> DecimalString:
    return DecimalString(1, example="42.5", dump_only=True, required=True, allow_none=True, **kwargs)


def Count(**kwargs) -> fields.Integer:
    return fields.Integer(required=True, **kwargs)


# --- query arguments -------------------------------------------------------------------------


def _format_field() -> fields.String:
    return fields.String(
        load_default="json",
        validate=validate.OneOf(["json", "csv"]),
        metadata={"description": "`csv`: the report's table as a UTF-8 (with BOM) CSV file download."},
    )


def _table_field(tables: list[str]) -> fields.String:
    return fields.String(
        load_default=tables[0],
        validate=validate.OneOf(tables),
        metadata={"description": "Which of the report's tables the CSV file holds (JSON holds them all)."},
    )


class ReportRangeArgs(Schema):
    format = _format_field()
    date_from = fields.Date(
        data_key="from",
        validate=DATES,
        metadata={"description": "First shop-local day (default: 29 days before `to`)."},
    )
    date_to = fields.Date(
        data_key="to", validate=DATES, metadata={"description": "Last shop-local day, inclusive (default: today)."}
    )

    @validates_schema
    def _in_order(self, data, **kwargs):
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError("Must not be after `to`.", "from")


def _group_by_field() -> fields.String:
    return fields.String(
        load_default=GroupBy.DAY.value,
        validate=validate.OneOf([g.value for g in GroupBy]),
        metadata={"description": "Shop-local days, ISO weeks (Monday first) or calendar months."},
    )


class SalesQueryArgsSchema(ReportRangeArgs):
    group_by = _group_by_field()


class ProductsQueryArgsSchema(ReportRangeArgs):
    top = fields.Integer(
        load_default=DEFAULT_TOP,
        validate=validate.Range(min=1, max=50),
        metadata={"description": "How many top and bottom sellers."},
    )
    table = _table_field(["products", "categories"])


class CouriersQueryArgsSchema(ReportRangeArgs):
    """The range only: one row per courier over all of it."""


class StockQueryArgsSchema(Schema):
    format = _format_field()
    as_of = fields.Date(
        validate=DATES, metadata={"description": "Stock at the end of this shop-local day (default: now)."}
    )
    expiring_within_days = fields.Integer(
        load_default=DEFAULT_EXPIRING_DAYS,
        validate=validate.Range(min=0, max=365),
        metadata={"description": "Batches expiring within this many days of `as_of` (or expired already)."},
    )
    table = _table_field(["items", "expiring"])


class WriteOffsQueryArgsSchema(ReportRangeArgs):
    group_by = _group_by_field()
    table = _table_field(["rows", "by_reason", "by_item", "by_person"])


# --- sales -----------------------------------------------------------------------------------


class SalesFiguresSchema(Schema):
    orders = Count(metadata={"description": "Orders taken, cancelled ones not counted."})
    gross_sales = Money(metadata={"description": "Goods at their order prices, before discounts."})
    discounts = Money()
    delivery_fees = Money()
    refunds = Money(metadata={"description": "Money handed back on orders that were not cancelled."})
    revenue = Money(metadata={"description": "gross_sales - discounts + delivery_fees - refunds."})
    average_order = Money(allow_none=True, metadata={"description": "Order totals / orders; null with no orders."})
    cost_of_goods = Money(metadata={"description": "What the batches the orders consumed cost."})
    gross_margin = Money(metadata={"description": "revenue - cost_of_goods."})
    margin_percent = Percent(metadata={"description": "gross_margin / revenue in percent; null with no revenue."})
    uncosted_orders = Count(metadata={"description": "Orders not assembled yet: their cost of goods is not known."})
    cancelled_orders = Count()
    cancelled_total = Money(metadata={"description": "What the cancelled orders were worth."})
    cancelled_cost = Money(metadata={"description": "Stock already consumed by orders cancelled afterwards."})


class SalesPeriodSchema(SalesFiguresSchema):
    class Meta:
        fields = ("period_start", "period_end", *SalesFiguresSchema._declared_fields)  # the CSV's column order

    period_start = fields.Date(required=True, metadata={"description": "First day of the period within the range."})
    period_end = fields.Date(required=True, metadata={"description": "Last day of the period within the range."})


class ReportHeaderSchema(Schema):
    date_from = fields.Date(data_key="from", attribute="from", required=True)
    date_to = fields.Date(data_key="to", attribute="to", required=True)
    time_zone = fields.String(required=True, metadata={"description": "The shop's days are read in this zone."})
    currency = fields.String(required=True)


class SalesReportSchema(ReportHeaderSchema):
    group_by = fields.String(required=True, metadata={"enum": [g.value for g in GroupBy]})
    periods = fields.List(fields.Nested(SalesPeriodSchema), required=True)
    totals = fields.Nested(SalesFiguresSchema, required=True)


# --- products --------------------------------------------------------------------------------


class ProductFiguresSchema(Schema):
    units = Count()
    revenue = Money(metadata={"description": "Line totals less the line's share of the order's discount."})
    cost = Money(metadata={"description": "The line's share of its order's cost of goods, by what its recipe took."})
    margin = Money()
    margin_percent = Percent()
    uncosted_units = Count(metadata={"description": "Units in orders not assembled yet (no cost known)."})


class ProductLineSchema(ProductFiguresSchema):
    class Meta:
        fields = ("product_id", "product_name", "category_id", "category_name", *ProductFiguresSchema._declared_fields)

    product_id = Count()
    product_name = fields.String(required=True)
    category_id = fields.Integer(required=True, allow_none=True)
    category_name = fields.String(required=True, allow_none=True)


class CategoryLineSchema(ProductFiguresSchema):
    class Meta:
        fields = ("category_id", "category_name", *ProductFiguresSchema._declared_fields)

    category_id = fields.Integer(required=True, allow_none=True, metadata={"description": "null: no category."})
    category_name = fields.String(required=True, allow_none=True)


class ProductsReportSchema(ReportHeaderSchema):
    products = fields.List(
        fields.Nested(ProductLineSchema),
        required=True,
        metadata={"description": "Products sold in the range or on sale now, by revenue."},
    )
    categories = fields.List(fields.Nested(CategoryLineSchema), required=True)
    top_sellers = fields.List(fields.Nested(ProductLineSchema), required=True)
    bottom_sellers = fields.List(
        fields.Nested(ProductLineSchema), required=True, metadata={"description": "Lowest revenue first."}
    )


# --- stock -----------------------------------------------------------------------------------


class StockItemSchema(Schema):
    item_id = Count()
    item_name = fields.String(required=True)
    kind = fields.String(required=True)
    unit = fields.String(required=True)
    quantity = Quantity()
    value = Money(metadata={"description": "At the cost of the batches it is in."})
    batches = Count()


class ExpiringBatchSchema(Schema):
    batch_id = Count()
    item_id = Count()
    item_name = fields.String(required=True)
    unit = fields.String(required=True)
    received_on = fields.Date(required=True)
    expires_on = fields.Date(required=True)
    days_left = Count(metadata={"description": "Negative: expired that many days ago."})
    quantity = Quantity()
    unit_cost = Money()
    value = Money()


class StockReportSchema(Schema):
    as_of = fields.Date(required=True)
    time_zone = fields.String(required=True)
    currency = fields.String(required=True)
    expiring_within_days = Count()
    total_value = Money()
    expiring_value = Money()
    items = fields.List(fields.Nested(StockItemSchema), required=True)
    expiring = fields.List(fields.Nested(ExpiringBatchSchema), required=True)


# --- write-offs ------------------------------------------------------------------------------

REASONS = {"enum": [r.value for r in WriteOffReason]}


class WriteOffRowSchema(Schema):
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    reason = fields.String(required=True, metadata=REASONS)
    item_id = Count()
    item_name = fields.String(required=True)
    unit = fields.String(required=True)
    user_id = fields.Integer(required=True, allow_none=True, metadata={"description": "Who wrote it off."})
    user_name = fields.String(required=True, allow_none=True)
    quantity = Quantity()
    cost = Money()


class WriteOffsByReasonSchema(Schema):
    reason = fields.String(required=True, metadata=REASONS)
    write_offs = Count()
    cost = Money()


class WriteOffItemSchema(Schema):
    item_id = Count()
    item_name = fields.String(required=True)
    unit = fields.String(required=True)
    write_offs = Count()
    quantity = Quantity()
    cost = Money()


class WriteOffPersonSchema(Schema):
    user_id = fields.Integer(required=True, allow_none=True)
    user_name = fields.String(required=True, allow_none=True)
    write_offs = Count()
    cost = Money()


class WriteOffsReportSchema(ReportHeaderSchema):
    group_by = fields.String(required=True, metadata={"enum": [g.value for g in GroupBy]})
    total_cost = Money()
    total_write_offs = Count()
    rows = fields.List(fields.Nested(WriteOffRowSchema), required=True)
    by_reason = fields.List(fields.Nested(WriteOffsByReasonSchema), required=True)
    by_item = fields.List(fields.Nested(WriteOffItemSchema), required=True)
    by_person = fields.List(fields.Nested(WriteOffPersonSchema), required=True)


# --- couriers --------------------------------------------------------------------------------


# One column per failure reason, so the CSV stays one flat table: failed_nobody_home, failed_refused ...
CourierFiguresSchema = Schema.from_dict(
    {
        "deliveries": Count(metadata={"description": "Delivered in the range (by the server's time of hand-over)."}),
        "on_time": Count(
            metadata={"description": "Handed over inside the window, by the courier's own completion time."}
        ),
        "late": Count(metadata={"description": "Handed over after the window closed."}),
        "on_time_percent": Percent(metadata={"description": "on_time / deliveries in percent; null with none."}),
        "failed": Count(metadata={"description": "Failed trips, each the courier's who had the order then."}),
        **{
            f"failed_{reason.value}": Count(metadata={"description": f"Failed trips: {reason.value}."})
            for reason in FailureReason
        },
        "cash_collected": Money(metadata={"description": "Cash taken at the door on these deliveries."}),
    },
    name="CourierFiguresSchema",
)


class CourierLineSchema(CourierFiguresSchema):
    class Meta:
        fields = ("courier_id", "courier_name", *CourierFiguresSchema._declared_fields)

    courier_id = Count()
    courier_name = fields.String(required=True)


class CouriersReportSchema(ReportHeaderSchema):
    couriers = fields.List(
        fields.Nested(CourierLineSchema),
        required=True,
        metadata={"description": "Couriers of the shop and anyone who delivered in the range, by name."},
    )
    totals = fields.Nested(CourierFiguresSchema, required=True)


# --- purchase plan ---------------------------------------------------------------------------


class PurchasePlanQueryArgsSchema(Schema):
    format = _format_field()
    date_from = fields.Date(
        data_key="from", validate=DATES, metadata={"description": "First shop-local day to buy for (default: today)."}
    )
    date_to = fields.Date(
        data_key="to",
        validate=DATES,
        metadata={
            "description": f"Last shop-local day, inclusive (default: 6 days after `from`; at most {MAX_PLAN_DAYS})."
        },
    )
    growth = DecimalString(
        2,
        example="1.30",
        load_default=DEFAULT_GROWTH,
        validate=validate.Range(min=0, max=20),
        metadata={
            "description": "The forecast is last year's orders on the compared day × this (1.30: 30% more); 0: none."
        },
    )

    @validates_schema
    def _in_order(self, data, **kwargs):
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError("Must not be after `to`.", "from")


class PurchasePlanDaySchema(Schema):
    day = fields.Date(required=True)
    compared_with = fields.Date(
        required=True, metadata={"description": "The day of last year whose orders forecast this one."}
    )
    named_day = fields.String(
        required=True,
        allow_none=True,
        metadata={"enum": list(NAMED_DAYS), "description": "The peak day this is (compared by name), or null."},
    )


class PurchasePlanItemSchema(Schema):
    item_id = Count()
    item_name = fields.String(required=True)
    kind = fields.String(required=True)
    unit = fields.String(required=True)
    supplier = fields.String(
        required=True, allow_none=True, metadata={"description": "The item's supplier, else its latest supply's."}
    )
    ordered = Quantity(
        metadata={
            "description": "New orders' stems in the range, and what confirmed ones miss (their rest is reserved)."
        }
    )
    standing = Quantity(
        metadata={"description": "Standing orders' dates in the range whose orders are not made yet (then: ordered)."}
    )
    forecast = Quantity(
        metadata={"description": "Last year's compared days × growth, beyond the orders and standing dates booked."}
    )
    needed = Quantity(metadata={"description": "ordered + standing + forecast."})
    available = Quantity(metadata={"description": "On hand minus reserved, in batches still good on the first day."})
    from_stock = Quantity(metadata={"description": "What of `needed` free stock still good on each day covers."})
    shortfall = Quantity(metadata={"description": "needed - from_stock."})
    pack_size = Count()
    packs = Count()
    to_buy = Quantity(metadata={"description": "The shortfall rounded up to whole packs."})
    unit_cost = Money(
        allow_none=True, metadata={"description": "Of the item's latest batch; null if it never had one."}
    )
    cost = Money(allow_none=True, metadata={"description": "to_buy × unit_cost."})


class PurchasePlanTotalsSchema(Schema):
    cost = Money(metadata={"description": "What the plan costs (items with a known unit cost)."})


class PurchasePlanSchema(ReportHeaderSchema):
    growth = DecimalString(2, example="1.30", required=True)
    days = fields.List(fields.Nested(PurchasePlanDaySchema), required=True)
    items = fields.List(
        fields.Nested(PurchasePlanItemSchema),
        required=True,
        metadata={"description": "Items the range needs, by name; the CSV file's rows."},
    )
    totals = fields.Nested(PurchasePlanTotalsSchema, required=True)
