"""A resource as the API sends it, declared once: its response schema, and where each of its fields comes from.

The schema (marshmallow) declares the keys, their order, their kinds and their documentation: it is what the
OpenAPI document shows. A `Shape` reads it through marshmallow's public attributes (`dump_fields`, `data_key`,
`attribute`, `Nested.schema`, `List.inner`, `Decimal.places`) and adds the one thing a schema cannot say: the SQL
each field reads. A field reads the column of its own name (or of its `attribute`'s last part) in the shape's
tables, unless the shape names another source:

- a column or SQL expression;
- `Computed(function, *columns)`: the function of those columns' values (the amount due, a signed photo link);
- a nested `Shape`: an object whose columns come along in the same row (a joined customer), null when its first
  column is (an outer join that found nothing);
- `Many(shape, foreign_key)`: a list read by one more statement for the whole page (an order's lines); a shape
  with several lists reads them all in that one statement (`Lists`: an order card's lines and payments). Rows read
  by a statement built once for a few of them (an order card, the cards a commit's events carry) come with their
  lists in the same statement (`Together`).

From the two come both the SELECT's columns (`shape.columns`, `shape.select()`) and the JSON (`shape.rows`): the
row's values converted the way the schema's fields dump them (money as decimal strings with the field's places,
ISO dates and datetimes) into a `Shaped` dict, which `Schema.dump` sends as it is. A field kind the shape does not
know is an error when the shape is declared, not a silent difference. Each resource's tests hold its rows beside
marshmallow's dump of the same ORM objects (tests/orders/test_reading.py, test_the_listed_tasks_are_the_task_cards_*,
test_the_listed_deliveries_are_the_delivery_cards); tests/foundation/test_shapes.py the parts every shape shares.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from operator import itemgetter
from typing import Any

import orjson
from marshmallow import Schema, fields
from sqlalchemy import (
    Column,
    ColumnElement,
    CompoundSelect,
    Integer,
    Join,
    Numeric,
    Select,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.functions import FunctionElement

from app.common.schemas import Shaped
from app.extensions import db

Convert = Callable[[Any], Any]
Step = Callable[[Sequence[Any]], Any]


class Computed:
    """A field computed in Python from the values of some columns of the same row."""

    def __init__(self, function: Callable[..., Any], *columns: ColumnElement[Any]) -> None:
        self.function, self.columns = function, columns


class Many:
    """A list of `shape`: the rows whose `foreign_key` points at the parent's row."""

    def __init__(self, shape: Shape, foreign_key: ColumnElement[Any]) -> None:
        (reference,) = foreign_key.foreign_keys
        (self.sort_key,) = shape.table.primary_key  # the list's order
        self.shape, self.foreign_key, self.parent_key = shape, foreign_key, reference.column

    def matching(self, postgresql: bool) -> ColumnElement[bool]:
        """The rows pointing at the `ids` parameter. PostgreSQL takes the ids as one array: the statement's text stays
        the same whatever their number, so it is neither rendered again per page nor prepared again per length. SQLite
        (dev mode) has no arrays."""
        if postgresql:
            return self.foreign_key == any_(bindparam("ids", type_=ARRAY(self.foreign_key.type)))
        return self.foreign_key.in_(bindparam("ids", expanding=True))

    def pointing_at(self, ids: Select, postgresql: bool) -> ColumnElement[bool]:
        """The rows pointing at the ids `ids` selects. PostgreSQL takes them as one array, which it looks up in the
        foreign key's index whatever number it guesses; SQLite (dev mode) as IN."""
        if postgresql:
            return self.foreign_key == any_(func.array(ids.scalar_subquery()))
        return self.foreign_key.in_(ids.scalar_subquery())


def _side_by_side(lists: list[Many], of: Many) -> list[ColumnElement[Any]]:
    """Every list's columns side by side: `of`'s own, typed NULLs in the others' places."""
    return [column if other is of else cast(null(), column.type) for other in lists for column in other.shape.columns]


