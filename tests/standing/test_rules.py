"""The calendar of a standing order: rules across years, month ends, leap days and named days (real calendars)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.common.named_days import day_of
from app.shops.models import Shop
from app.standing import rules
from app.standing.services import local_today


def dates(rule, start, *, limit=6, ends_on=None, count=None, after=None):
    series = rules.recurrence(rule, starts_on=start, ends_on=ends_on, count=count)
    return rules.dates(series, after=after or start, limit=limit)


def test_every_two_weeks_on_friday_runs_across_the_new_year():
    rule = {"frequency": "weekly", "interval": 2, "weekdays": [4]}
    assert dates(rule, date(2026, 12, 18), limit=4) == [
        date(2026, 12, 18),
        date(2027, 1, 1),
        date(2027, 1, 15),
        date(2027, 1, 29),
    ]


def test_weekly_on_two_days_with_a_count_stops_after_that_many_dates():
    rule = {"frequency": "weekly", "weekdays": [0, 3]}
    got = dates(rule, date(2026, 3, 1), limit=10, count=3)  # a Sunday: the first Monday comes next
    assert got == [date(2026, 3, 2), date(2026, 3, 5), date(2026, 3, 9)]


def test_an_end_date_is_the_last_possible_date():
    rule = {"frequency": "weekly", "weekdays": [4]}
    got = dates(rule, date(2026, 1, 1), limit=10, ends_on=date(2026, 1, 23))
    assert got == [date(2026, 1, 2), date(2026, 1, 9), date(2026, 1, 16), date(2026, 1, 23)]


def test_monthly_on_the_31st_falls_on_the_last_day_of_shorter_months():
    rule = {"frequency": "monthly", "month_day": 31}
    assert dates(rule, date(2027, 12, 1), limit=5) == [
        date(2027, 12, 31),
        date(2028, 1, 31),
        date(2028, 2, 29),  # a leap year
        date(2028, 3, 31),
        date(2028, 4, 30),
    ]


def test_monthly_on_the_30th_in_february_of_a_common_year_is_the_28th():
    rule = {"frequency": "monthly", "month_day": 30}
    assert dates(rule, date(2027, 1, 1), limit=3) == [date(2027, 1, 30), date(2027, 2, 28), date(2027, 3, 30)]


def test_monthly_on_the_last_friday_and_the_second_monday():
    last_friday = {"frequency": "monthly", "nth": -1, "weekday": 4}
    assert dates(last_friday, date(2026, 1, 1), limit=3) == [date(2026, 1, 30), date(2026, 2, 27), date(2026, 3, 27)]
    second_monday = {"frequency": "monthly", "nth": 2, "weekday": 0}
    assert dates(second_monday, date(2026, 12, 1), limit=2) == [date(2026, 12, 14), date(2027, 1, 11)]


def test_yearly_on_february_29_is_february_28_in_common_years():
    rule = {"frequency": "yearly", "month": 2, "month_day": 29}
    assert dates(rule, date(2026, 1, 1), limit=4) == [
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
        date(2029, 2, 28),
    ]


NAMED = {
    "march_8": [date(2026, 3, 8), date(2027, 3, 8), date(2028, 3, 8)],
    "valentines_day": [date(2026, 2, 14), date(2027, 2, 14), date(2028, 2, 14)],
    "knowledge_day": [date(2026, 9, 1), date(2027, 9, 1), date(2028, 9, 1)],
    "teachers_day_ru": [date(2026, 10, 5), date(2027, 10, 5), date(2028, 10, 5)],
    # Russia: the last Sunday of November.
    "mothers_day_ru": [date(2026, 11, 29), date(2027, 11, 28), date(2028, 11, 26)],
    # The US: the second Sunday of May.
    "mothers_day_us": [date(2026, 5, 10), date(2027, 5, 9), date(2028, 5, 14)],
    # The UK: three weeks before Easter Sunday (Easter 2026-04-05, 2027-03-28, 2028-04-16).
    "mothering_sunday_uk": [date(2026, 3, 15), date(2027, 3, 7), date(2028, 3, 26)],
}


@pytest.mark.parametrize("named_day", sorted(NAMED))
def test_named_days_fall_on_the_real_dates_of_2026_to_2028(named_day):
    rule = {"frequency": "yearly", "named_day": named_day}
    assert dates(rule, date(2026, 1, 1), limit=3) == NAMED[named_day]
    # The purchase plan reads the same calendar.
    assert [day_of(named_day, year) for year in (2026, 2027, 2028)] == NAMED[named_day]
    if named_day.startswith("mother"):
        assert {day.weekday() for day in NAMED[named_day]} == {6}  # Sundays


def test_a_series_can_be_read_from_any_later_date():
    rule = {"frequency": "yearly", "named_day": "mothers_day_us"}
    series = rules.recurrence(rule, starts_on=date(2026, 1, 1), ends_on=None, count=None)
    assert rules.first_on_or_after(series, date(2027, 5, 9)) == date(2027, 5, 9)
    assert rules.following(series, date(2027, 5, 9)) == date(2028, 5, 14)


@pytest.mark.parametrize(
    ("moment", "moscow", "new_york"),
    [
        # 8 March 2026 in Moscow while still 7 March in New York (EST, UTC−5, the night DST begins there).
        (datetime(2026, 3, 8, 3, 30, tzinfo=UTC), date(2026, 3, 8), date(2026, 3, 7)),
        # New York has moved to EDT (UTC−4) at 07:00 UTC: 03:59 UTC on 9 March is 23:59 on the 8th.
        (datetime(2026, 3, 9, 3, 59, tzinfo=UTC), date(2026, 3, 9), date(2026, 3, 8)),
        (datetime(2026, 3, 9, 4, 0, tzinfo=UTC), date(2026, 3, 9), date(2026, 3, 9)),
        # The autumn change (1 November 2026, back to EST): midnight is 05:00 UTC again.
        (datetime(2026, 11, 2, 4, 59, tzinfo=UTC), date(2026, 11, 2), date(2026, 11, 1)),
        (datetime(2026, 11, 2, 5, 0, tzinfo=UTC), date(2026, 11, 2), date(2026, 11, 2)),
    ],
)
def test_today_is_the_shop_local_date_across_daylight_saving_changes(moment, moscow, new_york):
    assert local_today(Shop(timezone="Europe/Moscow"), moment) == moscow
    assert local_today(Shop(timezone="America/New_York"), moment) == new_york


def _rules_to_compare():
    for interval in (1, 2, 3):
        yield {"frequency": "weekly", "interval": interval, "weekdays": [0, 4, 6]}
        yield {"frequency": "weekly", "interval": interval, "weekdays": [2]}
        for month_day in (1, 15, 28, 29, 30, 31):
            yield {"frequency": "monthly", "interval": interval, "month_day": month_day}
        for nth in (1, 2, 4, -1):
            yield {"frequency": "monthly", "interval": interval, "nth": nth, "weekday": (nth + 7) % 7}
        yield {"frequency": "yearly", "interval": interval, "month": 2, "month_day": 29}
        yield {"frequency": "yearly", "interval": interval, "month": 4, "month_day": 31}
        yield {"frequency": "yearly", "interval": interval, "month": 12, "month_day": 8}
    for name in ("march_8", "mothers_day_ru", "mothers_day_us", "mothering_sunday_uk"):
        yield {"frequency": "yearly", "interval": 1, "named_day": name}
        yield {"frequency": "yearly", "interval": 2, "named_day": name}


@pytest.mark.parametrize("rule", list(_rules_to_compare()), ids=lambda rule: str(sorted(rule.items())))
def test_the_dates_in_a_range_are_the_rrules_own(rule):
    """The purchase plan finds a series' dates in its range by arithmetic (`dates_in`): the same dates the scan's
    rrule makes, over starts on every weekday, month ends, leap years, ranges of one day to a month, end dates."""
    for start in (date(2023, 1, 31), date(2023, 11, 26), date(2024, 2, 29), date(2025, 6, 3), date(2026, 3, 8)):
        for ends_on in (None, date(2027, 5, 20)):
            series = rules.recurrence(rule, starts_on=start, ends_on=ends_on, count=None)
            for first in (start, date(2024, 2, 26), date(2025, 12, 27), date(2027, 3, 1), date(2028, 2, 25)):
                for days in (0, 6, 30):
                    last = date.fromordinal(first.toordinal() + days)
                    expected = rules.dates_between(series, first, last)
                    got = rules.dates_in(rule, starts_on=start, ends_on=ends_on, count=None, first=first, last=last)
                    assert got == expected, (start, ends_on, first, last)


def test_the_dates_in_a_range_of_a_series_with_a_count_stop_with_it():
    rule = {"frequency": "weekly", "weekdays": [0, 3]}
    got = rules.dates_in(
        rule, starts_on=date(2026, 3, 1), ends_on=None, count=3, first=date(2026, 3, 1), last=date(2026, 3, 31)
    )
    assert got == [date(2026, 3, 2), date(2026, 3, 5), date(2026, 3, 9)]
