"""Shops with delivery windows, for the slot tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from app.extensions import db
from tests.factories import ShopFactory


def window(weekday: int, start: str, end: str, capacity: int = 3, fee: str = "300.00") -> dict[str, Any]:
    return {"weekday": weekday, "start": start, "end": end, "capacity": capacity, "delivery_fee": fee}


def shop_with_windows(*windows: dict[str, Any], timezone: str = "Europe/Moscow", cutoff: str | None = None, **fields):
    """A shop whose settings hold these weekly windows (as PATCH /shops/{id} stores them)."""
    settings: dict[str, Any] = {"delivery_slots": list(windows)}
    if cutoff:
        settings["same_day_cutoff"] = cutoff
    shop = ShopFactory(timezone=timezone, settings=settings, **fields)
    db.session.flush()
    return shop


def set_windows(shop, *windows: dict[str, Any]) -> None:
    shop.settings = {**(shop.settings or {}), "delivery_slots": list(windows)}
    db.session.flush()


def run_in_parallel(app, attempts: list[Callable[[], object]]) -> list[object]:
    """Start every attempt at the same moment, each in its own thread, app context and session."""
    barrier = threading.Barrier(len(attempts))
    results: list[object] = [None] * len(attempts)

    def worker(index: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                results[index] = attempts[index]()
            except Exception as exc:  # the test looks at what each thread met
                db.session.rollback()
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return results
