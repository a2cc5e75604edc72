"""The customers API: customers, their occasion dates, export and anonymization (admins and managers)."""

from __future__ import annotations

from flask import request
from flask.views import MethodView

from app import privacy
from app.auth.access import MANAGERS, current_shop, shop_access
from app.common.api import Blueprint
from app.customers import services
from app.customers.schemas import (
    CustomerCreateSchema,
    CustomerExportSchema,
    CustomerQueryArgsSchema,
    CustomerSchema,
    CustomerUpdateSchema,
    OccasionDateCreateSchema,
    OccasionDateSchema,
    OccasionDateUpdateSchema,
)
from app.idempotency.decorators import idempotent

ETAG_HEADER = {"ETag": {"description": "The customer's version, for If-Match.", "schema": {"type": "string"}}}
IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": "The ETag you read; 412 if the customer changed since.",
}

blp = Blueprint("customers", __name__, url_prefix="/api/v1/customers", description="Customers and their dates.")


def _shop_id() -> int:
    return current_shop().shop_id


def _actor_id() -> int:
    return current_shop().user.id


def _with_tag(customer, status: int = 200):
    return customer, status, {"ETag": services.customer_tag(customer)}


@blp.route("")
class Customers(MethodView):
    @shop_access(*MANAGERS)
    @blp.arguments(CustomerQueryArgsSchema, location="query")
    @blp.response(200, CustomerSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Customers, newest first; `q` matches part of the name or digits of the phone."""
        customers, total = services.list_customers(
            shop_id=_shop_id(),
            q=args.get("q"),
            marketing_consent=args.get("marketing_consent"),
            language=args.get("language"),
            anonymized=args.get("anonymized"),
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return customers

    @shop_access(*MANAGERS)
    @idempotent
    @blp.arguments(CustomerCreateSchema)
    @blp.response(201, CustomerSchema, headers=ETAG_HEADER)
    @blp.alt_response(409, description="Another customer of the shop has this phone (`errors.customer_id` names them).")
    def post(self, data):
        """Add a customer; the phone is parsed with the shop's country as the default region."""
        return _with_tag(services.create_customer(shop_id=_shop_id(), actor_id=_actor_id(), data=data), 201)


@blp.route("/<int:customer_id>")
class CustomerById(MethodView):
    @shop_access(*MANAGERS)
    @blp.response(200, CustomerSchema, headers=ETAG_HEADER)
    def get(self, customer_id):
        """One customer."""
        return _with_tag(services.get_customer(shop_id=_shop_id(), customer_id=customer_id))

    @shop_access(*MANAGERS)
    @blp.arguments(CustomerUpdateSchema)
    @blp.response(200, CustomerSchema, headers=ETAG_HEADER)
    @blp.alt_response(409, description="The phone is another customer's, or the customer was anonymized.")
    @blp.alt_response(412, description="If-Match does not match: the customer changed since they were read.")
    @blp.doc(parameters=[IF_MATCH])
    def patch(self, data, customer_id):
        """Change a customer; send If-Match with the ETag you read to avoid overwriting someone's change."""
        customer = services.update_customer(
            shop_id=_shop_id(),
            customer_id=customer_id,
            actor_id=_actor_id(),
            data=data,
            if_match=request.headers.get("If-Match"),
        )
        return _with_tag(customer)

    @shop_access(*MANAGERS)
    @blp.response(204)
    @blp.alt_response(409, description="The customer has orders: anonymize them instead.")
    def delete(self, customer_id):
        """Delete a customer who never ordered; one with orders is anonymized instead (409 says so)."""
        services.delete_customer(shop_id=_shop_id(), customer_id=customer_id, actor_id=_actor_id())


@blp.route("/<int:customer_id>/dates")
class CustomerDates(MethodView):
    @shop_access(*MANAGERS)
    @blp.response(200, OccasionDateSchema(many=True))
    @blp.paginate()
    def get(self, customer_id, pagination_parameters):
        """The customer's occasion dates, in calendar order."""
        dates, total = services.list_dates(
            shop_id=_shop_id(),
            customer_id=customer_id,
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return dates

    @shop_access(*MANAGERS)
    @idempotent
    @blp.arguments(OccasionDateCreateSchema)
    @blp.response(201, OccasionDateSchema)
    @blp.alt_response(409, description="The customer was anonymized.")
    def post(self, data, customer_id):
        """Add a date to remind of (29 February is fine; 31 April is not)."""
        return services.add_date(shop_id=_shop_id(), customer_id=customer_id, actor_id=_actor_id(), data=data)


@blp.route("/<int:customer_id>/dates/<int:date_id>")
class CustomerDateById(MethodView):
    @shop_access(*MANAGERS)
    @blp.arguments(OccasionDateUpdateSchema)
    @blp.response(200, OccasionDateSchema)
    def patch(self, data, customer_id, date_id):
        """Change a date, its reminder lead time, or switch its reminders off."""
        return services.update_date(
            shop_id=_shop_id(), customer_id=customer_id, date_id=date_id, actor_id=_actor_id(), data=data
        )

    @shop_access(*MANAGERS)
    @blp.response(204)
    def delete(self, customer_id, date_id):
        """Remove a date."""
        services.delete_date(shop_id=_shop_id(), customer_id=customer_id, date_id=date_id, actor_id=_actor_id())


@blp.route("/<int:customer_id>/export")
class CustomerExport(MethodView):
    @shop_access(*MANAGERS)
    @blp.response(200, CustomerExportSchema)
    def get(self, customer_id):
        """Everything held about the customer, as JSON: the record, dates, audit trail and orders."""
        return privacy.export_customer(shop_id=_shop_id(), customer_id=customer_id)


@blp.route("/<int:customer_id>/anonymize")
class CustomerAnonymize(MethodView):
    @shop_access(*MANAGERS)
    @idempotent
    @blp.response(200, CustomerSchema, headers=ETAG_HEADER)
    def post(self, customer_id):
        """Erase the customer's personal data for good (orders stay for the books); repeating it changes nothing."""
        return _with_tag(privacy.anonymize_customer(shop_id=_shop_id(), customer_id=customer_id, actor_id=_actor_id()))
