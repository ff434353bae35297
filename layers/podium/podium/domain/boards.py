"""Boards: ranked standings at every level of a program for one period.

A Scorebook holds everything about one program and period: each participant's values and points, each team's
and division's rolled-up scores, and the totals they are ranked by. Boards are views of it:

- `participants`: everyone in the program;
- `team:T`: the members of team T (the drill-down);
- `division:D`: the teams of division D;
- `program`: the divisions (plus any team without a division and anyone without a team).

Under `ranking: points` a total is the sum of metric points and the highest wins. Under `ranking: position`
each metric ranks everyone at the same level (all participants, all teams, all divisions) on its value, a
metric's points are that rank, a total is the sum of ranks and the lowest wins.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from podium.domain.errors import UnknownBoard
from podium.domain.periods import Period
from podium.domain.program import MeanOver, Method, Order, Program, Ranking, TeamRollup, TieRule
from podium.domain.ranking import POINTS_DECIMALS, Entry, movement, rank
from podium.domain.rollup import GroupTotals, combine, participant_totals, rolled_up
from podium.domain.roster import Group, OptOut, Participant, Roster
from podium.domain.scoring import MetricValue, participant_values, relative_points, value_points
from podium.domain.submissions import Submission, effective_submissions


class Level(StrEnum):
    PARTICIPANT = "participant"
    TEAM = "team"
    DIVISION = "division"


class Audience(StrEnum):
    """Who is looking at a board: what they may see of it."""

    PUBLIC = "public"  # a public or unlisted page, the widget, a program's read token
    MEMBERS = "members"  # an API key with the read scope: everything


ANONYMOUS = "Anonymous"


class BoardKind(StrEnum):
    PROGRAM = "program"
    DIVISION = "division"
    TEAM = "team"
    PARTICIPANTS = "participants"


@dataclass(frozen=True)
class MetricScore:
    value: float | None
    points: float


@dataclass(frozen=True)
class Standing:
    rank: int
    id: str
    name: str
    level: Level
    points: float
    metrics: Mapping[str, MetricScore]
    headcount: int
    reached_at: datetime | None
    movement: int | None = None
    anonymous: bool = False  # shown as "Anonymous", with no id (the participant opted out of public boards)

    def as_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "rank": self.rank,
            "id": None if self.anonymous else self.id,
            "name": ANONYMOUS if self.anonymous else self.name,
            "points": _number(self.points),
            "metrics": {
                key: {"value": None if m.value is None else _number(m.value), "points": _number(m.points)}
                for key, m in self.metrics.items()
            },
            "movement": self.movement,
        }
        if self.level is not Level.PARTICIPANT:
            row["headcount"] = self.headcount
        return row


@dataclass(frozen=True)
class Board:
    program: Program
    kind: BoardKind
    id: str | None
    name: str
    period: Period
    standings: tuple[Standing, ...]
    # Metrics kept off this board for its audience (their points are still in every total).
    hidden_metrics: int = 0
    moved_since: datetime | None = None  # each standing's movement is since then (the latest final bulletin)

    @property
    def ties(self) -> TieRule:
        return self.program.ties

    @property
    def ranking(self) -> Ranking:
        return self.program.ranking

    @property
    def ref(self) -> str:
        return board_ref(self.kind, self.id)

    def as_dict(self) -> dict[str, Any]:
        """The public JSON shape of a board (ARCHITECTURE "Public interfaces"), shared by the API and the CLI."""
        tz = self.program.tz
        start, end = self.period.start(tz), self.period.end(tz)
        return {
            "program": self.program.id,
            "board": self.ref,
            "name": self.name,
            "period": self.period.key,
            "period_start": start.isoformat() if start else None,
            "period_end": end.isoformat() if end else None,
            "timezone": self.program.timezone,
            "ranking": self.ranking.value,
            "ties": self.ties.value,
            "ties_rule": self.ties.description,
            "standings": [s.as_dict() for s in self.standings],
            "hidden_metrics": self.hidden_metrics,
            "movement_since": self.moved_since.isoformat() if self.moved_since else None,
        }

    def since(self, ranks: Mapping[str, int], at: datetime) -> Board:
        """This board with each standing's movement since the moment `at`, when `ranks` were its ranks."""
        moved = movement(ranks, {s.id: s.rank for s in self.standings})
        standings = tuple(replace(s, movement=moved[s.id]) for s in self.standings)
        return replace(self, standings=standings, moved_since=at)


