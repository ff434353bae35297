"""Program files: parsing, defaults, and every mistake reported with its path, all at once."""

import pytest

from podium.domain.errors import InvalidProgram
from podium.domain.program import (
    MeanOver,
    Method,
    Order,
    PeriodAggregate,
    PeriodKind,
    Ranking,
    TeamRollup,
    TieRule,
    Weekday,
    parse_program,
    program_from_dict,
)

ARCHITECTURE_EXAMPLE = """
id: q4-sales
name: Q4 Sales Sprint
timezone: America/Chicago
period: week            # day | week | month | quarter | year | all
week_start: monday
ties: competition       # competition | dense | first_to_reach
ranking: points         # points | position
metrics:
  - key: calls
    label: Calls made
    period_aggregate: sum
    points: {per_unit: 1, cap: 200}
    team_rollup: sum
  - key: nps
    label: Customer NPS
    period_aggregate: latest
    points: {per_unit: 2}
    team_rollup: mean
    mean_over: headcount
  - key: revenue
    points: {target: 50000, target_points: 100, cap: 150}
    team_rollup: sum
  - key: response_minutes
    order: asc           # lower is better
    method: relative
    team_rollup: mean
    mean_over: contributors
"""


def problems_of(data: object) -> list[str]:
    with pytest.raises(InvalidProgram) as caught:
        program_from_dict(data)
    return [str(p) for p in caught.value.problems]


def test_the_architecture_example_parses_with_every_field():
    program = parse_program(ARCHITECTURE_EXAMPLE)
    assert program.id == "q4-sales"
    assert program.timezone == "America/Chicago"
    assert program.period is PeriodKind.WEEK
    assert program.ties is TieRule.COMPETITION
    assert program.ranking is Ranking.POINTS
    calls, nps, revenue, response = program.metrics
    assert (calls.label, calls.points.per_unit, calls.points.cap) == ("Calls made", 1, 200)
    assert nps.period_aggregate is PeriodAggregate.LATEST
    assert (nps.team_rollup, nps.mean_over) == (TeamRollup.MEAN, MeanOver.HEADCOUNT)
    assert (revenue.points.target, revenue.points.target_points, revenue.points.cap) == (50000, 100, 150)
    assert revenue.label == "revenue"
    assert (response.order, response.method, response.mean_over) == (Order.ASC, Method.RELATIVE, MeanOver.CONTRIBUTORS)


def test_defaults_fill_every_optional_field():
    program = program_from_dict({"id": "p", "metrics": [{"key": "calls"}]})
    (m,) = program.metrics
    assert program.name == "p"
    assert program.timezone == "UTC"
    assert program.period is PeriodKind.WEEK
    assert program.week_start is Weekday.MONDAY
    assert program.ties is TieRule.COMPETITION
    assert program.ranking is Ranking.POINTS
    assert m.label == "calls"
    assert m.period_aggregate is PeriodAggregate.SUM
    assert (m.points.per_unit, m.points.cap, m.points.target) == (1.0, None, None)
    assert (m.order, m.method, m.team_rollup, m.mean_over) == (
        Order.DESC,
        Method.SUM,
        TeamRollup.SUM,
        MeanOver.HEADCOUNT,
    )


def test_json_and_yaml_give_the_same_program():
    import json

    import yaml

    data = yaml.safe_load(ARCHITECTURE_EXAMPLE)
    assert parse_program(json.dumps(data), filename="p.json") == parse_program(ARCHITECTURE_EXAMPLE)


