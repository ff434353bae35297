"""Rollup: team, division and program scores from the people beneath them.

Totals are kept as sums (of values and of points) with counts, so they combine level by level: a division's
totals are the combination of its teams', and a mean is taken only at the end, over everyone beneath the group
(its headcount, or its contributors). A division's mean is therefore the mean over its people, not a mean of
team means, as the program file's `team_rollup` promises at every level.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from podium.domain.program import MeanOver, Metric, TeamRollup

K = TypeVar("K")


@dataclass(frozen=True)
class MetricTotals:
    value_sum: float = 0.0
    points_sum: float = 0.0
    contributors: int = 0  # people beneath with a value this period
    reached_at: datetime | None = None


@dataclass(frozen=True)
class GroupTotals:
    headcount: int = 0
    metrics: Mapping[str, MetricTotals] = field(default_factory=dict)


def with_headcounts(stored: Mapping[K, GroupTotals], headcounts: Mapping[K, int]) -> dict[K, GroupTotals]:
    """Every group's totals: stored ones where there are any, and for each other group on the roster its headcount
    alone. A group whose members have no values in a period still counts in a mean over headcount above it."""
    return {**{g: GroupTotals(headcount=n) for g, n in headcounts.items()}, **stored}


def participant_totals(scores: Mapping[str, tuple[float | None, float, datetime | None]]) -> GroupTotals:
    """A participant as a group of one: per metric (value or None, points, reached_at)."""
    return GroupTotals(
        headcount=1,
        metrics={
            key: MetricTotals(
                value_sum=value if value is not None else 0.0,
                points_sum=points,
                contributors=1 if value is not None else 0,
                reached_at=reached_at if value is not None else None,
            )
            for key, (value, points, reached_at) in scores.items()
        },
    )


def combine(children: Iterable[GroupTotals]) -> GroupTotals:
    """Totals of a group from its children's totals. Sums use fsum, so the order of children does not matter."""
    kids = list(children)
    keys = sorted({k for c in kids for k in c.metrics})
    metrics: dict[str, MetricTotals] = {}
    for key in keys:
        parts = [c.metrics[key] for c in kids if key in c.metrics]
        metrics[key] = MetricTotals(
            value_sum=math.fsum(p.value_sum for p in parts),
            points_sum=math.fsum(p.points_sum for p in parts),
            contributors=sum(p.contributors for p in parts),
            reached_at=max((p.reached_at for p in parts if p.reached_at is not None), default=None),
        )
    return GroupTotals(headcount=sum(c.headcount for c in kids), metrics=metrics)


def rolled_up(metric: Metric, totals: MetricTotals | None, headcount: int) -> tuple[float | None, float]:
    """A group's (value, points) for one metric under the metric's `team_rollup` rule.

    The value is None when nobody beneath the group has a value for the metric this period.
    """
    if totals is None or totals.contributors == 0:
        return (None, 0.0)
    if metric.team_rollup is TeamRollup.SUM:
        return (totals.value_sum, totals.points_sum)
    # Contributors are at least 1 here, and headcount is never below contributors.
    denominator = headcount if metric.mean_over is MeanOver.HEADCOUNT else totals.contributors
    return (totals.value_sum / denominator, totals.points_sum / denominator)
