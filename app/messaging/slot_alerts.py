"""The managers: delivery windows left with more orders than their capacity (app/slots lowered one).

No order is dropped when a capacity goes down, a window is removed or a day closed; the shop's admins and
managers get one message per change of the over-booked set, listing every such window. The key is made of
the windows, dates and capacities, so the same state is never told twice, whatever else changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from app.extensions import db
from app.messaging import templates
from app.messaging.scans import managers_of
from app.messaging.services import channel_for_user, queue_message
from app.shops.models import Shop

SHOWN = 10  # windows listed in one message; the rest are counted


@dataclass(frozen=True)
class OverBooked:
    """A window of a date with more orders (`taken`) than its current capacity."""

    date: date
    start: str
    capacity: int
    taken: int


def _fingerprint(found: Sequence[OverBooked]) -> str:
    text = ";".join(
        f"{w.date.isoformat()}@{w.start}:{w.capacity}" for w in sorted(found, key=lambda w: (w.date, w.start))
    )
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _listing(found: Sequence[OverBooked], language: str) -> str:
    ordered = sorted(found, key=lambda w: (w.date, w.start))
    parts = [f"{templates.day_and_month(w.date, language)} {w.start} ({w.taken}/{w.capacity})" for w in ordered[:SHOWN]]
    if len(ordered) > SHOWN:
        parts.append(f"+{len(ordered) - SHOWN}")
    return ", ".join(parts)


def windows_over_booked(shop: Shop, found: Sequence[OverBooked]) -> int:
    """In the windows' change transaction: tell the shop's managers and admins (sent after the commit);
    how many messages were queued (0 when this very state was told already)."""
    key = _fingerprint(found)
    queued = 0
    for person in managers_of([shop.id]).get(shop.id, []):
        channel, to = channel_for_user(person)
        language = templates.language_for(person.language)
        message = queue_message(
            kind="slot_over_booked",
            channel=channel,
            to=to,
            template="slot_over_booked",
            language=language,
            occurrence_key=f"slot_over_booked:{shop.id}:{key}:{person.id}",
            context={"shop": shop.name, "windows": _listing(found, language), "count": len(found)},
            shop_id=shop.id,
            user_id=person.id,
            description=f"send over-booked windows alert for shop {shop.id}",
        )
        queued += message is not None
    db.session.flush()
    return queued
