"""The stream consumer's use case: recompute the aggregates a batch of stream events touches, level by level.

Every aggregate is a pure function of its children, recomputed (never incremented): a participant's standing in
a period from their log, a team's from its members' standings and the roster, a division's from its teams', the
program's from its divisions'. Each level's writes arrive on the stream as the next level's events, partitioned
by the parent, so exactly one invocation at a time writes any aggregate. Each aggregate a batch touches is
recomputed once; a write that would not change a standing is skipped.

- batch: what the events ask for (and which record asked first);
- participants, groups: recomputing one participant, team, division or program;
- rules: new rules ask for every participant's standings again;
- last, each program the batch touched gets a new pulse, so pages polling it see a new ETag (a poll that finds
  the pulse unchanged is answered 304 from that one small read).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial

from podium.domain.events import (
    DivisionStandingChanged,
    LogChanged,
    MembershipChanged,
    ParticipantStandingChanged,
    RulesChanged,
    StandingsEvent,
    TeamStandingChanged,
)
from podium.domain.standings import ProgramRef
from podium.observability import logger
from podium.services.aggregate.batch import Aggregate, collect
from podium.services.aggregate.context import BatchContext
from podium.services.aggregate.groups import recompute_division, recompute_program, recompute_team, team_totals
from podium.services.aggregate.participants import recompute_participant
from podium.services.aggregate.rules import rules_changed
from podium.services.ports import Catalog, Standings

__all__ = ["recompute", "team_totals"]


def recompute(events: Iterable[StandingsEvent], standings: Standings, catalog: Catalog, now: datetime) -> list[str]:
    """Recompute everything the events touch. Returns the sequence numbers of records whose work failed."""
    context = BatchContext(catalog, now)
    events = list(events)
    work = collect(events, context)
    touched = _programs_touched(events)
    jobs: list[tuple[Aggregate, Callable[[], None]]] = [
        *((r, partial(recompute_participant, r, work, standings, context)) for r in list(work.periods)),
        *((t, partial(recompute_team, t, work, standings, context)) for t in work.teams),
        *((d, partial(recompute_division, d, work, standings, context)) for d in work.divisions),
        *((p, partial(recompute_program, p, work, standings, context)) for p in work.programs),
        *((r, partial(rules_changed, r, old, standings, context)) for r, old in work.rules_changed.items()),
    ]
    failed: list[str] = []
    for aggregate, job in jobs:
        try:
            job()
        except Exception:  # one aggregate's failure must not lose the others' work
            failed.append(work.first_record[aggregate])
            logger.exception("recompute failed", extra={"aggregate": repr(aggregate)})
    stamp = f"{now.isoformat()}#{events[-1].sequence if events else ''}"
    for ref, first in touched.items():
        periods = sorted(p.period for p in work.programs if (p.org, p.program) == (ref.org, ref.program))
        try:
            standings.touch_pulse(ref.org, ref.program, stamp, periods)
        except Exception:  # retried with the batch: a stale pulse would keep answering 304
            failed.append(first)
            logger.exception("pulse failed", extra={"program": ref.program})
    return sorted(set(failed))


def _programs_touched(events: list[StandingsEvent]) -> dict[ProgramRef, str]:
    """Each program an event of the batch belongs to, with the first record that names it."""
    touched: dict[ProgramRef, str] = {}
    for event in events:
        ref = _program_of(event)
        if ref is not None and ref not in touched:
            touched[ref] = event.sequence
    return touched


def _program_of(event: StandingsEvent) -> ProgramRef | None:
    if isinstance(event, LogChanged | MembershipChanged):
        return ProgramRef(event.participant.org, event.participant.program)
    if isinstance(event, RulesChanged):
        return event.program
    if isinstance(event, ParticipantStandingChanged):
        return ProgramRef(event.team.org, event.team.program)
    if isinstance(event, TeamStandingChanged):
        return ProgramRef(event.division.org, event.division.program)
    if isinstance(event, DivisionStandingChanged):
        return ProgramRef(event.program.org, event.program.program)
    return None
