"""The scheduler fires what is due on a clock the test moves, with the events EventBridge delivers, and carries on
when a function fails."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from podium_cli.local.schedules import Schedule, Scheduler, UnknownFunction, parse_expression

START = datetime(2026, 11, 27, 13, 0, 30, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Calls:
    """Stands in for the functions: records each invocation; a function named in `failing` raises."""

    def __init__(self, *failing: str) -> None:
        self.failing = failing
        self.events: list[tuple[str, Any]] = []

    def __call__(self, schedule: Schedule, event: Any) -> Any:
        self.events.append((schedule.function, event))
        if schedule.function in self.failing:
            raise RuntimeError("boom")
        return {"ok": schedule.function}

    def functions(self) -> list[str]:
        return [function for function, _ in self.events]


def schedule(function: str, expression: str, kind: str = "Schedule", **fields: Any) -> Schedule:
    timezone = fields.pop("timezone", "UTC")
    when = parse_expression(expression, timezone)
    return Schedule(function, "Tick", kind, expression, timezone, when, name=f"{function}Tick", **fields)


def test_nothing_fires_before_it_is_due_and_each_fires_once_when_it_is() -> None:
    clock, calls = FakeClock(START), Calls()
    scheduler = Scheduler(
        [schedule("Every5", "rate(5 minutes)"), schedule("At1306", "cron(6 13 * * ? *)")], calls, clock
    )
    clock.advance(minutes=4, seconds=59)
    assert scheduler.run_due() == []
    clock.advance(seconds=1)
    assert [f.schedule.function for f in scheduler.run_due()] == ["Every5"]
    assert scheduler.run_due() == []  # not twice for one due time
    clock.now = datetime(2026, 11, 27, 13, 6, 0, tzinfo=UTC)
    scheduler.run_due()
    assert calls.functions() == ["Every5", "At1306"]


def test_a_failing_function_is_logged_and_neither_it_nor_the_others_stop(capsys: pytest.CaptureFixture[str]) -> None:
    clock, calls = FakeClock(START), Calls("Broken")
    scheduler = Scheduler([schedule("Broken", "rate(1 minute)"), schedule("Fine", "rate(1 minute)")], calls, clock)
    for _ in range(3):
        clock.advance(minutes=1)
        scheduler.run_due()
    assert calls.functions() == ["Broken", "Fine"] * 3
    assert capsys.readouterr().err.count("scheduler: Broken (rate(1 minute)) failed: RuntimeError('boom')") == 3


def test_a_disabled_schedule_does_not_fire_on_its_own_but_can_be_fired_by_hand() -> None:
    clock, calls = FakeClock(START), Calls()
    scheduler = Scheduler([schedule("Off", "rate(1 minute)", enabled=False)], calls, clock)
    clock.advance(hours=1)
    assert scheduler.run_due() == []
    assert [f.returned for f in scheduler.fire_now("Off")] == [{"ok": "Off"}]


def test_after_a_long_sleep_a_schedule_fires_once_not_once_per_missed_time() -> None:
    clock, calls = FakeClock(START), Calls()
    scheduler = Scheduler([schedule("Every5", "rate(5 minutes)")], calls, clock)
    clock.advance(hours=2)
    scheduler.run_due()
    scheduler.run_due()
    assert calls.functions() == ["Every5"]
    assert scheduler.next_fires()[0][1] == clock.now + timedelta(minutes=5)


def test_firing_an_unknown_function_names_the_ones_with_schedules() -> None:
    scheduler = Scheduler([schedule("B", "rate(1 minute)"), schedule("A", "rate(1 minute)")], Calls(), FakeClock(START))
    with pytest.raises(UnknownFunction) as raised:
        scheduler.fire_now("Nope")
    assert raised.value.schedulable == ["A", "B"]


def test_a_rule_without_input_delivers_eventbridges_scheduled_event() -> None:
    clock, calls = FakeClock(START), Calls()
    scheduler = Scheduler([schedule("Digest", "cron(1 13 * * ? *)")], calls, clock, region="eu-west-1")
    clock.advance(minutes=1)
    scheduler.run_due()
    ((_, event),) = calls.events
    assert set(event) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
    assert event["detail-type"] == "Scheduled Event"
    assert (event["source"], event["detail"], event["version"]) == ("aws.events", {}, "0")
    assert event["time"] == "2026-11-27T13:01:00Z"  # the scheduled time
    assert event["region"] == "eu-west-1"
    assert event["resources"] == [f"arn:aws:events:eu-west-1:{event['account']}:rule/DigestTick"]


def test_a_scheduler_schedule_without_input_delivers_schedulers_default_event() -> None:
    calls = Calls()
    Scheduler([schedule("Digest", "rate(1 minute)", kind="ScheduleV2")], calls, FakeClock(START)).fire_now("Digest")
    ((_, event),) = calls.events
    assert (event["source"], event["detail-type"], event["detail"]) == ("aws.scheduler", "Scheduled Event", "{}")
    assert event["resources"] == [f"arn:aws:scheduler:us-east-1:{event['account']}:schedule/default/DigestTick"]


@pytest.mark.parametrize("kind", ["Schedule", "ScheduleV2"])
def test_a_schedule_with_input_delivers_the_input_alone(kind: str) -> None:
    calls = Calls()
    tick = schedule("Digest", "rate(1 minute)", kind=kind, input='{"period": "week", "n": [1, 2]}')
    Scheduler([tick], calls, FakeClock(START)).fire_now("Digest")
    assert calls.events == [("Digest", {"period": "week", "n": [1, 2]})]


def test_the_summary_gives_each_schedule_its_next_time_in_utc() -> None:
    scheduler = Scheduler(
        [schedule("London", "cron(30 7 ? * MON-FRI *)", kind="ScheduleV2", timezone="Europe/London")],
        Calls(),
        FakeClock(START),
    )
    (row,) = scheduler.summary()
    assert (row["function"], row["timezone"], row["next"]) == ("London", "Europe/London", "2026-11-30T07:30:00Z")
