"""Which periods a membership change asks the aggregator to recompute (no AWS: in-memory fakes; the marks are
decoded from stream images the way the stream adapter does)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from podium.adapters.keys import EVERY_PERIOD, participant_pk
from podium.adapters.streams import events_from_stream
from podium.domain.events import StandingsEvent
from podium.domain.roster import Participant
from podium.domain.standings import ParticipantStanding
from podium.domain.submissions import Submission
from podium.services.aggregate import recompute
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

    def participant_log(self, org: str, program: str, participant: str) -> tuple[Participant, list[Submission]]:
        return ANN, LOG

    def get_participant_standing(self, *args: Any) -> None:
        return None

    def find_participant_standing(self, *args: Any) -> None:
        return None

    def put_participant_standing(
        self, org: str, program: str, standing: ParticipantStanding, watermark: str | None = None
    ) -> None:
        self.written.append(standing.period)

    def touch_pulse(self, org: str, program: str, changed: str, periods: Any = ()) -> None:
        self.pulse = changed


def membership(rebuild: str | None, touched: str | None, before: tuple[str | None, str | None]) -> StandingsEvent:
    def image(period: str | None, at: str | None) -> dict[str, Any]:
        image = {"team": {"S": "Red"}, "division": {"S": "North"}, "active": {"BOOL": True}}
        if period:
            image["rebuild_period"] = {"S": period}
        if at:
            image["touched_at"] = {"S": at}
        return image

    keys = {"pk": {"S": participant_pk("o", "p", "ann")}, "sk": {"S": "M"}}
    record = {"NewImage": image(rebuild, touched), "OldImage": image(*before), "Keys": keys, "SequenceNumber": "1"}
    (event,) = events_from_stream({"Records": [{"eventName": "MODIFY", "dynamodb": record}]})
    return event


T2, T3 = "2026-11-25T11:00:00.000000+0000", "2026-11-25T11:30:00.000000+0000"


def periods_recomputed(event: StandingsEvent) -> list[str]:
    standings = Standings()
    assert recompute([event], standings, Catalog(), NOW) == []  # type: ignore[arg-type]
    return sorted(standings.written)


def test_new_rules_recompute_every_period_the_person_has_scores_in() -> None:
    assert periods_recomputed(membership(EVERY_PERIOD, T2, (None, None))) == ["2026-W45", "2026-W47", "2026-W48"]


def test_a_rebuild_marker_asks_for_its_period_and_the_current_one() -> None:
    assert periods_recomputed(membership("2026-W45", T2, (None, None))) == ["2026-W45", "2026-W48"]


def test_a_roster_change_after_a_rebuild_does_not_repeat_it() -> None:
    # The marker is still on the item; only a new marker (another time or period) asks again.
    assert periods_recomputed(membership(EVERY_PERIOD, T2, (EVERY_PERIOD, T2))) == ["2026-W48"]
    assert periods_recomputed(membership("2026-W45", T3, ("2026-W45", T2))) == ["2026-W45", "2026-W48"]
