"""A shape sends what its schema documents: the same keys, and each value as marshmallow would dump it.

Each resource's rows are held beside marshmallow's dump of the same ORM objects in its own tests
(tests/orders/test_reading.py, tests/production/test_tasks.py, tests/courier/test_deliveries.py); here, the parts
every shape shares: money read as PostgreSQL's text, JSON answers, and declarations that cannot be sent as documented
refused when they are made.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from marshmallow import fields
from sqlalchemy import Column, Date, DateTime, Integer, MetaData, Numeric, String, Table, bindparam, cast, select

from app.common.schemas import Money, Quantity, Schema
from app.common.shapes import Computed, Shape, Together
from app.extensions import db
from app.orders import reading

AMOUNTS = ["0", "0.5", "-0.5", "-250.50", "2900", "999999999.99", "-999999999.99", "0.01", "123.4", "1E+3"]


@pytest.mark.parametrize(("field", "scale"), [(Money(), 2), (Quantity(), 3)], ids=["money", "quantity"])
def test_a_decimal_columns_text_is_the_decimal_fields_dump(app, field, scale):
    column = bindparam("value", type_=Numeric(12, scale))
    for amount in AMOUNTS:
        value, text = db.session.execute(
            select(cast(column, Numeric(12, scale)), cast(cast(column, Numeric(12, scale)), String)),
            {"value": Decimal(amount)},
        ).one()
        assert text == field.serialize("amount", {"amount": value}), amount


class _Line(Schema):
    id = fields.Integer(required=True)
    amount = Money(required=True, dump_only=True)
    when = fields.AwareDateTime(required=True, allow_none=True)
    day = fields.Date(required=True)
    doubled = Money(required=True, dump_only=True)


LINES = Table(
    "shape_lines",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("amount", Numeric(12, 2)),
    Column("when", DateTime(timezone=True)),
    Column("day", Date),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
LINE = Shape(_Line, LINES, doubled=Computed(lambda amount: amount * 2, LINES.c.amount))


def test_a_shaped_row_is_its_schemas_dump_and_its_json(app):
    LINES.create(db.session.connection())  # a temporary table, gone at the transaction's end
    rows = [
        {
            "id": 1,
            "amount": Decimal("1250.5"),
            "when": datetime(2026, 3, 8, 9, 30, 0, 120000, tzinfo=UTC),
            "day": date(2026, 3, 8),
        },
        {"id": 2, "amount": Decimal("-0.01"), "when": None, "day": date(2026, 12, 31)},
    ]
    db.session.execute(LINES.insert(), rows)

    shaped = LINE.read(LINE.select().order_by(LINES.c.id))

    # marshmallow's dump of the same values (read back, as PostgreSQL keeps them), and the JSON of it
    kept = [{**row, "amount": row["amount"].quantize(Decimal("0.01")), "doubled": row["amount"] * 2} for row in rows]
    assert shaped == _Line(many=True).dump(kept) == json.loads(app.json.dumps(shaped))
    assert shaped[0]["amount"] == "1250.50" and shaped[0]["when"] == "2026-03-08T09:30:00.120000+00:00"
    assert _Line(many=True).dump(shaped) == shaped  # what a shape read is sent as it is
    # The amount is read twice: as text for its field, as a Decimal for the computed one.
    assert [str(column) for column in LINE.columns] == [
        "shape_lines.id",
        "CAST(shape_lines.amount AS TEXT)",
        "shape_lines.when",
        "shape_lines.day",
        "shape_lines.amount",
    ]


def test_a_shaped_timestamp_is_written_as_isoformat_writes_it(app):
    LINES.create(db.session.connection())
    moments = [
        datetime(2026, 3, 8, 9, 30, 0, 120000, tzinfo=UTC),
        datetime(2026, 3, 8, 9, 30, tzinfo=UTC),  # no microseconds: none written
        datetime(2026, 3, 8, 23, 59, 59, 1, tzinfo=ZoneInfo("Asia/Vladivostok")),
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=ZoneInfo("Europe/Moscow")),
    ]
    db.session.execute(
        LINES.insert(),
        [{"id": n, "amount": 0, "when": when, "day": date(2026, 3, 8)} for n, when in enumerate(moments)],
    )

    shaped = LINE.read(LINE.select().order_by(LINES.c.id))
    kept = db.session.scalars(select(LINES.c.when).order_by(LINES.c.id)).all()

    assert [row["when"] for row in shaped] == [when.isoformat() for when in kept]
    assert shaped[1]["when"] == "2026-03-08T09:30:00+00:00"
    assert shaped[2]["when"] == "2026-03-08T13:59:59.000001+00:00"  # read back in UTC, the same instant


def test_answers_are_the_standard_json_of_the_same_values(app):
    body = {"b": "Роза «Эквадор»", "a": [1, "2900.00", None, True], "c": {"z": 1, "y": 2.5}}
    with app.test_request_context():
        answer = app.json.response(body)
    assert (
        answer.get_data()
        == (json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n").encode()
    )
    assert answer.mimetype == "application/json"
    # What orjson refuses (integers past 64 bits, keys that are not strings) the standard encoder writes.
    assert json.loads(app.json.dumps({1: 2**70})) == {"1": 2**70}
    assert app.json.dumps({"day": date(2026, 3, 8)}) == '{"day":"Sun, 08 Mar 2026 00:00:00 GMT"}'  # as Flask does


def test_a_field_a_shape_cannot_send_as_documented_is_refused_when_declared():
    class Tagged(Schema):
        id = fields.Integer()
        tags = fields.Dict()

    class Misnamed(Schema):
        id = fields.Integer()
        nowhere = fields.String()

    with pytest.raises(TypeError, match="Dict"):
        Shape(Tagged, LINES, tags=LINES.c.day)
    with pytest.raises(TypeError, match="nowhere"):
        Shape(Misnamed, LINES)
    with pytest.raises(TypeError, match="no fields"):
        Shape(Misnamed, LINES, nowhere=LINES.c.id, typo=LINES.c.id)


def test_reading_rows_with_their_lists_in_one_statement_needs_lists_and_the_shapes_own_columns():
    class Line(Schema):
        id = fields.Integer()
        day = fields.Date()

    plain = Shape(Line, LINES)
    with pytest.raises(TypeError, match="no lists"):
        Together((plain, plain.select()))

    card = reading.ORDER_CARD
    with pytest.raises(TypeError, match="other columns"):
        Together((card, card.select().add_columns(bindparam("extra", 1))))
