"""Periods: keys, boundaries in the program's time zone, DST, and week starts."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from podium.domain.errors import InvalidPeriod
from podium.domain.periods import ALL, parse_period, period_of
from podium.domain.program import PeriodKind, Weekday

CHICAGO = ZoneInfo("America/Chicago")


@pytest.mark.parametrize(
    ("kind", "key"),
    [
        (PeriodKind.DAY, "2026-11-27"),
        (PeriodKind.WEEK, "2026-W48"),
        (PeriodKind.MONTH, "2026-11"),
        (PeriodKind.QUARTER, "2026-Q4"),
        (PeriodKind.YEAR, "2026"),
        (PeriodKind.ALL, "all"),
    ],
)
def test_period_keys(kind, key):
    assert period_of(datetime(2026, 11, 27, 15, tzinfo=UTC), kind, UTC).key == key


def test_an_instant_falls_in_the_period_of_its_local_date():
    # 03:00 UTC on Monday 23 Nov is still Sunday evening in Chicago: last week there.
    instant = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    assert period_of(instant, PeriodKind.WEEK, UTC).key == "2026-W48"
    assert period_of(instant, PeriodKind.WEEK, CHICAGO).key == "2026-W47"
    assert period_of(instant, PeriodKind.DAY, CHICAGO).key == "2026-11-22"


def test_week_keys_match_iso_8601_with_monday_weeks():
    for day in (date(2020, 12, 31), date(2021, 1, 3), date(2024, 12, 30), date(2026, 1, 1), date(2027, 1, 1)):
        iso_year, iso_week, _ = day.isocalendar()
        instant = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        assert period_of(instant, PeriodKind.WEEK, UTC).key == f"{iso_year}-W{iso_week:02d}"


def test_sunday_weeks_start_on_sunday():
    saturday = datetime(2026, 11, 28, 12, tzinfo=UTC)
    sunday = datetime(2026, 11, 29, 12, tzinfo=UTC)
    a = period_of(saturday, PeriodKind.WEEK, UTC, Weekday.SUNDAY)
    b = period_of(sunday, PeriodKind.WEEK, UTC, Weekday.SUNDAY)
    assert a.first_day == date(2026, 11, 22)
    assert b.first_day == date(2026, 11, 29)
    assert a.key != b.key
    assert parse_period(b.key, Weekday.SUNDAY) == b


def test_week_boundaries_are_local_midnights_across_dst():
    # US DST ended on Sunday 1 Nov 2026: that week's Monday midnight is CST (-6), the previous one CDT (-5).
    week = parse_period("2026-W45")
    assert week.start(CHICAGO) == datetime(2026, 11, 2, 6, tzinfo=UTC)
    before = parse_period("2026-W44")
    assert before.start(CHICAGO) == datetime(2026, 10, 26, 5, tzinfo=UTC)
    assert before.end(CHICAGO) == week.start(CHICAGO)


def test_the_day_clocks_change_is_one_period_of_25_hours():
    day = parse_period("2026-11-01")
    assert (day.end(CHICAGO) - day.start(CHICAGO)).total_seconds() == 25 * 3600
    late = datetime(2026, 11, 2, 5, 59, tzinfo=UTC)  # 23:59 CST on 1 Nov
    assert period_of(late, PeriodKind.DAY, CHICAGO) == day


def test_a_midnight_skipped_by_dst_starts_the_day_at_the_transition():
    # Chile springs forward at 00:00 on 6 Sep 2026: the day starts at 01:00 local (-03), 04:00 UTC.
    santiago = ZoneInfo("America/Santiago")
    day = parse_period("2026-09-06")
    assert day.start(santiago) == datetime(2026, 9, 6, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    ("key", "first", "end"),
    [
        ("2026-11-27", date(2026, 11, 27), date(2026, 11, 28)),
        ("2026-W01", date(2025, 12, 29), date(2026, 1, 5)),
        ("2026-W53", date(2026, 12, 28), date(2027, 1, 4)),
        ("2026-02", date(2026, 2, 1), date(2026, 3, 1)),
        ("2026-12", date(2026, 12, 1), date(2027, 1, 1)),
        ("2026-Q1", date(2026, 1, 1), date(2026, 4, 1)),
        ("2026-q4", date(2026, 10, 1), date(2027, 1, 1)),
        ("2026", date(2026, 1, 1), date(2027, 1, 1)),
    ],
)
def test_parse_period(key, first, end):
    period = parse_period(key)
    assert (period.first_day, period.end_day) == (first, end)


def test_all_covers_everything():
    assert parse_period("all") is ALL
    assert ALL.start(UTC) is None and ALL.end(UTC) is None
    assert ALL.contains_day(date(1999, 1, 1))


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("2025-W53", "does not exist: 2025 has no week 53"),
        ("2026-W00", "does not exist: 2026 has no week 0"),
        ("2026-13", "is not a real date"),
        ("2026-02-30", "is not a real date"),
        ("last week", "is not recognised: use 2026-11-27 (day), 2026-W48 (week)"),
        ("", "is not recognised: use 2026-11-27 (day), 2026-W48 (week)"),
        ("2026-Q5", "is not recognised: use 2026-11-27 (day), 2026-W48 (week)"),
    ],
)
def test_bad_period_keys_are_refused_with_a_sentence(key, why):
    """The sentence quotes the key as given (so an empty one shows as '') and says what is wrong with it."""
    with pytest.raises(InvalidPeriod) as caught:
        parse_period(key)
    assert str(caught.value).startswith(f"period {key!r} {why}")


def test_naive_instants_are_refused():
    with pytest.raises(ValueError):
        period_of(datetime(2026, 11, 27), PeriodKind.DAY, UTC)
