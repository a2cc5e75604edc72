"""One page of a query and how many rows match, whatever the page size."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, FromClause, Row, Select, bindparam, func, select

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


def paged(
    stmt: Select, count_from: FromClause, where: Sequence[ColumnElement[bool]], order_by: Sequence[ColumnElement[Any]]
) -> tuple[Select, Select]:
    """How many rows of `count_from` match `where`, and a page of `stmt`'s rows that match (bound `limit` and
    `offset`) with that count as its last column (`with_count`)."""
    count = select(func.count()).select_from(count_from).where(*where)
    page = (
        with_count(stmt.where(*where).order_by(*order_by), count)
        .limit(bindparam("limit", type_=BigInteger))
        .offset(bindparam("offset", type_=BigInteger))
    )
    return count, page


class FilteredList:
    """A list endpoint's filters on bound parameters, and its statements (`build(where)`: the count and the page,
    as `paged` makes them) built once for each combination of filters a request gives, then run with the request's
    values: building a statement costs about as much CPU as running it.
    """

    def __init__(
        self,
        shape: Shape,
        filters: Mapping[str, ColumnElement[bool]],
        build: Callable[[list[ColumnElement[bool]]], tuple[Select, Select]],
    ) -> None:
        self.shape, self.filters, self.build = shape, filters, build
        self._built: dict[tuple[str, ...], tuple[Select, Select]] = {}

    def statements(self, names: Iterable[str]) -> tuple[Select, Select]:
        """The count and the page statements for these filters (by name)."""
        key = tuple(sorted(names))
        built = self._built.get(key)
        if built is None:
            built = self._built.setdefault(key, self.build([self.filters[name] for name in key]))
        return built

    def page(
        self, names: Iterable[str], params: Mapping[str, Any], *, page: int, page_size: int
    ) -> tuple[list[Shaped], int]:
        """The page of rows matching the named filters, with `params` bound, as the API sends them, and how many
        rows match: one statement (and the count alone for a page past the last: `counted`)."""
        return shaped_page(self.shape, self.statements(names), params, page=page, page_size=page_size)


def shaped_page(
    shape: Shape, statements: tuple[Select, Select], params: Mapping[str, Any], *, page: int, page_size: int
) -> tuple[list[Shaped], int]:
    """The page that `paged`-like statements choose, as the API sends it, and the total."""
    count, page_select = statements
    params = {**params, "limit": page_size, "offset": page_offset(page, page_size)}
    rows, total = counted(page_select, count, params, page=page)
    return shape.rows(rows), total
