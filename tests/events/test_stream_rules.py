"""The stream's rules without its process: the in-memory role filter agrees with the feed's SQL, the API refuses
to hold streams (421), tickets are single-use grants, and a stream's rights are re-checked in a few statements."""

from __future__ import annotations

import itertools

import pytest
from flask_jwt_extended import decode_token

from app import create_app
from app.auth.tokens import start_session
from app.config import TestConfig
from app.events import outbox, services, stream, tickets
from app.events.models import Audience
from app.extensions import db
from app.users.models import Role
from tests.factories import MembershipFactory, UserFactory

STREAM = "/api/v1/events/stream"
TYPES = ["order.created", "order.status_changed", "task.assigned", "delivery.assigned", "stock.low"]


def test_the_in_memory_filter_gives_every_role_exactly_what_the_feed_query_gives(shop):
    """Every audience × courier × florist combination, read by every role as two users: one rule, two forms."""
    people = [101, 102]
    for n, (audience, courier_id, florist_id) in enumerate(
        itertools.product([Audience.STAFF, Audience.COURIER, Audience.FLORIST], [None, *people], [None, *people])
    ):
        outbox.record(
            TYPES[n % len(TYPES)],
            shop_id=shop.id,
            subject_type="stock",
            subject_id=str(n),
            audience=audience,
            courier_id=courier_id,
            florist_id=florist_id,
            data={"n": n},
        )
    db.session.commit()
    rows = services.read_for_stream(shop_id=shop.id, after=0, limit=500)
    assert len(rows) == 27
    for role, user_id, types in itertools.product(Role, people, [None, ["order.*"], ["stock.low", "task.assigned"]]):
        by_sql = [e["position"] for e in services.read(shop_id=shop.id, role=role, user_id=user_id, after=0,
                                                       types=types, limit=500)]  # fmt: skip
        in_memory = [
            r["position"]
            for r in rows
            if services.visible_row(r, role, user_id) and services.type_matches(r["type"], types)
        ]
        assert in_memory == by_sql, (role, user_id, types)
        assert by_sql or role in (Role.COURIER, Role.FLORIST) or types
    assert services.newest_position(shop.id) == rows[-1]["position"]


def test_the_api_does_not_hold_streams_it_names_the_events_service(manager):
    answer = manager.get(STREAM)
    assert answer.status_code == 421 and answer.is_json
    body = answer.get_json()
    assert body["code"] == 421 and "events service" in body["message"]


def test_a_ticket_is_a_grant_taken_once(app, manager, shop):
    issued = manager.post("/api/v1/events/tickets")
    assert issued.status_code == 201
    grant = tickets.redeem_ticket(issued.get_json()["ticket"])
    assert (grant.user_id, grant.shop_id, grant.role) == (manager.user.id, shop.id, Role.MANAGER)
    assert tickets.redeem_ticket(issued.get_json()["ticket"]) is None
    assert tickets.redeem_ticket("made-up") is None


def test_rights_of_many_streams_are_checked_in_three_statements(app, shop, other_shop, count_queries):
    grants = []
    for role in ("manager", "florist", "courier"):
        user = UserFactory()
        MembershipFactory(user=user, shop=shop, role=role)
        db.session.flush()
        claims = decode_token(start_session(user, method="password")["access_token"])
        grants.append(tickets.grant_from_token(user_id=user.id, shop_id=shop.id, role=Role(role), claims=claims))
    wrong_shop = tickets.StreamGrant(grants[0].user_id, other_shop.id, Role.MANAGER, grants[0].session_id, 0, None)
    with count_queries() as statements:
        reasons = stream.lost_rights([*grants, wrong_shop])
    assert reasons == [None, None, None, "membership changed"]
    assert len(statements) == 3


@pytest.mark.parametrize("value", ["abc", "-1", "99999999999999999999"])
def test_a_last_event_id_that_is_no_position_is_refused(app, value):
    with app.test_request_context(), pytest.raises(stream.RuleViolation):
        stream.resume_after(value, 0)


def test_the_events_service_app_answers_the_stream_health_and_metrics_only():
    events_app = stream.serve_stream_only(create_app(TestConfig()))
    client = events_app.test_client()
    assert client.get("/health").status_code == 200
    assert client.get("/metrics").status_code == 200
    refused = client.get("/api/v1/orders")
    assert refused.status_code == 421 and "events service" in refused.get_json()["message"]
    assert client.get(STREAM).status_code == 401  # served here: it asks for a login
