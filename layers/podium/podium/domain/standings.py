"""Standings as the aggregator keeps them: a participant's values in a period, a group's rolled-up totals, and
the names of what they belong to. Where and how they are stored is the adapters' business."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from podium.domain.program import PeriodKind, Program, Weekday
from podium.domain.rollup import GroupTotals
from podium.domain.scoring import MetricValue

# A participant without a team sits in team `-`; a team without a division in division `-`.
NO_GROUP = "-"
NO_TEAM_NAME = "No team"
NO_DIVISION_NAME = "No division"


class GroupLevel(StrEnum):
    TEAM = "team"
    DIVISION = "division"
    PROGRAM = "program"


@dataclass(frozen=True)
class ProgramRef:
    org: str
    program: str


@dataclass(frozen=True)
class ParticipantRef:
    org: str
    program: str
    participant: str


@dataclass(frozen=True)
class TeamPeriod:
    """A team's standing in a period (the aggregate its members' standings roll up into)."""

    org: str
    program: str
    team: str
    period: str


@dataclass(frozen=True)
class DivisionPeriod:
    org: str
    program: str
    division: str
    period: str


@dataclass(frozen=True)
class ProgramPeriod:
    org: str
    program: str
    period: str


@dataclass(frozen=True)
class ParticipantStanding:
    participant: str
    name: str
    team: str  # team id, or NO_GROUP
    division: str  # division id, or NO_GROUP
    period: str
    values: dict[str, MetricValue]
    # The program version the standing was computed under: new rules change it, so its team recomputes too.
    rules: int = 0
    # The `podium rebuild` that last wrote it: a rebuild rewrites every standing, so every team above recomputes.
    rebuilt: str = ""


@dataclass(frozen=True)
class GroupStanding:
    level: GroupLevel
    ref: str  # team id, division id, or program id
    name: str
    parent: str  # a team's division; "" above
    period: str
    totals: GroupTotals


@dataclass(frozen=True)
class PeriodScheme:
    """How a program cuts time into periods. Rules that change it leave standings where scores no longer fall."""

    kind: PeriodKind
    timezone: str
    week_start: Weekday

    @classmethod
    def of(cls, program: Program) -> PeriodScheme:
        return cls(program.period, program.timezone, program.week_start)


@dataclass(frozen=True)
class RebuildRequest:
    """What a mark on a participant's membership asks the aggregator to recompute: one period, or every period
    they have scores in (new rules). With `old_scheme`, the periods the old rules put scores in are emptied too."""

    period: str | None = None  # None: every period
    old_scheme: PeriodScheme | None = None

    @classmethod
    def of_period(cls, period: str) -> RebuildRequest:
        return cls(period=period)

    @classmethod
    def every_period(cls, old: Program | None = None, new: Program | None = None) -> RebuildRequest:
        if old is None or new is None or PeriodScheme.of(old) == PeriodScheme.of(new):
            return cls()
        return cls(old_scheme=PeriodScheme.of(old))

    @property
    def is_every_period(self) -> bool:
        return self.period is None
