"""What a board shows to whom: hidden metrics, opted-out participants, and each member's contribution."""

import math

import pytest

from conftest import Log, program
from podium.domain.boards import ANONYMOUS, Audience, compute_scorebook, contributions, seen_by
from podium.domain.errors import InvalidProgram
from podium.domain.periods import parse_period
from podium.domain.program import Visibility, program_from_dict
from podium.domain.roster import OptOut, Participant, build_roster

W48 = parse_period("2026-W48")

PROGRAM = program(
    {"key": "calls", "points": {"per_unit": 1, "cap": 50}},
    {"key": "nps", "period_aggregate": "latest", "team_rollup": "mean", "min": -100, "hidden": True},
    {"key": "revenue", "points": {"target": 1000}, "team_rollup": "mean", "mean_over": "contributors"},
)
PEOPLE = build_roster(
    [
        Participant("ann", "Ann", "ann@example.com", team="Red", division="North"),
        Participant("bob", "Bob", team="Red", division="North", opt_out=OptOut.ANONYMISE),
        Participant("cat", "Cat", team="Red", division="North", opt_out=OptOut.HIDE),
        Participant("dan", "Dan", team="Blue", division="North"),
    ]
)


def scorebook():
    log = Log()
    log.add("ann", {"calls": 30, "nps": 80, "revenue": 500})
    log.add("bob", {"calls": 70, "nps": 20})
    log.add("cat", {"calls": 10, "nps": 50, "revenue": 1500})
    log.add("dan", {"calls": 5})
    return compute_scorebook(PROGRAM, PEOPLE, log, W48)


def test_members_see_the_whole_board():
    board = scorebook().board("team", "red")
    assert seen_by(board, PEOPLE, Audience.MEMBERS) is board


def test_the_public_sees_no_hidden_metric_but_its_points_stay_in_the_totals():
    book = scorebook()
    full = book.board("division", "north")
    public = seen_by(full, PEOPLE, Audience.PUBLIC)
    assert public.hidden_metrics == 1 and full.hidden_metrics == 0
    assert all("nps" not in s.metrics for s in public.standings)
    assert [(s.id, s.points) for s in public.standings] == [(s.id, s.points) for s in full.standings]
    assert "nps" not in public.as_dict()["standings"][0]["metrics"]
    assert public.as_dict()["hidden_metrics"] == 1


def test_opted_out_participants_are_anonymous_or_absent_and_nobody_elses_rank_moves():
    full = scorebook().board("participants")
    public = seen_by(full, PEOPLE, Audience.PUBLIC)
    by_id = {s.id: s for s in full.standings}
    rows = public.as_dict()["standings"]
    assert [r["name"] for r in rows] == ["Ann", ANONYMOUS, "Dan"]  # Bob anonymised; Cat hidden
    assert rows[1]["id"] is None and rows[1]["rank"] == by_id["bob"].rank
    assert [r["rank"] for r in rows] == [by_id["ann"].rank, by_id["bob"].rank, by_id["dan"].rank]
    assert "cat" not in {r["id"] for r in rows} and "Cat" not in str(rows)


def test_a_hidden_participant_still_counts_for_their_team():
    north_full = scorebook().board("division", "north")
    north = seen_by(north_full, PEOPLE, Audience.PUBLIC)
    red = next(s for s in north.standings if s.id == "red")
    assert red.headcount == 3
    assert red.metrics["calls"].value == 110  # Ann 30 + Bob 70 + Cat 10


def test_contributions_add_up_to_the_teams_points_for_sums_and_means():
    book = scorebook()
    team = book.board("team", "red")
    shares = contributions(team)
    assert shares is not None
    red = next(s for s in book.board("division", "north").standings if s.id == "red")
    for key in PROGRAM.metric_keys:
        total = math.fsum(shares[pid][key] for pid in shares)
        assert total == pytest.approx(red.metrics[key].points, abs=1e-3), key
    assert math.fsum(v for m in shares.values() for v in m.values()) == pytest.approx(red.points, abs=1e-3)
    # calls: summed, each member adds their own points; nps: a mean over the headcount of 3.
    assert shares["bob"]["calls"] == 50.0  # capped at 50
    assert shares["ann"]["nps"] == pytest.approx(80 / 3, abs=1e-3)
    # revenue: a mean over contributors (Ann and Cat), Bob adds nothing.
    assert shares["bob"]["revenue"] == 0.0
    assert shares["ann"]["revenue"] == pytest.approx(50 / 2) and shares["cat"]["revenue"] == pytest.approx(150 / 2)


def test_no_contributions_under_position_ranking_or_off_team_boards():
    ranked = program({"key": "calls"}, ranking="position")
    log = Log()
    log.add("ann", {"calls": 3})
    book = compute_scorebook(ranked, PEOPLE, log, W48)
    assert contributions(book.board("team", "red")) is None
    assert contributions(scorebook().board("division", "north")) is None


def test_visibility_defaults_to_unlisted_and_origins_are_checked():
    assert program({"key": "calls"}).visibility is Visibility.UNLISTED
    doc = {
        "id": "p",
        "metrics": [{"key": "calls", "unit": "calls", "hidden": True}],
        "visibility": "public",
        "allowed_origins": ["https://intranet.example.com", "http://127.0.0.1:8080"],
    }
    p = program_from_dict(doc)
    assert p.visibility is Visibility.PUBLIC and p.allowed_origins == (
        "https://intranet.example.com",
        "http://127.0.0.1:8080",
    )
    assert p.metrics[0].hidden and p.metrics[0].unit == "calls"
    bad = {
        **doc,
        "visibility": "secret",
        "allowed_origins": ["https://x.example.com/path", "*"],
        "metrics": [{"key": "calls", "hidden": "yes", "unit": "a very long unit"}],
    }
    with pytest.raises(InvalidProgram) as caught:
        program_from_dict(bad)
    fields = {p.path for p in caught.value.problems}
    assert fields == {
        "visibility",
        "allowed_origins[0]",
        "allowed_origins[1]",
        "metrics[0].hidden",
        "metrics[0].unit",
    }
