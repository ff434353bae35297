"""The aggregator's ports in memory, with a stream: the cascade runs in-process, in milliseconds.

`MemoryTable` keeps programs, rosters, logs and standings as domain values and implements the Catalog and
Standings ports (and the parts of Store the aggregator, `podium verify` and the tests write through). Every write
that changes something appends the event DynamoDB's stream would carry for it, with the same rules:
- no event for a write that changes nothing, or a delete of nothing;
- a write refused by its watermark (computed from older records than the stored standing) changes nothing;
- order is kept per partition (the parent of each standing), like a stream shard.
`MemoryStream` delivers those events to `recompute` in batches the way Lambda does: a batch that reports failures
is retried from the first failed record, up to a retry limit, then parked.

It is a twin of the DynamoDB adapters for tests and benchmarks, not shipped in the Lambda layer.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import count
from typing import Any

from podium.domain.bulletins import BoardMarks, address_hash
from podium.domain.events import (
    DivisionStandingChanged,
    LogChanged,
    MembershipChanged,
    ParticipantStandingChanged,
    Placed,
    RulesChanged,
    StandingsEvent,
    TeamStandingChanged,
)
from podium.domain.roster import Participant
from podium.domain.standings import (
    DivisionPeriod,
    GroupLevel,
    GroupStanding,
    ParticipantRef,
    ParticipantStanding,
    ProgramPeriod,
    ProgramRef,
    RebuildRequest,
    TeamPeriod,
)
from podium.domain.submissions import Submission
from podium.services.aggregate import recompute
from podium.services.ports import (
    BulletinRecord,
    BulletinState,
    ProgramRecord,
    Pulse,
    PutOutcome,
    Send,
    SendState,
    StoredSubmission,
)

GroupKey = tuple[str, str, GroupLevel, str, str, str]  # org, program, level, ref, parent, period


@dataclass
class _Membership:
    participant: Participant
    mark: RebuildRequest | None = None
    marked_at: datetime | None = None


@dataclass
class MemoryTable:
    """Programs, rosters, logs and standings of any number of organisations, in memory."""

    programs: dict[ProgramRef, ProgramRecord] = field(default_factory=dict)
    roster: dict[ProgramRef, dict[str, Participant]] = field(default_factory=dict)
    memberships: dict[ParticipantRef, _Membership] = field(default_factory=dict)
    logs: dict[ParticipantRef, dict[str, StoredSubmission]] = field(default_factory=dict)
    claims: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (org, program, id) -> participant
    participant_standings: dict[tuple[str, str, str, str, str], tuple[ParticipantStanding, str | None]] = field(
        default_factory=dict
    )
    # The standings' keys by team, by participant and by period, as DynamoDB's key and queries find them: a scan
    # of every standing on each read makes a 25,000-participant cascade quadratic.
    _by_team: dict[tuple[str, str, str, str], set[str]] = field(default_factory=dict, repr=False, compare=False)
    _by_who: dict[tuple[str, str, str, str], set[str]] = field(default_factory=dict, repr=False, compare=False)
    _by_period: dict[tuple[str, str, str], set[tuple[str, str]]] = field(
        default_factory=dict, repr=False, compare=False
    )
    groups: dict[GroupKey, tuple[GroupStanding, str | None]] = field(default_factory=dict)
    events: list[StandingsEvent] = field(default_factory=list)
    pulses: dict[ProgramRef, Pulse] = field(default_factory=dict)
    _sequence: Any = field(default_factory=lambda: count(1))

    def _emit(self, event: StandingsEvent) -> None:
        """Append a stream record: the event as written, with the next sequence number."""
        self.events.append(replace(event, sequence=str(next(self._sequence))))

    # --- Catalog, and the Store writes the tests and services make ------------------------------------------

    def get_program(self, org: str, program_id: str) -> ProgramRecord | None:
        return self.programs.get(ProgramRef(org, program_id))

    def save_program(self, record: ProgramRecord) -> None:
        ref = ProgramRef(record.org, record.id)
        old = self.programs.get(ref)
        self.programs[ref] = record
        self.pulses[ref] = replace(
            self.pulses.get(ref, Pulse()),
            version=record.version,
            visibility=record.program.visibility.value,
            read_hash=record.token_hashes.get("read", ""),
            changed=f"rules:{record.version}",
        )
        if old is not None and old.document != record.document:
            document = copy.deepcopy(old.document)
            self._emit(RulesChanged("", ref, document))

    def get_pulse(self, org: str, program_id: str) -> Pulse | None:
        return self.pulses.get(ProgramRef(org, program_id))

    def touch_pulse(self, org: str, program: str, changed: str, periods: Iterable[str] = ()) -> None:
        ref = ProgramRef(org, program)
        pulse = self.pulses.get(ref, Pulse())
        self.pulses[ref] = replace(pulse, changed=changed, periods=pulse.periods | frozenset(periods))

    def list_participants(self, org: str, program_id: str) -> list[Participant]:
        return sorted(self.roster.get(ProgramRef(org, program_id), {}).values(), key=lambda p: p.id)

    def get_participants(self, org: str, program_id: str, ids: Iterable[str]) -> list[Participant]:
        roster = self.roster.get(ProgramRef(org, program_id), {})
        return [roster[i] for i in dict.fromkeys(ids) if i in roster]

    def save_participants(self, org: str, program_id: str, people: Iterable[Participant], at: datetime) -> None:
        """Roster rows and their membership mirrors, as DynamoStore writes them (history already placed)."""
        roster = self.roster.setdefault(ProgramRef(org, program_id), {})
        for p in people:
            roster[p.id] = p
            ref = ParticipantRef(org, program_id, p.id)
            was = self.memberships.get(ref)
            self.memberships[ref] = _Membership(p, was.mark if was else None, was.marked_at if was else None)
            if was is not None and _same_record(was.participant, p):
                continue  # DynamoDB writes no stream record for an item that did not change
            before = _placed(was.participant) if was else None
            self._emit(MembershipChanged("", ref, before, _placed(p), at))

    def touch_memberships(
        self, org: str, program_id: str, people: Sequence[Participant], request: RebuildRequest, at: datetime
    ) -> None:
        for p in people:
            ref = ParticipantRef(org, program_id, p.id)
            was = self.memberships.get(ref)
            if was is None:  # as DynamoStore does: no mirror yet, so the roster row is written
                self.save_participants(org, program_id, [p], at)
                continue
            if (was.mark, was.marked_at) == (request, at):
                continue
            was.mark, was.marked_at = request, at
            placed = _placed(was.participant)
            self._emit(MembershipChanged("", ref, placed, placed, rebuild=request, marked_at=at))

    def put_submissions(self, org: str, program_id: str, items: Sequence[StoredSubmission]) -> list[PutOutcome]:
        outcomes = []
        for stored in items:
            s = stored.submission
            if stored.claim:  # as DynamoStore does: a sender-chosen id belongs to one participant in the program
                owner = self.claims.setdefault((org, program_id, s.id), s.participant)
                if owner != s.participant:
                    outcomes.append(PutOutcome.CONFLICT)
                    continue
            ref = ParticipantRef(org, program_id, s.participant)
            log = self.logs.setdefault(ref, {})
            have = log.get(s.id)
            if have is not None:
                outcomes.append(PutOutcome.DUPLICATE if have.same_content(stored) else PutOutcome.CONFLICT)
                continue
            log[s.id] = stored
            voids = (s.voids,) if s.voids else ()
            self._emit(LogChanged("", ref, (s.at,), voids))
            outcomes.append(PutOutcome.CREATED)
        return outcomes

    def list_submissions(self, org: str, program_id: str, participant: str) -> list[StoredSubmission]:
        return list(self.logs.get(ParticipantRef(org, program_id, participant), {}).values())

    # --- Standings --------------------------------------------------------------------------------------------

    def participant_log(self, org: str, program: str, participant: str) -> tuple[Participant | None, list[Submission]]:
        ref = ParticipantRef(org, program, participant)
        membership = self.memberships.get(ref)
        log = [s.submission for s in self.logs.get(ref, {}).values()]
        return (membership.participant if membership else None), log

    def get_participant_standing(
        self, org: str, program: str, team: str, period: str, participant: str
    ) -> ParticipantStanding | None:
        found = self.participant_standings.get((org, program, team, period, participant))
        return found[0] if found else None

    def find_participant_standing(
        self, org: str, program: str, period: str, participant: str
    ) -> ParticipantStanding | None:
        teams = sorted(self._by_who.get((org, program, period, participant), ()))
        return self.participant_standings[(org, program, teams[0], period, participant)][0] if teams else None

    def _indexed(self, org: str, program: str, team: str, period: str, participant: str) -> None:
        held = (org, program, team, period, participant) in self.participant_standings
        entries: list[tuple[dict[Any, set[Any]], tuple[str, ...], Any]] = [
            (self._by_team, (org, program, team, period), participant),
            (self._by_who, (org, program, period, participant), team),
            (self._by_period, (org, program, period), (team, participant)),
        ]
        for index, key, item in entries:
            found = index.setdefault(key, set())
            if held:
                found.add(item)
            else:
                found.discard(item)

    def put_participant_standing(
        self, org: str, program: str, standing: ParticipantStanding, watermark: str | None = None
    ) -> None:
        key = (org, program, standing.team, standing.period, standing.participant)
        old = self.participant_standings.get(key)
        if _refused(old, watermark) or old == (standing, watermark):
            return
        self.participant_standings[key] = (standing, watermark)
        self._indexed(*key)
        divisions = frozenset(d for d in (standing.division, old[0].division if old else "") if d)
        team = TeamPeriod(org, program, standing.team, standing.period)
        self._emit(ParticipantStandingChanged("", team, divisions))

    def delete_participant_standing(
        self, org: str, program: str, team: str, period: str, participant: str, watermark: str | None = None
    ) -> None:
        key = (org, program, team, period, participant)
        old = self.participant_standings.get(key)
        if old is None or _refused(old, watermark):
            return
        del self.participant_standings[key]
        self._indexed(*key)
        divisions = frozenset({old[0].division} - {""})
        ref = TeamPeriod(org, program, team, period)
        self._emit(ParticipantStandingChanged("", ref, divisions))

    def team_standings(self, org: str, program: str, team: str, period: str) -> list[ParticipantStanding]:
        who = sorted(self._by_team.get((org, program, team, period), ()))
        return [self.participant_standings[(org, program, team, period, w)][0] for w in who]

    def everyone(self, org: str, program: str, period: str) -> list[ParticipantStanding]:
        held = sorted(self._by_period.get((org, program, period), ()))
        return [self.participant_standings[(org, program, t, period, w)][0] for t, w in held]

    def get_group(
        self, org: str, program: str, level: GroupLevel, ref: str, parent: str, period: str
    ) -> GroupStanding | None:
        found = self.groups.get(_group_key(org, program, level, ref, parent, period))
        return found[0] if found else None

    def put_group(self, org: str, program: str, group: GroupStanding, watermark: str | None = None) -> None:
        key = _group_key(org, program, group.level, group.ref, group.parent, group.period)
        old = self.groups.get(key)
        if _refused(old, watermark) or old == (group, watermark):
            return
        self.groups[key] = (group, watermark)
        self._group_changed(org, program, group)

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
        key = _group_key(org, program, level, ref, parent, period)
        old = self.groups.get(key)
        if old is None or _refused(old, watermark):
            return
        del self.groups[key]
        self._group_changed(org, program, old[0])

    def _group_changed(self, org: str, program: str, group: GroupStanding) -> None:
        if group.level is GroupLevel.TEAM:
            division = DivisionPeriod(org, program, group.parent, group.period)
            self._emit(TeamStandingChanged("", division))
        elif group.level is GroupLevel.DIVISION:
            whole = ProgramPeriod(org, program, group.period)
            self._emit(DivisionStandingChanged("", whole))

    def _groups_under(self, org: str, program: str, level: GroupLevel, parent: str, period: str) -> list[GroupStanding]:
        return [
            g
            for (o, p, lv, _, par, k), (g, _) in sorted(self.groups.items())
            if (o, p, lv, par, k)
            == (
                org,
                program,
                level,
                parent,
                period,
            )
        ]

    def division_teams(self, org: str, program: str, division: str, period: str) -> list[GroupStanding]:
        return self._groups_under(org, program, GroupLevel.TEAM, division, period)

    def divisions(self, org: str, program: str, period: str) -> list[GroupStanding]:
        return self._groups_under(org, program, GroupLevel.DIVISION, "", period)


def _group_key(org: str, program: str, level: GroupLevel, ref: str, parent: str, period: str) -> GroupKey:
    return (org, program, level, ref, parent if level is GroupLevel.TEAM else "", period)


def _refused(stored: tuple[Any, str | None] | None, watermark: str | None) -> bool:
    """As DynamoStandings' write condition: a standing computed from newer records is kept."""
    return stored is not None and watermark is not None and stored[1] is not None and stored[1] > watermark


