"""Boards: rollup to teams and divisions, the drill-down, position ranking and movement."""

from datetime import UTC, datetime

import pytest

from conftest import Log, metric_points, metric_values, points, program, ranks, roster
from podium.domain.boards import compute_scorebook
from podium.domain.errors import UnknownBoard
from podium.domain.periods import parse_period

W48 = parse_period("2026-W48")

SMALL_AND_LARGE = roster(
    *[(f"s{i}", "Small", "East") for i in range(4)],
    *[(f"l{i}", "Large", "East") for i in range(12)],
    ("w0", "Other", "West"),
)


def book(prog, people, log):
    return compute_scorebook(prog, people, log, W48)


def test_a_team_of_4_beats_a_team_of_12_when_the_metric_is_averaged_over_headcount():
    log = Log()
    for i in range(4):
        log.add(f"s{i}", {"nps": 80, "calls": 10})
    for i in range(12):
        log.add(f"l{i}", {"nps": 50, "calls": 10})
    prog = program({"key": "calls"}, {"key": "nps", "team_rollup": "mean"})
    east = book(prog, SMALL_AND_LARGE, log).board("division", "east")
    assert metric_points(east, "calls") == {"large": 120.0, "small": 40.0}  # summed: size wins
    assert metric_points(east, "nps") == {"small": 80.0, "large": 50.0}  # averaged: quality wins
    assert {s.id: s.headcount for s in east.standings} == {"small": 4, "large": 12}


def test_mean_over_headcount_counts_silent_members_and_contributors_does_not():
    log = Log()
    log.add("s0", {"h": 10, "c": 10})
    log.add("s1", {"h": 30, "c": 30})
    prog = program(
        {"key": "h", "team_rollup": "mean"}, {"key": "c", "team_rollup": "mean", "mean_over": "contributors"}
    )
    east = book(prog, SMALL_AND_LARGE, log).board("division", "east")
    assert metric_points(east, "h")["small"] == 10.0  # 40 / 4 members
    assert metric_points(east, "c")["small"] == 20.0  # 40 / 2 contributors
    assert metric_values(east, "c")["large"] is None  # nobody in Large contributed
    assert metric_points(east, "h")["large"] == 0.0


def test_division_means_are_over_everyone_in_the_division_not_a_mean_of_team_means():
    log = Log()
    for i in range(4):
        log.add(f"s{i}", {"q": 100})
    for i in range(12):
        log.add(f"l{i}", {"q": 0})
    log.add("w0", {"q": 40})
    prog = program({"key": "q", "team_rollup": "mean"})
    top = book(prog, SMALL_AND_LARGE, log).board("program")
    assert metric_points(top, "q") == {"west": 40.0, "east": 25.0}  # 400 / 16 people, not (100 + 0) / 2
    assert ranks(top) == [(1, "west"), (2, "east")]


def test_summed_metrics_roll_up_to_divisions_as_the_sum_over_members():
    log = Log()
    for i in range(4):
        log.add(f"s{i}", {"calls": i + 1})
    log.add("l3", {"calls": 7})
    log.add("w0", {"calls": 2})
    top = book(program({"key": "calls"}), SMALL_AND_LARGE, log).board("program")
    assert metric_points(top, "calls") == {"east": 17.0, "west": 2.0}


def test_the_team_board_drills_down_to_each_members_contribution():
    log = Log()
    log.add("s0", {"calls": 5})
    log.add("s1", {"calls": 9})
    team = book(program({"key": "calls"}), SMALL_AND_LARGE, log).board("team", "Small")
    assert team.id == "small" and team.name == "Small"
    assert ranks(team) == [(1, "s1"), (2, "s0"), (3, "s2"), (3, "s3")]
    assert points(team) == {"s1": 9.0, "s0": 5.0, "s2": 0.0, "s3": 0.0}


def test_boards_are_found_by_name_or_id_and_unknown_ones_are_refused():
    b = book(program({"key": "calls"}), SMALL_AND_LARGE, Log())
    assert b.board("division", "East").id == "east"
    assert b.board("team", "large").name == "Large"
    with pytest.raises(UnknownBoard):
        b.board("division", "North")
    with pytest.raises(UnknownBoard):
        b.board("team", "nobody")


def test_relative_points_use_program_wide_ranks_then_roll_up():
    people = roster(("a", "T1", "D"), ("b", "T1", "D"), ("c", "T2", "D"))
    log = Log()
    log.add("a", {"m": 3})
    log.add("b", {"m": 2})
    log.add("c", {"m": 1})
    prog = program({"key": "m", "method": "relative", "team_rollup": "mean"})
    division = book(prog, people, log).board("division", "D")
    assert metric_points(division, "m") == {"t1": 83.3333, "t2": 33.3333}  # (100 + 66.7) / 2 and 33.3


