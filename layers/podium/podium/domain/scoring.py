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
from podium.domain.program import Method, Metric, PeriodAggregate, Program
from podium.domain.ranking import POINTS_DECIMALS
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
    subs = list(submissions)
    participant = subs[0].participant if subs else ""
    tz = program.tz
    result: dict[str, MetricValue] = {}
    for key, observations in observations_by_metric(program, subs).items():
        value = aggregate_period(program.metric(key), observations, period, tz, participant)
        if value is not None:
            result[key] = value
    return result


def aggregate_period(
    metric: Metric, observations: Sequence[Observation], period: Period, tz: ZoneInfo, participant_id: str = ""
) -> MetricValue | None:
    """Combine a participant's observations of one metric into the period's value, per `period_aggregate`.

    Observations must be in canonical (at, id) order. None when the participant has no value in the period.
    `reached_at` is when the metric's points (its value, for relative metrics) last changed to what they are
    now: a capped metric reaches its total when it hits the cap, whatever is added after.
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
    counted = before + inside if kind is PeriodAggregate.IGNORE_PERIOD else inside
    if not counted:
        return None
    series = _running_values(kind, counted, before[-1].value if before else None)
    final = _final_value(kind, counted, series[-1][1])

    def score(v: float) -> float:
        # Relative metrics rank on the value itself; others on their points (after target and cap).
        points = v if metric.method is Method.RELATIVE else value_points(metric, v, participant_id)
        return round(points, POINTS_DECIMALS)

    target = score(final)
    reached = series[-1][0]
    for at, v in reversed(series):
        if score(v) != target:
            break
        reached = at
    return MetricValue(final, reached, len(inside))


def _running_values(
    kind: PeriodAggregate, observations: Sequence[Observation], last_before: float | None
) -> list[tuple[datetime, float]]:
    """The aggregate after each observation, in order: what the participant's value was at each moment."""
    series: list[tuple[datetime, float]] = []
    total = 0.0
    low = high = observations[0].value
    baseline = last_before if last_before is not None else observations[0].value
    for n, o in enumerate(observations, start=1):
        total += o.value
        low, high = min(low, o.value), max(high, o.value)
        current = {
            PeriodAggregate.SUM: total,
            PeriodAggregate.IGNORE_PERIOD: total,
            PeriodAggregate.LATEST: o.value,
            PeriodAggregate.MIN: low,
            PeriodAggregate.MAX: high,
            PeriodAggregate.AVERAGE: total / n,
            PeriodAggregate.DIFFERENCE: o.value - baseline,
        }[kind]
        series.append((o.at, current))
    return series


def _final_value(kind: PeriodAggregate, observations: Sequence[Observation], running: float) -> float:
    """The exact final value: sums use fsum, so the result does not depend on float rounding along the way."""
    if kind in (PeriodAggregate.SUM, PeriodAggregate.IGNORE_PERIOD):
        return math.fsum(o.value for o in observations)
    if kind is PeriodAggregate.AVERAGE:
        return math.fsum(o.value for o in observations) / len(observations)
    return running


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
