"""Periodic scans: what is due now, in each shop's own local time, queued once through the message log.

`rq cron` runs every scan every minute (app/jobs/schedule.py); `flask jobs run-due` runs them inline.
A scan may run twice at once, or be enqueued twice: each message has an occurrence key, claimed by an
INSERT ... ON CONFLICT DO NOTHING in the scan's transaction before any send job exists, and the send
job claims the row again (queued → sending) before it calls the provider. So each occurrence is sent
at most once; a scan that was down catches up on its next run the same local day.

Local times come from the shop's IANA zone at the scan's UTC instant, so 10:00 in Berlin is 08:00 UTC
in summer and 09:00 UTC in winter, and two shops in different zones fire at their own 10:00.
"""

from __future__ import annotations

import calendar
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from redis.exceptions import RedisError
from sqlalchemy import String, and_, case, cast, literal, or_, select, tuple_
from sqlalchemy.orm import lazyload

from app.common.types import utcnow
from app.customers.models import Customer, OccasionDate
from app.extensions import db, redis_client
from app.messaging import templates
from app.messaging.models import MessageLog
from app.messaging.services import channel_for_customer, channel_for_user, queue_message
from app.shops.models import Shop
from app.shops.services import effective_settings, shop_language
from app.users.models import Membership, Role, User
from app.warehouse.models import Batch, Item

log = logging.getLogger(__name__)

OCCASION_REMINDER_TIME = time(10, 0)
STOCK_DIGEST_TIME = time(8, 0)
# OccasionDate and the shop settings allow a reminder at most 60 days ahead.
MAX_DAYS_BEFORE = 60
EXPIRY_HORIZON_DAYS = 2
DIGEST_LINES_SHOWN = 30
DIGEST_ROLES = (Role.ADMIN.value, Role.MANAGER.value)
DIGEST_CHECKED_TTL = 3 * 24 * 3600


# --- the clock of each shop ------------------------------------------------------------------------


@dataclass(frozen=True)
class ShopView:
    """What the scans read of a shop, as plain values: they outlive the commits a scan makes."""

    id: int
    name: str
    country: str
    settings: dict[str, Any]


@dataclass(frozen=True)
class ShopClock:
    """A shop and the wall-clock time where it is, at the scan's instant."""

    shop: ShopView
    local_now: datetime

    @property
    def today(self) -> date:
        return self.local_now.date()

    def has_reached(self, moment: time) -> bool:
        """Whether the shop's local time of day is `moment` or later (the day's catch-up window)."""
        return self.local_now.time() >= moment


