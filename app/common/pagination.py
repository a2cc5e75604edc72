"""One page of a query: a count and a slice, two statements whatever the page size."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from app.extensions import db

# A page past any real table is empty; capping the offset keeps `?page=10**18` from overflowing the database's bigint.
MAX_OFFSET = 2**62


def _offset(page: int, page_size: int) -> int:
    return min((page - 1) * page_size, MAX_OFFSET)


def page_of(stmt: Select, *, page: int, page_size: int) -> tuple[list[Any], int]:
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.limit(page_size).offset(_offset(page, page_size))).all()
    return list(rows), total or 0


def rows_page(stmt: Select, *, count: Select, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
    """A page of a Core select as dicts, and `count`'s total (counted without the page's joins): two statements."""
    total = db.session.scalar(count) or 0
    rows = db.session.execute(stmt.limit(page_size).offset(_offset(page, page_size))).mappings()
    return [dict(row) for row in rows], total
