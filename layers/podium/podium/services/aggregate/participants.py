"""Level 1: a participant's standing in each period a batch touched, recomputed from their whole log."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

from podium.domain.periods import Period, end_instant, parse_period, period_of
from podium.domain.program import Program
from podium.domain.roster import Participant, Roster
from podium.domain.scoring import participant_values
from podium.domain.standings import NO_GROUP, ParticipantRef, ParticipantStanding, ProgramRef, RebuildRequest
from podium.domain.submissions import Submission, effective_submissions
from podium.services.aggregate.batch import Work, periods_from
from podium.services.aggregate.context import BatchContext
from podium.services.ports import Standings


def recompute_participant(ref: ParticipantRef, work: Work, standings: Standings, context: BatchContext) -> None:
    org, program_id, participant = ref.org, ref.program, ref.participant
    program_ref = ProgramRef(org, program_id)
    program = context.program(program_ref)
    if program is None:
        return
    mark = work.last_record.get(ref)
    membership, log = standings.participant_log(org, program_id, participant)
    effective = effective_submissions(log)
    current = context.current(program)
    requests = work.every_period.get(ref, set())
    for s in log:
        if requests or s.id in work.voided.get(ref, ()):
            work.periods[ref].update(periods_from(program, s.at, current))
    for request in requests:
        work.periods[ref].update(_periods_under_old_scheme(request, log, context.now))
    team = _home(membership)[0]
    old_teams = work.moved_from.get(ref, set()) - {team, ""}
    for period_key in sorted(work.periods[ref]):
        period = parse_period(period_key, program.week_start)
        # A period of another kind is left over from rules that cut periods differently: it holds nothing now.
        values = participant_values(program, effective, period) if period.kind is program.period else {}
        standing = standing_for_period(membership, period, program, partial(context.roster, program_ref, period_key))
        active = standing is not None and standing.active
        home, home_division = _home(standing)
        if period_key != current.key:
            # A standing an earlier placement left in another team (written before the roster kept its history).
            placed = standings.find_participant_standing(org, program_id, period_key, participant)
            if placed is not None and placed.team != home:
                standings.delete_participant_standing(org, program_id, placed.team, period_key, participant, mark)
        # The sparse index only says where a standing lives; what it holds is read consistently.
        have = standings.get_participant_standing(org, program_id, home, period_key, participant)
        # Active members have a standing when they have values, and in the current period also when their
        # membership changed (so the team's headcount is recomputed); anyone else has none.
        now_in = period_key == current.key and (have is not None or ref in work.moved_from)
        if not (active and (values or now_in)):
            if have is not None:
                standings.delete_participant_standing(org, program_id, home, period_key, participant, mark)
            continue
        wanted = ParticipantStanding(
            participant,
            membership.name if membership is not None else participant,
            home,
            home_division,
            period_key,
            dict(values),
            context.rules_version(program_ref),
            work.rebuilt.get(ref) or (have.rebuilt if have is not None else ""),
        )
        if have != wanted:
            standings.put_participant_standing(org, program_id, wanted, mark)
    # Moving on: the current period's standing leaves every team they were in before (all moves in the batch).
    for old in sorted(old_teams):
        if standings.get_participant_standing(org, program_id, old, current.key, participant) is not None:
            standings.delete_participant_standing(org, program_id, old, current.key, participant, mark)


def standing_for_period(
    membership: Participant | None, period: Period, program: Program, roster_then: Callable[[], Roster]
) -> Participant | None:
    """Where a participant stood for a period: at its end (now, for the current period). Someone who joined
    after it stands where the roster of the time puts them (their team may have changed division since)."""
    end = end_instant(period, program.tz)
    if membership is None or end is None:
        return membership
    if membership.history and membership.history[0].since >= end:
        return roster_then().participants.get(membership.id, membership.as_of(end))
    return membership.as_of(end)


def _home(standing: Participant | None) -> tuple[str, str]:
    """The team and division partitions a standing of this placement lives in."""
    if standing is None or not standing.active:
        return NO_GROUP, NO_GROUP
    return standing.team_id or NO_GROUP, standing.division_id or NO_GROUP


def _periods_under_old_scheme(request: RebuildRequest, log: Iterable[Submission], now: datetime) -> set[str]:
    """The periods the log's scores fell in under the scheme new rules replaced, and its current period (where
    everyone's membership placed a standing): they are emptied."""
    old = request.old_scheme
    if old is None:
        return set()
    tz = ZoneInfo(old.timezone)
    return {period_of(at, old.kind, tz, old.week_start).key for at in (now, *(s.at for s in log))}
