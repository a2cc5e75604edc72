"""The stock, capacity and idempotency invariants, checked with SQL after a load run. Each query counts violations."""

from __future__ import annotations

import sys

import psycopg
from sqlalchemy import make_url

CHECKS = {
    "items with reserved > on hand, or negative available": """
        SELECT count(*) FROM warehouse_items WHERE reserved > on_hand OR on_hand < 0 OR reserved < 0""",
    "batches with remaining < 0 (or above their quantity)": """
        SELECT count(*) FROM stock_batches WHERE remaining < 0 OR remaining > quantity""",
    "items whose on hand ≠ Σ supply, consumption, write-off and count movements": """
        SELECT count(*) FROM warehouse_items i LEFT JOIN (
            SELECT item_id, sum(quantity) AS total FROM stock_movements
            WHERE kind IN ('supply', 'consumption', 'write_off', 'count_adjustment') GROUP BY item_id
        ) m ON m.item_id = i.id
        WHERE i.on_hand <> coalesce(m.total, 0)""",
    "items whose on hand ≠ Σ batch remaining": """
        SELECT count(*) FROM warehouse_items i LEFT JOIN (
            SELECT item_id, sum(remaining) AS total FROM stock_batches GROUP BY item_id
        ) b ON b.item_id = i.id
        WHERE i.on_hand <> coalesce(b.total, 0)""",
    "items whose reserved ≠ Σ reservation, release and consumption movements": """
        SELECT count(*) FROM warehouse_items i LEFT JOIN (
            SELECT item_id, sum(quantity) AS total FROM stock_movements
            WHERE kind IN ('reservation', 'release', 'consumption') GROUP BY item_id
        ) m ON m.item_id = i.id
        WHERE i.reserved <> coalesce(m.total, 0)""",
    "items whose reserved ≠ Σ active reservations": """
        SELECT count(*) FROM warehouse_items i LEFT JOIN (
            SELECT item_id, sum(quantity) AS total FROM stock_reservations WHERE state = 'active' GROUP BY item_id
        ) r ON r.item_id = i.id
        WHERE i.reserved <> coalesce(r.total, 0)""",
    "active reservations of orders that are not confirmed or in production": """
        SELECT count(*) FROM stock_reservations r JOIN orders o ON o.id = r.order_id
        WHERE r.state = 'active' AND o.status NOT IN ('confirmed', 'in_production')""",
    "orders whose stock_short flag ≠ an active reservation missing stems a write-off took": """
        SELECT count(*) FROM orders o WHERE o.stock_short <> EXISTS (
            SELECT 1 FROM stock_reservations r WHERE r.order_id = o.id AND r.state = 'active' AND r.short > 0
        )""",
    "reservations consumed while short of stems (an order oversold)": """
        SELECT count(*) FROM stock_reservations WHERE state = 'consumed' AND short > 0""",
    "delivery windows over capacity": """
        SELECT count(*) FROM slot_bookings b
        CROSS JOIN LATERAL (
            SELECT max(w.capacity) AS capacity FROM delivery_windows w
            WHERE w.shop_id = b.shop_id AND w.enabled AND w.weekday = extract(isodow FROM b.delivery_date) - 1
              AND w.start = b.window_start
        ) c
        WHERE b.taken > coalesce(c.capacity, 0)
          AND NOT EXISTS (SELECT 1 FROM delivery_window_overrides o WHERE o.shop_id = b.shop_id
                          AND o.date = b.delivery_date)  -- the bench plans no override""",
    "windows whose taken ≠ their orders not cancelled": """
        SELECT count(*) FROM slot_bookings b FULL JOIN (
            SELECT shop_id, delivery_date, window_start, count(*) AS n FROM orders
            WHERE fulfillment = 'delivery' AND status <> 'cancelled' GROUP BY shop_id, delivery_date, window_start
        ) o USING (shop_id, delivery_date, window_start)
        WHERE coalesce(b.taken, 0) <> coalesce(o.n, 0)""",
    "orders made twice from one repeated Idempotency-Key (same card text marker)": """
        SELECT coalesce(sum(n - 1), 0) FROM (
            SELECT count(*) AS n FROM orders WHERE comment LIKE 'bench-key:%%' GROUP BY shop_id, comment
        ) t WHERE n > 1""",
    "idempotency keys answered by more than one stored response": """
        SELECT count(*) FROM (SELECT scope, key FROM idempotency_records GROUP BY scope, key HAVING count(*) > 1) t""",
}


def check(url: str) -> dict[str, int]:
    """Violations per invariant: every number should be 0."""
    found = {}
    # The app's URL names its driver (postgresql+psycopg://); libpq takes the plain one. psycopg 3, not the bench's
    # psycopg2: the tests check these invariants too, and the app's requirements carry psycopg 3.
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as connection, connection.cursor() as cursor:
        for name, statement in CHECKS.items():
            cursor.execute(statement)
            found[name] = int(cursor.fetchone()[0])
    return found


if __name__ == "__main__":
    results = check(sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/bench_peak")
    for name, violations in results.items():
        print(f"{violations:>8}  {name}")
    sys.exit(1 if any(results.values()) else 0)
