"""The orders' `q` search is served by trigram indexes on PostgreSQL, not by reading every order."""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from app.extensions import db
from app.orders.reading import list_statements

ORDER_INDEXES = {"ix_orders_number_trgm", "ix_orders_recipient_name_trgm", "ix_orders_recipient_phone_trgm"}
CUSTOMER_INDEXES = {"ix_customers_name_trgm", "ix_customers_phone_trgm"}


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


def test_q_on_100k_orders_uses_the_trigram_indexes(shop):
    db.session.execute(
        text(
            "INSERT INTO customers (shop_id, phone, name, language, notes, marketing_consent, created_at, updated_at) "
            "SELECT :shop, '+7903' || lpad(i::text, 7, '0'), md5(i::text), 'ru', '', false, now(), now() "
            "FROM generate_series(1, 100000) AS i"
        ),
        {"shop": shop.id},
    )
    db.session.execute(
        text(
            "INSERT INTO orders (shop_id, number, status, fulfillment, source, customer_id, recipient_name, "
            "recipient_phone, card_text, comment, delivery_date, window_start, scheduled_at, subtotal, delivery_fee, "
            "discount, total, paid_amount, payment_status, version, created_at, updated_at) "
            "SELECT :shop, right(c.phone, 4) || '-' || right(c.phone, 5), 'new', 'pickup', 'phone', c.id, "
            "md5(c.name), '+7916' || right(c.phone, 7), '', '', current_date, '12:00', now(), 0, 0, 0, 0, 0, "
            "'unpaid', 1, now(), now() FROM customers c WHERE c.shop_id = :shop"
        ),
        {"shop": shop.id},
    )
    # Statistics of every row, not of a random sample: the same plan on every run.
    db.session.execute(text("SET LOCAL default_statistics_target = 10000"))
    db.session.execute(text("ANALYZE customers"))
    db.session.execute(text("ANALYZE orders"))
    # A pattern every phone shares a trigram with ("916") may rightly read the table; what matters is that
    # an index can serve each half of the search, which the plan shows once reading the table is ruled out.
    db.session.execute(text("SET LOCAL enable_seqscan = off"))

    for q in ("lebedeva", "916 123", "0423-0017"):
        statements, params = list_statements(shop_id=shop.id, q=q)
        for stmt in statements:  # the count and the page, as GET /orders runs them
            used = _indexes_used(stmt.params(params, limit=20, offset=0))
            assert used >= ORDER_INDEXES, (q, used)
            assert used & CUSTOMER_INDEXES, (q, used)

    (count, _page), params = list_statements(shop_id=shop.id, q="916 000012")  # recipients +7916000012x
    assert db.session.scalar(count, params) == 10
