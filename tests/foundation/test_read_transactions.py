"""A GET runs its statements outside a transaction block; a write keeps its one transaction."""

from __future__ import annotations

import pytest
from flask import request
from psycopg.pq import TransactionStatus
from sqlalchemy import event

from app.extensions import db

pytestmark = pytest.mark.committed  # the app's own sessions, as in production (rolled-back tests bind one connection)


@pytest.fixture
def transaction_states(app):
    """(method, PostgreSQL's transaction status right after each statement) of the requests made meanwhile."""
    seen: list[tuple[str, TransactionStatus]] = []

    def record(connection, *_):
        seen.append((request.method, connection.connection.dbapi_connection.info.transaction_status))

    event.listen(db.engine, "after_cursor_execute", record)
    yield seen
    event.remove(db.engine, "after_cursor_execute", record)


def test_reads_hold_no_transaction_and_writes_hold_one(manager, transaction_states):
    created = manager.post("/api/v1/customers", json={"name": "Anna Petrova", "phone": "+79161234567"})
    assert created.status_code == 201, created.json
    listed = manager.get("/api/v1/customers")
    assert listed.status_code == 200
    card = manager.get(f"/api/v1/customers/{created.json['id']}")

    assert card.json["name"] == "Anna Petrova"
    assert [c["id"] for c in listed.json] == [created.json["id"]]
    states = {method: {state for m, state in transaction_states if m == method} for method in ("GET", "POST")}
    assert states == {"GET": {TransactionStatus.IDLE}, "POST": {TransactionStatus.INTRANS}}
