"""A connection keeps the statements it prepared: they are prepared at their second run, and what only read ends
with a COMMIT, since psycopg forgets every prepared statement of a connection at a ROLLBACK (docs/decisions.md)."""

from __future__ import annotations

import pytest
from flask import has_request_context, request, request_tearing_down
from psycopg.pq import TransactionStatus
from sqlalchemy import event, text

from app.auth import otp
from app.extensions import db, queues
from tests.auth.conftest import log_in
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.committed  # the app's own sessions and connections, as in production

CUSTOMERS = "/api/v1/customers"


@pytest.fixture
def rollbacks(app):
    """Each request that sent PostgreSQL a ROLLBACK, or left a transaction open for the one its end sends (here the
    test's app context outlives the request, so that one would come only at the test's end)."""
    sent: list[str] = []

    def rolled_back(connection) -> None:
        if connection.connection.dbapi_connection.info.transaction_status != TransactionStatus.IDLE:
            sent.append(f"{request.method} {request.path}" if has_request_context() else "outside a request")

    def left_open(sender, **extra) -> None:
        if db.session().in_transaction():
            sent.append(f"{request.method} {request.path}, left open")
            db.session.rollback()

    event.listen(db.engine, "rollback", rolled_back)
    request_tearing_down.connect(left_open, app)
    yield sent
    request_tearing_down.disconnect(left_open, app)
    event.remove(db.engine, "rollback", rolled_back)


def test_a_statement_is_prepared_the_second_time_a_connection_runs_it(app):
    statement = text("SELECT count(*) FROM shops WHERE id > :id")
    with db.engine.connect() as connection:

        def prepared() -> list[str]:
            return list(connection.scalars(text("SELECT statement FROM pg_prepared_statements")))

        connection.execute(statement, {"id": 0})
        after_one = prepared()
        connection.execute(statement, {"id": 1})
        after_two = prepared()

    assert not any("FROM shops" in s for s in after_one), after_one
    assert any("FROM shops" in s for s in after_two), after_two


def test_logins_and_answers_that_wrote_nothing_end_without_a_rollback(app, shop, monkeypatch, rollbacks):
    http = app.test_client()
    monkeypatch.setattr(otp, "ANSWER_FLOOR_SECONDS", 0)
    manager = UserFactory()
    MembershipFactory(user=manager, shop=shop, role="manager")
    courier = UserFactory(password_hash=None)
    MembershipFactory(user=courier, shop=shop, role="courier")
    db.session.commit()

    # A password login: the pair's user is read before the commit, not reloaded after it.
    token = log_in(http, manager)["access_token"]
    # A code for an unknown phone: its lookup found nobody and wrote nothing.
    assert http.post("/api/v1/auth/otp/request", json={"phone": "+79990001122"}).status_code == 202
    # A code login.
    assert http.post("/api/v1/auth/otp/request", json={"phone": courier.phone}).status_code == 202
    code = queues.get("otp").get_jobs()[-1].args[2]["code"]
    signed_in = http.post("/api/v1/auth/otp/verify", json={"phone": courier.phone, "code": code})
    assert signed_in.status_code == 200
    assert signed_in.json["user"]["memberships"] == [{"shop_id": shop.id, "role": "courier"}]
    # A retried write answered from its key.
    headers = {"Authorization": f"Bearer {token}", "X-Shop-Id": str(shop.id), "Idempotency-Key": "add-anna"}
    body = {"name": "Anna Petrova", "phone": "+79161234567"}
    first = http.post(CUSTOMERS, json=body, headers=headers)
    again = http.post(CUSTOMERS, json=body, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert rollbacks == []

    # What a rule refused after the key was claimed is rolled back, as it must be.
    twin = http.post(CUSTOMERS, json=body, headers={**headers, "Idempotency-Key": "add-anna-twice"})
    assert twin.status_code == 409
    assert rollbacks == [f"POST {CUSTOMERS}"]
