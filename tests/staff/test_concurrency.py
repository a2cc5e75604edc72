"""Two admins demoting each other at the same moment cannot leave a shop without an admin."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.users.models import Membership
from tests.factories import MembershipFactory, ShopFactory, UserFactory
from tests.helpers import ApiClient


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
