"""When a standing order falls: its rule as a python-dateutil rrule over shop-local calendar dates.

Decisions a calendar forces on us:
- monthly on day D (29–31) in a month without that day: the month's last day (the 31st → April 30, Feb 28/29);
- yearly on February 29 in a non-leap year: February 28 (so is any yearly day a month lacks);
- named days: the shared calendar of app/common/named_days.py (March 8, February 14, September 1, Teacher's Day,
  Mother's Day in Russia, the US and the UK), the same one the purchase plan forecasts by.
Dates carry no time: the shop's time zone decides only which date is "today" (app/standing/services.py).
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta
from typing import Any

from dateutil.rrule import MONTHLY, WEEKLY, YEARLY, rrule, weekday

from app.common.named_days import NAMED_DAYS, day_of

FREQUENCIES = ("weekly", "monthly", "yearly")
FREQ = {"weekly": WEEKLY, "monthly": MONTHLY, "yearly": YEARLY}


def _day_of_month(day: int) -> dict[str, Any]:
    """Day D of the month, or the month's last day when it has no day D."""
    if day <= 28:
        return {"bymonthday": day}
    return {"bymonthday": (day, -1), "bysetpos": 1}


def _parts(rule: dict[str, Any]) -> dict[str, Any]:
    frequency = rule["frequency"]
    if frequency == "weekly":
        return {"byweekday": sorted(rule["weekdays"])}
    if frequency == "monthly":
        if rule.get("month_day"):
            return _day_of_month(rule["month_day"])
        return {"byweekday": weekday(rule["weekday"], rule["nth"])}
    if rule.get("named_day"):
        return dict(NAMED_DAYS[rule["named_day"]])
    return {"bymonth": rule["month"], **_day_of_month(rule["month_day"])}


def recurrence(rule: dict[str, Any], *, starts_on: date, ends_on: date | None, count: int | None) -> rrule:
    """The series' dates as an rrule of midnights (naive: calendar dates, not instants)."""
    return rrule(
        FREQ[rule["frequency"]],
        interval=rule.get("interval") or 1,
        dtstart=datetime.combine(starts_on, time()),
        until=datetime.combine(ends_on, time()) if ends_on else None,
        count=count,
        wkst=0,
        cache=False,
        **_parts(rule),
    )


def first_on_or_after(series: rrule, day: date) -> date | None:
    found = series.after(datetime.combine(day, time()), inc=True)
    return found.date() if found else None


def following(series: rrule, day: date) -> date | None:
    found = series.after(datetime.combine(day, time()), inc=False)
    return found.date() if found else None


def dates_between(series: rrule, first: date, last: date) -> list[date]:
    """The dates from `first` to `last`, both included."""
    return [
        moment.date()
        for moment in series.between(datetime.combine(first, time()), datetime.combine(last, time()), inc=True)
    ]


def _last_day(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _falls_on(rule: dict[str, Any], starts_on: date):
    """A test of whether a date on or after `starts_on` is one of the rule's: the recurrence's dates, by arithmetic."""
    interval = rule.get("interval") or 1
    frequency = rule["frequency"]
    if frequency == "weekly":
        weekdays = set(rule["weekdays"])
        monday = starts_on - timedelta(days=starts_on.weekday())  # the weeks count from the start's (wkst Monday)
        return lambda day: day.weekday() in weekdays and (day - monday).days // 7 % interval == 0
    if frequency == "monthly":
        months = starts_on.year * 12 + starts_on.month

        def in_month(day: date) -> bool:
            return (day.year * 12 + day.month - months) % interval == 0

        if rule.get("month_day"):
            wanted = rule["month_day"]
            return lambda day: in_month(day) and day.day == min(wanted, _last_day(day))
        weekday_, nth = rule["weekday"], rule["nth"]
        if nth > 0:
            return lambda day: day.weekday() == weekday_ and (day.day - 1) // 7 + 1 == nth and in_month(day)
        return lambda day: day.weekday() == weekday_ and (_last_day(day) - day.day) // 7 + 1 == -nth and in_month(day)
    years = starts_on.year
    if rule.get("named_day"):
        name = rule["named_day"]
        return lambda day: (day.year - years) % interval == 0 and day == day_of(name, day.year)
    month, wanted = rule["month"], rule["month_day"]
    return lambda day: (
        day.month == month and day.day == min(wanted, _last_day(day)) and (day.year - years) % interval == 0
    )


def dates_in(
    rule: dict[str, Any], *, starts_on: date, ends_on: date | None, count: int | None, first: date, last: date
) -> list[date]:
    """The series' dates from `first` to `last`, both included: `dates_between(recurrence(...), first, last)`,
    by calendar arithmetic over the range's days rather than walking the rule from its start (a range of days
    costs microseconds, a series started years ago a walk of its every date). A series with a count walks the
    rule: whether a date is within the count depends on all the dates before it."""
    if count is not None:
        series = recurrence(rule, starts_on=starts_on, ends_on=ends_on, count=count)
        return dates_between(series, first, last)
    first = max(first, starts_on)
    if ends_on is not None:
        last = min(last, ends_on)
    falls_on = _falls_on(rule, starts_on)
    return [day for day in (first + timedelta(days=n) for n in range((last - first).days + 1)) if falls_on(day)]


def dates(series: rrule, *, after: date, limit: int) -> list[date]:
    """Up to `limit` dates on or after `after`."""
    found = []
    for moment in series.xafter(datetime.combine(after, time()), count=limit, inc=True):
        found.append(moment.date())
    return found