def _placed(p: Participant) -> Placed:
    return Placed(p.team, p.active)


def _same_record(a: Participant, b: Participant) -> bool:
    return a == b and a.history == b.history


# --- the stream --------------------------------------------------------------------------------------------------


Consumer = Callable[[list[StandingsEvent]], list[str]]


@dataclass
class MemoryStream:
    """Delivers a table's events to the aggregator in batches, as Lambda does for a stream shard."""

    table: MemoryTable
    now: Callable[[], datetime]
    batch_size: int = 100
    max_retries: int = 5
    consumer: Consumer | None = None
    parked: list[StandingsEvent] = field(default_factory=list)
    delivered: list[list[StandingsEvent]] = field(default_factory=list)

    def aggregate(self, events: list[StandingsEvent]) -> list[str]:
        """The aggregate function itself: what `consumer` wraps by default."""
        return recompute(events, self.table, self.table, self.now())

    def drain(self, limit: int = 100_000) -> int:
        """Deliver every event, and every event the deliveries cause, until the table is quiet."""
        consume = self.consumer or self.aggregate
        done = 0
        tries = 0
        while self.table.events:
            done += 1
            if done > limit:
                raise RuntimeError("the cascade did not settle")
            batch = self.table.events[: self.batch_size]
            self.delivered.append(batch)
            try:
                failed = consume(list(batch))
            except Exception:  # the invocation died: Lambda retries the whole batch
                failed = [batch[0].sequence]
            if not failed:
                del self.table.events[: len(batch)]
                tries = 0
                continue
            first = min(failed, key=lambda s: s.zfill(48))
            start = next((i for i, e in enumerate(batch) if e.sequence == first), 0)
            del self.table.events[:start]  # records before the first failure are done
            tries += 1
            if tries > self.max_retries:
                self.parked.append(self.table.events.pop(0))
                tries = 0
        return done


