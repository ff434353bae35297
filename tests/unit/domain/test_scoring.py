"""Scoring: how a participant's values in a period combine, and how a value becomes points."""

from datetime import UTC, datetime, timedelta

import pytest

from conftest import MONDAY, Log, metric_points, metric_values, program, roster
from podium.domain.boards import compute_scorebook
from podium.domain.periods import parse_period

W48 = parse_period("2026-W48")


def board_of(prog, people, log, kind="participants", ref=None, period=W48):
    return compute_scorebook(prog, people, log, period).board(kind, ref)


ONE = roster(("ann", None, None))


@pytest.mark.parametrize(
    ("aggregate", "expected"),
    [("sum", 18.0), ("latest", 6.0), ("min", 2.0), ("max", 10.0), ("average", 6.0)],
)
def test_period_aggregates_combine_the_values_in_the_period(aggregate, expected):
    log = Log()
    for v in (10, 2, 6):
        log.add("ann", {"m": v})
    log.add("ann", {"m": 1000}, at=MONDAY - timedelta(days=3))  # last week: not in W48
    log.add("ann", {"m": 1000}, at=MONDAY + timedelta(days=8))  # next week
    b = board_of(program({"key": "m", "period_aggregate": aggregate}), ONE, log)
    assert metric_values(b, "m") == {"ann": expected}


def test_latest_is_the_value_with_the_latest_time_not_the_last_row():
    log = Log()
    log.add("ann", {"m": 7}, hours=5)
    log.add("ann", {"m": 3}, hours=1)
    b = board_of(program({"key": "m", "period_aggregate": "latest"}), ONE, log)
    assert metric_values(b, "m") == {"ann": 7.0}


def test_difference_is_growth_over_the_latest_value_before_the_period():
    log = Log()
    log.add("ann", {"followers": 100}, at=MONDAY - timedelta(days=20))
    log.add("ann", {"followers": 150}, at=MONDAY - timedelta(days=2))
    log.add("ann", {"followers": 160}, hours=1)
    log.add("ann", {"followers": 175}, hours=30)
    prog = program({"key": "followers", "period_aggregate": "difference"})
    assert metric_values(board_of(prog, ONE, log), "followers") == {"ann": 25.0}


def test_difference_without_history_counts_from_the_first_value_in_the_period():
    log = Log()
    log.add("ann", {"followers": 500})
    log.add("ann", {"followers": 540})
    prog = program({"key": "followers", "period_aggregate": "difference"})
    assert metric_values(board_of(prog, ONE, log), "followers") == {"ann": 40.0}


def test_ignore_period_is_a_running_total_up_to_the_end_of_the_period():
    log = Log()
    log.add("ann", {"modules": 4}, at=MONDAY - timedelta(days=40))
    log.add("ann", {"modules": 2}, hours=3)
    log.add("ann", {"modules": 9}, at=MONDAY + timedelta(days=10))  # after W48: not yet
    prog = program({"key": "modules", "period_aggregate": "ignore_period"})
    assert metric_values(board_of(prog, ONE, log), "modules") == {"ann": 6.0}
    # A participant whose only values are from earlier periods still has a running total.
    assert metric_values(board_of(prog, ONE, log, period=parse_period("2026-W50")), "modules") == {"ann": 15.0}


def test_no_value_in_the_period_means_no_value_and_no_points():
    log = Log()
    log.add("ann", {"m": 5}, at=MONDAY - timedelta(days=7))
    b = board_of(program({"key": "m"}), ONE, log)
    assert metric_values(b, "m") == {"ann": None}
    assert metric_points(b, "m") == {"ann": 0.0}


def test_per_unit_is_a_weight_and_cap_limits_points():
    log = Log()
    log.add("ann", {"calls": 150})
    log.add("ann", {"calls": 60})
    b = board_of(program({"key": "calls", "points": {"per_unit": 2, "cap": 300}}), ONE, log)
    assert metric_values(b, "calls") == {"ann": 210.0}
    assert metric_points(b, "calls") == {"ann": 300.0}


def test_target_points_are_prorated_then_capped():
    people = roster(("ann", None, None), ("bob", None, None), ("cy", None, None))
    log = Log()
    log.add("ann", {"rev": 25_000})
    log.add("bob", {"rev": 50_000})
    log.add("cy", {"rev": 100_000})
    prog = program({"key": "rev", "points": {"target": 50_000, "target_points": 100, "cap": 150}})
    assert metric_points(board_of(prog, people, log), "rev") == {"cy": 150.0, "bob": 100.0, "ann": 50.0}


