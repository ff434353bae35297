"""Properties of scoring, rollup, ranking and periods, checked on generated programs, rosters and logs.

Every expectation is computed here from what the boards show one level down (a team from its members' standings,
a division from its people's standings), never by calling the rollup or ranking code under test.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from podium.domain.boards import Board, Scorebook, Standing, compute_scorebook
from podium.domain.periods import Period, parse_period, period_of
from podium.domain.program import (
    MeanOver,
    Metric,
    Order,
    PeriodAggregate,
    PeriodKind,
    Program,
    Ranking,
    TeamRollup,
    TieRule,
    Weekday,
    program_from_dict,
)
from podium.domain.ranking import POINTS_DECIMALS
from podium.domain.roster import Participant, Roster, build_roster
from podium.domain.submissions import Submission

TIMEZONES = ["UTC", "America/Chicago", "Europe/London", "Australia/Lord_Howe", "America/Santiago", "Asia/Kathmandu"]
LOG_START = datetime(2026, 11, 2, tzinfo=UTC)  # two weeks before 2026-W47 (2026-11-16 .. 2026-11-29 is W47-W48)
LOG_HOURS = 6 * 7 * 24  # six weeks of whole hours: coarse, so equal times (and first_to_reach ties) happen
PERIODS = [parse_period(k) for k in ("2026-W47", "2026-W48", "2026-11", "2026-11-20", "all")]
NAMES = ["Ann", "ann", "Bo", "Cy", "Di"]  # repeated and case-equal names exercise the tie order
TEAMS = ["Team A", "Team B", "Team C", "Team D"]
DIVISIONS = ["North", "South"]
KEYS = ["m0", "m1", "m2"]

FAST = settings(max_examples=50, deadline=None)
QUICK = settings(max_examples=100, deadline=None)


# --- strategies -----------------------------------------------------------------------------------------------


@st.composite
def metric_docs(draw: st.DrawFn, key: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """One metric of a program file; `overrides` pins fields (a property about `mean` pins team_rollup)."""
    doc: dict[str, Any] = {
        "key": key,
        "period_aggregate": draw(st.sampled_from([a.value for a in PeriodAggregate])),
        "order": draw(st.sampled_from([o.value for o in Order])),
        "team_rollup": draw(st.sampled_from([r.value for r in TeamRollup])),
        "method": draw(st.sampled_from(["sum", "sum", "relative"])),
    }
    doc.update({k: v for k, v in overrides.items() if k != "points"})
    if doc["team_rollup"] == TeamRollup.MEAN.value:
        doc.setdefault("mean_over", draw(st.sampled_from([m.value for m in MeanOver])))
    else:
        doc.pop("mean_over", None)
    if "points" in overrides:
        doc["points"] = overrides["points"]
        return doc
    points: dict[str, Any] = {}
    if doc["method"] == "sum" and draw(st.booleans()):
        points["target"] = draw(st.sampled_from([4, 10, 40]))
        points["target_points"] = draw(st.sampled_from([100, 50]))
    else:
        points["per_unit"] = draw(st.sampled_from([1, 2, 0.5, -1]))
    cap = draw(st.sampled_from([None, None, 0, 5, 30]))
    if cap is not None:
        points["cap"] = cap
    doc["points"] = points
    return doc


@st.composite
def programs(
    draw: st.DrawFn,
    overrides: dict[str, Any] | None = None,
    *,
    ranking: Ranking | None = None,
    ties: TieRule | None = None,
) -> Program:
    n = draw(st.integers(1, 3))
    metrics = [draw(metric_docs(KEYS[i], overrides or {})) for i in range(n)]
    return program_from_dict(
        {
            "id": "prop",
            "timezone": draw(st.sampled_from(TIMEZONES)),
            "ties": (ties or draw(st.sampled_from(list(TieRule)))).value,
            "ranking": (ranking or draw(st.sampled_from(list(Ranking)))).value,
            "metrics": metrics,
        }
    )


@st.composite
def rosters(draw: st.DrawFn) -> Roster:
    """2-12 people in 1-4 teams in 1-2 divisions; about one in six is inactive."""
    divisions = DIVISIONS[: draw(st.integers(1, 2))]
    teams = TEAMS[: draw(st.integers(1, 4))]
    division_of = {t: draw(st.sampled_from(divisions)) for t in teams}
    people = []
    for i in range(draw(st.integers(2, 12))):
        team = draw(st.sampled_from(teams))
        people.append(
            Participant(
                id=f"p{i}",
                name=draw(st.sampled_from(NAMES)),
                team=team,
                division=division_of[team],
                active=draw(st.sampled_from([True, True, True, True, True, False])),
            )
        )
    return build_roster(people)


@st.composite
def logs(draw: st.DrawFn, roster: Roster, keys: Iterable[str], *, max_size: int = 30) -> list[Submission]:
    """Submissions with unique ids, whole-hour UTC times and small whole-number values; some are corrections."""
    keys = list(keys)
    who = [*roster.participants, "stranger"]  # someone not on the roster: ignored by every board
    log: list[Submission] = []
    for i in range(draw(st.integers(0, max_size))):
        values = draw(st.dictionaries(st.sampled_from(keys), st.integers(-5, 20).map(float), max_size=len(keys)))
        voids = None
        if log and draw(st.integers(0, 7)) == 0:
            voids = draw(st.sampled_from([s.id for s in log]))
        if not values and voids is None:
            values = {keys[0]: float(draw(st.integers(-5, 20)))}
        at = LOG_START + timedelta(hours=draw(st.integers(0, LOG_HOURS)))
        log.append(Submission(f"s{i}", draw(st.sampled_from(who)), at, values, voids))
    return log


@dataclass(frozen=True)
class Scenario:
    program: Program
    roster: Roster
    log: list[Submission]
    period: Period

    def book(self, log: Iterable[Submission] | None = None) -> Scorebook:
        return compute_scorebook(self.program, self.roster, self.log if log is None else log, self.period)


@st.composite
def scenarios(draw: st.DrawFn, program: st.SearchStrategy[Program] | None = None) -> Scenario:
    prog = draw(program if program is not None else programs())
    roster = draw(rosters())
    return Scenario(prog, roster, draw(logs(roster, prog.metric_keys)), draw(st.sampled_from(PERIODS)))


# --- reading boards ---------------------------------------------------------------------------------------------


def active_people(roster: Roster, keep: Callable[[Participant], bool]) -> set[str]:
    return {p.id for p in roster.participants.values() if p.active and keep(p)}


def team_rows(book: Scorebook) -> dict[str, Standing]:
    """Every team's standing, read from its division's board."""
    rows: dict[str, Standing] = {}
    for division in book.roster.divisions:
        for s in book.board("division", division).standings:
            rows[s.id] = s
    return rows


def every_board(book: Scorebook) -> list[Board]:
    boards = [book.board("participants"), book.board("program")]
    boards += [book.board("division", d) for d in sorted(book.roster.divisions)]
    boards += [book.board("team", t) for t in sorted(book.roster.teams)]
    return boards


def boards_as_dicts(book: Scorebook) -> list[dict[str, Any]]:
    return [b.as_dict() for b in every_board(book)]


def expected_rollup(metric: Metric, members: list[Standing], headcount: int) -> tuple[float | None, float]:
    """(value, points) of a group from its people's standings, as the program file's rollup rule describes it."""
    scores = [m.metrics[metric.key] for m in members]
    with_value = [s for s in scores if s.value is not None]
    if not with_value:
        return (None, 0.0)
    value_sum = math.fsum(s.value for s in with_value if s.value is not None)
    points_sum = math.fsum(s.points for s in scores)
    if metric.team_rollup is TeamRollup.SUM:
        return (value_sum, points_sum)
    n = headcount if metric.mean_over is MeanOver.HEADCOUNT else len(with_value)
    return (value_sum / n, points_sum / n)


def assert_rolled_up(metric: Metric, row: Standing, members: list[Standing], headcount: int) -> None:
    value, points = expected_rollup(metric, members, headcount)
    got = row.metrics[metric.key]
    assert got.points == pytest.approx(points, abs=1e-9), (row.id, metric.key)
    if value is None:
        assert got.value is None, (row.id, metric.key)
    else:
        assert got.value == pytest.approx(value, abs=1e-9), (row.id, metric.key)


def check_team_rollups(book: Scorebook) -> None:
    rows = team_rows(book)
    assert set(rows) == set(book.roster.teams)
    for team_id, row in rows.items():
        members = list(book.board("team", team_id).standings)
        assert {m.id for m in members} == active_people(book.roster, lambda p, t=team_id: p.team_id == t)
        assert row.headcount == len(members)
        for metric in book.program.metrics:
            assert_rolled_up(metric, row, members, len(members))
        assert row.points == pytest.approx(math.fsum(s.points for s in row.metrics.values()), abs=1e-9)


def rounded(x: float) -> float:
    return round(x, POINTS_DECIMALS)


# --- 1-4: rollup ------------------------------------------------------------------------------------------------

POINTS_RANKING = {"ranking": Ranking.POINTS}


@FAST
@given(scenarios(programs({"team_rollup": "sum"}, **POINTS_RANKING)))
def test_team_sum_rollup_equals_sum_over_members(sc: Scenario) -> None:
    check_team_rollups(sc.book())


@FAST
@given(scenarios(programs({"team_rollup": "mean", "mean_over": "headcount"}, **POINTS_RANKING)))
def test_team_mean_over_headcount_divides_by_every_active_member(sc: Scenario) -> None:
    check_team_rollups(sc.book())


@FAST
@given(scenarios(programs({"team_rollup": "mean", "mean_over": "contributors"}, **POINTS_RANKING)))
def test_team_mean_over_contributors_divides_by_members_with_a_value(sc: Scenario) -> None:
    check_team_rollups(sc.book())


@FAST
@given(scenarios(programs(**POINTS_RANKING)))
def test_division_rollup_is_taken_over_its_people_not_over_its_teams(sc: Scenario) -> None:
    book = sc.book()
    everyone = {s.id: s for s in book.board("participants").standings}
    program_board = book.board("program").standings
    # Everyone sits in a team and every team in a division, so the program board lists exactly the divisions.
    assert {s.id for s in program_board} == set(book.roster.divisions)
    for row in program_board:
        people = [everyone[pid] for pid in active_people(book.roster, lambda p, d=row.id: p.division_id == d)]
        assert row.headcount == len(people)
        for metric in book.program.metrics:
            assert_rolled_up(metric, row, people, len(people))


# --- 5-6: the log ---------------------------------------------------------------------------------------------


@FAST
@given(scenarios(), st.data())
def test_the_order_of_the_log_changes_no_board(sc: Scenario, data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(sc.log), label="shuffled log")
    assert boards_as_dicts(sc.book(shuffled)) == boards_as_dicts(sc.book())


@FAST
@given(scenarios(), st.data())
def test_a_void_cancels_exactly_the_submission_it_names(sc: Scenario, data: st.DataObject) -> None:
    # A submission that is itself a correction is left out: voiding it does not bring back what it voided,
    # while deleting it would (voids are final).
    candidates = [s for s in sc.log if s.voids is None]
    assume(candidates)
    x = data.draw(st.sampled_from(candidates), label="voided")
    later = x.at + timedelta(hours=data.draw(st.integers(1, 24 * 30), label="hours later"))
    void = Submission(f"void-{x.id}", x.participant, later, {}, voids=x.id)
    without_x = [s for s in sc.log if s.id != x.id]
    assert boards_as_dicts(sc.book([*sc.log, void])) == boards_as_dicts(sc.book(without_x))


# --- 7: tie rules ---------------------------------------------------------------------------------------------


def check_board_ranks(board: Board) -> None:
    lower_wins = board.ranking is Ranking.POSITION
    rows = list(board.standings)
    scores = [rounded(s.points) for s in rows]

    def better(a: float, b: float) -> bool:
        return a < b if lower_wins else a > b

    # Best first: scores never get better down the board and ranks never go down.
    for (s, a), (t, b) in pairwise(zip(rows, scores, strict=True)):
        assert not better(b, a), board.ref
        assert s.rank <= t.rank, board.ref
    for s, score in zip(rows, scores, strict=True):
        if board.ties is TieRule.COMPETITION:
            assert s.rank == 1 + sum(better(o, score) for o in scores), (board.ref, s.id)
        elif board.ties is TieRule.DENSE:
            assert s.rank == 1 + len({o for o in scores if better(o, score)}), (board.ref, s.id)
        else:
            # Among equal scores whoever reached it earlier is better; no time at all counts as latest.
            def earlier(a: datetime | None, b: datetime | None) -> bool:
                return a is not None and (b is None or a < b)

            ahead = sum(
                better(o_score, score) or (o_score == score and earlier(o.reached_at, s.reached_at))
                for o, o_score in zip(rows, scores, strict=True)
            )
            assert s.rank == 1 + ahead, (board.ref, s.id)
    for (s, a), (t, b) in pairwise(zip(rows, scores, strict=True)):
        if s.rank == t.rank:
            assert a == b, (board.ref, s.id, t.id)
            # Equal ranks are listed in a stable order: by name regardless of case, then by id.
            assert (s.name.casefold(), s.id) < (t.name.casefold(), t.id), (board.ref, s.id, t.id)


@FAST
@given(scenarios())
def test_every_board_ranks_by_its_tie_rule(sc: Scenario) -> None:
    for board in every_board(sc.book()):
        check_board_ranks(board)


# --- 8: relative points -----------------------------------------------------------------------------------------

RELATIVE = {"method": "relative", "points": {"per_unit": 1}}


@FAST
@given(scenarios(programs(RELATIVE, ranking=Ranking.POINTS)))
def test_relative_points_scale_rank_to_100(sc: Scenario) -> None:
    book = sc.book()
    rows = book.board("participants").standings
    for metric in sc.program.metrics:
        key = metric.key
        valued = [(s, rounded(s.metrics[key].value)) for s in rows if s.metrics[key].value is not None]
        n = len(valued)
        for s in rows:
            assert 0.0 <= s.metrics[key].points <= 100.0
            if s.metrics[key].value is None:
                assert s.metrics[key].points == 0.0
        if not n:
            continue

        def better(a: float, b: float, order: Order = metric.order) -> bool:
            return a < b if order is Order.ASC else a > b

        # The best ranks first and gets 100 (under first_to_reach only the first of several equal bests).
        assert max(s.metrics[key].points for s, _ in valued) == pytest.approx(100.0)
        best = max(valued, key=lambda sv: sv[1] if metric.order is Order.DESC else -sv[1])[1]
        if sc.program.ties is not TieRule.FIRST_TO_REACH:
            for s, v in valued:
                if v == best:
                    assert s.metrics[key].points == pytest.approx(100.0), (s.id, key)
        distinct = len({v for _, v in valued}) == n
        for s, v in valued:
            if sc.program.ties is TieRule.COMPETITION or distinct:
                r = 1 + sum(better(o, v) for _, o in valued)
                assert s.metrics[key].points == pytest.approx(100.0 * (n - r + 1) / n), (s.id, key)
            elif sc.program.ties is TieRule.DENSE:
                r = 1 + len({o for _, o in valued if better(o, v)})
                assert s.metrics[key].points == pytest.approx(100.0 * (n - r + 1) / n), (s.id, key)
            else:  # first_to_reach: among equal values, whoever reached the value earlier ranks higher
                reached = {pid: mv[key].reached_at for pid, mv in book.values.items() if key in mv}
                r = 1 + sum(better(o, v) or (o == v and reached[t.id] < reached[s.id]) for t, o in valued)
                assert s.metrics[key].points == pytest.approx(100.0 * (n - r + 1) / n), (s.id, key)


# --- 9: position ranking ----------------------------------------------------------------------------------------


def check_position_points(metrics: Iterable[Metric], rows: list[Standing], what: str) -> None:
    """Each metric's points are the competition rank on its value among `rows`; no value shares the last rank."""
    for metric in metrics:
        values = {s.id: s.metrics[metric.key].value for s in rows}
        valued = [rounded(v) for v in values.values() if v is not None]

        def better(a: float, b: float, order: Order = metric.order) -> bool:
            return a < b if order is Order.ASC else a > b

        for s in rows:
            v = values[s.id]
            expected = 1 + len(valued) if v is None else 1 + sum(better(o, rounded(v)) for o in valued)
            assert s.metrics[metric.key].points == expected, (what, s.id, metric.key)


