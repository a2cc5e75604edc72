from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from app.extensions import db, queues
from app.jobs.worker import build_worker
from app.webhooks.models import WebhookDelivery
from tests.orders.orderdata import Front, open_shop
from tests.webhooks.receiver import Receiver

WEBHOOKS = "/api/v1/webhooks"


@pytest.fixture
def front(shop) -> Front:
    return open_shop(shop)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def fast_retries(app, monkeypatch):
    """Retries 1 s apart (twice), a 2 s timeout: what the 24 h schedule does, in seconds."""
    monkeypatch.setitem(app.config, "WEBHOOK_RETRY_INTERVALS", [1, 1])
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT", 2)


def register(admin, receiver: Receiver, *, types=("order.*",), url: str | None = None, **fields) -> dict:
    """Register the receiver's URL as the admin; the receiver learns the secret, as its owner would."""
    response = admin.post(WEBHOOKS, json={"url": url or receiver.url, "event_types": list(types), **fields})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    receiver.secrets.append(body["secret"])
    return body


def run_jobs(app, *, wait_for_retry: float = 0) -> None:
    """Everything queued, on an in-process worker: the event dispatch, then the deliveries; with a scheduler,
    after `wait_for_retry` seconds, so retries that are due by then run too."""
    if wait_for_retry:
        time.sleep(wait_for_retry)
    build_worker(app, queues.all(), simple=True).work(burst=True, with_scheduler=bool(wait_for_retry))


def deliveries(endpoint_id: int) -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            db.select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id).order_by(WebhookDelivery.id)
        )
    )
