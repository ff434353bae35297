"""Bulletins: a program's boards frozen at a moment, and what changed between consecutive final ones.

A bulletin's snapshot holds every participant's rank and points (with each metric), each team's rank in its
division and each division's rank in the program, for the period it reports. What a bulletin announces comes
from comparing it with the previous final bulletin: places moved, newcomers, climbers and fallers, and the
badges people earned. Each participant's line carries forward what the badges need (best points and rank so far,
how many bulletins in a row they improved), so a bulletin needs only the one before it, never the whole history.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from podium.domain.boards import ANONYMOUS, Board, BoardKind, Scorebook, Standing, board_ref
from podium.domain.periods import Period, parse_period, period_of
from podium.domain.program import BulletinSchedule, BulletinSettings, PeriodKind, Program, Weekday
from podium.domain.roster import OptOut, Participant
from podium.domain.text import number

SNAPSHOT_VERSION = 1
# In a period's first hours a bulletin reports the period just ended: "MON 08:00" announces last week.
FRESH_PERIOD = timedelta(hours=12)
TOP_MOVERS = 3


class BulletinStatus(StrEnum):
    DRAFT = "draft"  # a preview: stored, sends nothing, not compared with
    FINAL = "final"  # sent (if there is news), and the next bulletin's baseline


class BadgeKind(StrEnum):
    PERSONAL_BEST = "personal_best"
    STREAK = "streak"
    TOP_IMPROVER = "top_improver"
    RANK = "rank"
    POINTS = "points"
    FIRST_IN_TEAM = "first_in_team"


@dataclass(frozen=True)
class Badge:
    kind: BadgeKind
    text: str  # "Reached the top 3", "Personal best: 1,240 points"

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind.value, "text": self.text}


@dataclass(frozen=True)
class Line:
    """A participant in a snapshot: rank and points on the program's participants board, and what follows them
    from bulletin to bulletin."""

    id: str
    name: str
    team: str | None
    rank: int
    points: float
    metrics: Mapping[str, tuple[float | None, float]]  # key -> (value, points)
    team_rank: int | None = None
    scored: bool = False  # has any value this period
    opt_out: str = ""  # roster.OptOut: how this participant may be shown beyond themselves
    # Carried forward: over every final bulletin so far, including this one.
    best_points: float = 0.0
    best_rank: int | None = None
    streak: int = 0  # bulletins in a row whose rank was better than the one before
    movement: int | None = None  # places up since the previous final bulletin; None: not on it
    points_change: float | None = None  # since the previous final bulletin, when it reported the same period
    badges: tuple[Badge, ...] = ()


@dataclass(frozen=True)
class GroupLine:
    """A team on its division's board, or a division on the program's board."""

    id: str
    name: str
    parent: str | None  # a team's division
    rank: int
    points: float
    headcount: int
    movement: int | None = None


@dataclass(frozen=True)
class Snapshot:
    period: str
    participants: tuple[Line, ...]  # in rank order
    teams: tuple[GroupLine, ...] = ()  # by division, in rank order
    divisions: tuple[GroupLine, ...] = ()  # in rank order

    @property
    def fingerprint(self) -> str:
        """What the bulletin's numbers are: equal fingerprints mean nothing new to tell."""

        def build() -> str:
            body = [self.period, [(p.id, p.points, sorted(p.metrics.items())) for p in self.participants]]
            return hashlib.sha256(json.dumps(body, default=str).encode()).hexdigest()[:32]

        found: str = self._index("fingerprint", build)
        return found

    @property
    def has_scores(self) -> bool:
        return any(p.scored for p in self.participants)

    def line(self, participant: str) -> Line | None:
        found: dict[str, Line] = self._index("participants", lambda: {p.id: p for p in self.participants})
        return found.get(participant)

    def team_board(self, team: str | None) -> list[Line]:
        """A team's members in team-rank order."""

        def build() -> dict[str | None, list[Line]]:
            boards: dict[str | None, list[Line]] = {}
            for p in self.participants:
                boards.setdefault(p.team, []).append(p)
            return {t: sorted(ps, key=lambda p: (p.team_rank or 0, p.name)) for t, ps in boards.items()}

        return list(self._index("teams", build).get(team, []))

    def team_line(self, team: str | None) -> GroupLine | None:
        found: dict[str | None, GroupLine] = self._index("team_lines", lambda: {t.id: t for t in reversed(self.teams)})
        return found.get(team)

    def division_teams(self, division: str | None) -> list[GroupLine]:
        def build() -> dict[str | None, list[GroupLine]]:
            found: dict[str | None, list[GroupLine]] = {}
            for t in self.teams:
                found.setdefault(t.parent, []).append(t)
            return found

        return list(self._index("division_teams", build).get(division, []))

    def _index(self, name: str, build: Any) -> Any:
        """A lookup built once per snapshot (a digest per participant reads them 25,000 times)."""
        key = f"_index_{name}"
        found = self.__dict__.get(key)
        if found is None:
            found = build()
            object.__setattr__(self, key, found)
        return found

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": SNAPSHOT_VERSION,
            "period": self.period,
            "participants": [_line_dict(p) for p in self.participants],
            "teams": [_group_dict(t) for t in self.teams],
            "divisions": [_group_dict(d) for d in self.divisions],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Snapshot:
        return cls(
            period=str(data["period"]),
            participants=tuple(_line_of(p) for p in data["participants"]),
            teams=tuple(GroupLine(**t) for t in data.get("teams", ())),
            divisions=tuple(GroupLine(**d) for d in data.get("divisions", ())),
        )