class Lists:
    """A shape's lists for a page, in one statement: its one list's rows, or a UNION ALL of one SELECT per list,
    each list's columns in places of their own (typed NULLs in the others'), so the driver converts every value as
    its column says."""

    def __init__(self, many: dict[str, Many]) -> None:
        self.keys = list(many)
        lists = list(many.values())
        # A row: the id it points at, then its columns (one list); or its list's number, the id, the list's primary
        # key, then every list's columns side by side (several).
        self._single = len(lists) == 1
        self._parent = 0 if self._single else 1
        first = 1 if self._single else 3
        widths = [len(each.shape.columns) for each in lists]
        starts = [first + sum(widths[:n]) for n in range(len(widths))]
        self._places = [
            (key, each.shape, start, start + width)
            for key, each, start, width in zip(self.keys, lists, starts, widths, strict=True)
        ]
        self.statements = {postgresql: self._statement(lists, postgresql) for postgresql in (True, False)}

    @staticmethod
    def _statement(lists: list[Many], postgresql: bool) -> Select | CompoundSelect:
        if len(lists) == 1:
            (one,) = lists
            return select(one.foreign_key, *one.shape.columns).where(one.matching(postgresql)).order_by(one.sort_key)

        branches = [
            select(
                literal_column(str(n), Integer).label("list"),
                each.foreign_key.label("parent"),
                each.sort_key.label("sort"),
                *(column.label(f"c{place}") for place, column in enumerate(_side_by_side(lists, each))),
            ).where(each.matching(postgresql))
            for n, each in enumerate(lists)
        ]
        return union_all(*branches).order_by("list", "sort")

    def read(self, ids: list[Any]) -> dict[str, defaultdict[Any, list[Shaped]]]:
        """Each list's rows pointing at `ids`, by the id they point at, in the list's order."""
        session = db.session()
        statement = self.statements[session.get_bind().dialect.name == "postgresql"]
        found: dict[str, defaultdict[Any, list[Shaped]]] = {key: defaultdict(list) for key in self.keys}
        places, parent = self._places, self._parent
        for row in session.execute(statement, {"ids": ids}).all():
            key, shape, start, end = places[0] if self._single else places[row[0]]
            found[key][row[parent]].append(shape._from_row(row[start:end]))
        return found