def board_ref(kind: BoardKind, ref: str | None) -> str:
    """A board's name in the API and in what bulletins keep of it: "program", "team:chicago"."""
    return kind.value if ref is None else f"{kind.value}:{ref}"


def seen_by(board: Board, roster: Roster, audience: Audience) -> Board:
    """The board as `audience` may see it. A public audience sees no hidden metric (totals still include it),
    participants who asked to be anonymised as "Anonymous" with no id, and nobody who asked to be hidden;
    everyone keeps the rank their points earn, so removing a row never changes anyone else's."""
    if audience is Audience.MEMBERS:
        return board
    hidden = {m.key for m in board.program.metrics if m.hidden}
    standings: list[Standing] = []
    for s in board.standings:
        opt_out = _opt_out(s, roster)
        if opt_out is OptOut.HIDE:
            continue
        metrics = {k: v for k, v in s.metrics.items() if k not in hidden} if hidden else s.metrics
        standings.append(replace(s, metrics=metrics, anonymous=opt_out is OptOut.ANONYMISE))
    return replace(board, standings=tuple(standings), hidden_metrics=len(hidden))


def _opt_out(standing: Standing, roster: Roster) -> OptOut:
    if standing.level is not Level.PARTICIPANT:
        return OptOut.NONE
    participant = roster.participants.get(standing.id)
    return participant.opt_out if participant is not None else OptOut.NONE


def contributions(board: Board) -> dict[str, dict[str, float]] | None:
    """On a team board: the points each member adds to the team's score, per metric. A summed metric adds a
    member's own points; a mean adds their points over the team's headcount (or its contributors), so the
    members' contributions add up to the team's points. None where points are ranks (position ranking), which
    do not add up."""
    if board.kind is not BoardKind.TEAM or board.ranking is Ranking.POSITION:
        return None
    headcount = len(board.standings)
    shares: dict[str, dict[str, float]] = {s.id: {} for s in board.standings}
    for metric in board.program.metrics:
        if metric.key not in (board.standings[0].metrics if board.standings else {}):
            continue
        contributors = sum(1 for s in board.standings if s.metrics[metric.key].value is not None)
        denominator = 1
        if metric.team_rollup is TeamRollup.MEAN:
            denominator = headcount if metric.mean_over is MeanOver.HEADCOUNT else max(contributors, 1)
        for s in board.standings:
            score = s.metrics[metric.key]
            shares[s.id][metric.key] = 0.0 if score.value is None else _number(score.points / denominator)
    return shares


@dataclass(frozen=True)
class _Node:
    id: str
    name: str
    level: Level
    totals: GroupTotals
    metrics: Mapping[str, MetricScore]