def test_position_ranking_sums_metric_ranks_and_the_lowest_total_wins():
    people = roster(("a", "T1", "D"), ("b", "T1", "D"), ("c", "T2", "D"), ("d", "T2", "D"))
    log = Log()
    log.add("a", {"calls": 50, "minutes": 30})
    log.add("b", {"calls": 40, "minutes": 5})
    log.add("c", {"calls": 10, "minutes": 10})
    prog = program({"key": "calls"}, {"key": "minutes", "order": "asc"}, ranking="position")
    everyone = book(prog, people, log).board("participants")
    assert metric_points(everyone, "calls") == {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}
    assert metric_points(everyone, "minutes") == {"b": 1.0, "c": 2.0, "a": 3.0, "d": 4.0}
    assert ranks(everyone) == [(1, "b"), (2, "a"), (3, "c"), (4, "d")]  # totals 3, 4, 5, 8
    teams = book(prog, people, log).board("division", "D")
    # Teams ranked on rolled-up values: calls T1 90 vs T2 10; minutes (summed) T1 35 vs T2 10 (asc).
    assert metric_points(teams, "calls") == {"t1": 1.0, "t2": 2.0}
    assert metric_points(teams, "minutes") == {"t1": 2.0, "t2": 1.0}
    assert points(teams) == {"t1": 3.0, "t2": 3.0}
    assert ranks(teams) == [(1, "t1"), (1, "t2")]


def test_first_to_reach_breaks_a_tie_on_totals_by_time():
    people = roster(("a", None, None), ("b", None, None))
    log = Log()
    log.add("b", {"calls": 10}, hours=1)
    log.add("a", {"calls": 10}, hours=2)
    b = book(program({"key": "calls"}, ties="first_to_reach"), people, log).board("participants")
    assert ranks(b) == [(1, "b"), (2, "a")]


def test_movement_since_an_earlier_board():
    people = roster(("a", None, None), ("b", None, None))
    log = Log()
    log.add("a", {"calls": 10}, hours=1)
    earlier = book(program({"key": "calls"}), people, list(log)).board("participants")
    log.add("b", {"calls": 20}, hours=2)
    at = datetime(2026, 11, 30, tzinfo=UTC)
    now = book(program({"key": "calls"}), people, log).board("participants").since({"a": 1, "c": 2}, at)
    assert {s.id: s.movement for s in now.standings} == {"b": None, "a": -1}  # b was not on the earlier board
    assert now.moved_since == at and now.as_dict()["movement_since"] == at.isoformat()
    again = book(program({"key": "calls"}), people, log).board("participants")
    assert {s.id: s.movement for s in again.since({s.id: s.rank for s in earlier.standings}, at).standings} == {
        "b": 1,
        "a": -1,
    }


def test_program_board_includes_teams_without_a_division_and_people_without_a_team():
    people = roster(("a", "T1", "D"), ("b", "Loose", None), ("c", None, None))
    log = Log()
    log.add("a", {"calls": 1})
    log.add("b", {"calls": 2})
    log.add("c", {"calls": 3})
    top = book(program({"key": "calls"}), people, log).board("program")
    assert ranks(top) == [(1, "c"), (2, "loose"), (3, "d")]


def test_inactive_participants_are_not_on_boards_or_in_headcount():
    from podium.domain.roster import Participant, build_roster

    people = build_roster(
        [Participant("a", "A", team="T", division="D"), Participant("b", "B", team="T", division="D", active=False)]
    )
    log = Log()
    log.add("a", {"q": 10})
    log.add("b", {"q": 90})
    division = book(program({"key": "q", "team_rollup": "mean"}), people, log).board("division", "D")
    assert division.standings[0].headcount == 1
    assert metric_points(division, "q") == {"t": 10.0}


def test_board_json_shape_states_period_ties_and_ranking():
    log = Log()
    log.add("s0", {"calls": 5})
    data = book(program({"key": "calls"}), SMALL_AND_LARGE, log).board("division", "east").as_dict()
    assert data["board"] == "division:east"
    assert data["period"] == "2026-W48"
    assert data["ties"] == "competition"
    assert data["ranking"] == "points"
    first = data["standings"][0]
    assert set(first) >= {"rank", "id", "name", "points", "metrics", "movement", "headcount"}
    assert first["metrics"]["calls"] == {"value": 5.0, "points": 5.0}


def test_first_to_reach_counts_when_the_points_were_reached_not_later_values_past_a_cap():
    people = roster(("a", None, None), ("b", None, None))
    log = Log()
    log.add("a", {"calls": 10}, hours=1)
    log.add("b", {"calls": 10}, hours=2)
    log.add("a", {"calls": 5}, hours=3)  # past the cap: a's points stay 10, reached at hour 1
    prog = program({"key": "calls", "points": {"cap": 10}}, ties="first_to_reach")
    assert ranks(book(prog, people, log).board("participants")) == [(1, "a"), (2, "b")]
