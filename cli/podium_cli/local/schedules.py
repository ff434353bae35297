"""EventBridge schedules on one machine: the template's `Schedule` and `ScheduleV2` events, fired on time.

Expressions are AWS's: `rate(5 minutes)`, six-field `cron(minutes hours day-of-month month day-of-week year)` and
(ScheduleV2 only) `at(2026-05-01T09:00:00)`. A `Schedule` (an EventBridge rule) runs in UTC; a `ScheduleV2` (an
EventBridge Scheduler schedule) in its ScheduleExpressionTimezone, skipping wall times that daylight saving time
skips and running a repeated wall time once, as Scheduler does. What the local stack cannot honour (L, W, #) is
refused when it starts, naming the function and the expression.
"""

from __future__ import annotations

import calendar
import json
import re
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ACCOUNT = "000000000000"  # the account the local API Gateway events name too
SCHEDULE_TYPES = ("Schedule", "ScheduleV2")
MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
MONTHS = {name: n for n, name in enumerate(MONTH_NAMES, 1)}
WEEKDAYS = {name: n for n, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}  # AWS: 1 = SUN
RATE_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}

Clock = Callable[[], datetime]
Invoke = Callable[["Schedule", Any], Any]


class ScheduleError(RuntimeError):
    """A schedule in template.yaml that the local stack cannot run."""


class UnknownFunction(LookupError):
    def __init__(self, function: str, schedulable: list[str]) -> None:
        super().__init__(f"{function} has no schedule in template.yaml")
        self.function = function
        self.schedulable = schedulable


class When(Protocol):
    def next_after(self, moment: datetime) -> datetime | None:
        """The first fire time strictly after `moment` (aware), or None when there is none."""


# --- expressions ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    every: timedelta

    def next_after(self, moment: datetime) -> datetime | None:
        # A rate has no wall-clock anchor: it counts from the last firing (from the start at first), and a day
        # is 24 hours even across a daylight saving change, as on AWS.
        return moment + self.every


@dataclass(frozen=True)
class At:
    moment: datetime

    def next_after(self, moment: datetime) -> datetime | None:
        return self.moment if self.moment > moment else None


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None  # None: `?`
    months: frozenset[int]
    days_of_week: frozenset[int] | None  # AWS numbering, 1 = SUN
    years: frozenset[int]
    timezone: ZoneInfo

    def next_after(self, moment: datetime) -> datetime | None:
        moment = moment.astimezone(UTC)
        start = moment.astimezone(self.timezone).replace(tzinfo=None, second=0, microsecond=0)
        for wall in self._wall_times_from(start):
            at = _aware(wall, self.timezone)
            if at is not None and at > moment:
                return at
        return None

    def _wall_times_from(self, start: datetime) -> Iterator[datetime]:
        """Matching wall-clock times from `start` on, in order; whole years, months and days are skipped at once."""
        for year in sorted(y for y in self.years if y >= start.year):
            for month in sorted(self.months):
                if (year, month) < (start.year, start.month):
                    continue
                for day in range(1, calendar.monthrange(year, month)[1] + 1):
                    if date(year, month, day) < start.date() or not self._day_matches(date(year, month, day)):
                        continue
                    for hour in sorted(self.hours):
                        for minute in sorted(self.minutes):
                            wall = datetime(year, month, day, hour, minute)  # a wall time in self.timezone
                            if wall >= start:
                                yield wall

    def _day_matches(self, day: date) -> bool:
        if self.days_of_month is not None:
            return day.day in self.days_of_month
        aws_weekday = (day.weekday() + 1) % 7 + 1  # Python: Monday = 0; AWS: Sunday = 1
        return self.days_of_week is not None and aws_weekday in self.days_of_week


