"""JSON from outside (request bodies, providers' answers), parsed with a bound on nesting; JSON out with orjson.

The standard parser recurses once per level: a body nested 10,000 deep raised RecursionError, which
no caller expects (a 500, and the rate limiter took it for a Redis outage). Our own API nests a
handful of levels; anything deeper than MAX_DEPTH is refused as invalid JSON.

Answers are written by orjson (a page of 50 orders in a tenth of the standard encoder's time), with Flask's
own rules kept: keys sorted, compact, a final newline, Flask's `default` for what JSON has no type for (dates
as HTTP dates, decimals as strings, dataclasses), and the standard encoder for what orjson refuses (integers
past 64 bits, keys that are not strings, strings with lone surrogates). Only non-ASCII text differs in bytes:
UTF-8 instead of \\u escapes, the same JSON.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from flask import Response, current_app
from flask.json.provider import DefaultJSONProvider

MAX_DEPTH = 32


class TooDeep(ValueError):
    """The JSON nests deeper than MAX_DEPTH; a ValueError, like any other invalid JSON."""

    def __init__(self) -> None:
        super().__init__(f"JSON nested deeper than {MAX_DEPTH} levels.")


def _deeper_than(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def loads(data: str | bytes, **kwargs: Any) -> Any:
    """`json.loads`, raising ValueError (TooDeep) instead of RecursionError or a structure past MAX_DEPTH."""
    try:
        value = json.loads(data, **kwargs)
    except RecursionError:
        raise TooDeep() from None
    if isinstance(value, dict | list) and _deeper_than(value, MAX_DEPTH):
        raise TooDeep()
    return value


# Dates and dataclasses go to Flask's `default`, as with the standard encoder.
ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_APPEND_NEWLINE


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, with `request.get_json()` bounded (too deep is a 400, or None when silent) and answers
    written by orjson."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s, **kwargs)

    def _orjson(self, obj: Any) -> bytes | None:
        """`obj` as compact JSON with a final newline; None when orjson refuses it."""
        option = ORJSON_OPTIONS | (orjson.OPT_SORT_KEYS if self.sort_keys else 0)
        try:
            return orjson.dumps(obj, default=self.default, option=option)
        except orjson.JSONEncodeError:
            return None

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        encoded = None if kwargs else self._orjson(obj)
        return super().dumps(obj, **kwargs) if encoded is None else encoded[:-1].decode()

    def response(self, *args: Any, **kwargs: Any) -> Response:
        if args and kwargs:
            raise TypeError("app.json.response() takes either args or kwargs, not both")
        if self.compact is False or (self.compact is None and current_app.debug):
            return super().response(*args, **kwargs)  # indented, for people
        obj = (args[0] if len(args) == 1 else list(args)) if args else (kwargs or None)
        encoded = self._orjson(obj)
        if encoded is None:
            return super().response(*args, **kwargs)
        return current_app.response_class(encoded, mimetype=self.mimetype)
