"""The named days a flower shop's year peaks on: the one calendar standing orders and the purchase plan share.

Each name is a yearly python-dateutil rrule part: March 8, February 14, September 1, Teacher's Day (October 5),
Mother's Day in Russia (last Sunday of November), in the US (second Sunday of May), in the UK (Mothering Sunday:
21 days before Western Easter, dateutil's `byeaster`). Standing orders put it into their rule
(app/standing/rules.py); the purchase plan asks which day a name falls on in a year (app/reports/named_days.py).
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Any

from dateutil.rrule import YEARLY, rrule, weekday

SUNDAY = 6
# name -> the rrule parts that put it in the year
NAMED_DAYS: dict[str, dict[str, Any]] = {
    "march_8": {"bymonth": 3, "bymonthday": 8},
    "valentines_day": {"bymonth": 2, "bymonthday": 14},
    "knowledge_day": {"bymonth": 9, "bymonthday": 1},
    "teachers_day_ru": {"bymonth": 10, "bymonthday": 5},
    "mothers_day_ru": {"bymonth": 11, "byweekday": weekday(SUNDAY, -1)},
    "mothers_day_us": {"bymonth": 5, "byweekday": weekday(SUNDAY, 2)},
    "mothering_sunday_uk": {"byeaster": -21},
}


@lru_cache(maxsize=1024)
def day_of(name: str, year: int) -> date:
    """The day `name` falls on in `year`."""
    return rrule(YEARLY, dtstart=datetime(year, 1, 1), count=1, cache=False, **NAMED_DAYS[name])[0].date()


def named_day(day: date) -> str | None:
    """The name of the peak day `day` is, if any."""
    for name in NAMED_DAYS:
        if day_of(name, day.year) == day:
            return name
    return None
