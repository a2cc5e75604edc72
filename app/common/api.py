"""flask-smorest, adjusted to the contract: one error shape, honest pagination header docs."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import flask_smorest
import marshmallow
from marshmallow import ValidationError, fields, validate
from webargs import core
from webargs.flaskparser import FlaskParser, abort, is_json_request
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from app.common import jsonparse
from app.common.openapi import DECIMAL_PATTERN, ContractPlugin, ErrorSchema
from app.common.schemas import MAX_ID
from app.errors import http_message, human_message

RANGE_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _as_number(value) -> int | float:
    value = Decimal(str(value))
    return int(value) if value == value.to_integral_value() else float(value)


def _without_default(_converter, field, ret: dict, **_kwargs) -> dict:
    """A server default goes into the description, not `default`: generators type a property with one as required."""
    if "default" in ret:
        default = ret.pop("default")
        note = f"Default: `{json.dumps(default)}`."
        ret["description"] = f"{field.metadata['description']} {note}" if field.metadata.get("description") else note
    return {}


def _document_exclusive_bounds(_converter, field, ret: dict, **_kwargs) -> dict:
    """A Range that leaves out its ends (a quantity > 0) as exclusiveMinimum/exclusiveMaximum; apispec says minimum."""
    doc = {}
    for validator in field.validators:
        if not isinstance(validator, validate.Range):
            continue
        if validator.min is not None and not validator.min_inclusive:
            ret.pop("minimum", None)
            doc["exclusiveMinimum"] = _as_number(validator.min)
        if validator.max is not None and not validator.max_inclusive:
            ret.pop("maximum", None)
            doc["exclusiveMaximum"] = _as_number(validator.max)
    return doc


def _document_decimal(_converter, field, ret: dict, **_kwargs) -> dict:
    """Decimal fields as the API really sends them; runs after apispec's own attribute functions."""
    if not isinstance(field, fields.Decimal):
        return {}
    # apispec writes a bound as the field serializes it ("0.00", or a Decimal JSON renders as a
    # string); JSON Schema wants a number.
    doc = {key: _as_number(ret[key]) for key in RANGE_KEYWORDS if ret.get(key) is not None}
    if field.as_string:
        # Money and quantities travel as "12.50", not as JSON numbers: document the string.
        nullable = isinstance(ret.get("type"), list) and "null" in ret["type"]
        doc["type"] = ["string", "null"] if nullable else "string"
        doc["format"] = ret.get("format") or "decimal"
        doc["pattern"] = ret.get("pattern") or DECIMAL_PATTERN
    return doc


SERVERS = [{"url": "/", "description": "The server that serves this document."}]


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema

    def _init_spec(self, *args, **kwargs):
        kwargs["extra_plugins"] = [ContractPlugin(), *(kwargs.get("extra_plugins") or ())]
        kwargs.setdefault("servers", SERVERS)
        super()._init_spec(*args, **kwargs)
        self.ma_plugin.converter.add_attribute_function(_document_decimal)
        self.ma_plugin.converter.add_attribute_function(_document_exclusive_bounds)
        self.ma_plugin.converter.add_attribute_function(_without_default)

    def handle_http_exception(self, error: HTTPException):
        payload, code, headers = super().handle_http_exception(error)
        payload["message"] = human_message(payload.get("message") or http_message(error))
        payload.setdefault("errors", {})
        # webargs' abort passes `headers=None` on a validation error.
        headers = dict(headers or {})
        # Keep the headers the exception carries (Allow on 405, Retry-After on 429 ...).
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                headers.setdefault(name, value)
        return payload, code, headers


NUL_MESSAGE = "Must not contain the NUL character."


def _nul_errors(value: Any) -> Any:
    """Where the request's strings hold a NUL character, shaped as marshmallow errors; None if nowhere."""
    if isinstance(value, str):
        return [NUL_MESSAGE] if "\x00" in value else None
    if isinstance(value, MultiDictProxy):
        value = value.data
    if isinstance(value, MultiDict):
        pairs = [(key, item) for key, items in value.lists() for item in items]
    elif isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, list):
        pairs = list(enumerate(value))
    else:
        return None
    errors = {key: found for key, item in pairs if (found := _nul_errors(item))}
    return errors or None


