"""Starting each new period's standings for metrics that carry values forward.

A running total (`period_aggregate: ignore_period`) has a value in a period even when nobody submitted in it, so a
new period's standings cannot wait for the next submission. At each period start (the rollover schedule runs every
15 minutes) every active participant's membership is marked with the new period, and the stream recomputes each
of them on their own shard, like any other change: the single-writer path stays the only writer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from podium.domain.periods import period_of
from podium.domain.program import PeriodAggregate, PeriodKind, Program
from podium.domain.standings import RebuildRequest
from podium.services.ports import Store

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Started:
    org: str
    program: str
    period: str
    participants: int


def carries_forward(program: Program) -> bool:
    return program.period is not PeriodKind.ALL and any(
        m.period_aggregate is PeriodAggregate.IGNORE_PERIOD for m in program.metrics
    )


def start_new_periods(store: Store, now: datetime) -> list[Started]:
    """Start the current period for every program that carries values forward and has not started it yet.

    Safe to run again or twice at once: marking a membership twice recomputes the same standing twice, and the
    program is marked only after all its people are, so an interrupted run is completed by the next one."""
    started = []
    for record in store.all_programs():
        program = record.program
        if not carries_forward(program):
            continue
        period = period_of(now, program.period, program.tz, program.week_start).key
        if record.period_started == period:
            continue
        people = [p for p in store.list_participants(record.org, record.id) if p.active]
        store.touch_memberships(record.org, record.id, people, RebuildRequest.of_period(period), now)
        store.mark_period_started(record, period)
        started.append(Started(record.org, record.id, period, len(people)))
    return started