def _aware(wall: datetime, timezone: ZoneInfo) -> datetime | None:
    """The instant (in UTC) of a wall time: None when daylight saving time skips it, its first occurrence when
    repeated. UTC, because Python compares two times of one zone by wall clock, blind to which occurrence."""
    at = wall.replace(tzinfo=timezone, fold=0).astimezone(UTC)
    if at.astimezone(timezone).replace(tzinfo=None) != wall:
        return None
    return at


def parse_expression(expression: str, timezone: str = "UTC", *, allow_at: bool = True) -> When:
    """A schedule expression as AWS writes it; ScheduleError names what cannot be run."""
    match = re.fullmatch(r"\s*(rate|cron|at)\((.*)\)\s*", expression)
    if match is None:
        raise ScheduleError(f"{expression!r} is not rate(…), cron(…) or at(…)")
    kind, body = match.groups()
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown time zone {timezone!r}") from None
    if kind == "rate":
        return _rate(body)
    if kind == "at" and allow_at:
        return _at(body, zone)
    if kind == "at":
        raise ScheduleError("at(…) is for ScheduleV2 events only")
    return _cron(body, zone)


def _rate(body: str) -> Rate:
    match = re.fullmatch(r"\s*(\d+)\s+(minute|hour|day)s?\s*", body)
    if match is None or int(match.group(1)) < 1:
        raise ScheduleError(f"rate({body}): want a positive whole number and minutes, hours or days")
    return Rate(int(match.group(1)) * RATE_UNITS[match.group(2)])


def _at(body: str, zone: ZoneInfo) -> At:
    try:
        wall = datetime.strptime(body.strip(), "%Y-%m-%dT%H:%M:%S")  # a wall time in `zone`
    except ValueError:
        raise ScheduleError(f"at({body}): want yyyy-mm-ddThh:mm:ss") from None
    return At(_aware(wall, zone) or wall.replace(tzinfo=zone).astimezone(UTC))  # in a DST gap: as the zone reads it


def _cron(body: str, zone: ZoneInfo) -> Cron:
    fields = body.split()
    if len(fields) != 6:
        raise ScheduleError(
            f"cron({body}): want six fields (minutes hours day-of-month month day-of-week year), got {len(fields)}"
        )
    minutes, hours, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ScheduleError(f"cron({body}): exactly one of day-of-month and day-of-week must be ?")
    return Cron(
        minutes=_cron_field(minutes, "minutes", 0, 59),
        hours=_cron_field(hours, "hours", 0, 23),
        days_of_month=None if dom == "?" else _cron_field(dom, "day-of-month", 1, 31),
        months=_cron_field(month, "month", 1, 12, MONTHS),
        days_of_week=None if dow == "?" else _cron_field(dow, "day-of-week", 1, 7, WEEKDAYS),
        years=_cron_field(year, "year", 1970, 2199),
        timezone=zone,
    )


_PART = re.compile(r"(?P<range>\*|(?P<first>\w+)(?:-(?P<last>\w+))?)(?:/(?P<step>\d+))?")


def _cron_field(text: str, name: str, low: int, high: int, names: Mapping[str, int] | None = None) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        if _uses_l_w_or_hash(part, names or {}):
            raise ScheduleError(
                f"{name} field {text!r}: {part!r} uses L, W or #, which the local stack does not support"
            )
        match = _PART.fullmatch(part)
        if match is None:
            raise ScheduleError(f"{name} field {text!r}: {part!r} is not *, a value, a list, a range or a step")
        step = int(match["step"] or 1)
        if match["range"] == "*":
            first, last = low, high
        else:
            first = _cron_value(match["first"], name, low, high, names or {})
            # `a/step` runs from a to the end of the field, as on AWS; a bare `a` is just a.
            last = _cron_value(match["last"], name, low, high, names or {}) if match["last"] else high
            last = last if match["last"] or match["step"] else first
        if first > last or step < 1:
            raise ScheduleError(f"{name} field {text!r}: {part!r} runs backwards or has a zero step")
        values.update(range(first, last + 1, step))
    return frozenset(values)


