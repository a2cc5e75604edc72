"""The shop's calendar: periods cut to a range, and the instants where a shop's clocks change."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from app.reports.periods import GroupBy, LocalRange, offset_segments


def test_months_and_weeks_are_cut_to_the_range():
    march = LocalRange(ZoneInfo("Europe/Moscow"), date(2024, 1, 30), date(2024, 3, 5))

    months = [(p.start, p.first, p.last) for p in march.periods(GroupBy.MONTH)]
    weeks = march.periods(GroupBy.WEEK)

    assert months == [
        (date(2024, 1, 1), date(2024, 1, 30), date(2024, 1, 31)),
        (date(2024, 2, 1), date(2024, 2, 1), date(2024, 2, 29)),
        (date(2024, 3, 1), date(2024, 3, 1), date(2024, 3, 5)),
    ]
    assert (weeks[0].start, weeks[0].first, weeks[0].last) == (date(2024, 1, 29), date(2024, 1, 30), date(2024, 2, 4))
    assert (weeks[-1].start, weeks[-1].last) == (date(2024, 3, 4), date(2024, 3, 5))


def test_the_day_a_shop_starts_is_its_local_midnight_in_utc():
    vladivostok = LocalRange(ZoneInfo("Asia/Vladivostok"), date(2024, 3, 10), date(2024, 3, 10))

    assert vladivostok.starts_at == datetime(2024, 3, 9, 14, 0, tzinfo=UTC)
    assert vladivostok.ends_at == datetime(2024, 3, 10, 14, 0, tzinfo=UTC)


def test_clock_changes_are_found_to_the_second():
    berlin = ZoneInfo("Europe/Berlin")

    segments = offset_segments(berlin, datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 11, 1, tzinfo=UTC))

    assert segments == [
        (datetime(2024, 3, 1, tzinfo=UTC), 3600),
        (datetime(2024, 3, 31, 1, 0, tzinfo=UTC), 7200),
        (datetime(2024, 10, 27, 1, 0, tzinfo=UTC), 3600),
    ]
    assert offset_segments(
        ZoneInfo("Europe/Moscow"), datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
    ) == [(datetime(2024, 1, 1, tzinfo=UTC), 10800)]