def test_per_participant_target_overrides_the_target():
    people = roster(("ann", None, None), ("bob", None, None))
    log = Log()
    log.add("ann", {"rev": 10_000})
    log.add("bob", {"rev": 10_000})
    prog = program(
        {"key": "rev", "points": {"target": 40_000, "target_points": 100, "target_overrides": {"ann": 10_000}}}
    )
    assert metric_points(board_of(prog, people, log), "rev") == {"ann": 100.0, "bob": 25.0}


def test_relative_with_three_people_gives_100_66_7_33_3():
    people = roster(("ann", None, None), ("bob", None, None), ("cy", None, None), ("dee", None, None))
    log = Log()
    log.add("ann", {"m": 30})
    log.add("bob", {"m": 20})
    log.add("cy", {"m": 10})
    b = board_of(program({"key": "m", "method": "relative"}), people, log)
    assert metric_points(b, "m") == {"ann": 100.0, "bob": 66.6667, "cy": 33.3333, "dee": 0.0}


def test_relative_asc_ranks_the_lowest_first_and_applies_weight_and_cap():
    people = roster(("ann", None, None), ("bob", None, None), ("cy", None, None), ("dee", None, None))
    log = Log()
    log.add("ann", {"minutes": 30})
    log.add("bob", {"minutes": 5})
    log.add("cy", {"minutes": 12})
    log.add("dee", {"minutes": 12})
    prog = program({"key": "minutes", "method": "relative", "order": "asc", "points": {"per_unit": 2, "cap": 180}})
    # N = 4: bob rank 1 -> 100*4/4*2 = 200 capped to 180; cy and dee share rank 2 -> 150; ann rank 4 -> 50.
    assert metric_points(board_of(prog, people, log), "minutes") == {
        "bob": 180.0,
        "cy": 150.0,
        "dee": 150.0,
        "ann": 50.0,
    }


def test_relative_with_dense_ties_does_not_skip_ranks():
    people = roster(("ann", None, None), ("bob", None, None), ("cy", None, None))
    log = Log()
    log.add("ann", {"m": 9})
    log.add("bob", {"m": 9})
    log.add("cy", {"m": 1})
    b = board_of(program({"key": "m", "method": "relative"}, ties="dense"), people, log)
    assert metric_points(b, "m") == {"ann": 100.0, "bob": 100.0, "cy": 66.6667}


def test_a_lower_is_better_metric_under_sum_uses_a_negative_weight():
    people = roster(("ann", None, None), ("bob", None, None))
    log = Log()
    log.add("ann", {"minutes": 10})
    log.add("bob", {"minutes": 40})
    b = board_of(program({"key": "minutes", "order": "asc", "points": {"per_unit": -1}}), people, log)
    assert [s.id for s in b.standings] == ["ann", "bob"]
    assert metric_points(b, "minutes") == {"ann": -10.0, "bob": -40.0}


def test_a_void_removes_its_submission_from_every_computation():
    log = Log()
    log.add("ann", {"calls": 5})
    wrong = log.add("ann", {"calls": 500})
    log.add("ann", {"calls": 50}, voids=wrong.id)  # the correction: replaces 500 by 50
    prog = program({"key": "calls"})
    assert metric_values(board_of(prog, ONE, log), "calls") == {"ann": 55.0}


def test_a_void_of_a_latest_value_brings_back_the_one_before():
    log = Log()
    log.add("ann", {"nps": 40})
    oops = log.add("ann", {"nps": -100})
    log.add("ann", {}, voids=oops.id)
    prog = program({"key": "nps", "period_aggregate": "latest"})
    assert metric_values(board_of(prog, ONE, log), "nps") == {"ann": 40.0}


def test_values_for_unknown_metrics_or_people_off_the_roster_are_ignored():
    log = Log()
    log.add("ann", {"calls": 1, "other": 99})
    log.add("ghost", {"calls": 100})
    b = board_of(program({"key": "calls"}), ONE, log)
    assert metric_values(b, "calls") == {"ann": 1.0}


def test_totals_sum_metric_points():
    log = Log()
    log.add("ann", {"a": 3, "b": 4})
    b = board_of(program({"key": "a", "points": {"per_unit": 10}}, {"key": "b", "points": {"per_unit": 0.5}}), ONE, log)
    assert b.standings[0].points == 32.0


def test_instants_are_read_in_the_program_time_zone():
    chicago = program({"key": "m"}, timezone="America/Chicago")
    log = Log()
    log.add("ann", {"m": 1}, at=datetime(2026, 11, 23, 3, 0, tzinfo=UTC))  # Sunday 21:00 in Chicago: W47
    log.add("ann", {"m": 2}, at=datetime(2026, 11, 23, 7, 0, tzinfo=UTC))  # Monday 01:00 in Chicago: W48
    assert metric_values(board_of(chicago, ONE, log), "m") == {"ann": 2.0}
    assert metric_values(board_of(chicago, ONE, log, period=parse_period("2026-W47")), "m") == {"ann": 1.0}
