"""The event log over HTTP: the catch-up feed, stream tickets, and the live stream (served by the events service,
app/events/stream.py; the API itself answers the stream's address with 421 outside dev mode)."""

from flask import request
from flask.views import MethodView
from flask_jwt_extended import get_jwt

from app.auth.access import STAFF_ROLES, current_shop, shop_access
from app.common.api import Blueprint
from app.errors import Unauthorized
from app.events import services, stream, tickets
from app.events.schemas import FeedArgsSchema, FeedSchema, StreamArgsSchema, TicketSchema

blp = Blueprint("events", __name__, url_prefix="/api/v1/events", description="What happened in the shop, in order.")

STREAM_RESPONSES = {
    "200": {
        "description": "Server-Sent Events: `id:` the position, `event:` the type, `data:` the event as in the feed; "
        "a `: heartbeat` comment every 15 s.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    "421": {"description": "This server does not serve the stream: route it to the events service."},
}


@blp.route("")
class Feed(MethodView):
    @shop_access(*STAFF_ROLES)
    @blp.arguments(FeedArgsSchema, location="query")
    @blp.response(200, FeedSchema)
    def get(self, args):
        """The events after a position, oldest first: a courier gets their own deliveries, a florist their tasks."""
        context = current_shop()
        events = services.read(
            shop_id=context.shop_id,
            role=context.role,
            user_id=context.user.id,
            after=args["after"],
            types=args.get("types"),
            limit=args["limit"] + 1,
        )
        page = events[: args["limit"]]
        return {
            "events": page,
            "next_after": page[-1]["position"] if page else args["after"],
            "has_more": len(events) > len(page),
        }


@blp.route("/tickets")
class Tickets(MethodView):
    @shop_access(*STAFF_ROLES)
    @blp.response(201, TicketSchema)
    def post(self):
        """A single-use ticket for the stream, valid 60 s: for a browser's EventSource, which cannot send headers."""
        context = current_shop()
        grant = tickets.grant_from_token(
            user_id=context.user.id, shop_id=context.shop_id, role=context.role, claims=get_jwt()
        )
        return {"ticket": tickets.issue_ticket(grant), "expires_in": tickets.TICKET_SECONDS}


@shop_access(*STAFF_ROLES)
def _bearer_grant() -> tickets.StreamGrant:
    context = current_shop()
    return tickets.grant_from_token(
        user_id=context.user.id, shop_id=context.shop_id, role=context.role, claims=get_jwt()
    )


def _ticket_grant(ticket: str) -> tickets.StreamGrant:
    grant = tickets.redeem_ticket(ticket)
    if grant is None or stream.lost_rights([grant])[0] is not None:
        raise Unauthorized("The stream ticket is unknown, used, expired or its login ended; ask for a new one.")
    return grant


@blp.route("/stream")
class Stream(MethodView):
    @blp.arguments(StreamArgsSchema, location="query")
    @blp.doc(responses=STREAM_RESPONSES, security=[{"bearerAuth": []}, {}])
    def get(self, args):
        """New events as they commit (Server-Sent Events), after the ones you missed: the events service serves it.

        Authenticate with the Bearer header and X-Shop-Id, or with `?ticket=` from POST /api/v1/events/tickets.
        """
        stream.ensure_served_here()
        grant = _ticket_grant(args["ticket"]) if "ticket" in args else _bearer_grant()
        after = stream.resume_after(request.headers.get("Last-Event-ID"), args["after"])
        return stream.open_stream(grant, after=after, types=args.get("types"))
