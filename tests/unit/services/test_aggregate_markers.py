"""Which periods a membership change asks the aggregator to recompute (no AWS: in-memory fakes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from podium.domain.roster import Participant
from podium.domain.submissions import Submission
from podium.services.aggregate import EVERY_PERIOD, Change, recompute
from podium.services.ports import ProgramRecord

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
PROGRAM = {"id": "p", "name": "P", "timezone": "UTC", "period": "week", "metrics": [{"key": "calls"}]}
ANN = Participant("ann", "Ann", team="Red", division="North")
LOG = [
    Submission("s1", "ann", NOW - timedelta(weeks=3), {"calls": 1}),
    Submission("s2", "ann", NOW - timedelta(weeks=1), {"calls": 2}),
    Submission("s3", "ann", NOW, {"calls": 3}),
]


class Catalog:
    def get_program(self, org: str, program_id: str) -> ProgramRecord:
        return ProgramRecord(org, program_id, PROGRAM, 2, NOW, NOW)

    def list_participants(self, org: str, program_id: str) -> list[Participant]:
        return [ANN]


class Standings:
    """Records the participant periods written; holds nothing, so every wanted item is a write."""

    def __init__(self) -> None:
        self.written: list[str] = []

    def person_log(self, org: str, program: str, person: str) -> tuple[Participant, list[Submission]]:
        return ANN, LOG

    def get_person_periods(self, *args: Any) -> dict[Any, Any]:
        return {}

    def find_person_period(self, *args: Any) -> None:
        return None

    def put_person_period(self, org: str, program: str, pp: Any, watermark: str | None = None) -> None:
        self.written.append(pp.period)


def membership(rebuild: str | None, touched: str | None, before: tuple[str | None, str | None]) -> Change:
    def image(period: str | None, at: str | None) -> dict[str, Any]:
        return {"team": "Red", "division": "North", "active": True, "rebuild_period": period, "touched_at": at}

    return Change("1", "MODIFY", {"pk": "O#o#PROG#p#P#ann", "sk": "M"}, image(rebuild, touched), image(*before))


def periods_recomputed(change: Change) -> list[str]:
    standings = Standings()
    assert recompute([change], standings, Catalog(), NOW) == []  # type: ignore[arg-type]
    return sorted(standings.written)


def test_new_rules_recompute_every_period_the_person_has_scores_in() -> None:
    assert periods_recomputed(membership(EVERY_PERIOD, "t2", (None, None))) == ["2026-W45", "2026-W47", "2026-W48"]


def test_a_rebuild_marker_asks_for_its_period_and_the_current_one() -> None:
    assert periods_recomputed(membership("2026-W45", "t2", (None, None))) == ["2026-W45", "2026-W48"]


def test_a_roster_change_after_a_rebuild_does_not_repeat_it() -> None:
    # The marker is still on the item; only a new marker (another time or period) asks again.
    assert periods_recomputed(membership(EVERY_PERIOD, "t2", (EVERY_PERIOD, "t2"))) == ["2026-W48"]
    assert periods_recomputed(membership("2026-W45", "t3", ("2026-W45", "t2"))) == ["2026-W45", "2026-W48"]
