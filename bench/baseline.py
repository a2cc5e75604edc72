"""The ceiling for GET /orders: a bare WSGI handler serving the same page straight from psycopg2.

Same five statements as the app's list (count, page, then the page's lines, customers and couriers by id), the
same JSON body and X-Pagination header; no framework, no ORM, no schema, no auth. The shop comes from X-Shop-Id.
Run it under the same gunicorn settings as the app:  gunicorn -c gunicorn.conf.py bench.baseline:app
"""

from __future__ import annotations

import json
import math
import os
import threading
from datetime import UTC, date
from decimal import Decimal
from urllib.parse import parse_qs

import psycopg2

DATABASE_URL = os.environ.get("BASELINE_DATABASE_URL") or os.environ.get("DATABASE_URL", "")
ORDER_COLUMNS = (
    "id, number, status, fulfillment, source, customer_id, recipient_name, recipient_phone, address, card_text, "
    "comment, delivery_date, window_start, window_end, scheduled_at, subtotal, delivery_fee, discount, total, "
    "paid_amount, payment_status, promo_code, courier_id, cost_of_goods, created_at, updated_at"
)
_local = threading.local()


def _connection():
    connection = getattr(_local, "connection", None)
    if connection is None or connection.closed:
        connection = psycopg2.connect(DATABASE_URL, options="-c timezone=UTC")
        connection.autocommit = True
        _local.connection = connection
    return connection


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(Decimal("0.01")))


def _when(value) -> str:
    return value.astimezone(UTC).isoformat()


def order_page(shop_id: int, *, date_from: date | None, page: int, page_size: int) -> tuple[list[dict], int]:
    where, params = "shop_id = %s", [shop_id]
    if date_from:
        where += " AND delivery_date >= %s"
        params.append(date_from)
    with _connection().cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM (SELECT id FROM orders WHERE {where}) AS anon_1", params)
        total = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT {ORDER_COLUMNS} FROM orders WHERE {where} ORDER BY delivery_date, window_start, id "
            "LIMIT %s OFFSET %s",
            [*params, page_size, (page - 1) * page_size],
        )
        names = [c.name for c in cursor.description]
        orders = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        ids = [o["id"] for o in orders]
        items: dict[int, list[dict]] = {i: [] for i in ids}
        customers, couriers = {}, {}
        if ids:
            cursor.execute(
                "SELECT order_id, id, product_id, product_name, unit_price, quantity, line_total, needs_assembly "
                "FROM order_items WHERE order_id = ANY(%s) ORDER BY order_id, id",
                (ids,),
            )
            for order_id, *line in cursor.fetchall():
                item_id, product_id, name, unit_price, quantity, line_total, assembly = line
                items[order_id].append(
                    {
                        "id": item_id,
                        "product_id": product_id,
                        "product_name": name,
                        "unit_price": _money(unit_price),
                        "quantity": quantity,
                        "line_total": _money(line_total),
                        "needs_assembly": assembly,
                    }
                )
            cursor.execute(
                "SELECT id, name, phone FROM customers WHERE id = ANY(%s)", (list({o["customer_id"] for o in orders}),)
            )
            customers = {row[0]: {"id": row[0], "name": row[1], "phone": row[2]} for row in cursor.fetchall()}
            courier_ids = list({o["courier_id"] for o in orders if o["courier_id"]})
            if courier_ids:
                cursor.execute("SELECT id, name FROM users WHERE id = ANY(%s)", (courier_ids,))
                couriers = {row[0]: {"id": row[0], "name": row[1]} for row in cursor.fetchall()}
    return [_order_json(o, items[o["id"]], customers, couriers) for o in orders], total


def _order_json(o: dict, items: list[dict], customers: dict, couriers: dict) -> dict:
    pickup = o["fulfillment"] == "pickup"
    due = Decimal(0) if o["status"] == "cancelled" else max(o["total"] - o["paid_amount"], Decimal(0))
    return {
        "id": o["id"],
        "number": o["number"],
        "status": o["status"],
        "fulfillment": o["fulfillment"],
        "source": o["source"],
        "customer_id": o["customer_id"],
        "customer": customers.get(o["customer_id"]),
        "recipient_name": o["recipient_name"],
        "recipient_phone": o["recipient_phone"],
        "address": o["address"],
        "card_text": o["card_text"],
        "comment": o["comment"],
        "delivery_date": o["delivery_date"].isoformat(),
        "window_start": o["window_start"],
        "window_end": o["window_end"],
        "pickup_time": o["window_start"] if pickup else None,
        "scheduled_at": _when(o["scheduled_at"]),
        "items": items,
        "subtotal": _money(o["subtotal"]),
        "delivery_fee": _money(o["delivery_fee"]),
        "discount": _money(o["discount"]),
        "total": _money(o["total"]),
        "paid_amount": _money(o["paid_amount"]),
        "amount_due": _money(due),
        "payment_status": o["payment_status"],
        "promo_code": o["promo_code"],
        "courier_id": o["courier_id"],
        "courier": couriers.get(o["courier_id"]),
        "cost_of_goods": _money(o["cost_of_goods"]),
        "created_at": _when(o["created_at"]),
        "updated_at": _when(o["updated_at"]),
    }


def app(environ, start_response):
    if environ.get("PATH_INFO") != "/api/v1/orders" or environ.get("REQUEST_METHOD") != "GET":
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b'{"code": 404, "status": "Not Found"}']
    query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    page, page_size = int(query.get("page", 1)), int(query.get("page_size", 20))
    date_from = date.fromisoformat(query["date_from"]) if "date_from" in query else None
    shop_id = int(environ.get("HTTP_X_SHOP_ID", "1"))
    orders, total = order_page(shop_id, date_from=date_from, page=page, page_size=page_size)
    pages = math.ceil(total / page_size)
    pagination = {"total": total, "total_pages": pages, "first_page": 1, "last_page": pages, "page": page}
    if page < pages:
        pagination["next_page"] = page + 1
    body = json.dumps(orders).encode()
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("X-Pagination", json.dumps(pagination)),
        ],
    )
    return [body]