def _uses_l_w_or_hash(part: str, names: Mapping[str, int]) -> bool:
    """L, W and # (last day, nearest weekday, nth weekday): the letters left once month and day names are gone."""
    leftover = re.sub(r"[A-Za-z]{3}", lambda m: "" if m.group().upper() in names else m.group(), part)
    return "#" in part or re.search(r"[LW]", leftover.upper()) is not None


def _cron_value(text: str, name: str, low: int, high: int, names: Mapping[str, int]) -> int:
    value = int(text) if text.isdigit() else names.get(text.upper())
    if value is None or not low <= value <= high:
        raise ScheduleError(f"{name} field: {text!r} is not a number in {low}–{high}" + (" or a name" if names else ""))
    return value


# --- the template's schedules --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    function: str  # logical id
    event: str  # the event's name under Events
    kind: str  # Schedule | ScheduleV2
    expression: str
    timezone: str
    when: When = field(compare=False)
    enabled: bool = True
    input: str | None = None  # the Input JSON, as written
    name: str = ""  # the rule or schedule name AWS would give it
    group: str = "default"

    def next_after(self, moment: datetime) -> datetime | None:
        return self.when.next_after(moment)

    def event_payload(self, at: datetime, region: str) -> Any:
        """What EventBridge delivers: the Input when there is one, else the rule's or Scheduler's own event."""
        if self.input is not None:
            return json.loads(self.input)
        scheduler = self.kind == "ScheduleV2"
        resource = (
            f"arn:aws:scheduler:{region}:{ACCOUNT}:schedule/{self.group}/{self.name}"
            if scheduler
            else f"arn:aws:events:{region}:{ACCOUNT}:rule/{self.name}"
        )
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.scheduler" if scheduler else "aws.events",
            "account": ACCOUNT,
            "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region,
            "resources": [resource],
            # Scheduler's default notification carries the detail as a JSON string; a rule's is an object.
            "detail": "{}" if scheduler else {},
        }


def schedules_from_template(template: Mapping[str, Any]) -> list[Schedule]:
    """Every Schedule and ScheduleV2 event of the template's functions, parsed; ScheduleError names the one that
    cannot be run."""
    found = []
    for function, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event, spec in (resource.get("Properties", {}).get("Events") or {}).items():
            if spec.get("Type") in SCHEDULE_TYPES:
                found.append(_schedule(template, function, event, spec["Type"], spec.get("Properties", {})))
    return found


def _schedule(
    template: Mapping[str, Any], function: str, event: str, kind: str, properties: Mapping[str, Any]
) -> Schedule:
    def value(key: str, default: Any = None) -> Any:
        return _resolve(template, properties.get(key, default), f"{function} ({event}): {key}")

    v2 = kind == "ScheduleV2"
    expression = str(value("ScheduleExpression" if v2 else "Schedule", ""))
    timezone = str(value("ScheduleExpressionTimezone", "UTC")) if v2 else "UTC"
    try:
        when = parse_expression(expression, timezone, allow_at=v2)
    except ScheduleError as error:
        raise ScheduleError(f"{function} ({kind} event {event}, {expression!r}): {error}") from None
    state = str(value("State", "ENABLED")).upper()
    enabled = state != "DISABLED" and value("Enabled", True) not in (False, "false", "False")
    raw_input = value("Input")
    if isinstance(raw_input, str):
        try:
            json.loads(raw_input)
        except ValueError:
            raise ScheduleError(f"{function} ({kind} event {event}): Input is not JSON: {raw_input!r}") from None
    return Schedule(
        function=function,
        event=event,
        kind=kind,
        expression=expression,
        timezone=timezone,
        when=when,
        enabled=enabled,
        input=raw_input if raw_input is None or isinstance(raw_input, str) else json.dumps(raw_input),
        name=str(value("Name", f"{function}{event}")),
        group=str(value("GroupName", "default")),
    )