def with_history(people: Iterable[Participant], previous: dict[str, Participant], at: datetime) -> list[Participant]:
    """People as a roster save writes them: each with their placements carried on from the record they replace."""
    return [p.placed(previous.get(p.id), at) for p in people]


def new_version(record: ProgramRecord, document: dict[str, Any], at: datetime) -> ProgramRecord:
    return replace(record, document=document, version=record.version + 1, updated_at=at)


@dataclass
class MemoryBulletins:
    """The Bulletins port in memory (the twin of adapters.bulletins.DynamoBulletins), for tests and benchmarks."""

    headers: dict[tuple[str, str, str], BulletinRecord] = field(default_factory=dict)
    snapshots: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    send_items: dict[tuple[str, str, str], dict[str, Send]] = field(default_factory=dict)
    opt_outs: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    suppressed: dict[str, str] = field(default_factory=dict)
    marks: dict[tuple[str, str], dict[str, BoardMarks]] = field(default_factory=dict)

    def create_bulletin(self, record: BulletinRecord, snapshot: dict[str, Any]) -> bool:
        key = (record.org, record.program, record.id)
        if key in self.headers:
            return False
        self.headers[key] = record
        self.snapshots[key] = copy.deepcopy(snapshot)
        return True

    def get_bulletin(self, org: str, program: str, bulletin: str) -> BulletinRecord | None:
        return self.headers.get((org, program, bulletin))

    def list_bulletins(self, org: str, program: str, limit: int = 20) -> list[BulletinRecord]:
        mine = [r for (o, p, _), r in self.headers.items() if (o, p) == (org, program)]
        return sorted(mine, key=lambda r: r.id, reverse=True)[:limit]

    def latest_final(self, org: str, program: str) -> BulletinRecord | None:
        bulletins = self.list_bulletins(org, program, 10**9)
        return next((r for r in bulletins if r.final and r.state is not BulletinState.QUIET), None)

    def snapshot(self, org: str, program: str, bulletin: str) -> dict[str, Any]:
        return copy.deepcopy(self.snapshots[(org, program, bulletin)])

    def update_bulletin(self, record: BulletinRecord) -> None:
        key = (record.org, record.program, record.id)
        if key not in self.headers:
            raise KeyError(record.id)
        self.headers[key] = record

    def claim_send(self, org: str, program: str, bulletin: str, key: str, at: datetime) -> bool:
        sends = self.send_items.setdefault((org, program, bulletin), {})
        if key in sends:
            return False
        sends[key] = Send(key, SendState.CLAIMED, at)
        return True

    def record_send(self, org: str, program: str, bulletin: str, send: Send) -> None:
        self.send_items.setdefault((org, program, bulletin), {})[send.key] = send

    def sends(self, org: str, program: str, bulletin: str) -> dict[str, Send]:
        return dict(self.send_items.get((org, program, bulletin), {}))

    def mail_opt_outs(self, org: str, program: str) -> set[str]:
        return set(self.opt_outs.get((org, program), set()))

    def set_mail_opt_out(self, org: str, program: str, participant: str, at: datetime, opted_out: bool) -> None:
        chosen = self.opt_outs.setdefault((org, program), set())
        if opted_out:
            chosen.add(participant)
        else:
            chosen.discard(participant)

    def write_marks(self, org: str, program: str, marks: Mapping[str, BoardMarks]) -> bool:
        kept = self.marks.get((org, program), {})
        first = next(iter(marks.values()), None)
        newest = max(((m.at, m.bulletin) for m in kept.values()), default=None)
        if first is None or (newest is not None and newest > (first.at, first.bulletin)):
            return False
        self.marks[(org, program)] = copy.deepcopy(dict(marks))
        return True

    def read_marks(self, org: str, program: str, boards: Iterable[str]) -> dict[str, BoardMarks]:
        kept = self.marks.get((org, program), {})
        return {b: copy.deepcopy(kept[b]) for b in set(boards) if b in kept}

    def suppressed_addresses(self) -> set[str]:
        return set(self.suppressed)

    def suppress_address(self, address: str, reason: str, at: datetime) -> None:
        self.suppressed[address_hash(address)] = reason