class Scorebook:
    """Every standing of one program in one period, computed from participants' values."""

    def __init__(
        self,
        program: Program,
        roster: Roster,
        period: Period,
        values: Mapping[str, Mapping[str, MetricValue]],
    ) -> None:
        self.program = program
        self.roster = roster
        self.period = period
        people = sorted(roster.active, key=lambda p: p.id)
        self.values: dict[str, Mapping[str, MetricValue]] = {p.id: values.get(p.id, {}) for p in people}
        self._relative: dict[str, dict[str, float]] = {}
        self._participants = {p.id: self._participant_node(p) for p in people}
        self._teams = {t.id: self._group_node(t, Level.TEAM, self._team_children(t.id)) for t in roster.teams.values()}
        self._divisions = {
            d.id: self._group_node(d, Level.DIVISION, [self._teams[t.id] for t in roster.division_teams(d.id)])
            for d in roster.divisions.values()
        }
        if program.ranking is Ranking.POSITION:
            for level in (self._participants, self._teams, self._divisions):
                self._apply_position_ranks(level)

    # --- construction -------------------------------------------------------------------------------------

    def _participant_node(self, p: Participant) -> _Node:
        own = self.values[p.id]
        scores: dict[str, tuple[float | None, float, datetime | None]] = {}
        for metric in self.program.metrics:
            mv = own.get(metric.key)
            value = mv.value if mv is not None else None
            if metric.method is Method.RELATIVE:
                points = self._relative_points(metric.key).get(p.id, 0.0)
            else:
                points = value_points(metric, value, p.id)
            scores[metric.key] = (value, points, mv.reached_at if mv is not None else None)
        return _Node(
            id=p.id,
            name=p.name,
            level=Level.PARTICIPANT,
            totals=participant_totals(scores),
            metrics={k: MetricScore(v, pts) for k, (v, pts, _) in scores.items()},
        )

    def _relative_points(self, key: str) -> dict[str, float]:
        """Points of everyone with a value for a relative metric, from their program-wide rank on it."""
        if key not in self._relative:
            metric = self.program.metric(key)
            entries = [
                Entry(pid, pid, pid, mv[key].value, mv[key].reached_at) for pid, mv in self.values.items() if key in mv
            ]
            ranked = rank(entries, order=metric.order, ties=self.program.ties)
            self._relative[key] = {e.id: relative_points(metric, r, len(entries)) for r, e in ranked}
        return self._relative[key]

    def _team_children(self, team_id: str) -> list[_Node]:
        return [self._participants[p.id] for p in self.roster.team_members(team_id)]

    def _group_node(self, group: Group, level: Level, children: list[_Node]) -> _Node:
        return _group_node(self.program, group.id, group.name, level, combine(c.totals for c in children))

    def _apply_position_ranks(self, level: dict[str, _Node]) -> None:
        """Replace each metric's points by the node's rank on that metric's value among all nodes of its level."""
        ranked_points: dict[str, dict[str, float]] = defaultdict(dict)
        for metric in self.program.metrics:
            entries = [
                Entry(n.id, n.id, n.name, n.metrics[metric.key].value, self._reached(n, metric.key))
                for n in level.values()
            ]
            for r, e in rank(entries, order=metric.order, ties=self.program.ties):
                ranked_points[e.id][metric.key] = float(r)
        for node_id, n in level.items():
            metrics = {k: MetricScore(s.value, ranked_points[node_id][k]) for k, s in n.metrics.items()}
            level[node_id] = replace(n, metrics=metrics)

    @staticmethod
    def _reached(node: _Node, key: str) -> datetime | None:
        t = node.totals.metrics.get(key)
        return t.reached_at if t is not None else None

    # --- reading ------------------------------------------------------------------------------------------

    def participant(self, participant_id: str) -> Mapping[str, MetricScore]:
        return self._participants[participant_id].metrics

    def board(self, kind: BoardKind | str, ref: str | None = None) -> Board:
        kind = BoardKind(kind)
        if kind is BoardKind.PARTICIPANTS:
            return self._board(kind, None, self.program.name, self._participants.values())
        if kind is BoardKind.PROGRAM:
            return self._board(kind, None, self.program.name, self._program_children())
        if kind is BoardKind.DIVISION:
            division = self.roster.find_division(ref or "")
            if division is None:
                raise UnknownBoard(f"no division {ref!r} in program {self.program.id!r}")
            teams = [self._teams[t.id] for t in self.roster.division_teams(division.id)]
            return self._board(kind, division.id, division.name, teams)
        team = self.roster.find_team(ref or "")
        if team is None:
            raise UnknownBoard(f"no team {ref!r} in program {self.program.id!r}")
        return self._board(kind, team.id, team.name, self._team_children(team.id))

    def _program_children(self) -> list[_Node]:
        children = list(self._divisions.values())
        children += [self._teams[t.id] for t in self.roster.teams.values() if t.parent is None]
        children += [self._participants[p.id] for p in self.roster.active if p.team_id is None]
        return children

    def _board(self, kind: BoardKind, board_id: str | None, name: str, nodes: Iterable[_Node]) -> Board:
        position = self.program.ranking is Ranking.POSITION
        nodes = list(nodes)
        if position and len({n.level for n in nodes}) > 1:
            # The program board may show divisions beside teams and people without one: rank them together.
            mixed = {f"{n.level}:{n.id}": n for n in nodes}
            self._apply_position_ranks(mixed)
            nodes = list(mixed.values())
        return _rank_nodes(self.program, self.period, kind, board_id, name, nodes)


