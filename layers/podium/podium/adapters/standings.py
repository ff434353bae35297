"""Standings items: the aggregates the stream consumer keeps, each partitioned by its parent (single writer);
keys in podium.adapters.keys. A team board is one Query of its team partition; a division board one Query of its
division partition; everyone in a period is one Query of gsi1. Each item holds JSON: a participant's metric
values, or a group's rolled-up totals.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, PutError

from podium.adapters import keys
from podium.adapters.dynamodb import DynamoStore, Item, gsi1_index, participant_of, stored_submission_of
from podium.domain.rollup import GroupTotals, MetricTotals
from podium.domain.roster import Participant
from podium.domain.scoring import MetricValue
from podium.domain.standings import NO_GROUP, GroupLevel, GroupStanding, ParticipantStanding, RebuildRequest
from podium.domain.submissions import Submission


class StandingItem(Item):
    period = UnicodeAttribute()
    ref = UnicodeAttribute()
    name = UnicodeAttribute()
    team = UnicodeAttribute(null=True)
    division = UnicodeAttribute(null=True)
    headcount = NumberAttribute(null=True)
    data = JSONAttribute()
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    # The latest stream record (zero-padded sequence number) this item was computed from. A write from older
    # records, such as a slow invocation racing its own retry, is refused, so it cannot undo a newer one.
    watermark = UnicodeAttribute(null=True)
    by_period = gsi1_index()


class DynamoStandings:
    """The Standings port on the same table as the log (see podium.adapters.dynamodb)."""

    def __init__(self, store: DynamoStore) -> None:
        self.store = store
        self.items = store.bind(StandingItem)

    # --- a participant's log --------------------------------------------------------------------------------

    def participant_log(self, org: str, program: str, participant: str) -> tuple[Participant | None, list[Submission]]:
        """Membership and every submission of one participant: one consistent Query of their partition."""
        membership: Participant | None = None
        submissions: list[Submission] = []
        s = self.store
        for raw in s.query_partition(keys.participant_pk(org, program, participant)):
            sk = raw["sk"]["S"]
            if sk == keys.MEMBERSHIP_SK:
                membership = participant_of(s.memberships.from_raw_data(raw), participant)
            elif sk.startswith(keys.SUBMISSION_PREFIX):
                submissions.append(stored_submission_of(s.submissions.from_raw_data(raw)).submission)
        return membership, submissions

    def touch_pulse(self, org: str, program: str, changed: str, periods: Iterable[str] = ()) -> None:
        self.store.touch_pulse(org, program, changed, periods)

    def touch_memberships(
        self, org: str, program: str, people: Sequence[Participant], request: RebuildRequest, at: datetime
    ) -> None:
        self.store.touch_memberships(org, program, people, request, at)

    # --- participants in a period ---------------------------------------------------------------------------

    def get_participant_standing(
        self, org: str, program: str, team: str, period: str, participant: str
    ) -> ParticipantStanding | None:
        pk, sk = keys.participant_standing_key(org, program, team, period, participant)
        try:
            return _participant_standing(self.items.get(pk, sk, consistent_read=True))
        except self.items.DoesNotExist:
            return None

    def put_participant_standing(
        self, org: str, program: str, standing: ParticipantStanding, watermark: str | None = None
    ) -> None:
        pk, sk = keys.participant_standing_key(org, program, standing.team, standing.period, standing.participant)
        values = {k: [v.value, v.reached_at.isoformat(), v.count] for k, v in sorted(standing.values.items())}
        self._write(
            self.items(
                pk,
                sk,
                kind="participant_period",
                period=standing.period,
                ref=standing.participant,
                name=standing.name,
                team=standing.team,
                division=standing.division,
                data={
                    "values": values,
                    "rules": standing.rules,
                    **({"rebuilt": standing.rebuilt} if standing.rebuilt else {}),
                },
                gsi1pk=keys.period_gsi(org, program, standing.period),
                gsi1sk=standing.participant,
                watermark=watermark,
            ),
            watermark,
        )

    def delete_participant_standing(
        self, org: str, program: str, team: str, period: str, participant: str, watermark: str | None = None
    ) -> None:
        pk, sk = keys.participant_standing_key(org, program, team, period, participant)
        self._write(self.items(pk, sk), watermark, delete=True)

    def _write(self, item: StandingItem, watermark: str | None, *, delete: bool = False) -> bool:
        """Save or delete unless the stored item was computed from newer records; False when refused."""
        condition = None
        if watermark is not None:
            condition = self.items.watermark.does_not_exist() | (self.items.watermark <= watermark)
        try:
            if delete:
                item.delete(condition=condition)
            else:
                item.save(condition=condition)
        except (PutError, DeleteError) as e:
            if e.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def team_standings(self, org: str, program: str, team: str, period: str) -> list[ParticipantStanding]:
        items = self.items.query(
            keys.team_pk(org, program, team),
            self.items.sk.startswith(keys.participant_standings_prefix(period)),
            consistent_read=True,
        )
        return [_participant_standing(i) for i in items]

    def find_participant_standing(
        self, org: str, program: str, period: str, participant: str
    ) -> ParticipantStanding | None:
        """A participant's standing in a period, in whichever team it was placed: one Query of the sparse index."""
        gsi = keys.period_gsi(org, program, period)
        for item in self.items.by_period.query(gsi, self.items.gsi1sk == participant):
            return _participant_standing(item)
        return None

    def everyone(self, org: str, program: str, period: str) -> list[ParticipantStanding]:
        """Every participant standing of a program in a period: one Query of the sparse index."""
        return [_participant_standing(i) for i in self.items.by_period.query(keys.period_gsi(org, program, period))]

    # --- groups in a period ---------------------------------------------------------------------------------

    def get_group(
        self, org: str, program: str, level: GroupLevel, ref: str, parent: str, period: str
    ) -> GroupStanding | None:
        pk, sk = keys.group_standing_key(org, program, level, ref, parent, period)
        try:
            return _group(self.items.get(pk, sk, consistent_read=True))
        except self.items.DoesNotExist:
            return None

    def put_group(self, org: str, program: str, group: GroupStanding, watermark: str | None = None) -> None:
        pk, sk = keys.group_standing_key(org, program, group.level, group.ref, group.parent, group.period)
        self._write(
            self.items(
                pk,
                sk,
                kind=f"{group.level}_period",
                period=group.period,
                ref=group.ref,
                name=group.name,
                division=group.parent if group.level is GroupLevel.TEAM else None,
                headcount=group.totals.headcount,
                data={"totals": _totals_json(group.totals)},
                watermark=watermark,
            ),
            watermark,
        )

    def delete_group(
        self,
        org: str,
        program: str,
        level: GroupLevel,
        ref: str,
        parent: str,
        period: str,
        watermark: str | None = None,
    ) -> None:
        pk, sk = keys.group_standing_key(org, program, level, ref, parent, period)
        self._write(self.items(pk, sk), watermark, delete=True)

    def division_teams(self, org: str, program: str, division: str, period: str) -> list[GroupStanding]:
        items = self.items.query(
            keys.division_pk(org, program, division),
            self.items.sk.startswith(keys.team_standings_prefix(period)),
            consistent_read=True,
        )
        return [_group(i) for i in items]

    def divisions(self, org: str, program: str, period: str) -> list[GroupStanding]:
        items = self.items.query(
            keys.divisions_pk(org, program),
            self.items.sk.startswith(keys.division_standings_prefix(period)),
            consistent_read=True,
        )
        return [_group(i) for i in items]


