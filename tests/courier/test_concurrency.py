"""The courier app on a flaky network, with real threads and real commits on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.orders.orderdata import history_of, run_in_parallel
from tests.production.workshop import DELIVERIES, clients_like, delivery_in, order_row, payments_of

pytestmark = pytest.mark.committed
# The phone's time of a delivery made earlier today (no pickup is recorded: the order is put out for delivery).
BODY = {"amount_collected": "3200.00", "completed_at": "2025-01-02T12:41:00+03:00"}


@pytest.mark.parametrize("same_key", [False, True], ids=["no key", "one Idempotency-Key"])
def test_deliver_retried_five_times_at_once_delivers_and_takes_the_cash_once(app, front, as_role, same_key):
    courier = as_role("courier")
    order_id = delivery_in(front, "out_for_delivery", courier)
    headers = {"Idempotency-Key": "deliver-0423-0017"} if same_key else {}

    responses = run_in_parallel(
        [
            lambda c=c: c.post(f"{DELIVERIES}/{order_id}/deliver", json=BODY, headers=headers)
            for c in clients_like(app, courier, 5)
        ]
    )

    assert [r.status_code for r in responses] == [200] * 5
    assert all(r.json["status"] == "delivered" and r.json["amount_due"] == "0.00" for r in responses)
    assert history_of(order_id).count(("out_for_delivery", "delivered")) == 1
    assert len(payments_of(order_id)) == 1
    assert order_row(order_id).paid_amount == 3200


def test_a_deliver_racing_a_cancel_either_delivers_or_hears_409_never_both(app, front, boss, as_role):
    courier = as_role("courier")
    order_id = delivery_in(front, "out_for_delivery", courier)

    delivered, cancelled = run_in_parallel(
        [
            lambda: courier.post(f"{DELIVERIES}/{order_id}/deliver", json=BODY),
            lambda: boss.post(f"/api/v1/orders/{order_id}/status", json={"status": "cancelled", "comment": "called"}),
        ]
    )

    final = order_row(order_id).status
    assert sorted([delivered.status_code, cancelled.status_code]) == [200, 409]
    if final == "delivered":
        assert len(payments_of(order_id)) == 1 and cancelled.status_code == 409
    else:
        assert final == "cancelled" and payments_of(order_id) == []
        assert delivered.json["errors"]["delivery"]["status"] == "cancelled"