def _group_node(program: Program, node_id: str, name: str, level: Level, totals: GroupTotals) -> _Node:
    metrics = {}
    for metric in program.metrics:
        value, points = rolled_up(metric, totals.metrics.get(metric.key), totals.headcount)
        metrics[metric.key] = MetricScore(value, points)
    return _Node(node_id, name, level, totals, metrics)


def _rank_nodes(
    program: Program, period: Period, kind: BoardKind, board_id: str | None, name: str, nodes: Iterable[_Node]
) -> Board:
    position = program.ranking is Ranking.POSITION
    entries = [Entry(n, n.id, n.name, _total(n), _reached_total(n)) for n in nodes]
    ranked = rank(entries, order=Order.ASC if position else Order.DESC, ties=program.ties)
    standings = tuple(
        Standing(
            rank=r,
            id=e.id,
            name=e.name,
            level=e.item.level,
            points=e.score if e.score is not None else 0.0,
            metrics=e.item.metrics,
            headcount=e.item.totals.headcount,
            reached_at=e.reached_at,
        )
        for r, e in ranked
    )
    return Board(program, kind, board_id, name, period, standings)


def uses_ranks(program: Program) -> bool:
    """Whether points depend on everyone in the program (relative metrics or position ranking)."""
    return program.ranking is Ranking.POSITION or any(m.method is Method.RELATIVE for m in program.metrics)


def cascade_totals(program: Program, participant_id: str, values: Mapping[str, MetricValue]) -> GroupTotals:
    """What the aggregation cascade carries for one participant: every metric's value, and the points of metrics
    scored from the value alone. Relative metrics carry 0 points: their ranks are applied when a board is read."""
    scores: dict[str, tuple[float | None, float, datetime | None]] = {}
    for metric in program.metrics:
        mv = values.get(metric.key)
        value = mv.value if mv is not None else None
        points = 0.0 if metric.method is Method.RELATIVE else value_points(metric, value, participant_id)
        scores[metric.key] = (value, points, mv.reached_at if mv is not None else None)
    return participant_totals(scores)


def group_board(
    program: Program,
    period: Period,
    kind: BoardKind,
    board_id: str | None,
    name: str,
    groups: Iterable[tuple[str, str, Level, GroupTotals]],
) -> Board:
    """A board ranked straight from stored group totals (id, name, level, totals), without reading anyone's values.
    Only for programs without rank-based rules; others go through a Scorebook of everyone's values."""
    if uses_ranks(program):
        raise ValueError("rank-based programs need every participant's values: use a Scorebook")
    return _rank_nodes(program, period, kind, board_id, name, [_group_node(program, *g) for g in groups])


def _number(x: float) -> float:
    # Rounded as ranking compares them; + 0.0 turns -0.0 (a zero times a negative weight) into 0.0.
    return round(x, POINTS_DECIMALS) + 0.0


def _total(node: _Node) -> float:
    return math.fsum(s.points for s in node.metrics.values())


def _reached_total(node: _Node) -> datetime | None:
    return max((t.reached_at for t in node.totals.metrics.values() if t.reached_at is not None), default=None)


def compute_scorebook(program: Program, roster: Roster, submissions: Iterable[Submission], period: Period) -> Scorebook:
    """Everything a program's boards show for one period, straight from the submission log."""
    by_participant: dict[str, list[Submission]] = defaultdict(list)
    for s in effective_submissions(submissions):
        by_participant[s.participant].append(s)
    values = {pid: participant_values(program, subs, period) for pid, subs in by_participant.items()}
    return Scorebook(program, roster, period, values)


__all__ = [
    "ANONYMOUS",
    "Audience",
    "Board",
    "BoardKind",
    "Level",
    "MetricScore",
    "Scorebook",
    "Standing",
    "cascade_totals",
    "compute_scorebook",
    "contributions",
    "group_board",
    "seen_by",
    "uses_ranks",
]
