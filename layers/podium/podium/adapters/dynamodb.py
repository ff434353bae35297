"""The single DynamoDB table, through PynamoDB models, implementing `podium.services.ports.Store`.

The table (keys `pk`, `sk`; sparse index `gsi1`) is declared once, in template.yaml. Every key starts with the
organisation, so a request authenticated for one org can only ever address that org's items.

| item               | pk                                  | sk                 | access pattern, capacity            |
| ------------------ | ----------------------------------- | ------------------ | ----------------------------------- |
| organisation       | `O#{org}`                           | `ORG`              | GetItem on every bootstrap; 0.5 RCU |
| API key            | `O#{org}`                           | `KEY#{key_id}`     | GetItem per request (auth); 0.5 RCU |
| program            | `O#{org}`                           | `PROG#{program}`   | GetItem per request; 0.5-1 RCU;     |
|                    |                                     |                    | list: Query begins_with PROG#;      |
|                    |                                     |                    | every org's: gsi1 `PROGRAMS` (the   |
|                    |                                     |                    | period rollover, every 15 minutes)  |
| program version    | `O#{org}#PROG#{program}`            | `V#{version:06d}`  | Put per change (history)            |
| participant        | `O#{org}#PROG#{program}`            | `P#{id}`           | roster: one Query begins_with P#    |
|                    |                                     |                    | (230 people ≈ 46 KB ≈ 6 RCU);       |
|                    |                                     |                    | a few: BatchGetItem, 0.5 RCU each   |
| submission         | `O#{org}#PROG#{program}#P#{person}` | `S#{id}`           | conditional Put (idempotent): 1 WCU |
|                    |                                     |                    | per submission (items < 1 KB);      |
|                    |                                     |                    | a person's log: one Query           |

Submissions are partitioned by participant so that the stream delivers every change to one person's log on one
shard, in order: the aggregator is then the single writer of that person's standings. The submission id is the
sort key, so a retried id is refused by the write condition itself, with no extra idempotency record to pay for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from podium.domain.errors import Conflict
from podium.domain.roster import Participant, Placement
from podium.domain.submissions import Submission
from podium.services.ports import ApiKey, Org, ProgramRecord, PutOutcome, Scope, StoredSubmission

M = TypeVar("M", bound=Model)

# Puts are independent; a small pool keeps a 1,000-row request well inside the function's timeout.
WRITE_CONCURRENCY = 16


def org_pk(org: str) -> str:
    return f"O#{org}"


def program_pk(org: str, program: str) -> str:
    return f"O#{org}#PROG#{program}"


def person_pk(org: str, program: str, participant: str) -> str:
    return f"O#{org}#PROG#{program}#P#{participant}"


class _Item(Model):
    class Meta:
        table_name = "unbound"  # replaced when the store is built

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()


class OrgItem(_Item):
    name = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class ApiKeyItem(_Item):
    name = UnicodeAttribute()
    scopes = UnicodeSetAttribute()
    secret_hash = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    revoked_at = UTCDateTimeAttribute(null=True)


# Every program of every org sits in one partition of the sparse index: a deployment has a handful.
ALL_PROGRAMS = "PROGRAMS"


def gsi1_index() -> Any:
    """The sparse index `gsi1` (template.yaml), for one model: PynamoDB keeps each index's model on its class,
    so every model that uses the index gets a class of its own."""

    class Gsi1(GlobalSecondaryIndex[Any]):  # type: ignore[no-untyped-call]
        class Meta:
            index_name = "gsi1"
            projection = AllProjection()

        gsi1pk = UnicodeAttribute(hash_key=True)
        gsi1sk = UnicodeAttribute(range_key=True)

    return Gsi1()


class ProgramItem(_Item):
    document = JSONAttribute()
    version = NumberAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    token_hashes = JSONAttribute(null=True)
    token_revision = NumberAttribute(null=True)
    # The latest period whose standings were started for everyone (see services/rollover.py).
    period_started = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    everywhere = gsi1_index()


class ProgramVersionItem(_Item):
    document = JSONAttribute()
    created_at = UTCDateTimeAttribute()


class ParticipantItem(_Item):
    name = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    team = UnicodeAttribute(null=True)
    division = UnicodeAttribute(null=True)
    active = BooleanAttribute()
    updated_at = UTCDateTimeAttribute()
    # Every placement since they joined: [[since, team, division, active], ...] (see Participant.history).
    history = JSONAttribute(null=True)


class MembershipItem(_Item):
    """A participant's current team, division and status, mirrored into their own log partition so that the
    aggregator sees roster changes on the same shard, in order with their submissions."""

    name = UnicodeAttribute()
    team = UnicodeAttribute(null=True)
    division = UnicodeAttribute(null=True)
    active = BooleanAttribute()
    updated_at = UTCDateTimeAttribute()
    history = JSONAttribute(null=True)
    # Set by `podium rebuild`: the period whose standings the aggregator should recompute for this person.
    rebuild_period = UnicodeAttribute(null=True)
    touched_at = UTCDateTimeAttribute(null=True)


class SubmissionItem(_Item):
    participant = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    # Metric values as a JSON object: one attribute, so an item stays small and its size is predictable.
    values = JSONAttribute()
    voids = UnicodeAttribute(null=True)
    source = UnicodeAttribute()
    received_at = UTCDateTimeAttribute()
    by = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)


def _bind(model: type[M], table: str, region: str, host: str | None) -> type[M]:
    meta = type(
        "Meta",
        (),
        {
            "table_name": table,
            "region": region,
            "host": host,
            "max_retry_attempts": 5,
            "max_pool_connections": WRITE_CONCURRENCY,
        },
    )
    return type(model.__name__, (model,), {"Meta": meta, "__module__": __name__})


class DynamoStore:
    """The Store port on one DynamoDB table. Build one per process (models are bound to the table here)."""

    def __init__(self, table: str, region: str = "us-east-1", host: str | None = None) -> None:
        self.table, self.region, self.host = table, region, host
        self.orgs = _bind(OrgItem, table, region, host)
        self.keys = _bind(ApiKeyItem, table, region, host)
        self.programs = _bind(ProgramItem, table, region, host)
        self.versions = _bind(ProgramVersionItem, table, region, host)
        self.people = _bind(ParticipantItem, table, region, host)
        self.submissions = _bind(SubmissionItem, table, region, host)
        self.memberships = _bind(MembershipItem, table, region, host)
        self._connection = self.submissions._get_connection().connection
        self.share_connection(self.orgs, self.keys, self.programs, self.versions, self.people, self.memberships)

    def share_connection(self, *models: type[Model]) -> None:
        """Every model on this table talks through one botocore client: PynamoDB would otherwise build a session
        and load DynamoDB's service model once per model class, a cost paid on every cold start."""
        for model in models:
            table_connection = model._get_connection()
            meta = table_connection.connection.get_meta_table(self.table)
            if meta.data.get("GlobalSecondaryIndexes"):
                # The one schema the shared client keeps must know the sparse index (PynamoDB has no public way
                # to replace a table's schema once added).
                self._connection._tables[self.table] = meta
            table_connection.connection = self._connection

    # --- organisations and keys ---------------------------------------------------------------------------

    def create_org(self, org: Org) -> bool:
        item = self.orgs(org_pk(org.id), "ORG", kind="org", name=org.name, created_at=org.created_at)
        try:
            item.save(condition=self.orgs.pk.does_not_exist())
        except PutError as e:
            if _condition_failed(e):
                return False
            raise
        return True

    def get_org(self, org_id: str) -> Org | None:
        item = _get(self.orgs, org_pk(org_id), "ORG")
        return None if item is None else Org(org_id, item.name, item.created_at)

    def put_key(self, key: ApiKey) -> None:
        self.keys(
            org_pk(key.org),
            f"KEY#{key.id}",
            kind="key",
            name=key.name,
            scopes={s.value for s in key.scopes},
            secret_hash=key.secret_hash,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
        ).save(condition=self.keys.pk.does_not_exist())

    def get_key(self, org: str, key_id: str) -> ApiKey | None:
        item = _get(self.keys, org_pk(org), f"KEY#{key_id}")
        return None if item is None else _api_key(org, item)

    def list_keys(self, org: str) -> list[ApiKey]:
        items = self.keys.query(org_pk(org), self.keys.sk.startswith("KEY#"))
        return [_api_key(org, i) for i in items]

    def revoke_key(self, org: str, key_id: str, at: datetime) -> bool:
        item = _get(self.keys, org_pk(org), f"KEY#{key_id}")
        if item is None:
            return False
        if item.revoked_at is None:
            item.update(actions=[self.keys.revoked_at.set(at)])
        return True

    # --- programs -----------------------------------------------------------------------------------------

    def get_program(self, org: str, program_id: str) -> ProgramRecord | None:
        item = _get(self.programs, org_pk(org), f"PROG#{program_id}")
        return None if item is None else _program(org, item)

    def list_programs(self, org: str) -> list[ProgramRecord]:
        items = self.programs.query(org_pk(org), self.programs.sk.startswith("PROG#"))
        return [_program(org, i) for i in items]

    def save_program(self, record: ProgramRecord, previous_version: int | None) -> None:
        """Create a program, or replace its rules if nobody changed them since `previous_version` was read. The
        public tokens are never written here (see save_tokens), so a new version cannot bring back a rotated one."""
        p = self.programs
        item = p(
            org_pk(record.org),
            f"PROG#{record.id}",
            kind="program",
            document=record.document,
            version=record.version,
            created_at=record.created_at,
            updated_at=record.updated_at,
            gsi1pk=ALL_PROGRAMS,
            gsi1sk=f"{record.org}#{record.id}",
        )
        conflict = Conflict(f"program {record.id!r} was changed by someone else; read it again and retry")
        try:
            if previous_version is None:
                item.save(condition=p.pk.does_not_exist())
            else:
                rules = [p.document.set(record.document), p.version.set(record.version)]
                index = [p.gsi1pk.set(item.gsi1pk), p.gsi1sk.set(item.gsi1sk)]
                actions: list[Action] = [*rules, *index, p.updated_at.set(record.updated_at)]
                item.update(actions=actions, condition=p.version == previous_version)
        except (PutError, UpdateError) as e:
            if _condition_failed(e):
                raise conflict from None
            raise
        if record.version != previous_version:
            self.versions(
                program_pk(record.org, record.id),
                f"V#{record.version:06d}",
                kind="program_version",
                document=record.document,
                created_at=record.updated_at,
            ).save()

    def all_programs(self) -> list[ProgramRecord]:
        """Every program of every organisation (for scheduled work, never for a request)."""
        items = self.programs.everywhere.query(ALL_PROGRAMS)
        return [_program(item.pk.removeprefix("O#"), item) for item in items]

    def mark_period_started(self, record: ProgramRecord, period: str) -> None:
        p = self.programs
        item = p(org_pk(record.org), f"PROG#{record.id}")
        try:
            item.update(actions=[p.period_started.set(period)], condition=p.pk.exists())
        except UpdateError as e:
            if not _condition_failed(e):  # the program was deleted meanwhile: nothing to mark
                raise

    def save_tokens(self, record: ProgramRecord, token_hashes: dict[str, str], at: datetime) -> None:
        """Replace a program's public token hashes, unless another rotation happened since `record` was read."""
        p = self.programs
        item = p(org_pk(record.org), f"PROG#{record.id}")
        unchanged = p.token_revision == record.token_revision
        if record.token_revision == 0:
            unchanged = p.token_revision.does_not_exist() | unchanged
        actions = [p.token_hashes.set(token_hashes), p.token_revision.set(record.token_revision + 1)]
        try:
            item.update(actions=[*actions, p.updated_at.set(at)], condition=p.pk.exists() & unchanged)
        except UpdateError as e:
            if _condition_failed(e):
                raise Conflict(f"the tokens of program {record.id!r} changed meanwhile; try again") from None
            raise

    # --- participants -------------------------------------------------------------------------------------

    def list_participants(self, org: str, program_id: str) -> list[Participant]:
        items = self.people.query(program_pk(org, program_id), self.people.sk.startswith("P#"))
        return [_participant(i) for i in items]

    def get_participants(self, org: str, program_id: str, ids: Iterable[str]) -> list[Participant]:
        pk = program_pk(org, program_id)
        keys = [(pk, f"P#{i}") for i in sorted(set(ids))]
        return [_participant(i) for i in self.people.batch_get(keys)] if keys else []

    def save_participants(self, org: str, program_id: str, people: Iterable[Participant], at: datetime) -> None:
        pk = program_pk(org, program_id)
        people = list(people)
        with self.people.batch_write() as batch:
            for p in people:
                batch.save(
                    self.people(
                        pk,
                        f"P#{p.id}",
                        kind="participant",
                        name=p.name,
                        email=p.email or None,
                        team=p.team,
                        division=p.division,
                        active=p.active,
                        updated_at=at,
                        history=history_json(p),
                    )
                )
        with self.memberships.batch_write() as batch:
            for p in people:
                batch.save(
                    self.memberships(
                        person_pk(org, program_id, p.id),
                        "M",
                        kind="membership",
                        name=p.name,
                        team=p.team,
                        division=p.division,
                        active=p.active,
                        updated_at=at,
                        history=history_json(p),
                    )
                )

    def touch_memberships(
        self, org: str, program_id: str, people: Sequence[Participant], period: str, at: datetime
    ) -> None:
        """Mark each person's membership mirror with a period to rebuild: the stream then recomputes their
        standings on their own shard, like any change to their log. Only the marker is updated, so a roster
        change written at the same moment is never overwritten. Side by side: a roster of thousands is
        marked well inside a function's timeout."""
        if len(people) <= 1:
            for person in people:
                self._touch_membership(org, program_id, person, period, at)
            return
        with ThreadPoolExecutor(max_workers=min(WRITE_CONCURRENCY, len(people))) as pool:
            list(pool.map(lambda p: self._touch_membership(org, program_id, p, period, at), people))

    def _touch_membership(self, org: str, program_id: str, person: Participant, period: str, at: datetime) -> None:
        m = self.memberships
        item = m(person_pk(org, program_id, person.id), "M")
        try:
            item.update(actions=[m.rebuild_period.set(period), m.touched_at.set(at)], condition=m.pk.exists())
        except UpdateError as e:
            if not _condition_failed(e):
                raise
            self.save_participants(org, program_id, [person], at)

    # --- submissions --------------------------------------------------------------------------------------

    def put_submissions(self, org: str, program_id: str, items: Sequence[StoredSubmission]) -> list[PutOutcome]:
        if len(items) <= 1:
            return [self._put_submission(org, program_id, s) for s in items]
        with ThreadPoolExecutor(max_workers=min(WRITE_CONCURRENCY, len(items))) as pool:
            return list(pool.map(lambda s: self._put_submission(org, program_id, s), items))

    def _put_submission(self, org: str, program_id: str, stored: StoredSubmission) -> PutOutcome:
        s = stored.submission
        item = self.submissions(
            person_pk(org, program_id, s.participant),
            f"S#{s.id}",
            kind="submission",
            participant=s.participant,
            at=s.at.astimezone(UTC),
            values=dict(s.values),
            voids=s.voids,
            source=stored.source,
            received_at=stored.received_at,
            by=stored.by,
            reason=stored.reason or None,
        )
        try:
            item.save(condition=self.submissions.pk.does_not_exist())
        except PutError as e:
            if not _condition_failed(e):
                raise
            existing = self.get_submission(org, program_id, s.participant, s.id)
            if existing is not None and existing.same_content(stored):
                return PutOutcome.DUPLICATE
            return PutOutcome.CONFLICT
        return PutOutcome.CREATED

    def get_submission(
        self, org: str, program_id: str, participant: str, submission_id: str
    ) -> StoredSubmission | None:
        item = _get(self.submissions, person_pk(org, program_id, participant), f"S#{submission_id}")
        return None if item is None else _stored(item)

    def list_submissions(self, org: str, program_id: str, participant: str) -> list[StoredSubmission]:
        items = self.submissions.query(
            person_pk(org, program_id, participant), self.submissions.sk.startswith("S#"), consistent_read=True
        )
        return [_stored(i) for i in items]

    def count_submissions(self, org: str, program_id: str, participants: Iterable[str]) -> int:
        return sum(
            self.submissions.count(person_pk(org, program_id, p), self.submissions.sk.startswith("S#"))
            for p in participants
        )


