"""`make run` (dev mode: SQLite, flask run, in-process Redis) serves the live stream by itself, with no other
process: a commit in the same process wakes it at once (its fallback poll is set to a minute here)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from app.seed import DEMO_PASSWORD, DEMO_STAFF
from tests.events.sse import StreamReader
from tests.test_dev_mode import Http, dev_env, first_seed, running_dev_server  # noqa: F401  fixtures

pytestmark = pytest.mark.committed  # no test database involved: it must not wrap this in a transaction


@pytest.fixture
def dev_stream_server(dev_env, first_seed, tmp_path) -> Iterator[tuple[int, Http]]:  # noqa: F811
    env = {**dev_env, "EVENTS_POLL_SECONDS": "60", "EVENTS_HEARTBEAT_SECONDS": "1"}
    with running_dev_server(env, tmp_path / "server.log") as server:
        yield server


def test_make_run_streams_a_status_change_as_it_commits(dev_stream_server):
    port, http = dev_stream_server
    _role, phone, _name, _email = DEMO_STAFF[0]
    status, _, body = http.request("POST", "/api/v1/auth/login", {"login": phone, "password": DEMO_PASSWORD})
    assert status == 200, body
    token = json.loads(body)["access_token"]
    after, more = 0, True
    while more:  # where the log stands: the feed's last page
        status, _, body = http.request("GET", f"/api/v1/events?limit=500&after={after}", token=token)
        assert status == 200, body
        after, more = json.loads(body)["next_after"], json.loads(body)["has_more"]

    status, _, body = http.request("GET", "/api/v1/orders?status=new", token=token)
    assert status == 200, body
    order_id = json.loads(body)[0]["id"]

    # Only the order's own events: confirming also makes the florists' tasks (task.created).
    reader = StreamReader(port, headers={"Authorization": f"Bearer {token}"}, after=after, types="order.*")
    try:
        assert reader.status == 200
        started = time.monotonic()
        status, _, body = http.request(
            "POST", f"/api/v1/orders/{order_id}/status", {"status": "confirmed"}, token=token
        )
        assert status == 200, body
        (event,) = reader.events(1, timeout=5)
        assert time.monotonic() - started < 2  # woken by the commit, not by the minute's poll
        assert (event.type, event.data["subject"]["id"], event.data["data"]["status"]) == (
            "order.status_changed",
            str(order_id),
            "confirmed",
        )
    finally:
        reader.close()
