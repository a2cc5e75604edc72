"""Every response schema dumps exactly what stock marshmallow dumps: the compiled plan is only faster.

The values are generated per field kind, including the ones the plan hands back to marshmallow (None, floats
and strings in money fields, naive datetimes, integers in boolean fields, missing attributes), from objects and
from dicts alike.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
from decimal import Decimal
from types import SimpleNamespace

import marshmallow
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import fields

import app as app_package
from app.common.schemas import Schema

for module in pkgutil.walk_packages(app_package.__path__, "app."):
    if module.name != "app.jobs.cron":  # rq cron's settings file: importing it checks this process's config
        importlib.import_module(module.name)


def _all_schemas(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_all_schemas(sub)]
    return found


SCHEMAS = sorted(set(_all_schemas(Schema)), key=lambda cls: f"{cls.__module__}.{cls.__name__}")

DECIMALS = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**9), max_value=10**9),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-1000, max_value=1000),
    st.sampled_from([Decimal("0"), Decimal("-0.00"), Decimal("1E+3"), Decimal("2.345"), Decimal("2.355")]),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.integers(-1000, 1000),
    st.sampled_from(["12.50", "7"]),
)
AWARE = st.datetimes(timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=10))]))
TEXT = st.one_of(st.text(max_size=8), st.integers(0, 99), st.sampled_from([b"bytes"]))


def _value(field: fields.Field, depth: int) -> st.SearchStrategy:
    if isinstance(field, fields.Nested):
        inner = _object(field.schema, depth + 1)
        return st.one_of(st.none(), st.lists(inner, max_size=2) if field.many or field.schema.many else inner)
    if isinstance(field, fields.List):
        return st.one_of(st.none(), st.lists(_value(field.inner, depth), max_size=3))
    if isinstance(field, fields.Decimal):
        return st.one_of(st.none(), DECIMALS)
    if isinstance(field, fields.Integer):
        return st.one_of(st.none(), st.integers(-(2**40), 2**40), st.booleans(), st.sampled_from(["5", 4.0]))
    if isinstance(field, fields.Boolean):
        return st.one_of(st.none(), st.booleans(), st.sampled_from([0, 1, "yes", "off"]))
    if isinstance(field, fields.DateTime):
        return st.one_of(st.none(), AWARE, st.datetimes())
    if isinstance(field, fields.Date):
        return st.one_of(st.none(), st.dates())
    if isinstance(field, fields.String):
        return st.one_of(st.none(), TEXT)
    if isinstance(field, fields.Dict):
        return st.one_of(st.none(), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
    return st.one_of(st.none(), st.integers(), st.text(max_size=4))


def _object(schema: marshmallow.Schema, depth: int = 0) -> st.SearchStrategy:
    if depth > 2:
        return st.none()
    attrs = {field.attribute or name: _value(field, depth) for name, field in schema.dump_fields.items()}
    # Some attributes left out: marshmallow then skips the key (or uses dump_default).
    chosen = st.fixed_dictionaries({}, optional=attrs) if attrs else st.just({})
    return st.one_of(chosen.map(_nested), chosen.map(lambda values: _nested(values, into=SimpleNamespace)))


class _Inner(dict):
    """An object a dotted attribute reads through (not a value a field dumps)."""


def _nested(values: dict, into=dict):
    """{"order.id": 5} → {"order": {"id": 5}}: dotted attributes read through an inner object."""
    tree = _Inner()
    for path, value in values.items():
        *parents, leaf = path.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, _Inner())
        node[leaf] = value

    def build(node: _Inner):
        built = {key: build(child) if type(child) is _Inner else child for key, child in node.items()}
        return into(**built)

    return build(tree)


@pytest.fixture
def stock_marshmallow(monkeypatch):
    def dump_stock(schema: marshmallow.Schema, obj):
        with monkeypatch.context() as patch:
            patch.setattr(Schema, "_serialize", marshmallow.Schema._serialize)
            return schema.dump(obj)

    return dump_stock


def _outcome(dump, *args):
    try:
        return "ok", dump(*args)
    except Exception as exc:  # the same failure is an equal outcome
        return "error", type(exc).__name__


@pytest.mark.parametrize("schema_class", SCHEMAS, ids=lambda cls: cls.__name__)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_compiled_dump_equals_marshmallows(schema_class, data, stock_marshmallow):
    schema = schema_class()
    objs = data.draw(st.lists(_object(schema), min_size=1, max_size=3))

    for obj in objs:
        assert _outcome(schema.dump, obj) == _outcome(stock_marshmallow, schema, obj)
    assert _outcome(schema_class(many=True).dump, objs) == _outcome(stock_marshmallow, schema_class(many=True), objs)


def test_an_orders_fields_all_have_a_one_call_converter():
    from app.orders.schemas import OrderDetailSchema

    schema = OrderDetailSchema()
    schema.dump(SimpleNamespace())

    plan = schema.__dict__["_dump_plan"]
    assert plan is not None
    slow = [step[0] for step in plan if step[-1] is None]
    assert slow == [], slow  # every field of an order has a one-call converter
