"""The `q` search stays fast at 100k customers: PostgreSQL serves it from the trigram indexes."""

from __future__ import annotations

import json

from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql

from app.customers.models import Customer
from app.customers.services import customers_query
from app.extensions import db


def _indexes_used(stmt) -> set[str]:
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    plan = db.session.connection().exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql).scalar()
    found: set[str] = set()

    def walk(node):
        if "Index Name" in node:
            found.add(node["Index Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk((plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"])
    return found


def test_search_over_100k_customers_uses_the_trigram_indexes(shop):
    db.session.execute(
        text(
            "INSERT INTO customers (shop_id, phone, name, language, notes, marketing_consent, created_at, updated_at) "
            "SELECT :shop, '+7916' || lpad(i::text, 7, '0'), md5(i::text), 'ru', '', false, now(), now() "
            "FROM generate_series(1, 100000) AS i"
        ),
        {"shop": shop.id},
    )
    db.session.execute(text("ANALYZE customers"))

    for q, indexes in (
        ("petrov", {"ix_customers_name_trgm"}),
        ("916 123", {"ix_customers_name_trgm", "ix_customers_phone_trgm"}),
    ):
        found = customers_query(shop_id=shop.id, q=q)
        count = select(func.count()).select_from(found.subquery())
        page = found.order_by(Customer.created_at.desc(), Customer.id.desc()).limit(20)
        assert indexes <= _indexes_used(count), q
        assert indexes <= _indexes_used(page), q

    by_phone = customers_query(shop_id=shop.id, q="916 0099")  # +7916 0099xxx
    assert db.session.scalar(select(func.count()).select_from(by_phone.subquery())) == 1000
