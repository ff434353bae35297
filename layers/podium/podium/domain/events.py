"""What the table's stream tells the aggregator, as typed events. Each carries the stream record's sequence
number, so a failed recompute is reported by the first record that asked for it and a slow write cannot undo a
newer one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from podium.domain.standings import (
    DivisionPeriod,
    ParticipantRef,
    ProgramPeriod,
    ProgramRef,
    RebuildRequest,
    TeamPeriod,
)


@dataclass(frozen=True)
class Placed:
    """A membership as an image of the stream shows it."""

    team: str | None
    active: bool


@dataclass(frozen=True)
class LogChanged:
    """A submission was written to (or removed from) a participant's log."""

    sequence: str
    participant: ParticipantRef
    times: tuple[datetime, ...]  # when the submission happened, in the old and new images
    voids: tuple[str, ...] = ()  # the submissions a correction cancels, in either image


@dataclass(frozen=True)
class MembershipChanged:
    """A participant's mirrored membership changed: a roster save, or a mark asking for a recompute."""

    sequence: str
    participant: ParticipantRef
    before: Placed | None
    after: Placed | None
    saved_at: datetime | None = None  # when a roster save this change carries was made
    rebuild: RebuildRequest | None = None  # what a mark set by this change asks for
    marked_at: datetime | None = None


@dataclass(frozen=True)
class RulesChanged:
    sequence: str
    program: ProgramRef
    old_document: Mapping[str, Any] | None


@dataclass(frozen=True)
class ParticipantStandingChanged:
    sequence: str
    team: TeamPeriod
    divisions: frozenset[str]  # the divisions the old and new images name (a team may have moved)


@dataclass(frozen=True)
class TeamStandingChanged:
    sequence: str
    division: DivisionPeriod


@dataclass(frozen=True)
class DivisionStandingChanged:
    sequence: str
    program: ProgramPeriod


StandingsEvent = (
    LogChanged
    | MembershipChanged
    | RulesChanged
    | ParticipantStandingChanged
    | TeamStandingChanged
    | DivisionStandingChanged
)