def shop_clocks(now: datetime) -> list[ShopClock]:
    """Every shop with its local time at the UTC instant `now`; a shop with an unknown zone is skipped."""
    clocks = []
    for shop in db.session.scalars(select(Shop).order_by(Shop.id)):
        try:
            zone = ZoneInfo(shop.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            log.error("shop %s has an unknown time zone %r; its scans are skipped", shop.id, shop.timezone)
            continue
        view = ShopView(id=shop.id, name=shop.name, country=shop.country, settings=effective_settings(shop))
        clocks.append(ShopClock(shop=view, local_now=now.astimezone(zone)))
    return clocks


# --- occasion reminders ------------------------------------------------------------------------------


def scan_occasion_reminders(now: datetime | None = None) -> int:
    """Queue the occasion reminders due now in every shop past 10:00 local time; how many were queued."""
    now = now or utcnow()
    queued = 0
    for clock in shop_clocks(now):
        if clock.has_reached(OCCASION_REMINDER_TIME):
            queued += _queue_occasion_reminders(clock)
    log.info("occasion reminder scan queued %d message(s)", queued)
    return queued


def upcoming_occurrences(today: date, horizon: int = MAX_DAYS_BEFORE) -> dict[tuple[int, int, int], date]:
    """(days before, month, day) → the date it falls on, for reminders sent `today`.

    29 February is kept on 28 February in common years.
    """
    occurrences: dict[tuple[int, int, int], date] = {}
    for days_before in range(horizon + 1):
        day = today + timedelta(days=days_before)
        occurrences[(days_before, day.month, day.day)] = day
        if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
            occurrences[(days_before, 2, 29)] = day
    return occurrences


def occasion_key(occasion_id: int, year: int) -> str:
    return f"occasion:{occasion_id}:{year}"


def _days_setting(shop: ShopView) -> int:
    days = shop.settings["occasion_reminder_days"]
    return days if isinstance(days, int) and 0 <= days <= MAX_DAYS_BEFORE else 3


def _due_occasions(shop_id: int, today: date, default_days: int, occurrences: Iterable[tuple[int, int, int]]):
    occurrences = list(occurrences)
    days_before = OccasionDate.remind_days_before.is_(None)
    days = case((days_before, default_days), else_=OccasionDate.remind_days_before)
    # Reminders look at most 60 days ahead: a month before today's is next year's.
    year = case((OccasionDate.month >= today.month, today.year), else_=today.year + 1)
    key = literal("occasion:") + cast(OccasionDate.id, String) + literal(":") + cast(year, String)
    already_queued = select(MessageLog.id).where(MessageLog.occurrence_key == key).exists()
    return (
        select(OccasionDate, Customer)
        .join(Customer, Customer.id == OccasionDate.customer_id)
        .where(
            OccasionDate.shop_id == shop_id,
            Customer.shop_id == shop_id,
            OccasionDate.reminders_enabled.is_(True),
            Customer.marketing_consent.is_(True),
            Customer.anonymized_at.is_(None),
            or_(Customer.phone.is_not(None), Customer.telegram_chat_id.is_not(None)),
            # The (shop, month, day) index narrows the dates; the exact days-before rule follows.
            OccasionDate.month.in_(sorted({month for _d, month, _day in occurrences})),
            tuple_(OccasionDate.month, OccasionDate.day).in_(sorted({(m, d) for _n, m, d in occurrences})),
            tuple_(days, OccasionDate.month, OccasionDate.day).in_(occurrences),
            ~already_queued,
        )
        # Concurrent scans insert the keys in the same order: they wait for each other, never deadlock.
        .order_by(OccasionDate.id)
    )


def customer_name(customer: Customer, language: str) -> str:
    if customer.name.strip():
        return customer.name.strip()
    return "dear customer" if language == "en" else "уважаемый клиент"


def _queue_occasion_reminders(clock: ShopClock) -> int:
    shop = clock.shop
    default_days = _days_setting(shop)
    occurrences = upcoming_occurrences(clock.today)
    rows = db.session.execute(_due_occasions(shop.id, clock.today, default_days, occurrences)).all()
    queued = 0
    for occasion, customer in rows:
        days_before = default_days if occasion.remind_days_before is None else occasion.remind_days_before
        falls_on = occurrences[(days_before, occasion.month, occasion.day)]
        if occasion.year is not None and falls_on.year < occasion.year:
            continue  # a date entered for a future year is not reminded before it
        address = channel_for_customer(customer)
        if address is None:
            continue
        channel, to = address
        language = templates.language_for(customer.language)
        message = queue_message(
            kind="occasion_reminder",
            channel=channel,
            to=to,
            template="occasion_reminder",
            language=language,
            occurrence_key=occasion_key(occasion.id, falls_on.year),
            context={
                "shop": shop.name,
                "name": customer_name(customer, language),
                "date": templates.day_and_month(falls_on, language),
                "label": occasion.label,
                "occasion_id": occasion.id,
                "occasion_date": falls_on.isoformat(),
            },
            shop_id=shop.id,
            customer_id=customer.id,
            description=f"send occasion reminder {occasion.id}",
        )
        queued += message is not None
    db.session.commit()  # the claimed keys and their send jobs, together
    return queued


# --- the managers' daily stock digest ------------------------------------------------------------------


@dataclass
class StockDigest:
    """What one shop's managers read at 08:00: low stock, soon-expiring and expired batches."""

    clock: ShopClock
    low_stock: list[Item] = field(default_factory=list)
    expiring: list[tuple[Batch, Item]] = field(default_factory=list)
    expired: list[tuple[Batch, Item]] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.low_stock or self.expiring or self.expired)

    def key(self, recipient: str) -> str:
        return f"{digest_key_prefix(self.clock.shop.id, self.clock.today)}{recipient}"

    def context(self, language: str) -> dict[str, object]:
        en = language == "en"
        low = [
            f"- {item.name}: {_qty(item.available)} {item.unit}"
            + (" left, minimum " if en else ", минимум ")
            + _qty(item.min_level)
            for item in self.low_stock
        ]
        expiring = [
            f"- {item.name}: {_qty(batch.remaining)} {item.unit}, "
            + ("until " if en else "годен до ")
            + templates.day_and_month(batch.expires_on, language)
            for batch, item in self.expiring
        ]
        expired = [
            f"- {item.name}: {_qty(batch.remaining)} {item.unit}, "
            + ("expired " if en else "истёк ")
            + templates.day_and_month(batch.expires_on, language)
            for batch, item in self.expired
        ]
        return {
            "shop": self.clock.shop.name,
            "date": templates.day_and_month(self.clock.today, language),
            "low_count": len(low),
            "low_stock": _lines(low, en),
            "expiring_count": len(expiring),
            "expiring": _lines(expiring, en),
            "expired_count": len(expired),
            "expired": _lines(expired, en),
        }


def digest_key_prefix(shop_id: int, day: date) -> str:
    return f"stock_digest:{shop_id}:{day.isoformat()}:"


