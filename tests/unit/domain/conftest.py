"""Small builders shared by the domain tests."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from podium.domain.program import Program, program_from_dict
from podium.domain.roster import Participant, Roster, build_roster
from podium.domain.submissions import Submission

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 2026-W48


def program(*metrics: dict, **fields) -> Program:
    return program_from_dict({"id": "test", "metrics": list(metrics), **fields})


def roster(*people: tuple[str, str | None, str | None]) -> Roster:
    """(id, team, division) triples; the name is the id upper-cased."""
    return build_roster(Participant(pid, pid.upper(), team=team, division=div) for pid, team, div in people)


class Log:
    """Builds submissions with unique ids and increasing times."""

    def __init__(self) -> None:
        self.items: list[Submission] = []
        self._ids = count(1)

    def add(
        self,
        participant: str,
        values: dict[str, float] | None = None,
        *,
        at: datetime | None = None,
        hours: float | None = None,
        voids: str | None = None,
        sid: str | None = None,
    ) -> Submission:
        n = next(self._ids)
        when = at or MONDAY + timedelta(hours=hours if hours is not None else n)
        s = Submission(sid or f"s{n}", participant, when, values or {}, voids)
        self.items.append(s)
        return s

    def __iter__(self):
        return iter(self.items)


@pytest.fixture
def log() -> Log:
    return Log()


def points(board, attribute: str = "points") -> dict[str, float]:
    return {s.id: round(getattr(s, attribute), 4) for s in board.standings}


def ranks(board) -> list[tuple[int, str]]:
    return [(s.rank, s.id) for s in board.standings]


def metric_points(board, key: str) -> dict[str, float]:
    return {s.id: round(s.metrics[key].points, 4) for s in board.standings}


def metric_values(board, key: str) -> dict[str, float | None]:
    return {s.id: (None if s.metrics[key].value is None else round(s.metrics[key].value, 4)) for s in board.standings}


def ids(items: Sequence) -> list[str]:
    return [i.id for i in items]