def _resolve(template: Mapping[str, Any], raw: Any, what: str) -> Any:
    """A property's value; a !Ref to a template parameter gives the parameter's default."""
    if isinstance(raw, dict) and "Ref" in raw:
        parameter = template.get("Parameters", {}).get(raw["Ref"], {})
        if "Default" in parameter:
            return parameter["Default"]
    if isinstance(raw, dict) and any(key == "Ref" or key.startswith("Fn::") for key in raw):
        raise ScheduleError(f"{what}: {raw} cannot be worked out locally; write the value in template.yaml")
    return raw


# --- firing them ---------------------------------------------------------------------------------------------


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Firing:
    schedule: Schedule
    at: datetime
    returned: Any


class Scheduler:
    """Fires each enabled schedule when it falls due. The clock is passed in, so tests move time by hand."""

    def __init__(self, schedules: Sequence[Schedule], invoke: Invoke, clock: Clock = utc_now, region: str = "") -> None:
        self.schedules = list(schedules)
        self.invoke = invoke
        self.clock = clock
        self.region = region or "us-east-1"
        now = clock()
        self._due: list[tuple[Schedule, datetime | None]] = [
            (s, s.next_after(now) if s.enabled else None) for s in self.schedules
        ]

    def next_fires(self) -> list[tuple[Schedule, datetime | None]]:
        """Each schedule with its next fire time (None: disabled or over)."""
        return list(self._due)

    def summary(self) -> list[dict[str, Any]]:
        """Each schedule with its next fire time (UTC), for the banner, the outbox page and /outbox.json."""
        return [
            {
                "function": s.function,
                "event": s.event,
                "kind": s.kind,
                "expression": s.expression,
                "timezone": s.timezone,
                "enabled": s.enabled,
                "next": due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if due else None,
            }
            for s, due in self._due
        ]

    def run_due(self) -> list[Firing]:
        """Fire what is due now. A failing function is logged and its schedule carries on."""
        now = self.clock()
        fired = []
        for index, (schedule, due) in enumerate(self._due):
            if due is None or due > now:
                continue
            try:
                fired.append(self.fire(schedule, due))
            except Exception as error:  # a failing function must not stop the others, nor its own next run
                print(f"scheduler: {schedule.function} ({schedule.expression}) failed: {error!r}", file=sys.stderr)
            following = schedule.next_after(due)
            if following is not None and following <= now:  # far behind (the machine slept): no burst of catch-ups
                following = schedule.next_after(now)
            self._due[index] = (schedule, following)
        return fired

    def fire(self, schedule: Schedule, at: datetime) -> Firing:
        return Firing(schedule, at, self.invoke(schedule, schedule.event_payload(at, self.region)))

    def fire_now(self, function: str) -> list[Firing]:
        """Fire every schedule of one function now, enabled or not (a person asked for it)."""
        chosen = [s for s in self.schedules if s.function == function]
        if not chosen:
            raise UnknownFunction(function, self.schedulable())
        now = self.clock()
        return [self.fire(schedule, now) for schedule in chosen]

    def schedulable(self) -> list[str]:
        return sorted({s.function for s in self.schedules})

    def run(self, stop: threading.Event, every: float = 1.0) -> None:
        while not stop.is_set():
            self.run_due()
            stop.wait(every)


def function_invoker(root: Path, template: Mapping[str, Any], refs: Mapping[str, str]) -> Invoke:
    """Calls a schedule's function as Lambda would: its handler loaded once from its CodeUri, with the template's
    environment, one invocation at a time."""
    from podium_cli.local.apigw import Handler, LambdaContext, load_function

    handlers: dict[str, Handler] = {}
    lock = threading.Lock()

    def invoke(schedule: Schedule, event: Any) -> Any:
        with lock:
            if schedule.function not in handlers:
                handlers[schedule.function] = load_function(root, template, schedule.function, refs)
            return handlers[schedule.function](event, LambdaContext(schedule.function))

    return invoke
