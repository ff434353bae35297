"""Levels 2 to 4: a team from its members' standings, a division from its teams', the program from its
divisions'. Groups with no standing in the period still count in the means over headcount above them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from podium.domain.boards import cascade_totals
from podium.domain.periods import parse_period
from podium.domain.program import Program
from podium.domain.rollup import GroupTotals, combine, with_headcounts
from podium.domain.roster import Participant
from podium.domain.standings import (
    NO_DIVISION_NAME,
    NO_GROUP,
    NO_TEAM_NAME,
    DivisionPeriod,
    GroupLevel,
    GroupStanding,
    ParticipantStanding,
    ProgramPeriod,
    ProgramRef,
    TeamPeriod,
)
from podium.services.aggregate.batch import Work
from podium.services.aggregate.context import BatchContext
from podium.services.ports import Standings


def recompute_team(ref: TeamPeriod, work: Work, standings: Standings, context: BatchContext) -> None:
    org, program_id, team, period = ref.org, ref.program, ref.team, ref.period
    mark = work.last_record[ref]
    program_ref = ProgramRef(org, program_id)
    program = context.program(program_ref)
    if program is None:
        return
    roster = context.roster(program_ref, period)
    if team == NO_GROUP:
        members = [p for p in roster.active if p.team_id is None]
        name, division = NO_TEAM_NAME, NO_GROUP
    else:
        members = roster.team_members(team)
        group = roster.teams.get(team)
        name, division = (group.name, group.parent or NO_GROUP) if group else (team, NO_GROUP)
    standing_of = {s.participant: s for s in standings.team_standings(org, program_id, team, period)}
    totals = team_totals(program, members, standing_of)
    # A team that moved to another division leaves no standing behind in the old one.
    for before in sorted(work.team_divisions_before.get(ref, set()) - {division}):
        if standings.get_group(org, program_id, GroupLevel.TEAM, team, before, period) is not None:
            standings.delete_group(org, program_id, GroupLevel.TEAM, team, before, period, mark)
    have = standings.get_group(org, program_id, GroupLevel.TEAM, team, division, period)
    # No member has a standing in the period (all voided, or the rules moved their scores elsewhere): a board
    # shows the team from the roster, with nothing; a stored standing would only be one more thing to keep right.
    if totals.headcount == 0 or not standing_of or not _of_kind(program, period):
        if have is not None:
            standings.delete_group(org, program_id, GroupLevel.TEAM, team, division, period, mark)
        return
    wanted = GroupStanding(GroupLevel.TEAM, team, name, division, period, totals)
    if have != wanted:
        standings.put_group(org, program_id, wanted, mark)


def team_totals(
    program: Program, members: Iterable[Participant], standings: Mapping[str, ParticipantStanding]
) -> GroupTotals:
    """A team's totals: its active members' carried values; members with no standing this period count in the
    headcount with nothing to add."""
    return combine(
        cascade_totals(program, p.id, standings[p.id].values) if p.id in standings else GroupTotals(headcount=1)
        for p in sorted(members, key=lambda p: p.id)
    )


def recompute_division(ref: DivisionPeriod, work: Work, standings: Standings, context: BatchContext) -> None:
    """A division's totals: its teams' standings, and the headcount of each roster team without one."""
    org, program_id, division, period = ref.org, ref.program, ref.division, ref.period
    mark = work.last_record[ref]
    program_ref = ProgramRef(org, program_id)
    program = context.program(program_ref)
    roster = context.roster(program_ref, period)
    stored = {t.ref: t.totals for t in standings.division_teams(org, program_id, division, period)}
    teams = with_headcounts(stored, _placed(roster.team_headcounts(None if division == NO_GROUP else division)))
    totals = combine(teams[t] for t in sorted(teams))
    group = roster.divisions.get(division)
    have = standings.get_group(org, program_id, GroupLevel.DIVISION, division, "", period)
    if program is None or not stored or not _of_kind(program, period):
        if have is not None:
            standings.delete_group(org, program_id, GroupLevel.DIVISION, division, "", period, mark)
        return
    name = group.name if group else NO_DIVISION_NAME
    wanted = GroupStanding(GroupLevel.DIVISION, division, name, "", period, totals)
    if have != wanted:
        standings.put_group(org, program_id, wanted, mark)


def recompute_program(ref: ProgramPeriod, work: Work, standings: Standings, context: BatchContext) -> None:
    """The program's totals: its divisions' standings, and the headcount of each roster division without one."""
    org, program_id, period = ref.org, ref.program, ref.period
    mark = work.last_record[ref]
    program_ref = ProgramRef(org, program_id)
    program = context.program(program_ref)
    stored = {d.ref: d.totals for d in standings.divisions(org, program_id, period)}
    divisions = with_headcounts(stored, _placed(context.roster(program_ref, period).division_headcounts()))
    totals = combine(divisions[d] for d in sorted(divisions))
    have = standings.get_group(org, program_id, GroupLevel.PROGRAM, program_id, "", period)
    if program is None or not stored or not _of_kind(program, period):
        if have is not None:
            standings.delete_group(org, program_id, GroupLevel.PROGRAM, program_id, "", period, mark)
        return
    wanted = GroupStanding(GroupLevel.PROGRAM, program_id, program.name, "", period, totals)
    if have != wanted:
        standings.put_group(org, program_id, wanted, mark)


def _of_kind(program: Program, period_key: str) -> bool:
    """Whether a period is cut the program's way: standings of another kind are left over from older rules."""
    return parse_period(period_key, program.week_start).kind is program.period


def _placed(headcounts: Mapping[str | None, int]) -> dict[str, int]:
    """Roster headcounts keyed as standings are stored: no team or no division is NO_GROUP."""
    return {NO_GROUP if ref is None else ref: n for ref, n in headcounts.items()}