@FAST
@given(scenarios(programs(ranking=Ranking.POSITION, ties=TieRule.COMPETITION)))
def test_position_ranking_scores_each_metric_by_rank_and_lowest_total_wins(sc: Scenario) -> None:
    book = sc.book()
    people = list(book.board("participants").standings)
    check_position_points(sc.program.metrics, people, "participants")
    # Teams are ranked among all teams of the program, whichever division shows them.
    check_position_points(sc.program.metrics, list(team_rows(book).values()), "teams")
    for board in every_board(book):
        rows = board.standings
        for s in rows:
            assert s.points == math.fsum(m.points for m in s.metrics.values())
        totals = [rounded(s.points) for s in rows]
        assert totals == sorted(totals), board.ref


# --- 10: periods ------------------------------------------------------------------------------------------------


@cache
def offset_changes(zone: str) -> list[datetime]:
    """The instants (to the minute) where a zone's UTC offset changed, 1900-2100: DST and the odd historical shift."""
    tz = ZoneInfo(zone)
    changes: list[datetime] = []
    t, stop, day = datetime(1900, 1, 1, tzinfo=UTC), datetime(2101, 1, 1, tzinfo=UTC), timedelta(days=1)
    offset = t.astimezone(tz).utcoffset()
    while t < stop:
        if (next_offset := (t + day).astimezone(tz).utcoffset()) != offset:
            lo, hi = t, t + day
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (mid, hi) if mid.astimezone(tz).utcoffset() == offset else (lo, mid)
            changes.append(hi)
            offset = next_offset
        t += day
    return changes


