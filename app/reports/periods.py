"""Shop-local days, weeks and months: the calendar the owner reads a report in, turned into SQL.

Timestamps are stored in UTC; a report groups them by the shop's own calendar. An order taken at
23:30 in Vladivostok belongs to that Vladivostok day, whatever the UTC date says.

PostgreSQL converts with its own time zone database (`timezone(zone, ts)`). The dev mode's SQLite
has none, so there the shop's UTC offsets over the report's range are worked out here (zoneinfo)
and handed to SQLite as a CASE over the few instants where the offset changes (summer time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import Date, DateTime, Interval, case, cast, func, literal
from sqlalchemy.sql.elements import ColumnElement

from app.extensions import db


class GroupBy(StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO weeks, Monday first
    MONTH = "month"


def period_start(day: date, group_by: GroupBy) -> date:
    """The first day of the calendar period `day` falls in."""
    if group_by == GroupBy.WEEK:
        return day - timedelta(days=day.weekday())
    if group_by == GroupBy.MONTH:
        return day.replace(day=1)
    return day


def next_period(start: date, group_by: GroupBy) -> date:
    if group_by == GroupBy.WEEK:
        return start + timedelta(days=7)
    if group_by == GroupBy.MONTH:
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """A calendar period, cut to the report's range: `first` and `last` are the days it covers."""

    start: date
    first: date
    last: date


@dataclass(frozen=True)
class LocalRange:
    """Shop-local days `first`..`last` (both inclusive) and the UTC instants that bound them."""

    zone: ZoneInfo
    first: date
    last: date

    @property
    def starts_at(self) -> datetime:
        return local_midnight(self.first, self.zone)

    @property
    def ends_at(self) -> datetime:
        """The first instant after the range (exclusive bound)."""
        return local_midnight(self.last + timedelta(days=1), self.zone)

    def periods(self, group_by: GroupBy) -> list[Period]:
        found = []
        start = period_start(self.first, group_by)
        while start <= self.last:
            following = next_period(start, group_by)
            found.append(Period(start, max(start, self.first), min(following - timedelta(days=1), self.last)))
            start = following
        return found


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant the shop's day begins."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def local_today(zone: ZoneInfo) -> date:
    return datetime.now(zone).date()


def _offset(zone: ZoneInfo, instant: datetime) -> int:
    return int(instant.astimezone(zone).utcoffset().total_seconds())


def offset_segments(zone: ZoneInfo, starts_at: datetime, ends_at: datetime) -> list[tuple[datetime, int]]:
    """[(from instant, UTC offset in seconds)] covering starts_at..ends_at; one segment unless the clocks change."""
    segments = [(starts_at, _offset(zone, starts_at))]
    day = timedelta(days=1)
    cursor = starts_at
    while cursor < ends_at:
        step_end = min(cursor + day, ends_at)
        if _offset(zone, step_end) != segments[-1][1]:
            # Clocks change at most once a day, on a whole second: bisect the day down to that second.
            low, high = math.floor(cursor.timestamp()), math.ceil(step_end.timestamp())
            while high - low > 1:
                middle = (low + high) // 2
                if _offset(zone, datetime.fromtimestamp(middle, UTC)) == segments[-1][1]:
                    low = middle
                else:
                    high = middle
            high = datetime.fromtimestamp(high, UTC)
            segments.append((high, _offset(zone, high)))
        cursor = step_end
    return segments


def is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def local_timestamp(column, local: LocalRange) -> ColumnElement:
    """SQL for a UTC timestamp column as the shop's wall-clock time (comparable with a local date and time)."""
    if is_postgresql():
        return func.timezone(literal(local.zone.key), column)
    # Rows far outside the range are filtered out by the caller; a margin of a day keeps the edges exact.
    segments = offset_segments(local.zone, local.starts_at - timedelta(days=1), local.ends_at + timedelta(days=1))
    shift = f"{segments[-1][1]:+d} seconds"
    if len(segments) > 1:
        pairs = zip(segments, segments[1:], strict=False)
        shift = case(*[(column < until, f"{offset:+d} seconds") for (_, offset), (until, _) in pairs], else_=shift)
    return func.datetime(column, shift)


def local_wall_clock(day_column, hh_mm_column) -> ColumnElement:
    """SQL for a shop-local day plus an "HH:MM" time, comparable with `local_timestamp`."""
    if is_postgresql():
        return cast(day_column, DateTime) + cast(hh_mm_column, Interval)
    return func.datetime(func.date(day_column).concat(" ").concat(hh_mm_column))


def local_period(column, local: LocalRange, group_by: GroupBy) -> ColumnElement:
    """SQL for the shop-local period start (a date) of a UTC timestamp column."""
    local_time = local_timestamp(column, local)
    if is_postgresql():
        return cast(func.date_trunc(literal(group_by.value), local_time), Date)
    if group_by == GroupBy.WEEK:
        return func.date(local_time, "weekday 0", "-6 days")
    if group_by == GroupBy.MONTH:
        return func.date(local_time, "start of month")
    return func.date(local_time)


def as_date(value: date | datetime | str) -> date:
    """A period value as the driver returns it (a date on PostgreSQL, text on SQLite)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
