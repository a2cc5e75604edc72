"""Delivery windows: `GET /delivery-slots?date=` (a day's windows and what is left of them), the weekly
windows (`/delivery-windows`) and a date's override (`/delivery-window-overrides`)."""

from __future__ import annotations

from flask import request
from flask.views import MethodView

from app.auth.access import MANAGERS, current_shop, shop_access
from app.common.api import Blueprint
from app.slots import services
from app.slots.schemas import (
    DeliverySlotQueryArgsSchema,
    DeliveryWindowSchema,
    OverrideQueryArgsSchema,
    OverrideSchema,
    OverrideUpdateSchema,
    WeeklyWindowQueryArgsSchema,
    WeeklyWindowSchema,
    WeeklyWindowUpdateSchema,
)

blp = Blueprint(
    "delivery_slots", __name__, url_prefix="/api/v1/delivery-slots", description="Delivery windows and capacity."
)
windows_blp = Blueprint(
    "delivery_windows", __name__, url_prefix="/api/v1/delivery-windows", description="Weekly delivery windows."
)
overrides_blp = Blueprint(
    "delivery_window_overrides",
    __name__,
    url_prefix="/api/v1/delivery-window-overrides",
    description="A date's delivery windows: replaced, adjusted, surcharged or closed.",
)

ETAG_HEADER = {"ETag": {"description": "The version, for If-Match.", "schema": {"type": "string"}}}
IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "schema": {"type": "string"},
    "description": "The ETag you read; 412 if it changed since, 428 if missing.",
}


def _shop_id() -> int:
    return current_shop().shop_id


def _actor_id() -> int:
    return current_shop().user.id


@blp.route("")
class DeliverySlots(MethodView):
    @shop_access()
    @blp.arguments(DeliverySlotQueryArgsSchema, location="query")
    @blp.response(200, DeliveryWindowSchema(many=True))
    def get(self, args):
        """The date's windows (weekly windows with the date's override applied), in shop time, with capacity
        taken and left; all of them, unpaginated."""
        return services.day_windows(shop_id=_shop_id(), delivery_date=args["date"])


# --- weekly windows ---------------------------------------------------------------------------------


def _window(row):
    return row, 200, {"ETag": services.window_tag(row)}


@windows_blp.route("")
class DeliveryWindows(MethodView):
    @shop_access()
    @windows_blp.arguments(WeeklyWindowQueryArgsSchema, location="query")
    @windows_blp.response(200, WeeklyWindowSchema(many=True))
    def get(self, args):
        """The shop's weekly windows by weekday and start (all of them, disabled ones too; unpaginated)."""
        return services.list_windows(shop_id=_shop_id(), weekday=args.get("weekday"))

    @shop_access(*MANAGERS)
    @windows_blp.arguments(WeeklyWindowSchema)
    @windows_blp.response(201, WeeklyWindowSchema, headers=ETAG_HEADER)
    @windows_blp.alt_response(422, description="Invalid, or overlaps another enabled window that weekday.")
    def post(self, data):
        """Add a weekly window (one weekday)."""
        row = services.create_window(shop_id=_shop_id(), actor_id=_actor_id(), data=data)
        return row, 201, {"ETag": services.window_tag(row)}


