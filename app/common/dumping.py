"""A schema's dump, compiled once into a plan of plain getters and converters.

marshmallow walks every field of every object through four calls (`Field.serialize`, `get_value`, the
schema's accessor, `_serialize`); a page of 50 orders is about 2,300 of those walks. The plan does the same
work in one step per field for the field kinds our schemas are made of (strings, integers, booleans, money
as decimal strings, ISO dates and datetimes, raw values, nested schemas and lists of them) and hands every
other field, and every value it does not recognise, to marshmallow itself, so the output is marshmallow's
to the byte. `tests/foundation/test_dumping.py` holds the two side by side, schema by schema.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from marshmallow import Schema as MarshmallowSchema
from marshmallow import fields, missing
from marshmallow.decorators import POST_DUMP, PRE_DUMP
from marshmallow.utils import get_value

Converter = Callable[[Any], Any]
# (field name, attribute read, whether it is a dotted path, output key, field, converter or None when
# marshmallow serializes the field)
Step = tuple[str, str, bool, str, fields.Field, Converter | None]
ISO_FORMATTERS = (dt.datetime.isoformat, dt.date.isoformat)
_NOT_COMPILED = object()


def _definer(cls: type, name: str) -> type | None:
    """The class in `cls`'s MRO that defines `name`."""
    return next((klass for klass in cls.__mro__ if name in vars(klass)), None)


def _defined_by(field: fields.Field, name: str, owner: type) -> bool:
    return _definer(type(field), name) is owner


def _number(field: fields.Field) -> Converter | None:
    if not _defined_by(field, "_serialize", fields.Number):
        return None
    slow = field._serialize
    if isinstance(field, fields.Integer) and not field.as_string and _defined_by(field, "_format_num", fields.Number):
        return lambda value: value if type(value) is int else slow(value, None, None)
    if (
        isinstance(field, fields.Decimal)
        and field.as_string
        and field.places is not None
        and not field.allow_nan
        and _defined_by(field, "_format_num", fields.Decimal)
        and _defined_by(field, "_to_string", fields.Decimal)
    ):
        places, rounding = field.places, field.rounding

        def money(value):
            if type(value) is Decimal and value.is_finite():
                return format(value.quantize(places, rounding=rounding), "f")
            return slow(value, None, None)

        return money
    return None


def _temporal(field: fields.Field) -> Converter | None:
    if not isinstance(field, fields.DateTime | fields.Date) or not _defined_by(
        field, "_serialize", fields._TemporalField
    ):
        return None
    formatter = field.SERIALIZATION_FUNCS.get(field.format or field.DEFAULT_FORMAT)
    if formatter not in ISO_FORMATTERS:
        return None
    kind = dt.datetime if isinstance(field, fields.DateTime) else dt.date
    slow = field._serialize
    return lambda value: formatter(value) if type(value) is kind else slow(value, None, None)


def converter(field: fields.Field) -> Converter | None:
    """A one-call equivalent of `field._serialize(value, ...)`, or None when the field is not one we know."""
    slow = field._serialize
    if _defined_by(field, "_serialize", fields.String):
        return lambda value: value if type(value) is str else slow(value, None, None)
    if _defined_by(field, "_serialize", fields.Field):  # Raw, Boolean: the value as it is
        return lambda value: value
    if _defined_by(field, "_serialize", fields.Nested):
        return _nested(field)
    if _defined_by(field, "_serialize", fields.List):
        inner = converter(field.inner)
        if inner is None:
            return None
        return lambda value: None if value is None else [inner(each) for each in value]
    return _number(field) or _temporal(field)


def _nested(field: fields.Nested) -> Converter:
    """The nested schema's own plan, run directly; its dump (hooks and all) when it has no plan."""
    schema = field.schema
    many = schema.many or field.many
    slow = field._serialize
    if schema._hooks[PRE_DUMP] or schema._hooks[POST_DUMP]:
        return lambda value: None if value is None else slow(value, None, None)

    def nested(value):
        if value is None:
            return None
        plan = plan_of(schema)  # looked up on use: a schema may nest itself
        if plan is None:
            return slow(value, None, None)
        if many:
            return [run_plan(schema, plan, each) for each in value]
        return run_plan(schema, plan, value)

    return nested


def _plain_access(field: fields.Field) -> bool:
    """The field reads an attribute (or a dotted path) of the object, with no custom lookup of its own."""
    return (
        field._CHECK_ATTRIBUTE
        and _defined_by(field, "serialize", fields.Field)
        and _defined_by(field, "get_value", fields.Field)
    )


def compile_plan(schema: MarshmallowSchema) -> list[Step] | None:
    """The schema's dump as steps; None when the schema reads attributes its own way (marshmallow dumps it)."""
    if _definer(type(schema), "get_attribute") is not MarshmallowSchema:
        return None
    plan = []
    for name, field in schema.dump_fields.items():
        key = field.data_key if field.data_key is not None else name
        convert = converter(field) if _plain_access(field) else None
        source = field.attribute or name
        plan.append((name, source, "." in source, key, field, convert))
    return plan


def plan_of(schema: MarshmallowSchema) -> list[Step] | None:
    """The schema's plan, compiled on first use and kept on the schema instance (its fields are fixed by then)."""
    plan = schema.__dict__.get("_dump_plan", _NOT_COMPILED)
    if plan is _NOT_COMPILED:
        # Racing threads compile the same plan; either copy will do.
        plan = schema.__dict__["_dump_plan"] = compile_plan(schema)
    return plan


def _getter(obj: Any) -> Callable[[str], Any]:
    """marshmallow's `utils.get_value` for one object that is not a dict: item first, then attribute; `missing`
    if neither."""
    if not hasattr(obj, "__getitem__"):
        return lambda key: getattr(obj, key, missing)

    def item_or_attribute(key):
        try:
            return obj[key]
        except (KeyError, IndexError, TypeError, AttributeError):
            return getattr(obj, key, missing)

    return item_or_attribute


def run_plan(schema: MarshmallowSchema, plan: list[Step], obj: Any) -> dict:
    is_dict = type(obj) is dict  # the readers' rows: looked up inline, the commonest case
    get = None if is_dict else _getter(obj)
    out = schema.dict_class()
    for name, source, dotted, key, field, convert in plan:
        if convert is not None:
            if dotted:
                value = get_value(obj, source, missing)
            else:
                value = (obj[source] if source in obj else getattr(obj, source, missing)) if is_dict else get(source)
            if value is not missing:
                out[key] = convert(value)
                continue
        # Absent (so dump_default applies), or a field marshmallow serializes itself.
        value = field.serialize(name, obj, accessor=schema.get_attribute)
        if value is not missing:
            out[key] = value
    return out
