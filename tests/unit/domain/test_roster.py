"""Rosters: teams and divisions derived from participants, and the mistakes that are refused."""

import pytest

from podium.domain.errors import InvalidInput
from podium.domain.roster import Participant, build_roster, slug


def test_teams_and_divisions_get_ids_from_their_names():
    r = build_roster([Participant("a", "A", team="New York", division="North East")])
    assert slug("South East") == "south-east"
    assert r.teams["new-york"].parent == "north-east"
    assert r.divisions["north-east"].name == "North East"


def test_a_team_in_two_divisions_is_refused():
    with pytest.raises(InvalidInput) as caught:
        build_roster([Participant("a", "A", team="Red", division="X"), Participant("b", "B", team="Red", division="Y")])
    assert "a team sits in one division" in str(caught.value)


@pytest.mark.parametrize(
    ("people", "message"),
    [
        ([Participant("a", "A"), Participant("a", "A2")], "appears twice"),
        ([Participant("bad id", "A")], "id must be"),
        ([Participant("a", "A", division="D")], "has a division but no team"),
        ([Participant("a", "A", team="!!!")], "has no letters or digits"),
    ],
)
def test_roster_mistakes_are_named(people, message):
    with pytest.raises(InvalidInput) as caught:
        build_roster(people)
    assert message in str(caught.value)


def test_team_names_in_any_script_keep_distinct_ids():
    r = build_roster(
        [
            Participant("a", "A", team="Москва 1", division="East"),
            Participant("b", "B", team="Киев 1", division="East"),
            Participant("c", "C", team="東京"),
            Participant("d", "D", team="Zürich"),
            Participant("e", "E", team="Zurich"),
        ]
    )
    assert sorted(r.teams) == sorted(["москва-1", "киев-1", "東京", "zürich", "zurich"])


def test_names_that_differ_only_in_case_or_spacing_are_one_team():
    r = build_roster([Participant("a", "A", team="New  York"), Participant("b", "B", team="new york")])
    assert list(r.teams) == ["new-york"]


def test_different_names_that_would_share_an_id_are_refused():
    with pytest.raises(InvalidInput, match="would share the id 'south-east'"):
        build_roster([Participant("a", "A", team="South-East"), Participant("b", "B", team="South East")])


def test_an_id_with_a_trailing_newline_is_refused():
    with pytest.raises(InvalidInput, match="id must be"):
        build_roster([Participant("a\n", "A")])


def test_headcounts_count_active_people_by_division_and_team() -> None:
    from podium.domain.rollup import GroupTotals, with_headcounts

    roster = build_roster(
        [
            Participant("ann", "Ann", team="Red", division="North"),
            Participant("bob", "Bob", team="Red", division="North"),
            Participant("cy", "Cy", team="Blue", division="North", active=False),
            Participant("di", "Di", team="Loose"),
            Participant("ed", "Ed"),
        ]
    )
    assert roster.headcounts == {("north", "red"): 2, (None, "loose"): 1, (None, None): 1}
    assert roster.team_headcounts("north") == {"red": 2}
    assert roster.division_headcounts() == {"north": 2, None: 2}
    stored = {"red": GroupTotals(headcount=2, metrics={})}
    assert with_headcounts(stored, {"red": 2, "blue": 3}) == {"red": stored["red"], "blue": GroupTotals(headcount=3)}


def test_a_participant_keeps_every_placement_and_stands_where_they_were_at_an_instant() -> None:
    from datetime import UTC, datetime

    from podium.domain.roster import roster_as_of

    monday, wednesday, friday = (datetime(2026, 11, d, 9, tzinfo=UTC) for d in (23, 25, 27))
    ann = Participant("ann", "Ann", team="Red", division="North").placed(None, monday)
    moved = Participant("ann", "Ann", team="Blue", division="South").placed(ann, wednesday)
    renamed = Participant("ann", "Annie", team="Blue", division="South").placed(moved, friday)
    left = Participant("ann", "Annie", team="Blue", division="South", active=False).placed(renamed, friday)
    assert [h.team for h in renamed.history] == ["Red", "Blue"]  # a new name is not a new placement
    assert [(h.team, h.active) for h in left.history] == [("Red", True), ("Blue", True), ("Blue", False)]
    assert (left.as_of(wednesday).team, left.as_of(wednesday).active) == ("Red", True)  # just before the move
    assert (left.as_of(datetime(2026, 11, 26, tzinfo=UTC)).team, left.as_of(friday).active) == ("Blue", True)
    assert left.as_of(datetime(2026, 11, 1, tzinfo=UTC)).team == "Red"  # scores from before they joined
    assert left.as_of(datetime(2026, 12, 1, tzinfo=UTC)) is left
    assert roster_as_of([left], wednesday).team_members("red")[0].id == "ann"
    assert moved == Participant("ann", "Ann", team="Blue", division="South")  # history is not part of equality


def test_the_roster_before_a_team_changed_division_puts_later_joiners_where_the_team_was() -> None:
    from datetime import UTC, datetime

    from podium.domain.roster import roster_as_of

    monday, wednesday, friday = (datetime(2026, 11, d, 9, tzinfo=UTC) for d in (23, 25, 27))
    ann = Participant("ann", "Ann", team="Red", division="North").placed(None, monday)
    ann = Participant("ann", "Ann", team="Red", division="South").placed(ann, wednesday)  # Red moves to South
    bob = Participant("bob", "Bob", team="Red", division="South").placed(None, friday)  # joins Red afterwards
    tuesday = roster_as_of([ann, bob], datetime(2026, 11, 24, tzinfo=UTC))
    assert tuesday.teams["red"].parent == "north"
    assert sorted(p.id for p in tuesday.team_members("red")) == ["ann", "bob"]
    assert roster_as_of([ann, bob], None).teams["red"].parent == "south"