class Together:
    """Rows of several statements, each built on a shape's `select()` (once), with the shapes' lists, in one statement:
    a UNION ALL of each statement's rows (the statement as a CTE) and of each list's rows pointing at them, every
    part's columns in places of their own (typed NULLs in the others'). For statements that find a few rows by their
    ids (an order card, the cards a commit's events carry, an order's card beside its delivery card): each part's rows
    come in the order of their ids (the key its lists point at, or its first column), each with its lists in the
    lists' order. The statements share the parameters. One round trip instead of one per statement and one more per
    shape with lists."""

    def __init__(self, *parts: tuple[Shape, Select]) -> None:
        self._parts: list[tuple[Shape, int, int]] = []  # each part's shape and where its columns are
        self._lists: list[tuple[int, str, Shape, int, int]] = []  # each list's part, key, shape and columns
        place = 3  # a row: its branch, the id it is or points at, its order in its branch, then every part's columns
        for shape, _ in parts:
            self._parts.append((shape, place, place + len(shape.columns)))
            place += len(shape.columns)
            for key, each in shape.many.items():
                self._lists.append((len(self._parts) - 1, key, each.shape, place, place + len(each.shape.columns)))
                place += len(each.shape.columns)
        if len(parts) == 1 and not self._lists:
            raise TypeError(f"{parts[0][0].schema.__name__} has no lists: read it with Shape.read")
        # the branches in their order: each part's rows (no key), then its lists'
        self._branches: list[tuple[int, str | None, Shape, int, int]] = []
        for number, (shape, start, end) in enumerate(self._parts):
            self._branches.append((number, None, shape, start, end))
            self._branches.extend(each for each in self._lists if each[0] == number)
        self.statements = {postgresql: self._statement(parts, postgresql) for postgresql in (True, False)}

    def _statement(self, parts: tuple[tuple[Shape, Select], ...], postgresql: bool) -> CompoundSelect:
        # every column of every part and list, in its place; a branch fills its own places and leaves NULLs elsewhere
        places = [column for shape, _ in parts for column in self._all_columns(shape)]
        branches: list[Select] = []

        def branch(ids: ColumnElement[Any], sort: ColumnElement[Any], own: list[Any], start: int) -> list[Any]:
            nulls = [cast(null(), column.type) for column in places]
            code = literal_column(str(len(branches)), Integer)
            return [code, ids, sort, *nulls[: start - 3], *own, *nulls[start - 3 + len(own) :]]

        for number, ((shape, start, end), (_, statement)) in enumerate(zip(self._parts, parts, strict=True)):
            found = statement.cte(f"found{number}")
            own = list(found.c)
            if len(own) != end - start:
                raise TypeError(f"{shape.schema.__name__}: the statement selects other columns than the shape's")
            id_ = own[shape._parent]
            first = branch(id_, id_, own, start)
            if not branches:
                first[:3] = [first[0].label("branch"), id_.label("parent"), id_.label("sort")]
            branches.append(select(*first))
            for part, key, inner, list_start, _ in self._lists:
                if part != number:
                    continue
                each = shape.many[key]
                columns = branch(each.foreign_key, each.sort_key, list(inner.columns), list_start)
                branches.append(select(*columns).where(each.pointing_at(select(id_), postgresql)))
        return union_all(*branches).order_by("branch", "sort")

    @staticmethod
    def _all_columns(shape: Shape) -> list[ColumnElement[Any]]:
        return [*shape.columns, *(column for each in shape.many.values() for column in each.shape.columns)]

    def parts(self, params: dict[str, Any]) -> list[list[Shaped]]:
        """Each statement's rows with these parameters, as the API sends them, with their lists."""
        session = db.session()
        statement = self.statements[session.get_bind().dialect.name == "postgresql"]
        branches = self._branches
        found: list[list[tuple[Any, Shaped]]] = [[] for _ in self._parts]
        lists: dict[tuple[int, str], defaultdict[Any, list[Shaped]]] = {
            (part, key): defaultdict(list) for part, key, *_ in self._lists
        }
        for row in session.execute(statement, params).all():
            part, key, shape, start, end = branches[row[0]]
            if key is None:
                found[part].append((row[1], shape._from_row(row[start:end])))
            else:
                lists[(part, key)][row[1]].append(shape._from_row(row[start:end]))
        for part, key, *_ in self._lists:
            for id_, out in found[part]:
                out[key] = lists[(part, key)][id_]
        return [[out for _, out in rows] for rows in found]

    def read(self, params: dict[str, Any]) -> list[Shaped]:
        """The rows of the one statement with these parameters, with their lists."""
        (rows,) = self.parts(params)
        return rows