@dataclass(frozen=True)
class Changes:
    """What a bulletin announces beside the boards."""

    climbers: tuple[Line, ...] = ()
    fallers: tuple[Line, ...] = ()
    newcomers: tuple[Line, ...] = ()
    badges: Mapping[str, tuple[Badge, ...]] = field(default_factory=dict)


def mail_key(participant: str) -> str:
    """What a bulletin's email to a participant is called among its sends (claimed once, sent at most once)."""
    return f"mail:{participant}"


def post_key(channel: str) -> str:
    return f"post:{channel}"


def address_hash(address: str) -> str:
    """How an email address is kept where a list of addresses need not be readable: suppressions."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


# --- when ------------------------------------------------------------------------------------------------------


def due_slot(schedule: BulletinSchedule, tz: ZoneInfo, now: datetime) -> datetime | None:
    """The latest scheduled moment at or before `now` (in UTC), within the last eight days."""
    local = now.astimezone(tz)
    for back in range(8):
        day = local.date() - timedelta(days=back)
        if day.weekday() not in schedule.days:
            continue
        slot = _local(day, schedule.at, tz)
        if slot <= now:
            return slot
    return None


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    """A local wall-clock time as an instant; a time skipped by a clock change counts as the hour after."""
    naive = datetime.combine(day, at)
    instant = naive.replace(tzinfo=tz)
    if instant.astimezone(ZoneInfo("UTC")).astimezone(tz).replace(tzinfo=None) != naive:
        instant = (naive + timedelta(hours=1)).replace(tzinfo=tz)
    return instant.astimezone(ZoneInfo("UTC"))


def reported_period(program: Program, at: datetime) -> Period:
    """The period a bulletin made at `at` reports: the one in progress, or in its first hours the one just
    ended (a Monday-morning bulletin of a weekly program announces last week)."""
    tz = program.tz
    current = period_of(at, program.period, tz, program.week_start)
    start = current.start(tz)
    if program.period is PeriodKind.ALL or start is None or at - start >= FRESH_PERIOD:
        return current
    return period_of(start - timedelta(microseconds=1), program.period, tz, program.week_start)


def period_name(period: Period) -> str:
    """A period in words that stay true after it: "week of 30 Nov 2026", "November 2026", "all time"."""
    first = period.first_day
    if first is None:
        return "all time"
    return {
        PeriodKind.DAY: f"{first:%a} {first.day} {first:%b %Y}",
        PeriodKind.WEEK: f"week of {first.day} {first:%b %Y}",
        PeriodKind.MONTH: f"{first:%B %Y}",
        PeriodKind.QUARTER: f"Q{(first.month - 1) // 3 + 1} {first.year}",
        PeriodKind.YEAR: str(first.year),
    }.get(period.kind, period.key)


# --- building a snapshot ---------------------------------------------------------------------------------------


def snapshot_of(book: Scorebook, previous: Snapshot | None, settings: BulletinSettings) -> Snapshot:
    """The snapshot of a scorebook, compared with the previous final bulletin's (None for the first)."""
    everyone = book.board(BoardKind.PARTICIPANTS)
    roster = book.roster
    team_ranks: dict[str, int] = {}
    for team in roster.teams.values():
        team_ranks.update({s.id: s.rank for s in book.board(BoardKind.TEAM, team.id).standings})
    loose = [s for s in book.board(BoardKind.PROGRAM).standings if s.level.value == "participant"]
    team_ranks.update({s.id: s.rank for s in loose})
    teams: list[GroupLine] = []
    for division in roster.divisions.values():
        teams += _groups(book.board(BoardKind.DIVISION, division.id).standings, division.id)
    program_board = book.board(BoardKind.PROGRAM).standings
    divisions = _groups([s for s in program_board if s.level.value == "division"], None)
    teams += _groups([s for s in program_board if s.level.value == "team"], None)
    lines = [
        _line(s, roster.participants[s.id], team_ranks.get(s.id), book.values.get(s.id, {})) for s in everyone.standings
    ]
    current = Snapshot(book.period.key, tuple(lines), tuple(teams), tuple(divisions))
    return compared(current, previous, settings)


