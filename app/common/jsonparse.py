"""JSON from outside (request bodies, providers' answers), parsed with a bound on nesting.

The standard parser recurses once per level: a body nested 10,000 deep raised RecursionError, which
no caller expects (a 500, and the rate limiter took it for a Redis outage). Our own API nests a
handful of levels; anything deeper than MAX_DEPTH is refused as invalid JSON.
"""

from __future__ import annotations

import json
from typing import Any

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


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, with `request.get_json()` bounded: too deep is a 400 (or None when silent)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s, **kwargs)
