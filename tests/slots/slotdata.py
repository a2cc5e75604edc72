"""Shops with delivery windows, for the slot tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete

from app.extensions import db
from app.slots import services as slots
from app.slots.models import DeliveryWindow
from tests.factories import ShopFactory


def window(weekday: int, start: str, end: str, capacity: int = 3, fee: str = "300.00") -> dict[str, Any]:
    return {"weekday": weekday, "start": start, "end": end, "capacity": capacity, "delivery_fee": fee}


def shop_with_windows(*windows: dict[str, Any], timezone: str = "Europe/Moscow", cutoff: str | None = None, **fields):
    """A shop with these weekly windows (rows of delivery_windows, as POST /delivery-windows makes them)."""
    settings: dict[str, Any] = {"same_day_cutoff": cutoff} if cutoff else {}
    shop = ShopFactory(timezone=timezone, settings=settings, **fields)
    db.session.flush()
    set_windows(shop, *windows)
    return shop


def set_windows(shop, *windows: dict[str, Any]) -> None:
    """The shop's weekly windows are exactly these from now on."""
    db.session.flush()
    db.session.execute(delete(DeliveryWindow).where(DeliveryWindow.shop_id == shop.id))
    slots.add_windows(shop_id=shop.id, windows=windows)
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
