"""What a batch of stream events asks to recompute, and the first record that asked for each aggregate (so a
failure is reported from there and Lambda retries from it)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from podium.domain.events import (
    DivisionStandingChanged,
    LogChanged,
    MembershipChanged,
    ParticipantStandingChanged,
    Placed,
    RulesChanged,
    StandingsEvent,
    TeamStandingChanged,
)
from podium.domain.periods import Period, period_of, period_of_day
from podium.domain.program import PeriodAggregate, Program
from podium.domain.roster import slug
from podium.domain.standings import (
    NO_GROUP,
    DivisionPeriod,
    ParticipantRef,
    ProgramPeriod,
    ProgramRef,
    RebuildRequest,
    TeamPeriod,
)
from podium.services.aggregate.context import BatchContext

# Aggregates that carry forward: a late value changes every later period's standing too.
CARRIED = (PeriodAggregate.IGNORE_PERIOD, PeriodAggregate.DIFFERENCE)

Aggregate = ParticipantRef | TeamPeriod | DivisionPeriod | ProgramPeriod | ProgramRef


@dataclass
class Work:
    periods: dict[ParticipantRef, set[str]] = field(default_factory=lambda: defaultdict(set))
    moved_from: dict[ParticipantRef, set[str]] = field(default_factory=lambda: defaultdict(set))
    voided: dict[ParticipantRef, set[str]] = field(default_factory=lambda: defaultdict(set))
    every_period: dict[ParticipantRef, set[RebuildRequest]] = field(default_factory=lambda: defaultdict(set))
    # Participants a `podium rebuild` marked, with the mark's time: their standings are rewritten even if unchanged.
    rebuilt: dict[ParticipantRef, str] = field(default_factory=dict)
    teams: set[TeamPeriod] = field(default_factory=set)
    # Divisions a team's participant standings named before (a team that moved division leaves one there).
    team_divisions_before: dict[TeamPeriod, set[str]] = field(default_factory=lambda: defaultdict(set))
    divisions: set[DivisionPeriod] = field(default_factory=set)
    programs: set[ProgramPeriod] = field(default_factory=set)
    rules_changed: dict[ProgramRef, Mapping[str, Any] | None] = field(default_factory=dict)  # -> the old document
    first_record: dict[Aggregate, str] = field(default_factory=dict)
    last_record: dict[Aggregate, str] = field(default_factory=dict)

    def asked(self, aggregate: Aggregate, sequence: str) -> None:
        padded = watermark_of(sequence)
        if aggregate not in self.first_record or padded < watermark_of(self.first_record[aggregate]):
            self.first_record[aggregate] = sequence
        if aggregate not in self.last_record or padded > self.last_record[aggregate]:
            self.last_record[aggregate] = padded


def watermark_of(sequence: str) -> str:
    """Stream sequence numbers are decimal strings of varying length: padded, they compare in order."""
    return sequence.zfill(48)


def collect(events: Iterable[StandingsEvent], context: BatchContext) -> Work:
    work = Work()
    for event in events:
        if isinstance(event, LogChanged | MembershipChanged):
            _participant_changed(event, work, context)
        elif isinstance(event, RulesChanged):
            work.rules_changed.setdefault(event.program, event.old_document)
            work.asked(event.program, event.sequence)
        elif isinstance(event, ParticipantStandingChanged):
            work.teams.add(event.team)
            work.team_divisions_before[event.team].update(event.divisions)
            work.asked(event.team, event.sequence)
        elif isinstance(event, TeamStandingChanged):
            work.divisions.add(event.division)
            work.asked(event.division, event.sequence)
        elif isinstance(event, DivisionStandingChanged):
            work.programs.add(event.program)
            work.asked(event.program, event.sequence)
    return work


def _participant_changed(event: LogChanged | MembershipChanged, work: Work, context: BatchContext) -> None:
    ref = event.participant
    program = context.program(ProgramRef(ref.org, ref.program))
    if program is None:
        return
    periods = work.periods[ref]
    current = context.current(program)
    if isinstance(event, LogChanged):
        for at in event.times:
            periods.update(periods_from(program, at, current))
        # A correction may sit in another period than what it cancels: that period changes too.
        work.voided[ref].update(event.voids)
    else:
        periods.add(current.key)
        if event.saved_at is not None:
            # A roster save also changes the period it was made in, though that period may have ended since.
            periods.add(_period(program, event.saved_at).key)
        if event.rebuild is not None:
            if event.rebuild.period is None:
                work.every_period[ref].add(event.rebuild)
            else:
                periods.add(event.rebuild.period)
                work.rebuilt[ref] = event.marked_at.isoformat() if event.marked_at else ""
        before = team_of(event.before)
        if before != team_of(event.after):
            work.moved_from[ref].add(before)
    work.asked(ref, event.sequence)


def team_of(placed: Placed | None) -> str:
    """The team partition a membership places someone in; "" when not an active member."""
    if placed is None or not placed.active:
        return ""
    return slug(placed.team) if placed.team else NO_GROUP


def _period(program: Program, at: datetime) -> Period:
    return period_of(at, program.period, program.tz, program.week_start)


def periods_from(program: Program, at: datetime, current: Period) -> set[str]:
    """The period of `at`, and every later one up to now when some metric carries values forward."""
    first = _period(program, at)
    if not any(m.period_aggregate in CARRIED for m in program.metrics) or first.end_day is None:
        return {first.key}
    keys = {first.key}
    period = first
    while period.end_day is not None and current.first_day is not None and period.end_day <= current.first_day:
        period = period_of_day(period.end_day, program.period, program.week_start)
        keys.add(period.key)
    return keys
