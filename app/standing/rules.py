"""When a standing order falls: its rule as a python-dateutil rrule over shop-local calendar dates.

Decisions a calendar forces on us:
- monthly on day D (29–31) in a month without that day: the month's last day (the 31st → April 30, Feb 28/29);
- yearly on February 29 in a non-leap year: February 28 (so is any yearly day a month lacks);
- named days: the shared calendar of app/common/named_days.py (March 8, February 14, September 1, Teacher's Day,
  Mother's Day in Russia, the US and the UK), the same one the purchase plan forecasts by.
Dates carry no time: the shop's time zone decides only which date is "today" (app/standing/services.py).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from dateutil.rrule import MONTHLY, WEEKLY, YEARLY, rrule, weekday

from app.common.named_days import NAMED_DAYS

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


def dates(series: rrule, *, after: date, limit: int) -> list[date]:
    """Up to `limit` dates on or after `after`."""
    found = []
    for moment in series.xafter(datetime.combine(after, time()), count=limit, inc=True):
        found.append(moment.date())
    return found
