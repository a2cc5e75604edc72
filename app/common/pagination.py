"""One page of a query and how many rows match, whatever the page size."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, Select, func, select

from app.common.schemas import Shaped
from app.common.shapes import Shape
from app.extensions import db

# A page past any real table is empty; capping the offset keeps `?page=10**18` from overflowing the database's bigint.
MAX_OFFSET = 2**62


def page_offset(page: int, page_size: int) -> int:
    """The rows before `page`."""
    return min((page - 1) * page_size, MAX_OFFSET)


def page_of(stmt: Select, *, page: int, page_size: int) -> tuple[list[Any], int]:
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.limit(page_size).offset(page_offset(page, page_size))).all()
    return list(rows), total or 0


def page_slice(stmt: Select, *, page: int, page_size: int) -> Select:
    """`stmt` limited to the page."""
    return stmt.limit(page_size).offset(page_offset(page, page_size))


def with_count(stmt: Select, count: Select) -> Select:
    """`stmt` with `count` as its last column: PostgreSQL runs the uncorrelated subquery once for the statement."""
    return stmt.add_columns(count.correlate(None).scalar_subquery())


def counted(page_select: Select, count: Select, params: dict[str, Any], *, page: int) -> tuple[list[Row[Any]], int]:
    """The rows of a page built by `with_count`, and the total: one statement. An empty first page has nothing to
    count (a courier's poll that finds nothing new); only a page past the last asks the count alone."""
    rows = db.session.execute(page_select, params).all()
    if rows:
        return rows, rows[0][-1]
    return rows, 0 if page == 1 else db.session.scalar(count, params) or 0


def shaped_page(shape: Shape, stmt: Select, *, count: Select, page: int, page_size: int) -> tuple[list[Shaped], int]:
    """A page of `shape`'s select as the API sends it, and `count`'s total (counted without the page's joins): one
    statement, and one more for each list the shape holds (`counted`)."""
    rows, total = counted(page_slice(with_count(stmt, count), page=page, page_size=page_size), count, {}, page=page)
    return shape.rows(rows), total
