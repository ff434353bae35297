"""Reading boards from the stored standings: one Query per board where the rules allow it.

- division board: the division's team items (one Query of its partition);
- team board: the team's participant items (one Query of its partition);
- program board: the division items (one Query);
- everyone, and every board of a program with rank-based rules (relative metrics, position ranking): every
  participant item of the period (one Query of the sparse index), ranked here with the domain's Scorebook.
The roster (one Query) gives names, headcounts of groups nobody has scored in yet, and the board's members.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from podium.domain.boards import Board, BoardKind, Level, Scorebook, group_board, uses_ranks
from podium.domain.errors import InvalidPeriod, NotFound, UnknownBoard
from podium.domain.periods import Period, end_instant, parse_period, period_of
from podium.domain.program import Program
from podium.domain.rollup import GroupTotals, with_headcounts
from podium.domain.roster import Roster, roster_as_of
from podium.services.auth import Principal
from podium.services.ports import Scope, StandingsReader, Store
from podium.services.programs import find_program


def read_board(
    store: Store,
    standings: StandingsReader,
    who: Principal,
    program_id: str,
    kind: BoardKind,
    ref: str | None,
    period_key: str | None,
    now: datetime,
) -> Board:
    who.require(Scope.READ, program_id)
    program = find_program(store, who.org, program_id).program
    period = board_period(program, period_key, now)
    roster = roster_as_of(store.list_participants(who.org, program_id), end_instant(period, program.tz))
    org, key = who.org, period.key

    needs_everyone = (
        uses_ranks(program)
        or kind is BoardKind.PARTICIPANTS
        or (kind is BoardKind.PROGRAM and _has_loose_groups(roster))
    )
    if needs_everyone:
        values = {s.participant: s.values for s in standings.everyone(org, program_id, key)}
        return Scorebook(program, roster, period, values).board(kind, ref)
    if kind is BoardKind.TEAM:
        team = roster.find_team(ref or "")
        if team is None:
            raise UnknownBoard(f"no team {ref!r} in program {program_id!r}")
        values = {s.participant: s.values for s in standings.team_standings(org, program_id, team.id, key)}
        return Scorebook(program, roster, period, values).board(kind, team.id)
    if kind is BoardKind.DIVISION:
        division = roster.find_division(ref or "")
        if division is None:
            raise UnknownBoard(f"no division {ref!r} in program {program_id!r}")
        stored: dict[str | None, GroupTotals] = {
            t.ref: t.totals for t in standings.division_teams(org, program_id, division.id, key)
        }
        teams = with_headcounts(stored, roster.team_headcounts(division.id))
        groups = [
            (t.id, t.name, Level.TEAM, teams.get(t.id, GroupTotals())) for t in roster.division_teams(division.id)
        ]
        return group_board(program, period, kind, division.id, division.name, groups)
    stored_divisions: dict[str | None, GroupTotals] = {
        d.ref: d.totals for d in standings.divisions(org, program_id, key)
    }
    divisions = with_headcounts(stored_divisions, roster.division_headcounts())
    groups = [(d.id, d.name, Level.DIVISION, divisions.get(d.id, GroupTotals())) for d in roster.divisions.values()]
    return group_board(program, period, kind, None, program.name, groups)


def board_period(program: Program, period_key: str | None, now: datetime) -> Period:
    """The period asked for, or the current one. Standings are kept for the program's own period kind."""
    current = period_of(now, program.period, program.tz, program.week_start)
    if not period_key:
        return current
    period = parse_period(period_key, program.week_start)
    if period.kind is not program.period:
        raise InvalidPeriod(
            f"program {program.id!r} keeps {program.period.value} standings: ask for a period like {current.key}"
        )
    return period


def _has_loose_groups(roster: Roster) -> bool:
    return any(t.parent is None for t in roster.teams.values()) or any(p.team_id is None for p in roster.active)


def read_scorecard(
    store: Store,
    standings: StandingsReader,
    who: Principal,
    program_id: str,
    participant_id: str,
    period_key: str | None,
    now: datetime,
) -> dict[str, Any]:
    """A participant's standing among everyone, with their rank in their team and their team's in its division."""
    who.require(Scope.READ, program_id)
    program = find_program(store, who.org, program_id).program
    period = board_period(program, period_key, now)
    roster = roster_as_of(store.list_participants(who.org, program_id), end_instant(period, program.tz))
    participant = roster.participants.get(participant_id)
    if participant is None or not participant.active:
        raise NotFound(f"no participant {participant_id!r} in program {program_id!r}")
    values = {s.participant: s.values for s in standings.everyone(who.org, program_id, period.key)}
    book = Scorebook(program, roster, period, values)
    standing = next(s for s in book.board(BoardKind.PARTICIPANTS).standings if s.id == participant_id)
    team = division = None
    if participant.team_id:
        team_board = book.board(BoardKind.TEAM, participant.team_id)
        mine = next(s for s in team_board.standings if s.id == participant_id)
        team = {
            "id": team_board.id,
            "name": team_board.name,
            "rank_in_team": mine.rank,
            "of": len(team_board.standings),
        }
        if participant.division_id:
            division_board = book.board(BoardKind.DIVISION, participant.division_id)
            ours = next(s for s in division_board.standings if s.id == participant.team_id)
            division = {
                "id": division_board.id,
                "name": division_board.name,
                "team_rank": ours.rank,
                "of": len(division_board.standings),
            }
    return {
        "program": program.id,
        "period": period.key,
        "participant": participant_id,
        "team": team,
        "division": division,
        "standing": standing.as_dict(),
    }
