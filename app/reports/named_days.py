"""Which day of last year a day's demand is read from (the named days themselves: app/common/named_days.py).

A named day moves with its name: March 8 is compared with last year's March 8 (whatever weekday it
fell on), Mother's Day in the US with last year's second Sunday of May. Any other day is compared
with the same weekday 52 weeks (364 days) earlier, a week further back while that day was itself a
named day: an ordinary Sunday must not be planned like last year's Mother's Day.
"""

from __future__ import annotations

from datetime import date, timedelta

from app.common.named_days import day_of, named_day

WEEKS_52 = timedelta(days=364)


def compared_with(day: date) -> tuple[date, str | None]:
    """(the day of last year whose orders forecast `day`, the name when `day` is a named day)."""
    name = named_day(day)
    if name is not None:
        return day_of(name, day.year - 1), name
    earlier = day - WEEKS_52
    while named_day(earlier) is not None:
        earlier -= timedelta(days=7)
    return earlier, None
