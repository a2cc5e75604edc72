"""Reads that hold for a run of intakes in one transaction (the standing orders' scan makes up to 50 orders in one).

Inside `batch()`, `once(key, load)` loads a value the first time its key is asked for and answers it again after:
the date's windows and override, its florist-minute limit, the products' prices and minutes (and the counter row
of a window a standing date takes over capacity). One intake (POST /orders) is a batch of one: the date's
override, which both the window and the florist minutes need, is read once. Outside a batch `once` just loads.
What intake takes from counters (window places, florist minutes, numbers) is never memoised: each take is one
conditional statement re-checked under the row's lock, so exactness under concurrency does not change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from app.extensions import db

_KEY = "intake_memo"
T = TypeVar("T")


@contextmanager
def batch() -> Iterator[None]:
    """Memoise the intake's reads until the block ends (the caller commits or rolls back inside it); inside an
    outer batch, the outer one's memo goes on."""
    if _KEY in db.session.info:
        yield
        return
    db.session.info[_KEY] = {}
    try:
        yield
    finally:
        db.session.info.pop(_KEY, None)


def once(key: tuple, load: Callable[[], T]) -> T:
    memo: dict[tuple, Any] | None = db.session.info.get(_KEY)
    if memo is None:
        return load()
    if key not in memo:
        memo[key] = load()
    return memo[key]
