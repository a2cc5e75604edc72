"""Receivers inside the network are refused in production: at registration for literal addresses and plain
http, and at delivery time for every address a name resolves to (against DNS rebinding)."""

from __future__ import annotations

import pytest

from app.webhooks import sending
from tests.orders.orderdata import delivery, place
from tests.webhooks.conftest import WEBHOOKS, deliveries, register, run_jobs


@pytest.fixture
def production_rules(app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", False)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/plain",  # plain http
        "https://127.0.0.1/hooks",  # loopback
        "https://[::1]:8443/hooks",
        "https://10.1.2.3/hooks",  # private
        "https://192.168.0.10/hooks",
        "https://172.16.5.4/hooks",
        "https://169.254.169.254/latest/meta-data",  # link-local: the cloud's metadata service
        "https://[fe80::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",  # loopback dressed as IPv6
        "https://0.0.0.0/hooks",
    ],
)
def test_production_refuses_inside_addresses_and_plain_http_at_registration(admin, production_rules, url):
    answer = admin.post(WEBHOOKS, json={"url": url, "event_types": ["order.*"]})
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["errors"]["url"]


def test_production_takes_a_public_https_receiver(admin, production_rules):
    answer = admin.post(WEBHOOKS, json={"url": "https://93.184.216.34/hooks", "event_types": ["order.*"]})
    assert answer.status_code == 201, answer.get_json()


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hooks", "http://10.1.2.3/hooks", "http://169.254.1.1/x"])
def test_the_operator_may_allow_inside_receivers(admin, url):
    answer = admin.post(WEBHOOKS, json={"url": url, "event_types": ["order.*"]})
    assert answer.status_code == 201, answer.get_json()


def test_a_name_resolving_to_loopback_is_refused_when_delivering(app, admin, front, receiver, monkeypatch):
    hook = register(admin, receiver, url=f"https://localhost:{receiver.port}/hooks")  # a name: checked when used
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", False)
    place(front, delivery(front))
    run_jobs(app)
    assert receiver.requests == []
    (row,) = deliveries(hook["id"])
    assert row.response_status is None and row.error.startswith("refused: the host resolves to a private")


def test_plain_http_registered_while_allowed_is_refused_once_it_is_not(app, admin, front, receiver, monkeypatch):
    hook = register(admin, receiver)
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", False)
    place(front, delivery(front))
    run_jobs(app)
    assert receiver.requests == []
    (row,) = deliveries(hook["id"])
    assert row.error.startswith("refused: plain http")


def test_the_connection_goes_to_the_checked_address_with_the_original_host(receiver):
    """The name is resolved once; the request reaches that address and still says which host it is for."""
    outcome = sending.post(
        f"http://localhost:{receiver.port}/hooks", b"{}", {"webhook-id": "evt_1"}, timeout=5, allow_private=True
    )
    assert outcome.status == 200
    (request,) = receiver.wait_for(1)
    assert request.headers["host"] == f"localhost:{receiver.port}"
