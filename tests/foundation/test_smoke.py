def test_health_answers(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "component": "process"}


def test_admin_reads_audit_log_of_own_shop_only(admin, other_shop, count_queries):
    response = admin.get("/api/v1/audit-log")
    assert response.status_code == 200
    assert response.json == []
