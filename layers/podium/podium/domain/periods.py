"""Periods: the window a board covers, in the program's time zone.

An instant belongs to a period by its local calendar date in the program's time zone, so days that are 23 or 25
hours long (DST changes) need no special case. Keys: `2026-11-27`, `2026-W48`, `2026-11`, `2026-Q4`, `2026`, `all`.

Weeks start on the program's `week_start`. A week is numbered like an ISO week, generalised: it belongs to the year
its fourth day falls in, and week 1 is the first such week. With `week_start: monday` this is exactly ISO 8601.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from podium.domain.errors import InvalidPeriod
from podium.domain.program import PeriodKind, Weekday

_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-[Ww](\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
# Periods outside these years are mistakes, and would overflow date arithmetic near year 1 or 9999.
MIN_YEAR, MAX_YEAR = 1900, 9000


@dataclass(frozen=True, order=True)
class Period:
    """A half-open range of local dates [first_day, end_day). `all` has neither."""

    kind: PeriodKind
    key: str
    first_day: date | None
    end_day: date | None

    def contains_day(self, day: date) -> bool:
        if self.first_day is None or self.end_day is None:
            return True
        return self.first_day <= day < self.end_day

    def is_before(self, day: date) -> bool:
        """True when the whole day lies before this period starts."""
        return self.first_day is not None and day < self.first_day

    def is_after(self, day: date) -> bool:
        """True when the whole day lies after this period ends."""
        return self.end_day is not None and day >= self.end_day

    def start(self, tz: ZoneInfo) -> datetime | None:
        """The first instant of the period, in UTC (None for `all`)."""
        return None if self.first_day is None else _local_midnight(self.first_day, tz)

    def end(self, tz: ZoneInfo) -> datetime | None:
        """The first instant after the period, in UTC (None for `all`)."""
        return None if self.end_day is None else _local_midnight(self.end_day, tz)


ALL = Period(PeriodKind.ALL, "all", None, None)


def local_day(instant: datetime, tz: ZoneInfo) -> date:
    if instant.tzinfo is None:
        raise ValueError("instants must carry a time zone")
    return instant.astimezone(tz).date()


def period_of(instant: datetime, kind: PeriodKind, tz: ZoneInfo, week_start: Weekday = Weekday.MONDAY) -> Period:
    """The period of the given kind that an instant falls in, in time zone tz."""
    return period_of_day(local_day(instant, tz), kind, week_start)


@lru_cache(maxsize=4096)  # pure, and asked again for the same few days by every participant of a batch
def period_of_day(day: date, kind: PeriodKind, week_start: Weekday = Weekday.MONDAY) -> Period:
    if kind is PeriodKind.ALL:
        return ALL
    if kind is PeriodKind.DAY:
        return Period(kind, day.isoformat(), day, day + timedelta(days=1))
    if kind is PeriodKind.WEEK:
        first = day - timedelta(days=(day.weekday() - week_start.number) % 7)
        fourth = first + timedelta(days=3)
        number = (fourth.timetuple().tm_yday - 1) // 7 + 1
        return Period(kind, f"{fourth.year}-W{number:02d}", first, first + timedelta(days=7))
    if kind is PeriodKind.MONTH:
        first = day.replace(day=1)
        return Period(kind, f"{day.year}-{day.month:02d}", first, _add_months(first, 1))
    if kind is PeriodKind.QUARTER:
        q = (day.month - 1) // 3 + 1
        first = date(day.year, 3 * q - 2, 1)
        return Period(kind, f"{day.year}-Q{q}", first, _add_months(first, 3))
    first = date(day.year, 1, 1)
    return Period(PeriodKind.YEAR, f"{day.year}", first, date(day.year + 1, 1, 1))


def parse_period(key: str, week_start: Weekday = Weekday.MONDAY) -> Period:
    """Parse a period key of any kind; raises InvalidPeriod with a sentence a person can act on."""
    period = _parse_period(key.strip(), week_start)
    if period.first_day is not None and not MIN_YEAR <= period.first_day.year <= MAX_YEAR:
        raise InvalidPeriod(f"period {key!r} is outside the years {MIN_YEAR} to {MAX_YEAR}")
    return period


def _parse_period(text: str, week_start: Weekday) -> Period:
    try:
        if text.lower() == "all":
            return ALL
        if m := _DAY.match(text):
            return period_of_day(date(int(m[1]), int(m[2]), int(m[3])), PeriodKind.DAY)
        if m := _WEEK.match(text):
            return _week(int(m[1]), int(m[2]), week_start, text)
        if m := _MONTH.match(text):
            return period_of_day(date(int(m[1]), int(m[2]), 1), PeriodKind.MONTH)
        if m := _QUARTER.match(text.upper()):
            return period_of_day(date(int(m[1]), 3 * int(m[2]) - 2, 1), PeriodKind.QUARTER)
        if m := _YEAR.match(text):
            return period_of_day(date(int(m[1]), 1, 1), PeriodKind.YEAR)
    except (ValueError, OverflowError) as e:
        raise InvalidPeriod(f"period {text!r} is not a real date: {e}") from None
    raise InvalidPeriod(
        f"period {text!r} is not recognised: use 2026-11-27 (day), 2026-W48 (week), 2026-11 (month), "
        "2026-Q4 (quarter), 2026 (year) or all"
    )


def _week(year: int, number: int, week_start: Weekday, text: str) -> Period:
    # The week's fourth day is the (number)th date in `year` that falls on week_start + 3.
    jan1 = date(year, 1, 1)
    fourth_weekday = (week_start.number + 3) % 7
    first_fourth = jan1 + timedelta(days=(fourth_weekday - jan1.weekday()) % 7)
    fourth = first_fourth + timedelta(weeks=number - 1)
    if number < 1 or fourth.year != year:
        raise InvalidPeriod(f"period {text!r} does not exist: {year} has no week {number}")
    return period_of_day(fourth, PeriodKind.WEEK, week_start)


def end_instant(period: Period, tz: ZoneInfo) -> datetime | None:
    """When a period ends (`all` never does): the roster a period's standings use is the one just before this."""
    return _local_midnight(period.end_day, tz) if period.end_day is not None else None


def _add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    # fold=0 (PEP 495): a midnight skipped by DST maps to the transition, the first real instant of the day;
    # a midnight that happens twice maps to its first occurrence.
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