def _qty(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _lines(lines: Sequence[str], en: bool) -> str:
    if not lines:
        return "—"
    shown = list(lines[:DIGEST_LINES_SHOWN])
    if len(lines) > DIGEST_LINES_SHOWN:
        more = len(lines) - DIGEST_LINES_SHOWN
        shown.append(f"… and {more} more" if en else f"… и ещё {more}")
    return "\n".join(shown)


def scan_stock_digests(now: datetime | None = None) -> int:
    """Queue each shop's stock digest once per local day, from 08:00 local time; how many messages were queued.

    A shop with nothing low or expiring gets no digest that day, even if stock runs low later on.
    """
    now = now or utcnow()
    clocks = [c for c in shop_clocks(now) if c.has_reached(STOCK_DIGEST_TIME) and not _digest_checked(c)]
    if not clocks:
        return 0
    done = _digests_already_queued(clocks, now)
    pending = [c for c in clocks if c.shop.id not in done]
    queued = 0
    if pending:
        digests = _build_digests(pending)
        staff = managers_of([c.shop.id for c in pending])
        for digest in digests:
            if not digest.is_empty:
                queued += _queue_digest(digest, staff.get(digest.clock.shop.id, []))
        db.session.commit()
    for clock in clocks:
        _mark_digest_checked(clock)
    log.info("stock digest scan queued %d message(s)", queued)
    return queued


def _checked_key(clock: ShopClock) -> str:
    return f"stock-digest-checked:{clock.shop.id}:{clock.today.isoformat()}"


def _digest_checked(clock: ShopClock) -> bool:
    # A shortcut only: the message log's keys are what make a digest go once.
    try:
        return bool(redis_client.exists(_checked_key(clock)))
    except RedisError:
        return False


def _mark_digest_checked(clock: ShopClock) -> None:
    try:
        redis_client.set(_checked_key(clock), 1, ex=DIGEST_CHECKED_TTL)
    except RedisError:
        log.warning("could not mark shop %s's stock digest as checked", clock.shop.id)


def _digests_already_queued(clocks: Sequence[ShopClock], now: datetime) -> set[int]:
    prefixes = {c.shop.id: digest_key_prefix(c.shop.id, c.today) for c in clocks}
    keys = db.session.execute(
        select(MessageLog.shop_id, MessageLog.occurrence_key).where(
            MessageLog.shop_id.in_(prefixes),
            MessageLog.kind == "stock_digest",
            MessageLog.created_at >= now - timedelta(days=2),
        )
    ).all()
    return {shop_id for shop_id, key in keys if key.startswith(prefixes[shop_id])}


def _build_digests(clocks: Sequence[ShopClock]) -> list[StockDigest]:
    digests = {c.shop.id: StockDigest(clock=c) for c in clocks}
    low_items = db.session.scalars(
        select(Item)
        .where(
            Item.shop_id.in_(digests),
            Item.is_active.is_(True),
            Item.on_hand - Item.reserved < Item.min_level,
        )
        .order_by(Item.shop_id, (Item.on_hand - Item.reserved - Item.min_level).asc(), Item.id)
    )
    for item in low_items:
        digests[item.shop_id].low_stock.append(item)
    horizon = or_(
        *(
            and_(Batch.shop_id == c.shop.id, Batch.expires_on <= c.today + timedelta(days=EXPIRY_HORIZON_DAYS))
            for c in clocks
        )
    )
    batches = db.session.execute(
        select(Batch, Item)
        .join(Item, Item.id == Batch.item_id)
        .where(Batch.shop_id.in_(digests), Batch.remaining > 0, Batch.expires_on.is_not(None), horizon)
        .order_by(Batch.shop_id, Batch.expires_on, Batch.id)
    ).all()
    for batch, item in batches:
        digest = digests[batch.shop_id]
        # A batch is expired from its expiry date on (the warehouse's rule).
        (digest.expired if batch.expires_on <= digest.clock.today else digest.expiring).append((batch, item))
    return list(digests.values())


def managers_of(shop_ids: Sequence[int]) -> dict[int, list[User]]:
    rows = db.session.execute(
        select(Membership.shop_id, User)
        .join(User, User.id == Membership.user_id)
        .options(lazyload(User.memberships))  # not needed here
        .where(
            Membership.shop_id.in_(shop_ids),
            Membership.is_active,
            Membership.role.in_(DIGEST_ROLES),
            User.is_active.is_(True),
        )
        .order_by(Membership.shop_id, User.id)
    ).all()
    staff: dict[int, list[User]] = defaultdict(list)
    for shop_id, user in rows:
        staff[shop_id].append(user)
    return staff


def _queue_digest(digest: StockDigest, staff: Sequence[User]) -> int:
    """By email to the shop's notification address when it has one, else to each manager and admin."""
    shop = digest.clock.shop
    email = shop.settings["notification_email"]
    if email:
        recipients = [("email", email, None, "email", shop_language(shop.country))]
    else:
        recipients = [(*channel_for_user(user), user.id, f"user:{user.id}", user.language) for user in staff]
    queued = 0
    for channel, to, user_id, suffix, language in recipients:
        language = templates.language_for(language)
        message = queue_message(
            kind="stock_digest",
            channel=channel,
            to=to,
            template="stock_digest",
            language=language,
            occurrence_key=digest.key(suffix),
            context=digest.context(language),
            shop_id=shop.id,
            user_id=user_id,
            description=f"send stock digest of shop {shop.id}",
        )
        queued += message is not None
    return queued
