"""Reading boards from the stored standings: one Query per board where the rules allow it.

- division board: the division's team items (one Query of its partition);
- team board: the team's participant items (one Query of its partition);
- program board: the division items (one Query);
- everyone, and every board of a program with rank-based rules (relative metrics, position ranking): every
  participant item of the period (one Query of the sparse index), ranked here with the domain's Scorebook.
The roster (one Query) gives names, headcounts of groups nobody has scored in yet, and the board's members. The
board's marks of the latest final bulletin (one small item) give each standing's movement since it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from podium.domain.boards import (
    Audience,
    Board,
    BoardKind,
    Level,
    Scorebook,
    Standing,
    board_ref,
    contributions,
    group_board,
    seen_by,
    uses_ranks,
)
from podium.domain.bulletins import Badge, marks_apply, moved_since
from podium.domain.errors import Forbidden, InvalidPeriod, NotFound, Unauthenticated, UnknownBoard
from podium.domain.periods import MIN_YEAR, Period, end_instant, parse_period, period_of, period_of_day
from podium.domain.program import PROGRAM_ID, Program, Visibility
from podium.domain.rollup import GroupTotals, with_headcounts
from podium.domain.roster import Roster, roster_as_of
from podium.domain.scoring import MetricValue
from podium.services.auth import ORG_ID, TOKEN_PREFIX, Principal, authenticate, secret_matches, token_parts
from podium.services.ports import Bulletins, ProgramRecord, Pulse, Scope, StandingsReader, Store
from podium.services.programs import find_program


@dataclass(frozen=True)
class BoardView:
    """A board as its audience may see it, with what a page around it needs: the program, the roster (for links
    up and down) and, on a team board, what each member contributed."""

    record: ProgramRecord
    roster: Roster
    board: Board
    audience: Audience
    contributions: Mapping[str, Mapping[str, float]] | None = None

    @property
    def program(self) -> Program:
        return self.record.program


def read_board(
    store: Store,
    standings: StandingsReader,
    bulletins: Bulletins,
    who: Principal,
    program_id: str,
    kind: BoardKind,
    ref: str | None,
    period_key: str | None,
    now: datetime,
) -> Board:
    """A board as `who` may see it: the JSON API's and the pages' one read path."""
    return read_board_view(store, standings, bulletins, who, program_id, kind, ref, period_key, now).board


def read_board_view(
    store: Store,
    standings: StandingsReader,
    bulletins: Bulletins,
    who: Principal,
    program_id: str,
    kind: BoardKind,
    ref: str | None,
    period_key: str | None,
    now: datetime,
) -> BoardView:
    record, audience = viewed_program(store, who, program_id)
    program = record.program
    period = board_period(program, period_key, now)
    roster = roster_as_of(store.list_participants(who.org, program_id), end_instant(period, program.tz))
    board = _board(standings, who.org, program, roster, period, kind, ref)
    board = moved_since(board, bulletins.read_marks(who.org, program_id, [board.ref]).get(board.ref))
    shares = contributions(board)
    seen = seen_by(board, roster, audience)
    if shares is not None:
        visible = {s.id for s in seen.standings}
        shown = {k for s in seen.standings[:1] for k in s.metrics}
        shares = {pid: {k: v for k, v in m.items() if k in shown} for pid, m in shares.items() if pid in visible}
    return BoardView(record, roster, seen, audience, shares)


def _board(
    standings: StandingsReader,
    org: str,
    program: Program,
    roster: Roster,
    period: Period,
    kind: BoardKind,
    ref: str | None,
) -> Board:
    program_id, key = program.id, period.key
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


PUBLIC_VIEWER = "public"  # Principal.by of someone with no key or token, on a public program's pages
NOT_PUBLIC = "this board is not public: open it with its link (which carries ?t=…) or send an API key"


def viewed_program(store: Store, who: Principal, program_id: str) -> tuple[ProgramRecord, Audience]:
    """The program `who` reads the boards of, and as which audience: one read of the program."""
    who.require(Scope.READ, program_id)
    try:
        record = find_program(store, who.org, program_id)
    except NotFound:
        if who.by == PUBLIC_VIEWER:  # as a program that is not public: ids of unlisted ones stay unknown
            raise Unauthenticated(NOT_PUBLIC) from None
        raise
    return record, audience_of(who, record)


def audience_of(who: Principal, record: ProgramRecord) -> Audience:
    """What `who` may see of a program's boards: everything with an API key; with a public token or none, what
    the public may (and a private program's boards need an API key; one with no key, a public program)."""
    if who.by == PUBLIC_VIEWER and record.program.visibility is not Visibility.PUBLIC:
        raise Unauthenticated(NOT_PUBLIC)
    if who.program is None:
        return Audience.MEMBERS
    if record.program.visibility is Visibility.PRIVATE:
        raise Forbidden(f"program {record.id!r} is private: its boards need an API key with the read scope")
    return Audience.PUBLIC


def pulse_etag(pulse: Pulse | None, org: str, program_id: str, token: str | None, *request: str) -> str | None:
    """The ETag a page of the program carries while nothing it shows has changed, from the program's pulse alone
    (`Store.get_pulse`: one read of a small item): it changes with every standing, membership and rule the stream
    carries.
    None when the pulse cannot vouch for the viewer (an API key, a private program, no pulse yet): such a request
    reads the program as usual."""
    if pulse is None or not pulse.changed or not pulse.visibility:
        return None
    if token:
        parts = token_parts(token)
        if (
            parts is None
            or parts[:3] != (org, program_id, Scope.READ.value)
            or pulse.visibility == Visibility.PRIVATE.value
            or not secret_matches(pulse.read_hash, parts[3])
        ):
            return None
    elif pulse.visibility != Visibility.PUBLIC.value:
        return None
    digest = hashlib.sha256("\x1f".join((pulse.changed, str(pulse.version), *request)).encode()).hexdigest()
    return f'W/"p{digest[:32]}"'


def page_viewer(store: Store, org: str, program_id: str, authorization: str | None, token: str | None) -> Principal:
    """Who is looking at a page of a program: an API key (Authorization header), the program's read token from
    the URL (`?t=`, for unlisted programs), or nobody (public programs). A key or token of another organisation
    or program finds nothing; an API key is never taken from a URL, where logs and referrers would keep it."""
    if authorization:
        who = authenticate(store, authorization)
    elif token:
        if not token.startswith(TOKEN_PREFIX + "_"):
            raise Unauthenticated("only a program's public read token goes in a URL; send API keys as a header")
        who = authenticate(store, token)
    else:
        # Whether the program is public is checked where it is read (viewed_program): one read, not two.
        if not (ORG_ID.fullmatch(org) and PROGRAM_ID.fullmatch(program_id)):
            raise Unauthenticated(NOT_PUBLIC)
        return Principal(org=org, scopes=frozenset({Scope.READ}), by=PUBLIC_VIEWER, program=program_id)
    if who.org != org:
        raise NotFound(f"no program {program_id!r}")
    return who


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


HISTORY_PERIODS = 8


@dataclass(frozen=True)
class Scorecard:
    """One participant's period: their standing among everyone, the people just above and below them, their rank
    in their team and their team's in its division, and their points in their last periods (oldest first)."""

    view: BoardView  # the everyone board, as the audience may see it
    standing: Standing
    neighbours: tuple[Standing, ...]  # up to two above and two below, with the participant among them
    team: Standing | None  # the team's standing on its division board (or the program board)
    team_rank: int | None
    team_size: int
    division_teams: int
    history: tuple[tuple[Period, float | None], ...]
    badges: tuple[Badge, ...] = ()  # earned at the latest final bulletin
    badges_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        board = self.view.board
        team = division = None
        participant = self.view.roster.participants[self.standing.id]
        if self.team is not None:
            team = {"id": self.team.id, "name": self.team.name, "rank_in_team": self.team_rank, "of": self.team_size}
            if participant.division_id:
                division = {
                    "id": participant.division_id,
                    "name": self.view.roster.divisions[participant.division_id].name,
                    "team_rank": self.team.rank,
                    "of": self.division_teams,
                }
        return {
            "program": board.program.id,
            "period": board.period.key,
            "participant": self.standing.id,
            "team": team,
            "division": division,
            "standing": self.standing.as_dict(),
            "of": len(board.standings),
            "neighbours": [s.as_dict() for s in self.neighbours],
            "history": [{"period": p.key, "points": None if pts is None else pts} for p, pts in self.history],
            "hidden_metrics": board.hidden_metrics,
            "movement_since": board.moved_since.isoformat() if board.moved_since else None,
            "badges": [b.as_dict() for b in self.badges],
            "badges_at": self.badges_at.isoformat() if self.badges_at else None,
        }


def read_scorecard(
    store: Store,
    standings: StandingsReader,
    bulletins: Bulletins,
    who: Principal,
    program_id: str,
    participant_id: str,
    period_key: str | None,
    now: datetime,
) -> Scorecard:
    """A participant's scorecard. For a public audience, someone who opted out of public boards has none."""
    record, audience = viewed_program(store, who, program_id)
    program = record.program
    period = board_period(program, period_key, now)
    roster = roster_as_of(store.list_participants(who.org, program_id), end_instant(period, program.tz))
    values = {s.participant: s.values for s in standings.everyone(who.org, program_id, period.key)}
    book = Scorebook(program, roster, period, values)
    participant = roster.participants.get(participant_id)
    everyone = book.board(BoardKind.PARTICIPANTS)
    home = everyone.ref if participant is None else _home_board(participant.team_id)
    marks = bulletins.read_marks(who.org, program_id, [everyone.ref, home])
    view = BoardView(
        record, roster, seen_by(moved_since(everyone, marks.get(everyone.ref)), roster, audience), audience
    )
    rows = view.board.standings
    index = next((i for i, s in enumerate(rows) if s.id == participant_id and not s.anonymous), None)
    if participant is None or not participant.active or index is None:
        raise NotFound(f"no participant {participant_id!r} in program {program_id!r}")
    earned = marks.get(home)
    badges = earned.badges.get(participant_id, ()) if earned and marks_apply(earned, period, program.week_start) else ()
    team = None
    team_rank: int | None = None
    team_size = division_teams = 0
    if participant.team_id:
        team_board = book.board(BoardKind.TEAM, participant.team_id)
        team_rank = next(s.rank for s in team_board.standings if s.id == participant_id)
        team_size = len(team_board.standings)
        if participant.division_id:
            above = book.board(BoardKind.DIVISION, participant.division_id)
        else:
            above = book.board(BoardKind.PROGRAM)
        team = next((s for s in above.standings if s.id == participant.team_id and s.level is Level.TEAM), None)
        division_teams = len(above.standings)
    history = _history(standings, who.org, program, roster, participant_id, period, view.record, values)
    return Scorecard(
        view=view,
        standing=rows[index],
        neighbours=rows[max(0, index - 2) : index + 3],
        team=team,
        team_rank=team_rank,
        team_size=team_size,
        division_teams=division_teams,
        history=history,
        badges=badges,
        badges_at=earned.at if badges and earned is not None else None,
    )


def _home_board(team_id: str | None) -> str:
    """The board a participant's badges are kept with: their team's, or the program's for one in no team."""
    return board_ref(BoardKind.PROGRAM, None) if team_id is None else board_ref(BoardKind.TEAM, team_id)


def _history(
    standings: StandingsReader,
    org: str,
    program: Program,
    roster: Roster,
    participant_id: str,
    period: Period,
    record: ProgramRecord,
    current_values: Mapping[str, Mapping[str, MetricValue]],
) -> tuple[tuple[Period, float | None], ...]:
    """Points in the periods up to this one (at most HISTORY_PERIODS, none before the program could have scores):
    from the participant's own standing, or from everyone's where points are ranks among everyone."""
    earliest = period_of(
        record.created_at - timedelta(days=program.backdate_days), program.period, program.tz, program.week_start
    )
    periods = [p for p in recent_periods(program, period, HISTORY_PERIODS) if p >= earliest or p == period]
    out: list[tuple[Period, float | None]] = []
    for p in reversed(periods):
        if p == period:  # read already, for the scorecard itself
            values = {k: v for k, v in current_values.items() if k == participant_id or uses_ranks(program)}
        elif uses_ranks(program):
            values = {s.participant: s.values for s in standings.everyone(org, program.id, p.key)}
        else:
            mine = standings.find_participant_standing(org, program.id, p.key, participant_id)
            values = {participant_id: mine.values} if mine is not None else {}
        if participant_id not in values:
            out.append((p, None))
            continue
        book = Scorebook(program, roster, p, values)
        out.append((p, math.fsum(m.points for m in book.participant(participant_id).values())))
    return tuple(out)


def recent_periods(program: Program, period: Period, count: int) -> list[Period]:
    """`period` and the ones before it, newest first: at most `count`."""
    if period.first_day is None:
        return [period]
    out = [period]
    day = period.first_day
    while len(out) < count:
        day = day - timedelta(days=1)
        if day.year < MIN_YEAR:
            break
        out.append(period_of_day(day, program.period, program.week_start))
        day = out[-1].first_day or day
    return out
