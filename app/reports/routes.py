"""The reports API: what the owner reads every evening, as JSON or as a CSV file (`format=csv`)."""

from __future__ import annotations

from flask.views import MethodView

from app.auth.access import MANAGERS, current_shop, shop_access
from app.common.api import Blueprint
from app.reports import purchase_plan, services
from app.reports.csvfile import CSV_DOC, csv_download
from app.reports.periods import GroupBy
from app.reports.schemas import (
    CouriersQueryArgsSchema,
    CouriersReportSchema,
    ProductsQueryArgsSchema,
    ProductsReportSchema,
    PurchasePlanQueryArgsSchema,
    PurchasePlanSchema,
    SalesQueryArgsSchema,
    SalesReportSchema,
    StockQueryArgsSchema,
    StockReportSchema,
    WriteOffsQueryArgsSchema,
    WriteOffsReportSchema,
)

blp = Blueprint(
    "reports",
    __name__,
    url_prefix="/api/v1/reports",
    description="Sales, products, couriers, stock and write-offs in the shop's own days; JSON or CSV.",
)


def _name(report: str, table: str | None, *days) -> str:
    parts = [report] + ([table] if table else []) + [day.isoformat() for day in days]
    return "_".join(parts) + ".csv"


@blp.route("/sales")
class SalesReport(MethodView):
    @shop_access(*MANAGERS)
    @blp.arguments(SalesQueryArgsSchema, location="query")
    @blp.response(200, SalesReportSchema)
    @blp.doc(responses=CSV_DOC)
    def get(self, args):
        """Orders, revenue, discounts, refunds, average order, cost of goods and gross margin per shop-local
        day, week or month; cancelled orders apart. An order counts on the day it was taken, a refund on the
        day the money went back. The CSV ends with a `total` row."""
        report = services.sales_report(
            shop_id=current_shop().shop_id,
            date_from=args.get("date_from"),
            date_to=args.get("date_to"),
            group_by=GroupBy(args["group_by"]),
        )
        if args["format"] == "csv":
            name = _name("sales", args["group_by"], report["from"], report["to"])
            return csv_download(SalesReportSchema(), report, table="periods", footer="totals", filename=name)
        return report


@blp.route("/products")
class ProductsReport(MethodView):
    @shop_access(*MANAGERS)
    @blp.arguments(ProductsQueryArgsSchema, location="query")
    @blp.response(200, ProductsReportSchema)
    @blp.doc(responses=CSV_DOC)
    def get(self, args):
        """Per product and per category: units, revenue, cost of goods and margin; top and bottom sellers."""
        report = services.products_report(
            shop_id=current_shop().shop_id,
            date_from=args.get("date_from"),
            date_to=args.get("date_to"),
            top=args["top"],
        )
        if args["format"] == "csv":
            name = _name("products", args["table"], report["from"], report["to"])
            return csv_download(ProductsReportSchema(), report, table=args["table"], filename=name)
        return report


@blp.route("/couriers")
class CouriersReport(MethodView):
    @shop_access(*MANAGERS)
    @blp.arguments(CouriersQueryArgsSchema, location="query")
    @blp.response(200, CouriersReportSchema)
    @blp.doc(responses=CSV_DOC)
    def get(self, args):
        """Per courier: deliveries, on time in percent (the courier's own completion time inside the window),
        failed trips by reason, cash collected. The CSV ends with a `total` row."""
        report = services.couriers_report(
            shop_id=current_shop().shop_id, date_from=args.get("date_from"), date_to=args.get("date_to")
        )
        if args["format"] == "csv":
            name = _name("couriers", None, report["from"], report["to"])
            return csv_download(CouriersReportSchema(), report, table="couriers", footer="totals", filename=name)
        return report


@blp.route("/stock")
class StockReport(MethodView):
    @shop_access(*MANAGERS)
    @blp.arguments(StockQueryArgsSchema, location="query")
    @blp.response(200, StockReportSchema)
    @blp.doc(responses=CSV_DOC)
    def get(self, args):
        """Stock value at cost per item and in total, now or at the end of a past day (from the movements);
        batches expiring soon, or expired and still on the shelf, with their value."""
        report = services.stock_report(
            shop_id=current_shop().shop_id,
            as_of=args.get("as_of"),
            expiring_within_days=args["expiring_within_days"],
        )
        if args["format"] == "csv":
            name = _name("stock", args["table"], report["as_of"])
            return csv_download(StockReportSchema(), report, table=args["table"], filename=name)
        return report


@blp.route("/write-offs")
class WriteOffsReport(MethodView):
    @shop_access(*MANAGERS)
    @blp.arguments(WriteOffsQueryArgsSchema, location="query")
    @blp.response(200, WriteOffsReportSchema)
    @blp.doc(responses=CSV_DOC)
    def get(self, args):
        """Stock thrown away: quantity and cost per period, reason, item and person; totals by each."""
        report = services.write_offs_report(
            shop_id=current_shop().shop_id,
            date_from=args.get("date_from"),
            date_to=args.get("date_to"),
            group_by=GroupBy(args["group_by"]),
        )
        if args["format"] == "csv":
            name = _name("write-offs", args["table"], report["from"], report["to"])
            return csv_download(WriteOffsReportSchema(), report, table=args["table"], filename=name)
        return report


@blp.route("/purchase-plan")
class PurchasePlan(MethodView):
    @shop_access(*MANAGERS)
    @blp.arguments(PurchasePlanQueryArgsSchema, location="query")
    @blp.response(200, PurchasePlanSchema)
    @blp.doc(responses=CSV_DOC)
    def get(self, args):
        """What to buy for the shop-local days `from`..`to` (a week from today by default), per warehouse item: the
        stems new orders take and confirmed ones miss, standing orders' dates not made yet, a forecast from last
        year's same (named) day × `growth`, minus free stock still good on the day, rounded up to whole packs;
        with its supplier, last unit cost and cost. docs/reports.md says how it counts. The CSV ends with a
        `total` row."""
        report = purchase_plan.purchase_plan(
            shop_id=current_shop().shop_id,
            date_from=args.get("date_from"),
            date_to=args.get("date_to"),
            growth=args["growth"],
        )
        if args["format"] == "csv":
            name = _name("purchase-plan", None, report["from"], report["to"])
            return csv_download(PurchasePlanSchema(), report, table="items", footer="totals", filename=name)
        return report