def _data(item: StandingItem) -> Any:
    return item.data if not isinstance(item.data, str) else json.loads(item.data)


def _participant_standing(item: StandingItem) -> ParticipantStanding:
    data = _data(item)
    return ParticipantStanding(
        participant=item.ref,
        name=item.name,
        team=item.team or NO_GROUP,
        division=item.division or NO_GROUP,
        period=item.period,
        values={
            k: MetricValue(float(v), datetime.fromisoformat(at), int(n)) for k, (v, at, n) in data["values"].items()
        },
        rules=int(data.get("rules", 0)),
        rebuilt=str(data.get("rebuilt", "")),
    )


def _totals_json(totals: GroupTotals) -> dict[str, list[Any]]:
    return {
        k: [t.value_sum, t.points_sum, t.contributors, t.reached_at.isoformat() if t.reached_at else None]
        for k, t in sorted(totals.metrics.items())
    }


def _group(item: StandingItem) -> GroupStanding:
    level = GroupLevel(item.kind.removesuffix("_period"))
    metrics = {
        k: MetricTotals(float(v), float(p), int(c), datetime.fromisoformat(at) if at else None)
        for k, (v, p, c, at) in _data(item)["totals"].items()
    }
    parent = item.division or NO_GROUP if level is GroupLevel.TEAM else ""
    totals = GroupTotals(int(item.headcount or 0), metrics)
    return GroupStanding(level, item.ref, item.name, parent, item.period, totals)
