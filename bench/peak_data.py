"""Fill a scratch database with a large flower network for the peak-day load test. A benchmark, not a test.

    python bench/peak_data.py                  # 1,000,000 orders into bench_peak (drops and re-creates it)
    python bench/peak_data.py --orders 50000   # a small try first
    python bench/peak_data.py --reuse          # keep what is there if it was generated with the same sizes

The schema comes from the app's own migrations; the rows from INSERT ... SELECT generate_series statements run
inside PostgreSQL (no row goes through Python), so a million orders take minutes.

The network: 20 shops (five time zones), 16 staff each (1 admin, 2 managers, 4 florists, 9 couriers, all with the
password BENCH_PASSWORD hashed by the app's own hasher), 100k customers (half with an occasion date), 25 products a
shop (500) with two-item recipes, 15 warehouse items a shop (300) with a batch a week, and orders taken evenly over
the last two years. Orders delivered before today are delivered or completed (5% cancelled); those for today and
the next three days are in every open state. Each shop delivers in four windows a day (09, 12, 15, 18; capacity
60, fee 300).

Counters are consistent, as the app keeps them: a confirmed order holds active reservations (reservation
movements); an order past production consumed them (consumption movements from the batch of its week); on hand =
Σ supply, consumption and write-off movements = Σ batch remaining; reserved = Σ active reservations; every old
batch's leftover stems are written off, this and next week's batches hold 50,000 stems; a window's `taken` is
the number of its orders not cancelled.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import count_rows, database_exists, migrate, recreate_database, run_steps  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_peak"
BENCH_PASSWORD = "bench-peak-password"
ZONES = ["Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk", "Europe/Kaliningrad", "Asia/Vladivostok"]
SHOPS, STAFF, CUSTOMERS, PRODUCTS, ITEMS = 20, 16, 100_000, 25, 15
DAYS, WEEKS, CAPACITY = 730, 108, 60
# Staff slot within a shop -> role: 0 admin, 1-2 managers, 3-6 florists, 7-15 couriers.
ROLE_SQL = "CASE WHEN {s} = 0 THEN 'admin' WHEN {s} <= 2 THEN 'manager' WHEN {s} <= 6 THEN 'florist' ELSE 'courier' END"
WINDOWS = ["09:00", "12:00", "15:00", "18:00"]
# Open orders (delivery today or later): status by a hash, weights in percent.
OPEN_STATES = (
    ["new"] * 20
    + ["confirmed"] * 25
    + ["in_production"] * 15
    + ["ready"] * 15
    + ["out_for_delivery"] * 10
    + ["delivery_failed"] * 3
    + ["delivered"] * 7
    + ["cancelled"] * 5
)
# The statuses an order went through to reach each status (the history rows, after "new").
PATHS = {
    "new": [],
    "cancelled": ["cancelled"],
    "confirmed": ["confirmed"],
    "in_production": ["confirmed", "in_production"],
    "ready": ["confirmed", "in_production", "ready"],
    "out_for_delivery": ["confirmed", "in_production", "ready", "out_for_delivery"],
    "delivery_failed": ["confirmed", "in_production", "ready", "out_for_delivery", "delivery_failed"],
    "delivered": ["confirmed", "in_production", "ready", "out_for_delivery", "delivered"],
    "completed": ["confirmed", "in_production", "ready", "completed"],
}
PATHS_SQL = " ".join(
    f"WHEN '{status}' THEN ARRAY[{', '.join(repr(s) for s in path)}]::text[]" for status, path in PATHS.items() if path
)
RESERVED_STATES = "('confirmed', 'in_production')"
CONSUMED_STATES = "('ready', 'out_for_delivery', 'delivery_failed', 'delivered', 'completed')"
ASSIGNED_STATES = "('ready', 'out_for_delivery', 'delivery_failed', 'delivered')"

GENERATE = [
    (
        "shops and delivery windows",
        """INSERT INTO shops (id, name, timezone, currency, country, address, settings, created_at, updated_at)
        SELECT s, 'Peak shop ' || s, (%(zones)s::text[])[1 + s %% 5], 'RUB', 'RU', 'Bench street ' || s,
               '{}'::jsonb, %(start)s, %(start)s
        FROM generate_series(1, %(shops)s) s;
        INSERT INTO delivery_windows (shop_id, weekday, start, "end", capacity, delivery_fee, enabled, version,
                                      created_at, updated_at)
        SELECT s, d, w, lpad((split_part(w, ':', 1)::int + 3)::text, 2, '0') || ':00', %(capacity)s, 300.00, true, 1,
               %(start)s, %(start)s
        FROM generate_series(1, %(shops)s) s, generate_series(0, 6) d, unnest(%(windows)s::text[]) w""",
    ),
    (
        "staff (password hashed once by the app's hasher)",
        f"""INSERT INTO users (id, phone, name, password_hash, language, is_active, created_at, updated_at)
        SELECT u, '+7916' || lpad(u::text, 7, '0'), initcap({ROLE_SQL.format(s="(u - 1) %% 16")}) || ' ' || u,
               %(password_hash)s, 'ru', true, %(start)s, %(start)s
        FROM generate_series(1, %(shops)s * 16) u;
        INSERT INTO memberships (user_id, shop_id, role, created_at, updated_at)
        SELECT u, (u - 1) / 16 + 1, {ROLE_SQL.format(s="(u - 1) %% 16")}, %(start)s, %(start)s
        FROM generate_series(1, %(shops)s * 16) u""",
    ),
    (
        "customers and occasion dates",
        """INSERT INTO customers (id, shop_id, phone, name, language, notes, marketing_consent, created_at, updated_at)
        SELECT c, (c - 1) / (%(customers)s / %(shops)s) + 1, '+7926' || lpad(c::text, 7, '0'), 'Customer ' || c,
               'ru', '', c %% 3 > 0, %(start)s, %(start)s
        FROM generate_series(1, %(customers)s) c;
        INSERT INTO occasion_dates (shop_id, customer_id, label, month, day, year, reminders_enabled, created_at,
                                    updated_at)
        SELECT (c - 1) / (%(customers)s / %(shops)s) + 1, c,
               (ARRAY['Birthday', 'Anniversary', 'Name day'])[1 + c %% 3], 1 + c %% 12, 1 + (c / 12) %% 28,
               CASE WHEN c %% 4 = 0 THEN 1960 + c %% 50 END, true, %(start)s, %(start)s
        FROM generate_series(1, %(customers)s) c WHERE c %% 2 = 0""",
    ),
    (
        "catalogue, warehouse items, recipes",
        """INSERT INTO categories (id, shop_id, name, position, created_at, updated_at)
        SELECT c, (c - 1) / 3 + 1, (ARRAY['Bouquets', 'Arrangements', 'Stems'])[1 + (c - 1) %% 3], 0,
               %(start)s, %(start)s
        FROM generate_series(1, %(shops)s * 3) c;
        INSERT INTO warehouse_items (id, shop_id, name, kind, unit, min_level, shelf_life_days, is_active, on_hand,
                                     reserved, created_at, updated_at)
        SELECT w, (w - 1) / 15 + 1, 'Item ' || ((w - 1) %% 15 + 1),
               CASE WHEN (w - 1) %% 15 < 10 THEN 'flower' ELSE 'greenery' END, 'stem', 50, 14, true, 0, 0,
               %(start)s, %(start)s
        FROM generate_series(1, %(shops)s * 15) w;
        INSERT INTO products (id, shop_id, category_id, name, description, price, is_active, needs_assembly,
                              created_at, updated_at)
        SELECT p, (p - 1) / 25 + 1, ((p - 1) / 25) * 3 + 1 + (p - 1) %% 3, 'Bouquet ' || ((p - 1) %% 25 + 1), '',
               1500 + 100 * ((p - 1) %% 25 + 1), true, true, %(start)s, %(start)s
        FROM generate_series(1, %(shops)s * 25) p;
        -- Product k: 5 stems of flower item (k mod 10) + 1 and 2 of greenery item 11 + (k mod 5).
        INSERT INTO recipe_components (shop_id, product_id, item_id, quantity)
        SELECT (p - 1) / 25 + 1, p, ((p - 1) / 25) * 15 + ((p - 1) %% 25) %% 10 + 1, 5
        FROM generate_series(1, %(shops)s * 25) p
        UNION ALL
        SELECT (p - 1) / 25 + 1, p, ((p - 1) / 25) * 15 + 11 + ((p - 1) %% 25) %% 5, 2
        FROM generate_series(1, %(shops)s * 25) p""",
    ),
    (
        "orders plan",
        # Independent pseudo-random draws per order from hashes of its number (reproducible).
        """CREATE UNLOGGED TABLE bench_plan AS
        WITH h AS (
            SELECT i AS id, abs(hashint8(i * 8 + 1)::bigint) AS ha, abs(hashint8(i * 8 + 2)::bigint) AS hb,
                   abs(hashint8(i * 8 + 3)::bigint) AS hc, abs(hashint8(i * 8 + 4)::bigint) AS hd
            FROM generate_series(1, %(orders)s) i
        ), o AS (
            SELECT h.*, 1 + ha %% %(shops)s AS shop_id,
                   %(now)s - make_interval(secs => hb %% (%(days)s * 86400)) AS created_at,
                   (hc %% 2 = 0) AS delivery, (hd %% 4)::int AS lead_days
            FROM h
        ), d AS (
            SELECT o.*, s.timezone, ((o.created_at AT TIME ZONE s.timezone)::date + o.lead_days) AS delivery_date,
                   (%(now)s AT TIME ZONE s.timezone)::date AS today
            FROM o JOIN shops s ON s.id = o.shop_id
        )
        SELECT id, shop_id, created_at, delivery, delivery_date, timezone,
               (shop_id - 1) * (%(customers)s / %(shops)s) + ha / 100 %% (%(customers)s / %(shops)s) + 1
                   AS customer_id,
               CASE WHEN delivery THEN (%(windows)s::text[])[1 + (hc / 2) %% 4]
                    ELSE lpad((10 + (hc / 2) %% 9)::text, 2, '0') || ':' || (ARRAY['00', '30'])[1 + (hc / 18) %% 2]
               END AS window_start,
               CASE WHEN delivery_date < today THEN
                        CASE WHEN (hc / 36) %% 20 = 0 THEN 'cancelled'
                             WHEN delivery THEN 'delivered' ELSE 'completed' END
                    ELSE (%(open_states)s::text[])[1 + (hc / 36) %% 100]
               END AS raw_status,
               (hc / 3600) %% 4 = 0 AS cash_at_door, (hc / 14400) %% 2 = 0 AS prepaid,
               (shop_id - 1) * 16 + 8 + (hc / 28800) %% 9 AS courier_id,
               (shop_id - 1) * 16 + 4 + (hc / 259200) %% 4 AS florist_id,
               hd / 4 %% 25 + 1 AS k1, 1 + (hd / 100) %% 3 AS q1,
               (hd / 300) %% 10 < 4 AS second_line, (hd / 3000) %% 10 < 1 AS third_line,
               (hd / 30000) %% 23 AS k2_step, (hd / 690000) %% 22 AS k3_step
        FROM d;
        -- A pickup never goes out for delivery: it waits ready, or was handed over.
        UPDATE bench_plan SET raw_status = CASE raw_status WHEN 'delivered' THEN 'completed' ELSE 'ready' END
        WHERE NOT delivery AND raw_status IN ('out_for_delivery', 'delivery_failed', 'delivered');
        ALTER TABLE bench_plan RENAME COLUMN raw_status TO status;
        ALTER TABLE bench_plan ADD PRIMARY KEY (id);
        CREATE UNLOGGED TABLE bench_lines AS
        SELECT id AS order_id, shop_id, k1 AS k, q1 AS quantity, 1 AS line FROM bench_plan
        UNION ALL
        SELECT id, shop_id, (k1 + k2_step) %% 25 + 1, 1, 2 FROM bench_plan WHERE second_line
        UNION ALL
        SELECT id, shop_id, (k1 + k2_step + 1 + k3_step) %% 25 + 1, 1, 3 FROM bench_plan
        WHERE second_line AND third_line;
        -- Components each order needs, an item once per order.
        CREATE UNLOGGED TABLE bench_needs AS
        SELECT l.order_id, l.shop_id, r.item_id, sum(r.quantity * l.quantity) AS quantity
        FROM bench_lines l JOIN recipe_components r ON r.product_id = (l.shop_id - 1) * 25 + l.k
        GROUP BY l.order_id, l.shop_id, r.item_id""",
    ),
    (
        "batches (one per item and week)",
        """INSERT INTO stock_batches (id, shop_id, item_id, received_on, expires_on, unit_cost, quantity, remaining,
                                      created_at)
        SELECT (w - 1) * %(weeks)s + week + 1, (w - 1) / 15 + 1, w, (%(first_day)s::date + week * 7),
               (%(first_day)s::date + week * 7 + 14), 20 + 3 * ((w - 1) %% 15 + 1) + week %% 4, 1, 0,
               (%(first_day)s::date + week * 7)::timestamptz
        FROM generate_series(1, %(shops)s * 15) w, generate_series(0, %(weeks)s - 1) week""",
    ),
    (
        "reservations, consumption, and their movements (confirmed onwards)",
        f"""INSERT INTO stock_reservations (shop_id, order_id, item_id, quantity, state, cost, created_at, closed_at)
        SELECT n.shop_id, n.order_id, n.item_id, n.quantity,
               CASE WHEN o.status IN {RESERVED_STATES} THEN 'active' ELSE 'consumed' END,
               CASE WHEN o.status IN {CONSUMED_STATES} THEN round(n.quantity * b.unit_cost, 2) END,
               o.created_at + interval '10 minutes',
               CASE WHEN o.status IN {CONSUMED_STATES} THEN least(o.created_at + interval '2 hours', %(now)s) END
        FROM bench_needs n JOIN bench_plan o ON o.id = n.order_id
        JOIN stock_batches b ON b.id = (n.item_id - 1) * %(weeks)s + ((o.delivery_date - %(first_day)s::date) / 7) + 1
        WHERE o.status IN {RESERVED_STATES} OR o.status IN {CONSUMED_STATES};
        INSERT INTO stock_movements (shop_id, item_id, kind, quantity, order_id, created_at)
        SELECT shop_id, item_id, 'reservation', quantity, order_id, created_at FROM stock_reservations;
        INSERT INTO stock_movements (shop_id, item_id, batch_id, kind, quantity, unit_cost, cost, order_id,
                                     created_at)
        SELECT r.shop_id, r.item_id, b.id, 'consumption', -r.quantity, b.unit_cost, r.cost, r.order_id, r.closed_at
        FROM stock_reservations r
        JOIN bench_plan o ON o.id = r.order_id
        JOIN stock_batches b ON b.id = (r.item_id - 1) * %(weeks)s + ((o.delivery_date - %(first_day)s::date) / 7) + 1
        WHERE r.state = 'consumed';
        CREATE UNLOGGED TABLE bench_taken AS
        SELECT batch_id, -sum(quantity) AS taken FROM stock_movements WHERE kind = 'consumption' GROUP BY batch_id;
        ALTER TABLE bench_taken ADD PRIMARY KEY (batch_id)""",
    ),
    (
        "batch sizes, leftovers written off, supply movements, item counters",
        """-- Each batch received what its week took plus a few stems over; this and next week's hold 50,000 spare.
        UPDATE stock_batches b SET
            remaining = CASE WHEN b.received_on >= %(today)s::date - 7 THEN 50000 ELSE 0 END,
            quantity = coalesce(t.taken, 0)
                       + CASE WHEN b.received_on >= %(today)s::date - 7 THEN 50000 ELSE 1 + b.id %% 5 END
        FROM stock_batches b2 LEFT JOIN bench_taken t ON t.batch_id = b2.id
        WHERE b2.id = b.id;
        DELETE FROM stock_batches WHERE received_on > %(today)s::date + 7;
        INSERT INTO stock_movements (shop_id, item_id, batch_id, kind, quantity, unit_cost, cost, created_at)
        SELECT shop_id, item_id, id, 'supply', quantity, unit_cost, round(quantity * unit_cost, 2), created_at
        FROM stock_batches;
        INSERT INTO stock_movements (shop_id, item_id, batch_id, kind, quantity, unit_cost, cost, reason, created_at)
        SELECT b.shop_id, b.item_id, b.id, 'write_off', -(b.quantity - coalesce(t.taken, 0)), b.unit_cost,
               round((b.quantity - coalesce(t.taken, 0)) * b.unit_cost, 2), 'expired', b.expires_on::timestamptz
        FROM stock_batches b LEFT JOIN bench_taken t ON t.batch_id = b.id
        WHERE b.remaining = 0 AND b.quantity > coalesce(t.taken, 0);
        UPDATE warehouse_items i SET on_hand = t.on_hand, reserved = coalesce(r.reserved, 0)
        FROM (SELECT item_id, sum(remaining) AS on_hand FROM stock_batches GROUP BY item_id) t
        LEFT JOIN (SELECT item_id, sum(quantity) AS reserved FROM stock_reservations WHERE state = 'active'
                   GROUP BY item_id) r ON r.item_id = t.item_id
        WHERE t.item_id = i.id""",
    ),
    (
        "orders",
        f"""INSERT INTO orders (id, shop_id, number, status, fulfillment, source, customer_id, recipient_name,
                               recipient_phone, address, card_text, comment, delivery_date, window_start, window_end,
                               scheduled_at, subtotal, delivery_fee, discount, total, paid_amount, payment_status,
                               courier_id, created_by_id, cost_of_goods, version, created_at, updated_at)
        SELECT o.id, o.shop_id, 'B' || o.id, o.status, CASE WHEN o.delivery THEN 'delivery' ELSE 'pickup' END,
               'phone', o.customer_id, 'Recipient ' || o.id, '+7903' || lpad((o.id %% 10000000)::text, 7, '0'),
               CASE WHEN o.delivery THEN 'Moscow, Tverskaya ' || (1 + o.id %% 200) || ', flat ' || (1 + o.id %% 90) END,
               CASE WHEN o.id %% 3 = 0 THEN 'With love!' ELSE '' END, '', o.delivery_date, o.window_start,
               CASE WHEN o.delivery THEN lpad((split_part(o.window_start, ':', 1)::int + 3)::text, 2, '0') || ':00' END,
               (o.delivery_date + o.window_start::time) AT TIME ZONE o.timezone,
               l.subtotal, f.fee, 0, l.subtotal + f.fee, p.paid, p.payment_status,
               CASE WHEN o.delivery AND o.status IN {ASSIGNED_STATES} THEN o.courier_id END,
               (o.shop_id - 1) * 16 + 2, c.cost, 1 + coalesce(array_length(CASE o.status {PATHS_SQL} END, 1), 0),
               o.created_at, least(greatest(o.created_at, (o.delivery_date + o.window_start::time) AT TIME ZONE
                                            o.timezone), %(now)s)
        FROM bench_plan o
        JOIN (SELECT l.order_id, sum((1500 + 100 * l.k) * l.quantity) AS subtotal FROM bench_lines l
              GROUP BY l.order_id) l ON l.order_id = o.id
        LEFT JOIN (SELECT order_id, sum(cost) AS cost FROM stock_reservations WHERE state = 'consumed'
                   GROUP BY order_id) c ON c.order_id = o.id
        CROSS JOIN LATERAL (SELECT CASE WHEN o.delivery THEN 300 ELSE 0 END AS fee) f
        CROSS JOIN LATERAL (
            SELECT CASE WHEN o.status IN ('delivered', 'completed') OR (o.prepaid AND o.status <> 'cancelled')
                        THEN l.subtotal + f.fee ELSE 0 END AS paid,
                   CASE WHEN o.status IN ('delivered', 'completed') OR (o.prepaid AND o.status <> 'cancelled')
                        THEN 'paid' ELSE 'unpaid' END AS payment_status
        ) p""",
    ),
    (
        "order lines",
        """INSERT INTO order_items (shop_id, order_id, product_id, product_name, unit_price, quantity, line_total,
                                    needs_assembly)
        SELECT shop_id, order_id, (shop_id - 1) * 25 + k, 'Bouquet ' || k, 1500 + 100 * k, quantity,
               (1500 + 100 * k) * quantity, true
        FROM bench_lines ORDER BY order_id, line""",
    ),
    (
        "payments",
        """INSERT INTO order_payments (shop_id, order_id, amount, method, note, created_by_id, created_at)
        SELECT o.shop_id, o.id, o.paid_amount,
               CASE WHEN p.cash_at_door AND o.status = 'delivered' AND NOT p.prepaid THEN 'cash' ELSE 'card' END, '',
               o.created_by_id, CASE WHEN p.prepaid THEN o.created_at + interval '5 minutes' ELSE o.updated_at END
        FROM orders o JOIN bench_plan p ON p.id = o.id WHERE o.paid_amount > 0""",
    ),
    (
        "status history",
        f"""INSERT INTO order_status_changes (shop_id, order_id, from_status, to_status, actor_id, comment, created_at)
        SELECT shop_id, id, NULL, 'new', created_by_id, '', created_at FROM orders;
        INSERT INTO order_status_changes (shop_id, order_id, from_status, to_status, actor_id, comment, created_at)
        SELECT o.shop_id, o.id, coalesce(s.path[s.n - 1], 'new'), s.path[s.n], o.created_by_id, '',
               o.created_at + (o.updated_at - o.created_at) * s.n / array_length(s.path, 1)
        FROM orders o
        CROSS JOIN LATERAL (SELECT CASE o.status {PATHS_SQL} END AS path) p
        CROSS JOIN LATERAL (SELECT p.path, n FROM generate_series(1, array_length(p.path, 1)) n) s
        WHERE p.path IS NOT NULL
        ORDER BY o.id, s.n""",
    ),
    (
        "production tasks (one per line, once confirmed)",
        f"""CREATE UNLOGGED TABLE bench_recipes AS
        SELECT rc.product_id, t.times,
               jsonb_agg(jsonb_build_object('item_id', i.id, 'name', i.name, 'unit', i.unit,
                                            'per_unit', rc.quantity::text, 'quantity', (rc.quantity * t.times)::text)
                         ORDER BY i.name, i.id) AS recipe
        FROM recipe_components rc JOIN warehouse_items i ON i.id = rc.item_id, generate_series(1, 3) t(times)
        GROUP BY rc.product_id, t.times;
        INSERT INTO production_tasks (shop_id, order_id, product_id, product_name, quantity, card_text, recipe,
                                         status, due_at, florist_id, assigned_at, started_at, completed_at,
                                         created_at, updated_at)
        SELECT l.shop_id, l.order_id, (l.shop_id - 1) * 25 + l.k, 'Bouquet ' || l.k, l.quantity, o.card_text,
               r.recipe,
               CASE WHEN o.status = 'confirmed' THEN 'pending' WHEN o.status = 'in_production' THEN 'in_progress'
                    ELSE 'done' END,
               o.scheduled_at - interval '60 minutes',
               CASE WHEN o.status <> 'confirmed' OR l.order_id %% 2 = 0 THEN p.florist_id END,
               CASE WHEN o.status <> 'confirmed' OR l.order_id %% 2 = 0 THEN o.created_at + interval '20 minutes' END,
               CASE WHEN o.status <> 'confirmed' THEN o.created_at + interval '30 minutes' END,
               CASE WHEN o.status IN {CONSUMED_STATES} THEN least(o.created_at + interval '2 hours', %(now)s) END,
               o.created_at + interval '10 minutes', o.updated_at
        FROM bench_lines l
        JOIN orders o ON o.id = l.order_id
        JOIN bench_plan p ON p.id = l.order_id
        JOIN bench_recipes r ON r.product_id = (l.shop_id - 1) * 25 + l.k AND r.times = l.quantity
        WHERE o.status NOT IN ('new', 'cancelled')
        ORDER BY l.order_id, l.line""",
    ),
    (
        "courier assignments and deliveries",
        """INSERT INTO courier_assignments (shop_id, order_id, courier_id, assigned_by_id, assigned_at)
        SELECT shop_id, id, courier_id, created_by_id, created_at + interval '15 minutes'
        FROM orders WHERE courier_id IS NOT NULL;
        INSERT INTO deliveries (shop_id, order_id, attempts, picked_up_at, failed_at, failure_reason, failure_comment,
                                delivered_at, client_completed_at, amount_collected, payment_id, created_at,
                                updated_at)
        SELECT o.shop_id, o.id, 1, o.updated_at - interval '1 hour',
               CASE WHEN o.status = 'delivery_failed' THEN o.updated_at END,
               CASE WHEN o.status = 'delivery_failed' THEN 'nobody_home' END, '',
               CASE WHEN o.status = 'delivered' THEN o.updated_at END,
               CASE WHEN o.status = 'delivered' THEN o.updated_at - interval '1 minute' END,
               CASE WHEN o.status = 'delivered' AND pay.method = 'cash' THEN pay.amount END,
               CASE WHEN o.status = 'delivered' AND pay.method = 'cash' THEN pay.id END,
               o.updated_at - interval '1 hour', o.updated_at
        FROM orders o LEFT JOIN order_payments pay ON pay.order_id = o.id
        WHERE o.status IN ('out_for_delivery', 'delivery_failed', 'delivered')""",
    ),
    (
        "window bookings (orders not cancelled)",
        """INSERT INTO slot_bookings (shop_id, delivery_date, window_start, taken, created_at, updated_at)
        SELECT shop_id, delivery_date, window_start, count(*), min(created_at), max(created_at)
        FROM orders WHERE fulfillment = 'delivery' AND status <> 'cancelled'
        GROUP BY shop_id, delivery_date, window_start""",
    ),
    (
        "sequences, plan tables",
        """SELECT setval('orders_id_seq', (SELECT max(id) FROM orders));
        SELECT setval('shops_id_seq', (SELECT max(id) FROM shops));
        SELECT setval('users_id_seq', (SELECT max(id) FROM users));
        SELECT setval('customers_id_seq', (SELECT max(id) FROM customers));
        SELECT setval('categories_id_seq', (SELECT max(id) FROM categories));
        SELECT setval('products_id_seq', (SELECT max(id) FROM products));
        SELECT setval('warehouse_items_id_seq', (SELECT max(id) FROM warehouse_items));
        SELECT setval('stock_batches_id_seq', (SELECT max(id) FROM stock_batches));
        DROP TABLE bench_taken;
        DROP TABLE bench_recipes;
        DROP TABLE bench_needs;
        DROP TABLE bench_lines;
        DROP TABLE bench_plan""",
    ),
]

TABLES = [
    "shops",
    "users",
    "customers",
    "occasion_dates",
    "products",
    "warehouse_items",
    "stock_batches",
    "stock_movements",
    "stock_reservations",
    "orders",
    "order_items",
    "order_payments",
    "order_status_changes",
    "production_tasks",
    "deliveries",
    "slot_bookings",
]


def generated_with(url: str) -> dict | None:
    """What the database holds from an earlier run (bench_meta), or None."""
    if not database_exists(url):
        return None
    connection = psycopg2.connect(url)
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_meta') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return None
        cursor.execute("SELECT orders, generated_in, generated_at FROM bench_meta")
        orders, seconds, at = cursor.fetchone()
    connection.close()
    return {"orders": orders, "generated_in": seconds, "generated_at": at}


def generate(url: str, *, orders: int, now: datetime | None = None) -> dict:
    from app.auth.passwords import hash_password

    now = now or datetime.now(UTC)
    first_day = (now - timedelta(days=DAYS + 7)).date()
    params = {
        "orders": orders,
        "shops": SHOPS,
        "customers": CUSTOMERS,
        "days": DAYS,
        "weeks": WEEKS,
        "capacity": CAPACITY,
        "windows": WINDOWS,
        "zones": ZONES,
        "open_states": OPEN_STATES,
        "now": now,
        "today": now.date(),
        "first_day": first_day,
        "start": datetime.combine(first_day, datetime.min.time(), UTC),
        "password_hash": hash_password(BENCH_PASSWORD),
    }
    recreate_database(url)
    migrate(url)
    print(f"generating {orders:,} orders into {url}", flush=True)
    seconds = run_steps(url, GENERATE, params, bulk_tables=TABLES)
    connection = psycopg2.connect(url)
    with connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_meta (orders int, generated_in float, generated_at timestamptz)")
        cursor.execute("INSERT INTO bench_meta VALUES (%s, %s, %s)", (orders, seconds, now))
    connection.close()
    print(f"generated in {seconds:.0f} s", flush=True)
    return {"orders": orders, "generated_in": seconds, "generated_at": now}


def vacuum(url: str) -> None:
    connection = psycopg2.connect(url)
    connection.autocommit = True
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.close()
    print(f"  vacuum analyze: {time.perf_counter() - began:.1f} s", flush=True)


def ensure(url: str, *, orders: int, reuse: bool) -> dict:
    """The data set: the one already there when --reuse and it has as many orders, else a fresh one."""
    found = generated_with(url) if reuse else None
    if found and found["orders"] == orders:
        print(f"reusing {url}: {orders:,} orders generated {found['generated_at']:%Y-%m-%d %H:%M}", flush=True)
        migrate(url)  # the data stays; the schema follows the app's newest migrations (indexes added since)
        vacuum(url)  # what earlier runs wrote, cleaned up as autovacuum would have (it is off on the CI machine)
        return found
    return generate(url, orders=orders)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep data generated earlier with as many orders")
    args = parser.parse_args()
    began = time.perf_counter()
    ensure(args.database_url, orders=args.orders, reuse=args.reuse)
    for table, count in count_rows(args.database_url, TABLES).items():
        print(f"  {table}: {count:,}")
    print(f"done in {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
