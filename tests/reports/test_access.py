"""Who may read reports: admins and managers of the shop; florists and couriers 403; another shop 404."""

from __future__ import annotations

import pytest

from tests.factories import MembershipFactory, ShopFactory

FIRST_COLUMN = {
    "/api/v1/reports/sales": "period_start",
    "/api/v1/reports/products": "product_id",
    "/api/v1/reports/couriers": "courier_id",
    "/api/v1/reports/stock": "item_id",
    "/api/v1/reports/write-offs": "period_start",
    "/api/v1/reports/purchase-plan": "item_id",
}
REPORTS = list(FIRST_COLUMN)


@pytest.mark.parametrize("url", REPORTS)
@pytest.mark.parametrize("role, status", [("admin", 200), ("manager", 200), ("florist", 403), ("courier", 403)])
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_role_matrix(login, url, role, status, fmt):
    response = login(role).get(url, query_string={"format": fmt})

    assert response.status_code == status
    if status == 200 and fmt == "csv":
        assert response.mimetype == "text/csv"
        assert response.headers["Content-Disposition"].startswith("attachment; filename=")
        header = response.get_data().decode("utf-8-sig").split("\r\n")[0]
        assert header.startswith(FIRST_COLUMN[url] + ",")
    if status == 403:
        assert response.json["errors"] == {"role": [role]}


@pytest.mark.parametrize("url", REPORTS)
def test_without_a_token_401(client, url):
    assert client.get(url).status_code == 401


@pytest.mark.parametrize("url", REPORTS)
def test_a_manager_asking_for_a_shop_they_do_not_belong_to_gets_404(login, url):
    stranger = login("manager", shop=ShopFactory())
    theirs = ShopFactory()

    response = stranger.get(url, headers={"X-Shop-Id": str(theirs.id)})

    assert response.status_code == 404


@pytest.mark.parametrize("url", REPORTS)
def test_a_manager_here_and_a_florist_there_reads_only_where_they_manage(login, url):
    here, there = ShopFactory(), ShopFactory()
    person = login("manager", shop=here)
    MembershipFactory(user=person.user, shop=there, role="florist")

    assert person.get(url, headers={"X-Shop-Id": str(here.id)}).status_code == 200
    assert person.get(url, headers={"X-Shop-Id": str(there.id)}).status_code == 403
