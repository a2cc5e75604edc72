"""One page of a query: a count and a slice, two statements whatever the page size."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

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


def shaped_page(shape: Shape, stmt: Select, *, count: Select, page: int, page_size: int) -> tuple[list[Shaped], int]:
    """A page of `shape`'s select as the API sends it, and `count`'s total (counted without the page's joins): two
    statements, and one more for each list the shape holds."""
    total = db.session.scalar(count) or 0
    return shape.read(page_slice(stmt, page=page, page_size=page_size)), total
