"""A real `flask jobs worker` SIGKILLed (with its work horse) while the receiver is answering: the delivery is
not lost. Its row keeps the attempt's lease; once that runs out the sweep hands it to a new job, which a
second worker delivers (at least once: the receiver sees the same webhook-id twice and keeps one)."""

from __future__ import annotations

import time

import pytest

from app.extensions import db
from app.webhooks import jobs
from app.webhooks.models import WebhookDelivery
from tests.foundation.processes import AppProcesses
from tests.orders.orderdata import delivery, open_shop, place
from tests.webhooks.conftest import register
from tests.webhooks.receiver import Answer

pytestmark = pytest.mark.committed  # the workers read the rows over their own connections

TIMEOUT = 3  # WEBHOOK_TIMEOUT of the workers: the lease runs out TIMEOUT + LEASE_MARGIN s after the claim


def test_a_worker_killed_mid_delivery_still_delivers_after_the_sweep(app, shop, login, receiver, tmp_path):
    front = open_shop(shop)
    hook = register(login("admin"), receiver)
    receiver.script = [Answer(200, b"too late", delay=20)]  # the first attempt hangs until the worker is dead
    workers = AppProcesses(app, tmp_path / "workers.log", WEBHOOK_TIMEOUT=str(TIMEOUT))
    try:
        first = workers.worker()
        place(front, delivery(front))
        (held,) = receiver.wait_for(1, timeout=60)
        workers.kill(first)
        db.session.expire_all()
        row = db.session.scalars(select_delivery(hook["id"])).one()
        assert (row.status, row.attempts) == ("pending", 1)

        workers.worker()
        deadline = time.monotonic() + 60
        while len(receiver.requests) < 2:
            assert time.monotonic() < deadline, workers.output[-4000:]
            jobs.sweep_deliveries()  # what rq cron runs every 10 s
            time.sleep(0.5)
        again = receiver.requests[1]
        assert again.id == held.id and again.verified_by == [hook["secret"]]
        while True:
            db.session.expire_all()
            row = db.session.scalars(select_delivery(hook["id"])).one()
            if row.status != "pending" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert (row.status, row.attempts, row.response_status) == ("succeeded", 2, 200)
    finally:
        workers.stop()


def select_delivery(endpoint_id: int):
    return db.select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
