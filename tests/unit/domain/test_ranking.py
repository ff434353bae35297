"""Ranking: the three tie rules, asc/desc, the order of equal ranks, and movement."""

from datetime import UTC, datetime, timedelta

from podium.domain.program import Order, TieRule
from podium.domain.ranking import Entry, movement, rank

T0 = datetime(2026, 11, 23, tzinfo=UTC)


def entries(*scores, reached=None):
    names = "abcdefgh"
    return [
        Entry(names[i], names[i], names[i].upper(), s, T0 + timedelta(hours=(reached or {}).get(names[i], 0)))
        for i, s in enumerate(scores)
    ]


def ranked(es, order=Order.DESC, ties=TieRule.COMPETITION):
    return [(r, e.id) for r, e in rank(es, order=order, ties=ties)]


def test_competition_ties_share_a_rank_and_skip_the_next():
    assert ranked(entries(10, 20, 20, 5)) == [(1, "b"), (1, "c"), (3, "a"), (4, "d")]


def test_dense_ties_share_a_rank_and_skip_nothing():
    assert ranked(entries(10, 20, 20, 5), ties=TieRule.DENSE) == [(1, "b"), (1, "c"), (2, "a"), (3, "d")]


def test_first_to_reach_ranks_equal_scores_by_who_got_there_first():
    es = entries(20, 20, 20, 5, reached={"a": 5, "b": 1, "c": 5})
    assert ranked(es, ties=TieRule.FIRST_TO_REACH) == [(1, "b"), (2, "a"), (2, "c"), (4, "d")]


def test_asc_ranks_the_lowest_first():
    assert ranked(entries(10, 3, 7), order=Order.ASC) == [(1, "b"), (2, "c"), (3, "a")]


def test_entries_without_a_score_share_the_last_rank():
    assert ranked(entries(None, 3, None)) == [(1, "b"), (2, "a"), (2, "c")]
    assert ranked(entries(None, 3, None), order=Order.ASC) == [(1, "b"), (2, "a"), (2, "c")]


def test_equal_ranks_are_listed_by_name_then_id():
    es = [Entry(1, "z", "Ann", 5.0), Entry(2, "y", "bob", 5.0), Entry(3, "x", "ann", 5.0)]
    assert [e.id for _, e in rank(es, order=Order.DESC, ties=TieRule.COMPETITION)] == ["x", "z", "y"]


def test_scores_equal_to_four_decimals_tie():
    es = [Entry(1, "a", "A", 0.1 + 0.2), Entry(2, "b", "B", 0.3)]
    assert [r for r, _ in rank(es, order=Order.DESC, ties=TieRule.COMPETITION)] == [1, 1]


def test_movement_is_places_gained_and_none_for_newcomers():
    assert movement({"a": 1, "b": 2, "c": 3}, {"c": 1, "a": 2, "b": 3, "d": 4}) == {"c": 2, "a": -1, "b": -1, "d": None}