def test_every_mistake_is_reported_at_once_with_its_path():
    found = problems_of(
        {
            "id": "Bad Id",
            "timezone": "Mars/Olympus",
            "period": "fortnight",
            "week_start": "funday",
            "ties": "coin_toss",
            "ranking": "vibes",
            "colour": "red",
            "metrics": [
                {"key": "calls", "points": {"cap": -1}},
                {"key": "calls"},
                {"key": "9lives", "period_aggregate": "median", "order": "up"},
                {"key": "nps", "team_rollup": "sum", "mean_over": "contributors"},
                {"key": "rev", "points": {"target": 0, "per_unit": "x"}},
                {"key": "r", "method": "relative", "points": {"target": 10}},
            ],
        }
    )
    expected = [
        "colour: unknown field",
        "id: 'Bad Id' is not allowed",
        "timezone: unknown time zone 'Mars/Olympus'",
        "period: 'fortnight' is not one of: day, week, month, quarter, year, all",
        "week_start: 'funday' is not one of",
        "ties: 'coin_toss' is not one of: competition, dense, first_to_reach",
        "ranking: 'vibes' is not one of: points, position",
        "metrics[0].points.cap: must be ≥ 0",
        "metrics[1].key: duplicate metric key 'calls'",
        "metrics[2].key: '9lives' is not allowed",
        "metrics[2].period_aggregate: 'median' is not one of",
        "metrics[2].order: 'up' is not one of: desc, asc",
        "metrics[3].mean_over: only applies when team_rollup is mean",
        "metrics[4].points.per_unit: must be a number, not str",
        "metrics[4].points.target: must be > 0",
        "metrics[5].points.target: relative metrics get points from rank, not from a target",
    ]
    for text in expected:
        assert any(f.startswith(text) for f in found), f"missing {text!r} in {found}"
    assert len(found) == len(expected)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], ": must be a mapping"),
        ({"id": "p"}, "metrics: is required"),
        ({"id": "p", "metrics": []}, "metrics: must be a list of at least one metric"),
        ({"metrics": [{"key": "a"}]}, "id: is required"),
        ({"id": "p", "metrics": ["calls"]}, "metrics[0]: must be a mapping"),
        (
            {"id": "p", "metrics": [{"key": "a", "points": {"cap": float("nan")}}]},
            "metrics[0].points.cap: must be a finite",
        ),
        (
            {"id": "p", "metrics": [{"key": "a", "points": {"per_unit": 1e300}}]},
            "metrics[0].points.per_unit: must be a finite",
        ),
        (
            {"id": "p", "metrics": [{"key": "a", "points": {"per_unit": True}}]},
            "metrics[0].points.per_unit: must be a number",
        ),
        (
            {"id": "p", "metrics": [{"key": "a", "points": {"target": 5, "per_unit": 2}}]},
            "metrics[0].points.per_unit: use either",
        ),
        (
            {"id": "p", "metrics": [{"key": "a", "points": {"target_points": 5}}]},
            "metrics[0].points.target_points: needs a target",
        ),
        (
            {"id": "p", "metrics": [{"key": "a", "points": {"target_overrides": {"x": 1}}}]},
            "target_overrides: needs a target",
        ),
        (
            {"id": "p", "metrics": [{"key": "a", "points": {"target": 5, "target_overrides": {"x": -1}}}]},
            "target_overrides.x: must be > 0",
        ),
        ({"id": "p", "metrics": [{"key": "a", "points": 3}]}, "metrics[0].points: must be a mapping"),
        ({"id": "", "metrics": [{"key": "a"}]}, "id: must not be empty"),
    ],
)
def test_a_single_mistake_names_its_path(data, message):
    assert any(message in f"{p}" or f"{p}".startswith(message.lstrip(": ")) for p in problems_of(data)), problems_of(
        data
    )


def test_per_participant_target_overrides_are_kept():
    program = program_from_dict(
        {"id": "p", "metrics": [{"key": "rev", "points": {"target": 100, "target_overrides": {"ann": 50}}}]}
    )
    rule = program.metrics[0].points
    assert rule.target_for("ann") == 50
    assert rule.target_for("bob") == 100


def test_broken_yaml_and_json_are_reported_with_a_line_not_a_traceback():
    with pytest.raises(InvalidProgram) as yaml_error:
        parse_program("id: p\nmetrics: [\n  - key: a\n")
    assert yaml_error.value.problems[0].message.startswith("not valid YAML")
    assert yaml_error.value.problems[0].path.startswith("line ")
    with pytest.raises(InvalidProgram) as json_error:
        parse_program('{"id": "p",,}')
    assert json_error.value.problems[0].message.startswith("not valid JSON")
    with pytest.raises(InvalidProgram):
        parse_program(b"\xff\xfe")


def test_enum_values_are_case_insensitive():
    program = program_from_dict({"id": "p", "period": "Month", "metrics": [{"key": "a", "order": "ASC"}]})
    assert program.period is PeriodKind.MONTH
    assert program.metrics[0].order is Order.ASC


@pytest.mark.parametrize(
    "text",
    [
        "id: p\nmetrics: &m [*m]\n",  # refers to itself: walking it would never end
        "id: p\nname: &n N\nmetrics: [{key: a, label: *n}]\n",
        "a: &a [1, 1]\nb: &b [*a, *a]\nc: [*b, *b]\n",  # grows exponentially when written out
    ],
)
def test_a_program_file_with_yaml_aliases_is_refused_at_its_line(text: str) -> None:
    with pytest.raises(InvalidProgram, match="aliases"):
        parse_program(text)


def test_yaml_keys_are_taken_as_written_and_dates_stay_text() -> None:
    program = parse_program(
        "id: p\nname: 2026-01-01\nmetrics:\n  - key: a\n    points: {target: 10, target_overrides: {007: 5, 2026-01-01: 6}}\n"
    )
    assert program.name == "2026-01-01"
    assert dict(program.metrics[0].points.target_overrides) == {"007": 5, "2026-01-01": 6}
