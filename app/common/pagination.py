"""One page of a query: a count and a slice, two statements whatever the page size."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from app.extensions import db

# A page past any real table is empty; capping the offset keeps `?page=10**18` from overflowing the database's bigint.
MAX_OFFSET = 2**62


def page_of(stmt: Select, *, page: int, page_size: int) -> tuple[list[Any], int]:
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.limit(page_size).offset(min((page - 1) * page_size, MAX_OFFSET))).all()
    return list(rows), total or 0