def _getter(positions: Sequence[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """A row's values at `positions`, as a tuple (itemgetter: one call, whatever their number)."""
    if len(positions) == 1:
        (position,) = positions
        return lambda row: (row[position],)
    return itemgetter(*positions)


def _tables(source: FromClause) -> list[Table]:
    if isinstance(source, Join):
        return [*_tables(source.left), *_tables(source.right)]
    return [source]


def _value_kind(field: fields.Field, where: str) -> Convert | None:
    """How a value of `field` is dumped, as one call (None: as it is)."""
    if isinstance(field, fields.Decimal):
        if not field.as_string or field.places is None:
            raise TypeError(f"{where}: a shape sends decimals as strings with fixed places")
        places, rounding = field.places, field.rounding
        # str() of a quantized decimal is its fixed-point form while the places are few (no exponent), and cheaper
        text = str if -6 <= places.as_tuple().exponent <= 0 else lambda value: format(value, "f")
        return lambda value: None if value is None else text(value.quantize(places, rounding=rounding))
    if isinstance(field, fields.DateTime | fields.Date):
        if field.format not in (None, "iso"):
            raise TypeError(f"{where}: a shape sends ISO dates only")
        if isinstance(field, fields.DateTime):
            # orjson writes a datetime as isoformat() does (RFC 3339, microseconds when there are some), in a third
            # of the time: a page of orders carries 150 of them.
            return lambda value: None if value is None else orjson.dumps(value)[1:-1].decode()
        return lambda value: None if value is None else value.isoformat()
    if isinstance(field, fields.Integer) and field.as_string:
        raise TypeError(f"{where}: a shape sends integers as numbers")
    if type(field) in (fields.String, fields.Integer, fields.Boolean, fields.Raw, fields.Function):
        return None
    raise TypeError(f"{where}: a shape does not know {type(field).__name__} fields")


def _document(schema: Schema, where: str) -> Convert:
    """A nested schema's dump of a JSON document's objects (a task's recipe lines)."""
    steps = []
    for name, field in schema.dump_fields.items():
        convert = _value_kind(field, f"{where}.{name}")
        steps.append((field.data_key or name, field.attribute or name, convert))

    def dump(value):
        return {
            key: value[attribute] if convert is None else convert(value[attribute]) for key, attribute, convert in steps
        }

    return dump


class DecimalText(FunctionElement[str]):
    """A decimal column's text with its scale's places ("2900.00"), NULL for NULL: PostgreSQL's own text of a
    numeric. SQLite (dev mode) stores numbers without their places ("2900"), so there printf gives them."""

    type = Text()
    inherit_cache = True


@compiles(DecimalText)
def _decimal_text(element: DecimalText, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return f"CAST({compiler.process(column, **kw)} AS TEXT)"


@compiles(DecimalText, "sqlite")
def _decimal_text_on_sqlite(element: DecimalText, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    value = compiler.process(column, **kw)
    return f"CASE WHEN {value} IS NULL THEN NULL ELSE printf('%.{column.type.scale}f', {value}) END"


def _as_text(field: fields.Field, column: Any) -> bool:
    """A decimal field whose column has the field's places: PostgreSQL's text of it is the field's dump ("2900.00"),
    without making a Decimal of it in Python."""
    return (
        isinstance(field, fields.Decimal)
        and isinstance(column, Column)
        and isinstance(column.type, Numeric)
        and column.type.scale is not None
        and field.places == Decimal(1).scaleb(-column.type.scale)
    )


class Shape:
    """`schema`'s fields read from `source` (a table or a join of tables), or from the sources named."""

    def __init__(self, schema: type[Schema], source: FromClause, **sources: Any) -> None:
        self.schema, self.source = schema, source
        tables = _tables(source)
        self.table = tables[0]
        self.many: dict[str, Many] = {}
        self.columns: list[ColumnElement[Any]] = []
        self._positions: dict[Any, int] = {}
        dump_fields = schema().dump_fields
        unknown = set(sources) - set(dump_fields)
        if unknown:
            raise TypeError(f"{schema.__name__} has no fields {sorted(unknown)}")
        plain: list[tuple[str, int]] = []  # sent as read
        steps: list[tuple[str, Step]] = []  # converted, computed or nested
        for name, field in dump_fields.items():
            where = f"{schema.__name__}.{name}"
            key = field.data_key or name
            given = sources.get(name)
            if given is None:
                column_name = (field.attribute or name).rpartition(".")[2]
                found = [table.c[column_name] for table in tables if column_name in table.c]
                if not found:
                    raise TypeError(
                        f"{where}: no column {column_name!r} in {[t.name for t in tables]}; name its source"
                    )
                given = found[0]
            if isinstance(field, fields.Function) and not isinstance(given, Computed):
                raise TypeError(f"{where}: a function field's value is Computed")
            if _as_text(field, given):
                plain.append((key, self._position(given, as_text=True)))
                continue
            step = self._step(field, given, where, key)
            if isinstance(step, int):
                plain.append((key, step))
            else:
                steps.append((key, step))
        self._plain_keys = tuple(key for key, _ in plain)
        self._plain = _getter([position for _, position in plain])
        self._step_keys = tuple(key for key, _ in steps)
        self._step_functions = tuple(step for _, step in steps)
        self.lists = Lists(self.many) if self.many else None
        parents = {many.parent_key for many in self.many.values()}
        if len(parents) > 1:
            raise TypeError(f"{schema.__name__}: its lists point at one row, not several")
        self._parent = self._positions[(parents.pop(), False)] if parents else 0

    def _position(self, column: ColumnElement[Any], *, as_text: bool = False) -> int:
        """The column's place in the select (added once however many fields read it)."""
        key = (column, as_text)
        if key not in self._positions:
            self._positions[key] = len(self.columns)
            self.columns.append(DecimalText(column) if as_text else column)
        return self._positions[key]

    def _step(self, field: fields.Field, source: Any, where: str, key: str) -> Step | int:
        """How the field's value comes from a row: a position (sent as read) or a function of the row."""
        if isinstance(source, Many):
            self.many[key] = source
            self._position(source.parent_key)
            return lambda row: None  # filled in by `rows`, for all the rows at once
        if isinstance(source, Shape):
            if source.many:
                raise TypeError(f"{where}: a nested shape reads no lists")
            positions = [self._position(column) for column in source.columns]
            inner, values, first = source._from_row, _getter(positions), positions[0]
            return lambda row: None if row[first] is None else inner(values(row))
        inner_field = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner_field, fields.Nested):  # objects stored as a JSON document
            document = _document(inner_field.schema, where)
            if isinstance(field, fields.List):
                convert = lambda value: None if value is None else [document(each) for each in value]  # noqa: E731
            else:
                convert = lambda value: None if value is None else document(value)  # noqa: E731
        else:
            convert = _value_kind(field, where)
        if isinstance(source, Computed):
            function, values = source.function, _getter([self._position(column) for column in source.columns])
            if convert is None:
                return lambda row: function(*values(row))
            return lambda row: convert(function(*values(row)))
        position = self._position(source)
        if convert is None:
            return position
        return lambda row: convert(row[position])

    def _from_row(self, row: Sequence[Any]) -> Shaped:
        # Keys and values of the same length by construction; a keyword argument to zip costs more than its work here.
        out = Shaped(zip(self._plain_keys, self._plain(row)))  # noqa: B905
        out.schema = self.schema
        out.update(zip(self._step_keys, [step(row) for step in self._step_functions]))  # noqa: B905
        return out

    def select(self) -> Select:
        """The shape's columns from its tables; add the WHERE and ORDER BY."""
        return select(*self.columns).select_from(self.source)

    def rows(self, rows: Iterable[Sequence[Any]]) -> list[Shaped]:
        """The rows of `select()` (in its column order) as the API sends them, with their lists (one statement
        each, for all the rows at once)."""
        rows = list(rows)
        shaped = [self._from_row(row) for row in rows]
        if self.lists is None:
            return shaped
        ids = [row[self._parent] for row in rows]
        found = self.lists.read(ids) if ids else {key: defaultdict(list) for key in self.lists.keys}
        for key, groups in found.items():
            for out, id_ in zip(shaped, ids, strict=True):
                out[key] = groups[id_]
        return shaped

    def read(self, statement: Select, params: dict[str, Any] | None = None) -> list[Shaped]:
        """`statement` (built on `select()`) run, as the API sends its rows."""
        # all(): the rows in one fetch from the driver, not one call per row
        return self.rows(db.session.execute(statement, params or {}).all())