def _get(model: type[M], pk: str, sk: str) -> M | None:
    try:
        return model.get(pk, sk, consistent_read=True)
    except model.DoesNotExist:
        return None


def _condition_failed(error: PutError | UpdateError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


def _api_key(org: str, item: ApiKeyItem) -> ApiKey:
    return ApiKey(
        org=org,
        id=item.sk.removeprefix("KEY#"),
        name=item.name,
        scopes=frozenset(Scope(s) for s in item.scopes),
        secret_hash=item.secret_hash,
        created_at=item.created_at,
        revoked_at=item.revoked_at,
    )


def _program(org: str, item: ProgramItem) -> ProgramRecord:
    document: Any = item.document
    if isinstance(document, str):  # tolerate items written by hand as a JSON string
        document = json.loads(document)
    return ProgramRecord(
        org=org,
        id=item.sk.removeprefix("PROG#"),
        document=document,
        version=int(item.version),
        created_at=item.created_at,
        updated_at=item.updated_at,
        token_hashes=dict(item.token_hashes or {}),
        token_revision=int(item.token_revision or 0),
        period_started=item.period_started,
    )


def _participant(item: ParticipantItem | MembershipItem, person: str | None = None) -> Participant:
    return Participant(
        id=person or item.sk.removeprefix("P#"),
        name=item.name,
        email=getattr(item, "email", None) or "",
        team=item.team,
        division=item.division,
        active=item.active,
        history=history_of(item.history),
    )


def history_json(p: Participant) -> list[list[Any]] | None:
    return [[h.since.isoformat(), h.team, h.division, h.active] for h in p.history] or None


def history_of(raw: Any) -> tuple[Placement, ...]:
    entries = json.loads(raw) if isinstance(raw, str) else raw or []
    return tuple(
        Placement(datetime.fromisoformat(since), team, division, bool(active))
        for since, team, division, active in entries
    )


def _stored(item: SubmissionItem) -> StoredSubmission:
    return StoredSubmission(
        submission=Submission(
            id=item.sk.removeprefix("S#"),
            participant=item.participant,
            at=item.at,
            values={k: float(v) for k, v in (item.values or {}).items()},
            voids=item.voids,
        ),
        source=item.source,
        received_at=item.received_at,
        by=item.by,
        reason=item.reason or "",
    )