def _whole_numbers(value: Any) -> Any:
    """12.0 as 12: JSON (and the document's `integer`) has one number twelve; strict integer fields refused 12.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value


@functools.cache
def _schema_instance(schema_class: type[marshmallow.Schema]) -> marshmallow.Schema:
    return schema_class()


class Parser(FlaskParser):
    def parse(self, argmap, req=None, **kwargs):
        # A schema class (flask-smorest passes the view's, and pagination's) is made once, not on every request:
        # a schema instance costs a deep copy of its fields. marshmallow 4's load keeps no state in the instance.
        if isinstance(argmap, type) and issubclass(argmap, marshmallow.Schema):
            argmap = _schema_instance(argmap)
        return super().parse(argmap, req, **kwargs)

    def load_json(self, req, schema):
        # webargs' own parse is the standard library's, unbounded: 10,000 levels deep was a RecursionError (500).
        if not is_json_request(req):
            return core.missing
        body = req.get_data(cache=True)
        if not body:
            return core.missing
        try:
            return jsonparse.loads(body.decode())
        except jsonparse.TooDeep as exc:
            abort(400, exc=exc, messages={"json": [str(exc)]})
        except ValueError as exc:  # invalid JSON or not UTF-8, as webargs says it
            abort(400, exc=exc, messages={"json": ["Invalid JSON body."]})

    def pre_load(self, location_data, *, schema, req, location):
        # PostgreSQL text cannot hold NUL: refuse it as a 422 naming the field, not a 500 from the driver.
        errors = _nul_errors(location_data)
        if errors:
            raise ValidationError(errors)
        return _whole_numbers(location_data) if location == "json" else location_data


class IdConverter(IntegerConverter):
    """`<int:...>` in a path: an id PostgreSQL's integer can hold, or no such route (404). A larger number names no
    row, and the driver binds it as an integer, which the database would refuse with an error (a 500)."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


EXTRA_PARAMETERS = "extra_parameters"


def add_doc_parameter(view, name: str) -> None:
    """Document a registered component parameter (by name) on `view`, alongside its generated ones."""
    view.__dict__.setdefault("_apidoc", {}).setdefault(EXTRA_PARAMETERS, []).append(name)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()
    PAGINATION_ARGUMENTS_PARSER = ARGUMENTS_PARSER
    DEFAULT_PAGINATION_PARAMETERS = {"page": 1, "page_size": 20, "max_page_size": 100}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_header_parameters_doc)

    @staticmethod
    def _prepare_header_parameters_doc(doc, doc_info, **_kwargs):
        # Header parameters added by our decorators (X-Shop-Id, Idempotency-Key), appended to what smorest
        # generated: a manual_doc "parameters" list would replace the query and pagination parameters instead.
        extra = doc_info.get(EXTRA_PARAMETERS)
        if extra:
            doc.setdefault("parameters", []).extend(extra)
        return doc

    @staticmethod
    def _make_pagination_metadata(page: int, page_size: int, item_count: int) -> dict[str, int]:
        # flask-smorest's override point for the X-Pagination metadata: the same keys and values, without the schema
        # instance it makes (a deep copy of its fields) on every page served. Its fields are integers, dumped as is.
        if item_count == 0:
            return {"total": 0, "total_pages": 0}
        last_page = (item_count - 1) // page_size + 1
        metadata = {"total": item_count, "total_pages": last_page, "first_page": 1, "last_page": last_page}
        if page <= last_page:
            metadata["page"] = page
            if page > 1:
                metadata["previous_page"] = page - 1
            if page < last_page:
                metadata["next_page"] = page + 1
        return metadata

    def _document_pagination_metadata(self, spec, resp_doc):
        # Headers are strings: X-Pagination is JSON text whose content is PaginationMetadata.
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = "Pagination"
