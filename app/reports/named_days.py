"""The days a flower shop's year peaks on, and which day of last year a day's demand is read from.

A named day moves with its name: March 8 is compared with last year's March 8 (whatever weekday it
fell on), Mother's Day in the US with last year's second Sunday of May. Any other day is compared
with the same weekday 52 weeks (364 days) earlier, a week further back while that day was itself a
named day: an ordinary Sunday must not be planned like last year's Mother's Day.
"""

from __future__ import annotations

from calendar import SUNDAY, monthrange
from collections.abc import Callable
from datetime import date, timedelta


def easter(year: int) -> date:
    """Western (Gregorian) Easter Sunday: the anonymous Gregorian algorithm (Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741  the algorithm's own name
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return date(year, month, day + 1)


def nth_sunday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(SUNDAY - first.weekday()) % 7 + 7 * (n - 1))


def last_sunday(year: int, month: int) -> date:
    last = date(year, month, monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - SUNDAY) % 7)


# name -> the day it falls on in a year
NAMED_DAYS: dict[str, Callable[[int], date]] = {
    "valentines_day": lambda year: date(year, 2, 14),
    "womens_day": lambda year: date(year, 3, 8),
    "knowledge_day": lambda year: date(year, 9, 1),
    "teachers_day": lambda year: date(year, 10, 5),
    "mothers_day_ru": lambda year: last_sunday(year, 11),
    "mothers_day_us": lambda year: nth_sunday(year, 5, 2),
    "mothering_sunday_uk": lambda year: easter(year) - timedelta(days=21),
}

WEEKS_52 = timedelta(days=364)


def named_day(day: date) -> str | None:
    """The name of the peak day `day` is, if any."""
    for name, on in NAMED_DAYS.items():
        if on(day.year) == day:
            return name
    return None


def compared_with(day: date) -> tuple[date, str | None]:
    """(the day of last year whose orders forecast `day`, the name when `day` is a named day)."""
    name = named_day(day)
    if name is not None:
        return NAMED_DAYS[name](day.year - 1), name
    earlier = day - WEEKS_52
    while named_day(earlier) is not None:
        earlier -= timedelta(days=7)
    return earlier, None