def _groups(standings: Iterable[Standing], parent: str | None) -> list[GroupLine]:
    return [GroupLine(s.id, s.name, parent, s.rank, s.points, s.headcount) for s in standings]


def _line(s: Standing, who: Participant, team_rank: int | None, values: Mapping[str, Any]) -> Line:
    metrics = {k: (m.value, m.points) for k, m in s.metrics.items()}
    return Line(
        s.id, s.name, who.team_id, s.rank, s.points, metrics, team_rank, scored=bool(values), opt_out=who.opt_out.value
    )


def compared(current: Snapshot, previous: Snapshot | None, settings: BulletinSettings) -> Snapshot:
    """`current` with movement, changes in points, the carried-forward records and badges against `previous`."""
    same_period = previous is not None and previous.period == current.period
    lines = []
    for line in current.participants:
        before = previous.line(line.id) if previous is not None else None
        lines.append(_carried(line, before, same_period, settings))
    top = max((m for p in lines if (m := p.movement) is not None and p.scored), default=0)
    if top > 0:
        lines = [
            _with_badge(p, BadgeKind.TOP_IMPROVER, f"Top climber: up {top} place{'s' if top != 1 else ''}")
            if p.movement == top and p.scored
            else p
            for p in lines
        ]
    teams = _moved(current.teams, previous.teams if previous else ())
    divisions = _moved(current.divisions, previous.divisions if previous else ())
    return Snapshot(current.period, tuple(lines), teams, divisions)


def _carried(line: Line, before: Line | None, same_period: bool, settings: BulletinSettings) -> Line:
    badges: list[Badge] = []
    scored = line.scored and line.points > 0
    movement = None if before is None else before.rank - line.rank
    improved = movement is not None and movement > 0 and scored
    streak = (before.streak + 1) if (improved and before is not None) else 0
    best_points = max(line.points, before.best_points if before else 0.0)
    ranks = [r for r in (line.rank, before.best_rank if before else None) if r is not None]
    best_rank = min(ranks) if scored else (before.best_rank if before else None)
    if scored and before is not None and line.points > before.best_points and before.best_points > 0:
        badges.append(Badge(BadgeKind.PERSONAL_BEST, f"Personal best: {_points(line.points)} points"))
    if streak >= settings.streak:
        badges.append(Badge(BadgeKind.STREAK, f"Climbed {streak} bulletins in a row"))
    if scored:
        reached = [
            k
            for k in settings.ranks
            if line.rank <= k and (before is None or before.best_rank is None or before.best_rank > k)
        ]
        if reached:
            k = min(reached)
            badges.append(Badge(BadgeKind.RANK, "Reached first place" if k == 1 else f"Reached the top {k}"))
        crossed = [t for t in settings.points if line.points >= t and (before is None or before.best_points < t)]
        if crossed:
            badges.append(Badge(BadgeKind.POINTS, f"Passed {_points(max(crossed))} points"))
        if line.team is not None and line.team_rank == 1 and (before is None or before.team_rank != 1):
            badges.append(Badge(BadgeKind.FIRST_IN_TEAM, "First in the team"))
    return Line(
        **{
            **_fields(line),
            "best_points": best_points,
            "best_rank": best_rank,
            "streak": streak,
            "movement": movement,
            "points_change": (line.points - before.points) if (before is not None and same_period) else None,
            "badges": tuple(badges),
        }
    )


def _with_badge(line: Line, kind: BadgeKind, text: str) -> Line:
    return Line(**{**_fields(line), "badges": (*line.badges, Badge(kind, text))})


def _moved(current: tuple[GroupLine, ...], previous: Iterable[GroupLine]) -> tuple[GroupLine, ...]:
    before = {(g.parent, g.id): g.rank for g in previous}
    return tuple(
        GroupLine(
            **{**g.__dict__, "movement": (before[(g.parent, g.id)] - g.rank) if (g.parent, g.id) in before else None}
        )
        for g in current
    )


