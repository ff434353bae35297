"""Ranking with the three tie rules, and movement between two boards.

Equal ranks are listed in a stable, documented order: by name (case-insensitive), then by id.
Scores are compared after rounding to POINTS_DECIMALS, so 0.1 + 0.2 ties with 0.3.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from podium.domain.program import Order, TieRule

POINTS_DECIMALS = 4
T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """What ranking needs to know about one competitor. `score` None means no value: ranked after everyone."""

    item: T
    id: str
    name: str
    score: float | None
    reached_at: datetime | None = None


def rank(entries: Sequence[Entry[T]], *, order: Order, ties: TieRule) -> list[tuple[int, Entry[T]]]:
    """Rank entries, best first.

    - competition: rank = 1 + the number of entries strictly better;
    - dense: rank = 1 + the number of distinct better scores;
    - first_to_reach: among equal scores the one that reached it earlier is better; equal times share a rank.
    Entries without a score all share the rank after the last scored entry.
    """

    def score_key(e: Entry[T]) -> tuple[int, float]:
        if e.score is None:
            return (1, 0.0)
        s = round(e.score, POINTS_DECIMALS)
        return (0, -s if order is Order.DESC else s)

    def full_key(e: Entry[T]) -> tuple[int, float, datetime | None]:
        k = score_key(e)
        if ties is TieRule.FIRST_TO_REACH and e.score is not None:
            return (*k, e.reached_at)
        return (*k, None)

    ordered = sorted(entries, key=lambda e: (_sortable(full_key(e)), e.name.casefold(), e.id))
    result: list[tuple[int, Entry[T]]] = []
    previous_key: object = object()
    previous_score: object = object()
    current_rank = 0
    distinct_scores = 0
    for position, e in enumerate(ordered, start=1):
        k = full_key(e)
        sk = score_key(e)
        if sk != previous_score:
            distinct_scores += 1
        if k != previous_key:
            current_rank = distinct_scores if ties is TieRule.DENSE else position
        previous_key, previous_score = k, sk
        result.append((current_rank, e))
    return result


def _sortable(key: tuple[int, float, datetime | None]) -> tuple[int, float, int, float]:
    missing, score, reached = key
    # None reach times (or no first_to_reach) sort after real times and compare equal to each other.
    return (missing, score, 1 if reached is None else 0, reached.timestamp() if reached else 0.0)


def movement(previous: Mapping[str, int], current: Mapping[str, int]) -> dict[str, int | None]:
    """Places gained since the previous board (positive is up), or None for an entry that is new on this board."""
    return {i: (previous[i] - r if i in previous else None) for i, r in current.items()}


def ranks_by_id(ranked: Sequence[tuple[int, Entry[T]]]) -> dict[str, int]:
    return {e.id: r for r, e in ranked}
