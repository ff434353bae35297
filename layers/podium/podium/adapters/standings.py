"""Standings items: the aggregates the stream consumer keeps, each partitioned by its parent (single writer).

- participant in period: pk `O#{org}#PROG#{p}#T#{team}`, sk `PP#{period}#{person}`; on the sparse index gsi1
  as `O#{org}#PROG#{p}#PER#{period}` / `{person}`, so everyone in a period is one Query;
- team in period: pk `O#{org}#PROG#{p}#D#{division}`, sk `TP#{period}#{team}`;
- division in period: pk `O#{org}#PROG#{p}#DIVS`, sk `DP#{period}#{division}`;
- program in period: pk `O#{org}#STANDINGS`, sk `PRP#{p}#{period}`.

People without a team sit in team `-`, teams without a division in division `-`. A team board is one Query of
its team partition; a division board one Query of its division partition; everyone in a period is one Query of
gsi1. Each item holds JSON: a participant's metric values, or a group's rolled-up totals.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, PutError

from podium.adapters.dynamodb import DynamoStore, _bind, _Item, _participant, _stored, gsi1_index, person_pk
from podium.domain.rollup import GroupTotals, MetricTotals
from podium.domain.roster import Participant
from podium.domain.scoring import MetricValue
from podium.domain.submissions import Submission

NO_GROUP = "-"


@dataclass(frozen=True)
class PersonPeriod:
    person: str
    name: str
    team: str  # team id, or "-"
    division: str  # division id, or "-"
    period: str
    values: dict[str, MetricValue]
    # The program version the item was computed under: new rules change the item, so its team recomputes too.
    rules: int = 0
    # The `podium rebuild` that last wrote it: a rebuild rewrites every item, so every team above recomputes too.
    rebuilt: str = ""


@dataclass(frozen=True)
class GroupPeriod:
    level: str  # team | division | program
    ref: str  # team id, division id, or program id
    name: str
    parent: str  # a team's division, a division's program
    period: str
    totals: GroupTotals


class StandingItem(_Item):
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


def team_pk(org: str, program: str, team: str) -> str:
    return f"O#{org}#PROG#{program}#T#{team}"


def division_pk(org: str, program: str, division: str) -> str:
    return f"O#{org}#PROG#{program}#D#{division}"


def divisions_pk(org: str, program: str) -> str:
    return f"O#{org}#PROG#{program}#DIVS"


def programs_pk(org: str) -> str:
    return f"O#{org}#STANDINGS"


def period_gsi(org: str, program: str, period: str) -> str:
    return f"O#{org}#PROG#{program}#PER#{period}"


class DynamoStandings:
    """The aggregates, on the same table as the log (see podium.adapters.dynamodb)."""

    def __init__(self, store: DynamoStore) -> None:
        self.store = store
        self.items = _bind(StandingItem, store.table, store.region, store.host)
        store.share_connection(self.items)

    # --- a participant's log --------------------------------------------------------------------------------

    def person_log(self, org: str, program: str, person: str) -> tuple[Participant | None, list[Submission]]:
        """Membership and every submission of one person: one consistent Query of their partition."""
        membership: Participant | None = None
        submissions: list[Submission] = []
        s = self.store
        connection = s.submissions._get_connection()
        start: Any = None
        while True:
            page = connection.query(person_pk(org, program, person), consistent_read=True, exclusive_start_key=start)
            for raw in page.get("Items", []):
                sk = raw["sk"]["S"]
                if sk == "M":
                    membership = _participant(s.memberships.from_raw_data(raw), person)
                elif sk.startswith("S#"):
                    submissions.append(_stored(s.submissions.from_raw_data(raw)).submission)
            start = page.get("LastEvaluatedKey")
            if not start:
                return membership, submissions

    def touch_memberships(
        self, org: str, program: str, people: Sequence[Participant], period: str, at: datetime
    ) -> None:
        self.store.touch_memberships(org, program, people, period, at)

    # --- participants in a period ---------------------------------------------------------------------------

    def get_person_periods(
        self, org: str, program: str, keys: Iterable[tuple[str, str, str]]
    ) -> dict[Any, PersonPeriod]:
        """By (team, period, person)."""
        wanted = {(team_pk(org, program, t), f"PP#{p}#{person}"): (t, p, person) for t, p, person in keys}
        found = {}
        for item in self.items.batch_get(list(wanted), consistent_read=True) if wanted else []:
            found[wanted[(item.pk, item.sk)]] = _person_period(item)
        return found

    def put_person_period(self, org: str, program: str, pp: PersonPeriod, watermark: str | None = None) -> None:
        self._write(
            self.items(
                team_pk(org, program, pp.team),
                f"PP#{pp.period}#{pp.person}",
                kind="participant_period",
                period=pp.period,
                ref=pp.person,
                name=pp.name,
                team=pp.team,
                division=pp.division,
                data={
                    "values": {k: [v.value, v.reached_at.isoformat(), v.count] for k, v in sorted(pp.values.items())},
                    "rules": pp.rules,
                    **({"rebuilt": pp.rebuilt} if pp.rebuilt else {}),
                },
                gsi1pk=period_gsi(org, program, pp.period),
                gsi1sk=pp.person,
                watermark=watermark,
            ),
            watermark,
        )

    def delete_person_period(
        self, org: str, program: str, team: str, period: str, person: str, watermark: str | None = None
    ) -> None:
        self._write(self.items(team_pk(org, program, team), f"PP#{period}#{person}"), watermark, delete=True)

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

    def team_people(self, org: str, program: str, team: str, period: str) -> list[PersonPeriod]:
        items = self.items.query(
            team_pk(org, program, team), self.items.sk.startswith(f"PP#{period}#"), consistent_read=True
        )
        return [_person_period(i) for i in items]

    def find_person_period(self, org: str, program: str, period: str, person: str) -> PersonPeriod | None:
        """A person's item in a period, in whichever team it was placed: one Query of the sparse index."""
        for item in self.items.by_period.query(period_gsi(org, program, period), self.items.gsi1sk == person):
            return _person_period(item)
        return None

    def everyone(self, org: str, program: str, period: str) -> list[PersonPeriod]:
        """Every participant item of a program in a period: one Query of the sparse index."""
        return [_person_period(i) for i in self.items.by_period.query(period_gsi(org, program, period))]

    # --- groups in a period ---------------------------------------------------------------------------------

    def _group_key(self, org: str, program: str, g: GroupPeriod | tuple[str, str, str, str]) -> tuple[str, str]:
        level, ref, parent, period = (g.level, g.ref, g.parent, g.period) if isinstance(g, GroupPeriod) else g
        if level == "team":
            return division_pk(org, program, parent), f"TP#{period}#{ref}"
        if level == "division":
            return divisions_pk(org, program), f"DP#{period}#{ref}"
        return programs_pk(org), f"PRP#{program}#{period}"

    def get_group(self, org: str, program: str, level: str, ref: str, parent: str, period: str) -> GroupPeriod | None:
        pk, sk = self._group_key(org, program, (level, ref, parent, period))
        try:
            return _group(self.items.get(pk, sk, consistent_read=True))
        except self.items.DoesNotExist:
            return None

    def put_group(self, org: str, program: str, g: GroupPeriod, watermark: str | None = None) -> None:
        pk, sk = self._group_key(org, program, g)
        self._write(
            self.items(
                pk,
                sk,
                kind=f"{g.level}_period",
                period=g.period,
                ref=g.ref,
                name=g.name,
                division=g.parent if g.level == "team" else None,
                headcount=g.totals.headcount,
                data={"totals": _totals_json(g.totals)},
                watermark=watermark,
            ),
            watermark,
        )

    def delete_group(
        self, org: str, program: str, level: str, ref: str, parent: str, period: str, watermark: str | None = None
    ) -> None:
        pk, sk = self._group_key(org, program, (level, ref, parent, period))
        self._write(self.items(pk, sk), watermark, delete=True)

    def division_teams(self, org: str, program: str, division: str, period: str) -> list[GroupPeriod]:
        items = self.items.query(
            division_pk(org, program, division), self.items.sk.startswith(f"TP#{period}#"), consistent_read=True
        )
        return [_group(i) for i in items]

    def divisions(self, org: str, program: str, period: str) -> list[GroupPeriod]:
        items = self.items.query(
            divisions_pk(org, program), self.items.sk.startswith(f"DP#{period}#"), consistent_read=True
        )
        return [_group(i) for i in items]


def _person_period(item: StandingItem) -> PersonPeriod:
    data = item.data if not isinstance(item.data, str) else json.loads(item.data)
    return PersonPeriod(
        person=item.ref,
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


def _group(item: StandingItem) -> GroupPeriod:
    data = item.data if not isinstance(item.data, str) else json.loads(item.data)
    level = item.kind.removesuffix("_period")
    metrics = {
        k: MetricTotals(float(v), float(p), int(c), datetime.fromisoformat(at) if at else None)
        for k, (v, p, c, at) in data["totals"].items()
    }
    parent = item.division or NO_GROUP if level == "team" else ""
    return GroupPeriod(level, item.ref, item.name, parent, item.period, GroupTotals(int(item.headcount or 0), metrics))