def changes(snapshot: Snapshot, previous: Snapshot | None) -> Changes:
    """Climbers, fallers and newcomers (those who scored and were not on the previous bulletin's board with
    points), and everyone's badges."""
    scored = [p for p in snapshot.participants if p.scored and p.points > 0]
    climbers = sorted((p for p in scored if (p.movement or 0) > 0), key=lambda p: (-(p.movement or 0), p.rank))
    fallers = sorted(
        (p for p in snapshot.participants if (p.movement or 0) < 0), key=lambda p: ((p.movement or 0), p.rank)
    )
    newcomers = []
    if previous is not None:
        newcomers = [p for p in scored if (b := previous.line(p.id)) is None or not (b.scored and b.points > 0)]
    return Changes(
        climbers=tuple(climbers[:TOP_MOVERS]),
        fallers=tuple(fallers[:TOP_MOVERS]),
        newcomers=tuple(newcomers),
        badges={p.id: p.badges for p in snapshot.participants if p.badges},
    )


def _points(x: float) -> str:
    return number(x)


def _fields(line: Line) -> dict[str, Any]:
    return {name: getattr(line, name) for name in Line.__dataclass_fields__}


def _line_dict(p: Line) -> dict[str, Any]:
    out = _fields(p)
    out["metrics"] = {k: list(v) for k, v in p.metrics.items()}
    out["badges"] = [b.as_dict() for b in p.badges]
    return out


def _line_of(data: Mapping[str, Any]) -> Line:
    fields = {k: v for k, v in data.items() if k in Line.__dataclass_fields__}
    fields["metrics"] = {k: (v[0], v[1]) for k, v in data.get("metrics", {}).items()}
    fields["badges"] = tuple(Badge(BadgeKind(b["kind"]), b["text"]) for b in data.get("badges", ()))
    return Line(**fields)


def _group_dict(g: GroupLine) -> dict[str, Any]:
    return dict(g.__dict__)


# --- what the board pages keep of the latest final bulletin -------------------------------------------------


@dataclass(frozen=True)
class BoardMarks:
    """One board as the latest final bulletin left it: each entry's rank there, which the board's pages show
    movement since, and on boards of participants the badges each earned at that bulletin."""

    bulletin: str
    period: str
    at: datetime
    ranks: Mapping[str, int]
    badges: Mapping[str, tuple[Badge, ...]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ranks": dict(self.ranks),
            "badges": {pid: [b.as_dict() for b in bs] for pid, bs in self.badges.items()},
        }

    @classmethod
    def from_dict(cls, bulletin: str, period: str, at: datetime, data: Mapping[str, Any]) -> BoardMarks:
        badges = {
            pid: tuple(Badge(BadgeKind(b["kind"]), b["text"]) for b in bs) for pid, bs in data.get("badges", {}).items()
        }
        return cls(bulletin, period, at, {k: int(v) for k, v in data.get("ranks", {}).items()}, badges)


def marks_of(snapshot: Snapshot, bulletin: str, at: datetime) -> dict[str, BoardMarks]:
    """Every board of a final bulletin's snapshot, by its ref (domain.boards.board_ref): the participants board,
    each team board (with its members' badges), each division board and the program board."""
    ranks: dict[str, dict[str, int]] = {
        board_ref(BoardKind.PARTICIPANTS, None): {},
        board_ref(BoardKind.PROGRAM, None): {},
    }
    badges: dict[str, dict[str, tuple[Badge, ...]]] = {}
    program = board_ref(BoardKind.PROGRAM, None)
    for p in snapshot.participants:
        ranks[board_ref(BoardKind.PARTICIPANTS, None)][p.id] = p.rank
        home = program if p.team is None else board_ref(BoardKind.TEAM, p.team)
        if p.team_rank is not None:
            ranks.setdefault(home, {})[p.id] = p.team_rank
        if p.badges:
            badges.setdefault(home, {})[p.id] = p.badges
    for t in snapshot.teams:
        ranks.setdefault(program if t.parent is None else board_ref(BoardKind.DIVISION, t.parent), {})[t.id] = t.rank
    for d in snapshot.divisions:
        ranks[program][d.id] = d.rank
    return {ref: BoardMarks(bulletin, snapshot.period, at, r, badges.get(ref, {})) for ref, r in ranks.items()}


def marks_apply(marks: BoardMarks | None, period: Period, week_start: Weekday) -> bool:
    """Whether a board of `period` shows movement since `marks`: boards of the bulletin's period and later ones,
    not those of periods before it."""
    if marks is None:
        return False
    if marks.period == period.key:
        return True
    then = parse_period(marks.period, week_start)
    return then.first_day is not None and period.first_day is not None and period.first_day >= then.first_day


