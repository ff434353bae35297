"""Scoring: a participant's values in a period, and how a value becomes points.

Values are a pure function of the participant's effective submissions (corrections applied). Points for
`method: sum` metrics follow from the value alone; `relative` metrics and `ranking: position` need everyone in
the program and are applied by `podium.domain.boards`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from podium.domain.periods import Period, local_day
from podium.domain.program import Metric, PeriodAggregate, Program
from podium.domain.submissions import Submission


@dataclass(frozen=True)
class MetricValue:
    """A participant's value for one metric in one period.

    reached_at: when the value last changed to what it is now (used by `ties: first_to_reach`).
    count: observations in the period that made it.
    """

    value: float
    reached_at: datetime
    count: int


@dataclass(frozen=True)
class Observation:
    at: datetime
    value: float


def observations_by_metric(program: Program, submissions: Iterable[Submission]) -> dict[str, list[Observation]]:
    """Split a participant's effective submissions (already in canonical order) into one series per metric."""
    series: dict[str, list[Observation]] = {m.key: [] for m in program.metrics}
    for s in submissions:
        for key, value in s.values.items():
            if key in series:
                series[key].append(Observation(s.at, float(value)))
    return series


def participant_values(program: Program, submissions: Iterable[Submission], period: Period) -> dict[str, MetricValue]:
    """Every metric value a participant has in the period, from their effective submissions in canonical order."""
    tz = program.tz
    result: dict[str, MetricValue] = {}
    for key, observations in observations_by_metric(program, submissions).items():
        value = aggregate_period(program.metric(key), observations, period, tz)
        if value is not None:
            result[key] = value
    return result


def aggregate_period(
    metric: Metric, observations: Sequence[Observation], period: Period, tz: ZoneInfo
) -> MetricValue | None:
    """Combine a participant's observations of one metric into the period's value, per `period_aggregate`.

    Observations must be in canonical (at, id) order. None when the participant has no value in the period.
    """
    inside: list[Observation] = []
    before: list[Observation] = []
    for o in observations:
        day = local_day(o.at, tz)
        if period.contains_day(day):
            inside.append(o)
        elif period.is_before(day):
            before.append(o)
    kind = metric.period_aggregate
    if kind is PeriodAggregate.IGNORE_PERIOD:
        running = before + inside
        if not running:
            return None
        return MetricValue(math.fsum(o.value for o in running), _last_nonzero_at(running), len(inside))
    if not inside:
        return None
    n = len(inside)
    values = [o.value for o in inside]
    if kind is PeriodAggregate.SUM:
        return MetricValue(math.fsum(values), _last_nonzero_at(inside), n)
    if kind is PeriodAggregate.LATEST:
        return MetricValue(values[-1], _start_of_final_run(inside), n)
    if kind is PeriodAggregate.MIN:
        best = min(values)
        return MetricValue(best, next(o.at for o in inside if o.value == best), n)
    if kind is PeriodAggregate.MAX:
        best = max(values)
        return MetricValue(best, next(o.at for o in inside if o.value == best), n)
    if kind is PeriodAggregate.AVERAGE:
        return MetricValue(math.fsum(values) / n, _average_reached_at(inside), n)
    # DIFFERENCE: growth in the period. With nothing before the period, growth is counted from the first
    # value inside it, so a participant's first report is a baseline, not a gain.
    baseline = before[-1].value if before else values[0]
    return MetricValue(values[-1] - baseline, _start_of_final_run(inside), n)


def _last_nonzero_at(observations: Sequence[Observation]) -> datetime:
    for o in reversed(observations):
        if o.value != 0:
            return o.at
    return observations[0].at


def _start_of_final_run(observations: Sequence[Observation]) -> datetime:
    final = observations[-1].value
    at = observations[-1].at
    for o in reversed(observations):
        if o.value != final:
            break
        at = o.at
    return at


def _average_reached_at(observations: Sequence[Observation]) -> datetime:
    at = observations[0].at
    total = observations[0].value
    for i, o in enumerate(observations[1:], start=1):
        if o.value != total / i:
            at = o.at
        total += o.value
    return at


def value_points(metric: Metric, value: float | None, participant_id: str) -> float:
    """Points for a value under `method: sum`: per_unit × value, or target_points × value / target; then cap."""
    if value is None:
        return 0.0
    rule = metric.points
    target = rule.target_for(participant_id)
    points = rule.target_points * value / target if target is not None else rule.per_unit * value
    return apply_cap(points, rule.cap)


def relative_points(metric: Metric, rank: int, ranked_count: int) -> float:
    """Points from a rank among `ranked_count` people with a value: 100·(N − rank + 1)/N × per_unit, then cap."""
    if ranked_count <= 0:
        return 0.0
    return apply_cap(100.0 * (ranked_count - rank + 1) / ranked_count * metric.points.per_unit, metric.points.cap)


def apply_cap(points: float, cap: float | None) -> float:
    return points if cap is None else min(points, cap)


def total_reached_at(values: Mapping[str, MetricValue]) -> datetime | None:
    """When a participant's total last changed: the latest change among their metric values."""
    return max((v.reached_at for v in values.values()), default=None)