@windows_blp.route("/<int:window_id>")
class DeliveryWindowById(MethodView):
    @shop_access()
    @windows_blp.response(200, WeeklyWindowSchema, headers=ETAG_HEADER)
    def get(self, window_id):
        """One weekly window, with its ETag."""
        return _window(services.get_window(shop_id=_shop_id(), window_id=window_id))

    @shop_access(*MANAGERS)
    @windows_blp.arguments(WeeklyWindowUpdateSchema)
    @windows_blp.response(200, WeeklyWindowSchema, headers=ETAG_HEADER)
    @windows_blp.alt_response(412, description="If-Match does not match: the window changed since it was read.")
    @windows_blp.alt_response(422, description="Invalid, or overlaps another enabled window that weekday.")
    @windows_blp.alt_response(428, description="If-Match is missing.")
    @windows_blp.doc(parameters=[IF_MATCH])
    def patch(self, data, window_id):
        """Change a weekly window. Booked orders stay: a capacity below them makes the window over-booked and
        the managers are told."""
        row = services.update_window(
            shop_id=_shop_id(),
            window_id=window_id,
            actor_id=_actor_id(),
            data=data,
            if_match=request.headers.get("If-Match"),
        )
        return _window(row)

    @shop_access(*MANAGERS)
    @windows_blp.response(204)
    @windows_blp.alt_response(412, description="If-Match does not match: the window changed since it was read.")
    @windows_blp.alt_response(428, description="If-Match is missing.")
    @windows_blp.doc(parameters=[IF_MATCH])
    def delete(self, window_id):
        """Remove a weekly window; orders already booked in it stay (the managers are told)."""
        services.delete_window(
            shop_id=_shop_id(), window_id=window_id, actor_id=_actor_id(), if_match=request.headers.get("If-Match")
        )


# --- a date's override ----------------------------------------------------------------------------


def _override(row, status: int = 200):
    return row, status, {"ETag": services.override_tag(row)}


@overrides_blp.route("")
class DeliveryWindowOverrides(MethodView):
    @shop_access()
    @overrides_blp.arguments(OverrideQueryArgsSchema, location="query")
    @overrides_blp.response(200, OverrideSchema(many=True))
    def get(self, args):
        """The shop's date overrides by date, optionally from/to (inclusive); unpaginated."""
        return services.list_overrides(shop_id=_shop_id(), date_from=args.get("date_from"), date_to=args.get("date_to"))

    @shop_access(*MANAGERS)
    @overrides_blp.arguments(OverrideSchema)
    @overrides_blp.response(201, OverrideSchema, headers=ETAG_HEADER)
    @overrides_blp.alt_response(409, description="The date has an override already (`errors.date`).")
    @overrides_blp.alt_response(422, description="The override does not fit its mode or the weekday's windows.")
    def post(self, data):
        """Plan one date: replace its windows, adjust them (capacities, added windows), add a surcharge, or close it."""
        return _override(services.create_override(shop_id=_shop_id(), actor_id=_actor_id(), data=data), 201)


@overrides_blp.route("/<int:override_id>")
class DeliveryWindowOverrideById(MethodView):
    @shop_access()
    @overrides_blp.response(200, OverrideSchema, headers=ETAG_HEADER)
    def get(self, override_id):
        """One date override, with its ETag."""
        return _override(services.get_override(shop_id=_shop_id(), override_id=override_id))

    @shop_access(*MANAGERS)
    @overrides_blp.arguments(OverrideUpdateSchema)
    @overrides_blp.response(200, OverrideSchema, headers=ETAG_HEADER)
    @overrides_blp.alt_response(412, description="If-Match does not match: the override changed since it was read.")
    @overrides_blp.alt_response(422, description="The override does not fit its mode or the weekday's windows.")
    @overrides_blp.alt_response(428, description="If-Match is missing.")
    @overrides_blp.doc(parameters=[IF_MATCH])
    def patch(self, data, override_id):
        """Change a date's override (not its date). Booked orders stay: the managers hear of over-booked windows."""
        row = services.update_override(
            shop_id=_shop_id(),
            override_id=override_id,
            actor_id=_actor_id(),
            data=data,
            if_match=request.headers.get("If-Match"),
        )
        return _override(row)

    @shop_access(*MANAGERS)
    @overrides_blp.response(204)
    @overrides_blp.alt_response(412, description="If-Match does not match: the override changed since it was read.")
    @overrides_blp.alt_response(428, description="If-Match is missing.")
    @overrides_blp.doc(parameters=[IF_MATCH])
    def delete(self, override_id):
        """The date goes back to the weekly windows."""
        services.delete_override(
            shop_id=_shop_id(), override_id=override_id, actor_id=_actor_id(), if_match=request.headers.get("If-Match")
        )