def moved_since(board: Board, marks: BoardMarks | None) -> Board:
    """The board with each standing's movement since the latest final bulletin, where that applies."""
    if marks is None or not marks_apply(marks, board.period, board.program.week_start):
        return board
    return board.since(marks.ranks, marks.at)


# --- what each participant is told -------------------------------------------------------------------------------

TEAM_ROWS = 5


@dataclass(frozen=True)
class MetricLine:
    key: str
    label: str
    value: float | None
    unit: str
    points: float
    target: float | None
    progress: float | None  # value over target, 0..1 (None without a target)


@dataclass(frozen=True)
class BoardRow:
    rank: int
    name: str
    points: float
    me: bool = False


@dataclass(frozen=True)
class Digest:
    """One participant's email: their standing in a bulletin, as the templates show it."""

    participant: str
    name: str
    program: str
    period: str
    rank: int
    of: int
    points: float
    movement: int | None
    points_change: float | None
    scored: bool
    metrics: tuple[MetricLine, ...]
    badges: tuple[Badge, ...]
    team: str | None = None  # the team's name
    team_rank: int | None = None  # the participant's rank in their team
    team_size: int = 0
    team_board: tuple[BoardRow, ...] = ()  # the top of the team board, and the participant if below it
    team_position: int | None = None  # the team's rank on its division's (or the program's) board
    team_group: str = ""  # that board's name: the division's, or the program's
    team_groups: int = 0  # how many teams (or divisions and teams) it ranks
    leader: BoardRow | None = None  # first on the program's participants board, as the public may see them


def public_name(line: Line) -> str | None:
    """How others see a participant: by name, as "Anonymous", or not at all (None)."""
    if line.opt_out == OptOut.HIDE.value:
        return None
    return ANONYMOUS if line.opt_out == OptOut.ANONYMISE.value else line.name


def digest_of(snapshot: Snapshot, program: Program, line: Line, period: str) -> Digest:
    """What `line`'s participant is told of `snapshot`: metrics hidden from public boards are left out, and
    others on their team board appear as the public sees them."""
    metrics = tuple(
        MetricLine(
            m.key,
            m.label,
            line.metrics.get(m.key, (None, 0.0))[0],
            m.unit,
            line.metrics.get(m.key, (None, 0.0))[1],
            target := m.points.target_for(line.id),
            _progress(line.metrics.get(m.key, (None, 0.0))[0], target),
        )
        for m in program.metrics
        if not m.hidden
    )
    team_line = snapshot.team_line(line.team) if line.team else None
    board: list[BoardRow] = []
    team_size = 0
    if line.team:
        members = snapshot.team_board(line.team)
        team_size = len(members)
        for member in members:
            me = member.id == line.id
            if len(board) >= TEAM_ROWS and not me:
                continue  # the first rows and the participant's own: no name looked up for the rest
            name = line.name if me else public_name(member)
            if name is not None:
                board.append(BoardRow(member.team_rank or 0, name, member.points, me))
    group_name, groups = program.name, len(snapshot.divisions) + len(snapshot.division_teams(None))
    if team_line is not None and team_line.parent is not None:
        division = next((d for d in snapshot.divisions if d.id == team_line.parent), None)
        group_name = division.name if division else team_line.parent
        groups = len(snapshot.division_teams(team_line.parent))
    top = next((p for p in snapshot.participants if public_name(p) is not None or p.id == line.id), None)
    leader = None
    if top is not None and top.scored:
        leader = BoardRow(
            top.rank, line.name if top.id == line.id else public_name(top) or "", top.points, top.id == line.id
        )
    return Digest(
        participant=line.id,
        name=line.name,
        program=program.name,
        period=period,
        rank=line.rank,
        of=len(snapshot.participants),
        points=line.points,
        movement=line.movement,
        points_change=line.points_change,
        scored=line.scored,
        metrics=metrics,
        badges=line.badges,
        team=team_line.name if team_line else None,
        team_rank=line.team_rank if line.team else None,
        team_size=team_size,
        team_board=tuple(board),
        team_position=team_line.rank if team_line else None,
        team_group=group_name,
        team_groups=groups,
        leader=leader,
    )


def _progress(value: float | None, target: float | None) -> float | None:
    if target is None or target <= 0:
        return None
    return max(0.0, min(1.0, (value or 0.0) / target))


def format_points(x: float) -> str:
    """Points as people read them: 1,240 or 12.5."""
    return _points(x)