@st.composite
def instants(draw: st.DrawFn, zone: str) -> datetime:
    """Any aware instant, or one within a day and a bit of an offset change in `zone` (where midnights go odd)."""
    changes = offset_changes(zone)
    if changes and draw(st.booleans()):
        near = draw(st.sampled_from(changes))
        return near + timedelta(seconds=draw(st.integers(-30 * 3600, 30 * 3600)))
    return draw(
        st.datetimes(
            min_value=datetime(1900, 1, 2),
            max_value=datetime(2150, 12, 30),
            timezones=st.sampled_from([UTC, *(ZoneInfo(z) for z in TIMEZONES)]),
        )
    )


@QUICK
@given(st.sampled_from(TIMEZONES), st.sampled_from(list(Weekday)), st.data())
def test_every_instant_lies_in_its_period_and_the_key_round_trips(
    zone: str, week_start: Weekday, data: st.DataObject
) -> None:
    tz = ZoneInfo(zone)
    instant = data.draw(instants(zone), label="instant")
    for kind in PeriodKind:
        period = period_of(instant, kind, tz, week_start)
        assert period.kind is kind
        assert parse_period(period.key, week_start) == period, (kind, period.key)
        if kind is PeriodKind.ALL:
            assert period.start(tz) is None
            assert period.end(tz) is None
            continue
        start, end = period.start(tz), period.end(tz)
        assert start is not None
        assert end is not None
        assert start <= instant < end, (kind, period.key, start, end)
