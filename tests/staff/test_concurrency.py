"""Two admins at the same moment: demoting each other cannot leave a shop without an admin, and saving different
settings keeps both."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select, text

from app.extensions import db
from app.users.models import Membership
from tests.factories import MembershipFactory, ShopFactory, UserFactory
from tests.helpers import ApiClient
from tests.orders.orderdata import answered_behind_a_lock


def _race(clients: list[ApiClient], targets: list[int], change: dict) -> list[int]:
    """Each client changes its target at the same moment; the statuses they got."""
    start = threading.Barrier(len(clients))
    statuses: list[int] = []

    def remove_the_other(client: ApiClient, target: int) -> None:
        start.wait()
        statuses.append(client.patch(f"/api/v1/users/{target}", json=change).status_code)

    threads = [threading.Thread(target=remove_the_other, args=pair) for pair in zip(clients, targets, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return statuses


@pytest.mark.committed
@pytest.mark.parametrize("change", [{"role": "florist"}, {"is_active": False}])
def test_two_admins_removing_each_other_at_once_leave_one_admin(app, change):
    for _ in range(5):
        shop = ShopFactory()
        first, second = UserFactory(), UserFactory()
        for user in (first, second):
            MembershipFactory(user=user, shop=shop, role="admin")
        db.session.commit()
        shop_id, first_id, second_id = shop.id, first.id, second.id
        clients = [ApiClient(app, user=first, shop_id=shop_id), ApiClient(app, user=second, shop_id=shop_id)]

        statuses = _race(clients, [second_id, first_id], change)

        assert sorted(statuses) == [200, 409]
        db.session.remove()
        admins = db.session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.shop_id == shop_id, Membership.role == "admin", Membership.is_active)
        )
        assert admins == 1


@pytest.mark.committed
def test_a_settings_change_that_waited_for_the_shops_lock_keeps_the_change_made_meanwhile(app):
    """Two admins saving different settings at once: the second merges its keys into the shop as the first left it,
    not as it was read before the lock."""
    shop, admin = ShopFactory(), UserFactory()
    MembershipFactory(user=admin, shop=shop, role="admin")
    db.session.commit()
    shop_id, client = shop.id, ApiClient(app, user=admin, shop_id=shop.id)

    # The other admin's save holds the shop's lock and changes one setting.
    saved = answered_behind_a_lock(
        [
            ("SELECT id FROM shops WHERE id = :id FOR UPDATE", {"id": shop_id}),
            (
                "UPDATE shops SET settings = CAST(:settings AS JSON) WHERE id = :id",
                {"settings": json.dumps({"occasion_reminder_days": 5}), "id": shop_id},
            ),
        ],
        lambda: client.patch(f"/api/v1/shops/{shop_id}", json={"settings": {"assembly_lead_minutes": 90}}),
    )

    assert saved.status_code == 200, saved.json
    answered = saved.json["settings"]
    assert (answered["occasion_reminder_days"], answered["assembly_lead_minutes"]) == (5, 90)
    db.session.remove()
    stored = db.session.scalar(text("SELECT settings FROM shops WHERE id = :id"), {"id": shop_id})
    assert (stored["occasion_reminder_days"], stored["assembly_lead_minutes"]) == (5, 90)
