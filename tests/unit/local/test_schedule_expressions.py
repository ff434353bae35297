"""AWS schedule expressions: rate, six-field cron (names, lists, ranges, steps, years) and at, with the next fire
time worked out in UTC or, for ScheduleV2, in a time zone across daylight saving changes."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from podium_cli.local.schedules import Cron, ScheduleError, parse_expression

FRIDAY = datetime(2026, 11, 27, 13, 7, 30, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")


def fires(expression: str, after: datetime, count: int = 3, timezone: str = "UTC") -> list[datetime]:
    when = parse_expression(expression, timezone)
    times = []
    moment: datetime | None = after
    for _ in range(count):
        assert moment is not None
        moment = when.next_after(moment)
        if moment is None:
            break
        times.append(moment)
    return times


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)


def test_a_rate_counts_from_the_last_firing() -> None:
    assert fires("rate(5 minutes)", FRIDAY) == [FRIDAY + timedelta(minutes=5 * i) for i in (1, 2, 3)]
    assert fires("rate(1 hour)", FRIDAY, 1) == [FRIDAY + timedelta(hours=1)]
    assert fires("rate(2 days)", FRIDAY, 1) == [FRIDAY + timedelta(days=2)]


def test_weekday_names_use_aws_numbering_where_sunday_is_one() -> None:
    assert fires("cron(0 8 ? * MON *)", FRIDAY) == [
        utc(2026, 11, 30, 8, 0),
        utc(2026, 12, 7, 8, 0),
        utc(2026, 12, 14, 8, 0),
    ]
    assert fires("cron(0 8 ? * 1 *)", FRIDAY, 1) == [utc(2026, 11, 29, 8, 0)]  # 1 = Sunday
    assert fires("cron(0 8 ? * sat *)", FRIDAY, 1) == [utc(2026, 11, 28, 8, 0)]


def test_steps_ranges_and_lists_combine() -> None:
    assert fires("cron(*/20 13-14 ? * MON-FRI *)", FRIDAY, 4) == [
        utc(2026, 11, 27, 13, 20),
        utc(2026, 11, 27, 13, 40),
        utc(2026, 11, 27, 14, 0),
        utc(2026, 11, 27, 14, 20),
    ]
    assert fires("cron(10/25 9 ? * FRI *)", utc(2026, 11, 27, 9, 0), 3) == [
        utc(2026, 11, 27, 9, 10),
        utc(2026, 11, 27, 9, 35),
        utc(2026, 12, 4, 9, 10),  # 10/25 is 10, 35: the next one would be past the hour
    ]
    assert fires("cron(0 0 1,15 * ? *)", FRIDAY, 2) == [utc(2026, 12, 1), utc(2026, 12, 15)]


def test_month_names_and_the_year_field_limit_when_it_fires() -> None:
    assert fires("cron(0 12 1 JAN,jul ? 2030-2031)", FRIDAY, 5) == [
        utc(2030, 1, 1, 12),
        utc(2030, 7, 1, 12),
        utc(2031, 1, 1, 12),
        utc(2031, 7, 1, 12),
    ]
    assert fires("cron(0 0 1 1 ? 2020)", FRIDAY) == []  # over


def test_a_day_that_only_some_years_have_is_found() -> None:
    assert fires("cron(0 0 29 FEB ? *)", FRIDAY, 2) == [utc(2028, 2, 29), utc(2032, 2, 29)]


def test_schedule_v2_cron_follows_its_time_zone_across_daylight_saving_time() -> None:
    # 08:00 in New York is 13:00 UTC in winter and 12:00 UTC in summer; the clocks go forward on 8 March 2026.
    assert fires("cron(0 8 * * ? *)", utc(2026, 3, 6, 14), 3, "America/New_York") == [
        utc(2026, 3, 7, 13),
        utc(2026, 3, 8, 12),
        utc(2026, 3, 9, 12),
    ]


def test_a_wall_time_that_daylight_saving_time_skips_is_skipped() -> None:
    # 02:30 does not exist in New York on 8 March 2026 (02:00 jumps to 03:00): Scheduler skips that run.
    times = fires("cron(30 2 * * ? *)", utc(2026, 3, 6, 12), 3, "America/New_York")
    assert [t.astimezone(NEW_YORK).date().day for t in times] == [7, 9, 10]
    assert all(t.astimezone(NEW_YORK).hour == 2 for t in times)


def test_a_wall_time_that_daylight_saving_time_repeats_runs_once() -> None:
    # 01:30 happens twice in New York on 1 November 2026 (02:00 goes back to 01:00): Scheduler runs it once.
    times = fires("cron(30 1 * * ? *)", utc(2026, 10, 31, 12), 3, "America/New_York")
    assert times == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30), utc(2026, 11, 3, 6, 30)]
    during_the_second_one_am = utc(2026, 11, 1, 6, 10)  # 01:10 EST, after the first 01:30 (EDT) has passed
    assert fires("cron(30 1 * * ? *)", during_the_second_one_am, 1, "America/New_York") == [utc(2026, 11, 2, 6, 30)]


def test_an_at_expression_fires_once_in_its_time_zone() -> None:
    assert fires("at(2026-12-01T09:00:00)", FRIDAY, 3, "Europe/Paris") == [utc(2026, 12, 1, 8)]


def test_a_cron_expression_is_read_field_by_field() -> None:
    cron = parse_expression("cron(0 8 ? * MON-FRI *)")
    assert isinstance(cron, Cron)
    assert (cron.minutes, cron.hours, cron.days_of_month) == ({0}, {8}, None)
    assert cron.days_of_week == {2, 3, 4, 5, 6}
    assert cron.months == set(range(1, 13))


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("cron(0 0 L * ? *)", "L, W or #"),
        ("cron(0 0 ? * 5L *)", "L, W or #"),
        ("cron(0 0 15W * ? *)", "L, W or #"),
        ("cron(0 0 LW * ? *)", "L, W or #"),
        ("cron(0 0 ? * MON#2 *)", "L, W or #"),
        ("cron(0 0 ? * 3#1 *)", "L, W or #"),
        ("cron(0 8 * * MON *)", "exactly one of day-of-month and day-of-week must be ?"),
        ("cron(0 8 ? * ? *)", "exactly one of day-of-month and day-of-week must be ?"),
        ("cron(0 8 * * ?)", "six fields"),
        ("cron(60 8 * * ? *)", "minutes field"),
        ("cron(0 8 ? * FUN *)", "day-of-week field"),
        ("cron(0 18-9 * * ? *)", "runs backwards"),
        ("rate(0 minutes)", "positive whole number"),
        ("rate(5 weeks)", "minutes, hours or days"),
        ("every(5 minutes)", "is not rate"),
    ],
)
def test_what_the_local_stack_cannot_run_is_refused_with_a_reason(expression: str, says: str) -> None:
    with pytest.raises(ScheduleError, match=says.replace("?", r"\?").replace("#", r"\#")):
        parse_expression(expression)


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ScheduleError, match="unknown time zone 'Mars/Olympus'"):
        parse_expression("rate(1 minute)", "Mars/Olympus")


def test_at_is_refused_for_an_eventbridge_rule() -> None:
    with pytest.raises(ScheduleError, match="ScheduleV2"):
        parse_expression("at(2026-12-01T09:00:00)", allow_at=False)
