"""The schedules come from template.yaml's functions: Schedule and ScheduleV2 events, no list kept by hand."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from podium_cli.local.schedules import ScheduleError, schedules_from_template
from podium_cli.template import load_template

ROOT = Path(__file__).resolve().parents[3]

SCHEDULED = """
  DigestFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/digest/
      Handler: app.handler
      Events:
        Weekly:
          Type: Schedule
          Properties:
            Schedule: cron(0 8 ? * MON *)
        Hourly:
          Type: Schedule
          Properties:
            Schedule: rate(1 hour)
            Enabled: false
            Input: '{"kind": "hourly"}'
        Morning:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: cron(30 7 ? * MON-FRI *)
            ScheduleExpressionTimezone: Europe/London
            Name: podium-morning
            State: !Ref MorningState
        Api:
          Type: HttpApi
          Properties: {ApiId: !Ref PodiumApi, Method: GET, Path: /v1/digest}

Outputs:"""


def template_with(functions: str, tmp_path: Path, parameters: str = "") -> dict[str, Any]:
    text = (ROOT / "template.yaml").read_text().replace("\nOutputs:", functions, 1)
    text = text.replace("\nParameters:\n", "\nParameters:\n" + parameters, 1)
    (tmp_path / "template.yaml").write_text(text)
    return load_template(tmp_path / "template.yaml")


MORNING_STATE = "  MorningState:\n    Type: String\n    Default: DISABLED\n"


def test_every_schedule_event_of_every_function_is_read(tmp_path: Path) -> None:
    schedules = schedules_from_template(template_with(SCHEDULED, tmp_path, MORNING_STATE))
    real = {(s.function, s.event) for s in schedules_from_template(load_template(ROOT / "template.yaml"))}
    by_event = {s.event: s for s in schedules if (s.function, s.event) not in real}
    assert set(by_event) == {"Weekly", "Hourly", "Morning"}  # not the HttpApi event
    weekly, hourly, morning = by_event["Weekly"], by_event["Hourly"], by_event["Morning"]
    assert (weekly.function, weekly.kind, weekly.expression, weekly.timezone) == (
        "DigestFunction",
        "Schedule",
        "cron(0 8 ? * MON *)",
        "UTC",
    )
    assert (weekly.enabled, weekly.input, weekly.name) == (True, None, "DigestFunctionWeekly")
    assert (hourly.enabled, hourly.input) == (False, '{"kind": "hourly"}')
    assert (morning.kind, morning.timezone, morning.name) == ("ScheduleV2", "Europe/London", "podium-morning")
    assert morning.enabled is False  # State: !Ref to a parameter whose default is DISABLED


def test_the_real_template_schedules_can_all_run_locally() -> None:
    template = load_template(ROOT / "template.yaml")
    declared = {
        (function, event)
        for function, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
        for event, spec in (resource["Properties"].get("Events") or {}).items()
        if spec["Type"] in ("Schedule", "ScheduleV2")
    }
    schedules = schedules_from_template(template)  # raises if one cannot
    assert ("RolloverFunction", "PeriodStarts") in declared
    assert {(s.function, s.event) for s in schedules} == declared  # every one, none left out
    moment = datetime(2026, 11, 24, 10, 7, tzinfo=UTC)
    for schedule in schedules:
        following = schedule.next_after(moment)
        assert following is not None and following > moment, schedule
        assert schedule.event_payload(following, "us-east-1") is not None
    (rollover,) = [s for s in schedules if s.function == "RolloverFunction"]
    assert rollover.enabled and rollover.next_after(moment) == datetime(2026, 11, 24, 10, 15, tzinfo=UTC)


def test_an_unsupported_expression_fails_naming_the_function_and_expression(tmp_path: Path) -> None:
    bad = SCHEDULED.replace("cron(0 8 ? * MON *)", "cron(0 8 L * ? *)")
    with pytest.raises(
        ScheduleError, match=r"DigestFunction \(Schedule event Weekly, 'cron\(0 8 L \* \? \*\)'\).*L, W or #"
    ):
        schedules_from_template(template_with(bad, tmp_path, MORNING_STATE))


def test_a_value_only_aws_can_work_out_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(ScheduleError, match=r"DigestFunction \(Morning\): State.*cannot be worked out locally"):
        schedules_from_template(template_with(SCHEDULED, tmp_path))  # MorningState is not declared


def test_an_input_that_is_not_json_is_refused_at_start(tmp_path: Path) -> None:
    bad = SCHEDULED.replace("""Input: '{"kind": "hourly"}'""", "Input: hourly")
    with pytest.raises(ScheduleError, match=r"DigestFunction \(Schedule event Hourly\): Input is not JSON"):
        schedules_from_template(template_with(bad, tmp_path, MORNING_STATE))
