"""The single DynamoDB table, through PynamoDB models, implementing `podium.services.ports.Store`.

The table (keys `pk`, `sk`; sparse index `gsi1`) is declared once, in template.yaml; its key scheme lives in
podium.adapters.keys. Every key starts with the organisation, so a request authenticated for one org can only
ever address that org's items.

| item               | access pattern, capacity                                                      |
| ------------------ | ----------------------------------------------------------------------------- |
| organisation       | GetItem on every bootstrap; 0.5 RCU                                           |
| API key            | GetItem per request (auth); 0.5 RCU                                           |
| program            | GetItem per request; 0.5-1 RCU; list: Query; every org's: gsi1 `PROGRAMS`     |
|                    | (the period rollover, every 15 minutes)                                       |
| program version    | Put per change (history)                                                      |
| participant        | roster: one Query (230 people ≈ 46 KB ≈ 6 RCU); a few: BatchGetItem           |
| submission         | conditional Put (idempotent): 1 WCU per submission (items < 1 KB);            |
|                    | a participant's log: one Query                                                |

Submissions are partitioned by participant so that the stream delivers every change to one participant's log on one
shard, in order: the aggregator is then the single writer of that participant's standings. The submission id is the
sort key, so a retried id is refused by the write condition itself, with no extra idempotency record to pay for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
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

from podium.adapters.keys import (
    ALL_PROGRAMS,
    KEY_PREFIX,
    MEMBERSHIP_SK,
    ORG_SK,
    PARTICIPANT_PREFIX,
    PROGRAM_PREFIX,
    SUBMISSION_PREFIX,
    encode_rebuild,
    key_sk,
    org_of,
    org_pk,
    participant_pk,
    participant_sk,
    program_index_sk,
    program_pk,
    program_sk,
    pulse_key,
    submission_claim_key,
    submission_sk,
    suffix,
    version_sk,
)
from podium.domain.errors import Conflict
from podium.domain.roster import OptOut, Participant, Placement
from podium.domain.standings import RebuildRequest
from podium.domain.submissions import Submission
from podium.services.ports import ApiKey, Org, ProgramRecord, Pulse, PutOutcome, Scope, StoredSubmission

M = TypeVar("M", bound=Model)

# Puts are independent; a small pool keeps a 1,000-row request well inside the function's timeout.
WRITE_CONCURRENCY = 16


class Item(Model):
    """An item of the table: models are bound to a table by DynamoStore.bind."""

    class Meta:
        table_name = "unbound"  # replaced when the store is built

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()


class OrgItem(Item):
    name = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class ApiKeyItem(Item):
    name = UnicodeAttribute()
    scopes = UnicodeSetAttribute()
    secret_hash = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    revoked_at = UTCDateTimeAttribute(null=True)


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


class ProgramItem(Item):
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


class ProgramVersionItem(Item):
    document = JSONAttribute()
    created_at = UTCDateTimeAttribute()


class ParticipantItem(Item):
    name = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    team = UnicodeAttribute(null=True)
    division = UnicodeAttribute(null=True)
    active = BooleanAttribute()
    updated_at = UTCDateTimeAttribute()
    # Every placement since they joined: [[since, team, division, active], ...] (see Participant.history).
    history = JSONAttribute(null=True)
    opt_out = UnicodeAttribute(null=True)  # anonymise | hide (domain.roster.OptOut); absent: shown by name


class MembershipItem(Item):
    """A participant's current team, division and status, mirrored into their own log partition so that the
    aggregator sees roster changes on the same shard, in order with their submissions."""

    name = UnicodeAttribute()
    team = UnicodeAttribute(null=True)
    division = UnicodeAttribute(null=True)
    active = BooleanAttribute()
    updated_at = UTCDateTimeAttribute()
    history = JSONAttribute(null=True)
    # Set by `podium rebuild`: the period whose standings the aggregator should recompute for this participant.
    rebuild_period = UnicodeAttribute(null=True)
    touched_at = UTCDateTimeAttribute(null=True)


class SubmissionItem(Item):
    participant = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    # Metric values as a JSON object: one attribute, so an item stays small and its size is predictable.
    values = JSONAttribute()
    voids = UnicodeAttribute(null=True)
    source = UnicodeAttribute()
    received_at = UTCDateTimeAttribute()
    by = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)


class PulseItem(Item):
    """A program's pulse (services.ports.Pulse): a few short strings, so reading it costs half a read unit."""

    changed = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)
    visibility = UnicodeAttribute(null=True)
    read_hash = UnicodeAttribute(null=True)
    periods = UnicodeSetAttribute(null=True)


class SubmissionClaimItem(Item):
    """Who a sender-chosen submission id belongs to (see keys.submission_claim_key)."""

    participant = UnicodeAttribute()


class DynamoStore:
    """The Store port on one DynamoDB table. Build one per process (models are bound to the table here)."""

    def __init__(self, table: str, region: str = "us-east-1", host: str | None = None) -> None:
        self.table, self.region, self.host = table, region, host
        self._connection: Any = None
        self.orgs = self.bind(OrgItem)
        self.keys = self.bind(ApiKeyItem)
        self.programs = self.bind(ProgramItem)
        self.versions = self.bind(ProgramVersionItem)
        self.people = self.bind(ParticipantItem)
        self.submissions = self.bind(SubmissionItem)
        self.memberships = self.bind(MembershipItem)
        self.claims = self.bind(SubmissionClaimItem)
        self.pulses = self.bind(PulseItem)

    def bind(self, model: type[M]) -> type[M]:
        """A model class bound to this table, talking through the one botocore client this store holds.

        PynamoDB would otherwise build a session and load DynamoDB's service model once per model class, a cost
        paid on every cold start. PynamoDB has no public way to share a connection, so this is the one place
        that reaches into it (pynamodb is pinned to the range this is tested with)."""
        meta = type(
            "Meta",
            (),
            {
                "table_name": self.table,
                "region": self.region,
                "host": self.host,
                "max_retry_attempts": 5,
                "max_pool_connections": WRITE_CONCURRENCY,
            },
        )
        bound: type[M] = type(model.__name__, (model,), {"Meta": meta, "__module__": __name__})
        table_connection = bound._get_connection()
        if self._connection is None:
            self._connection = table_connection.connection
        else:
            schema = table_connection.connection.get_meta_table(self.table)
            if schema.data.get("GlobalSecondaryIndexes"):
                # The one schema the shared client keeps must know the sparse index.
                self._connection._tables[self.table] = schema
            table_connection.connection = self._connection
        return bound

    @property
    def client(self) -> Any:
        """The botocore client every model of this store shares."""
        return self._connection.client

    def _connect(self) -> None:
        """Make the client before writer threads start: PynamoDB makes it on first use, without a lock, so each
        thread of a first batch would make its own (and its own botocore session)."""
        _ = self._connection.client

    def query_partition(self, pk: str) -> Iterator[dict[str, Any]]:
        """Every item of one partition, raw and read consistently (items of several kinds in one Query)."""
        connection = self.submissions._get_connection()
        start: Any = None
        while True:
            page = connection.query(pk, consistent_read=True, exclusive_start_key=start)
            yield from page.get("Items", [])
            start = page.get("LastEvaluatedKey")
            if not start:
                return

    # --- organisations and keys ---------------------------------------------------------------------------

    def create_org(self, org: Org) -> bool:
        item = self.orgs(org_pk(org.id), ORG_SK, kind="org", name=org.name, created_at=org.created_at)
        try:
            item.save(condition=self.orgs.pk.does_not_exist())
        except PutError as e:
            if condition_failed(e):
                return False
            raise
        return True

    def get_org(self, org_id: str) -> Org | None:
        item = get_item(self.orgs, org_pk(org_id), ORG_SK)
        return None if item is None else Org(org_id, item.name, item.created_at)

    def put_key(self, key: ApiKey) -> None:
        self.keys(
            org_pk(key.org),
            key_sk(key.id),
            kind="key",
            name=key.name,
            scopes={s.value for s in key.scopes},
            secret_hash=key.secret_hash,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
        ).save(condition=self.keys.pk.does_not_exist())

    def get_key(self, org: str, key_id: str) -> ApiKey | None:
        item = get_item(self.keys, org_pk(org), key_sk(key_id))
        return None if item is None else _api_key(org, item)

    def list_keys(self, org: str) -> list[ApiKey]:
        items = self.keys.query(org_pk(org), self.keys.sk.startswith(KEY_PREFIX))
        return [_api_key(org, i) for i in items]

    def revoke_key(self, org: str, key_id: str, at: datetime) -> bool:
        item = get_item(self.keys, org_pk(org), key_sk(key_id))
        if item is None:
            return False
        if item.revoked_at is None:
            item.update(actions=[self.keys.revoked_at.set(at)])
        return True

    # --- programs -----------------------------------------------------------------------------------------

    def get_program(self, org: str, program_id: str) -> ProgramRecord | None:
        item = get_item(self.programs, org_pk(org), program_sk(program_id))
        return None if item is None else _program(org, item)

    def list_programs(self, org: str) -> list[ProgramRecord]:
        items = self.programs.query(org_pk(org), self.programs.sk.startswith(PROGRAM_PREFIX))
        return [_program(org, i) for i in items]

    def save_program(self, record: ProgramRecord, previous_version: int | None) -> None:
        """Create a program, or replace its rules if nobody changed them since `previous_version` was read. The
        public tokens are never written here (see save_tokens), so a new version cannot bring back a rotated one."""
        p = self.programs
        item = p(
            org_pk(record.org),
            program_sk(record.id),
            kind="program",
            document=record.document,
            version=record.version,
            created_at=record.created_at,
            updated_at=record.updated_at,
            gsi1pk=ALL_PROGRAMS,
            gsi1sk=program_index_sk(record.org, record.id),
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
            if condition_failed(e):
                raise conflict from None
            raise
        if record.version != previous_version:
            self.versions(
                program_pk(record.org, record.id),
                version_sk(record.version),
                kind="program_version",
                document=record.document,
                created_at=record.updated_at,
            ).save()
        pulse = self.pulses
        self._touch(
            record.org,
            record.id,
            [
                pulse.version.set(record.version),
                pulse.visibility.set(record.program.visibility.value),
                pulse.changed.set(f"rules:{record.version}:{record.updated_at.isoformat()}"),
            ],
        )

    def all_programs(self) -> list[ProgramRecord]:
        """Every program of every organisation (for scheduled work, never for a request)."""
        items = self.programs.everywhere.query(ALL_PROGRAMS)
        return [_program(org_of(item.pk), item) for item in items]

    def mark_period_started(self, record: ProgramRecord, period: str) -> None:
        p = self.programs
        item = p(org_pk(record.org), program_sk(record.id))
        try:
            item.update(actions=[p.period_started.set(period)], condition=p.pk.exists())
        except UpdateError as e:
            if not condition_failed(e):  # the program was deleted meanwhile: nothing to mark
                raise

    def save_tokens(self, record: ProgramRecord, token_hashes: dict[str, str], at: datetime) -> None:
        """Replace a program's public token hashes, unless another rotation happened since `record` was read."""
        p = self.programs
        item = p(org_pk(record.org), program_sk(record.id))
        unchanged = p.token_revision == record.token_revision
        if record.token_revision == 0:
            unchanged = p.token_revision.does_not_exist() | unchanged
        actions = [p.token_hashes.set(token_hashes), p.token_revision.set(record.token_revision + 1)]
        try:
            item.update(actions=[*actions, p.updated_at.set(at)], condition=p.pk.exists() & unchanged)
        except UpdateError as e:
            if condition_failed(e):
                raise Conflict(f"the tokens of program {record.id!r} changed meanwhile; try again") from None
            raise
        read = token_hashes.get(Scope.READ.value)
        pulse = self.pulses
        self._touch(record.org, record.id, [pulse.read_hash.set(read) if read else pulse.read_hash.remove()])

    # --- the pulse ------------------------------------------------------------------------------------------

    def get_pulse(self, org: str, program_id: str) -> Pulse | None:
        item = get_item(self.pulses, *pulse_key(org, program_id))
        if item is None:
            return None
        return Pulse(
            changed=item.changed or "",
            version=int(item.version or 0),
            visibility=item.visibility or "",
            read_hash=item.read_hash or "",
            periods=frozenset(item.periods or ()),
        )

    def touch_pulse(self, org: str, program_id: str, changed: str, periods: Iterable[str] = ()) -> None:
        actions: list[Action] = [self.pulses.changed.set(changed)]
        if periods:
            actions.append(self.pulses.periods.add(set(periods)))
        self._touch(org, program_id, actions)

    def _touch(self, org: str, program_id: str, actions: list[Action]) -> None:
        pk, sk = pulse_key(org, program_id)
        self.pulses(pk, sk).update(actions=[*actions, self.pulses.kind.set("pulse")])

    # --- participants -------------------------------------------------------------------------------------

    def list_participants(self, org: str, program_id: str) -> list[Participant]:
        items = self.people.query(program_pk(org, program_id), self.people.sk.startswith(PARTICIPANT_PREFIX))
        return [participant_of(i) for i in items]

    def get_participants(self, org: str, program_id: str, ids: Iterable[str]) -> list[Participant]:
        pk = program_pk(org, program_id)
        keys = [(pk, participant_sk(i)) for i in sorted(set(ids))]
        return [participant_of(i) for i in self.people.batch_get(keys)] if keys else []

    def save_participants(self, org: str, program_id: str, people: Iterable[Participant], at: datetime) -> None:
        pk = program_pk(org, program_id)
        people = list(people)
        with self.people.batch_write() as batch:
            for p in people:
                batch.save(
                    self.people(
                        pk,
                        participant_sk(p.id),
                        kind="participant",
                        name=p.name,
                        email=p.email or None,
                        team=p.team,
                        division=p.division,
                        active=p.active,
                        updated_at=at,
                        history=history_json(p),
                        opt_out=p.opt_out.value or None,
                    )
                )
        with self.memberships.batch_write() as batch:
            for p in people:
                batch.save(
                    self.memberships(
                        participant_pk(org, program_id, p.id),
                        MEMBERSHIP_SK,
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
        self, org: str, program_id: str, people: Sequence[Participant], request: RebuildRequest, at: datetime
    ) -> None:
        """Mark each participant's membership mirror with a period to rebuild: the stream then recomputes their
        standings on their own shard, like any change to their log. Only the marker is updated, so a roster
        change written at the same moment is never overwritten. Side by side: a roster of thousands is
        marked well inside a function's timeout."""
        mark = encode_rebuild(request)
        if len(people) <= 1:
            for participant in people:
                self._touch_membership(org, program_id, participant, mark, at)
            return
        self._connect()
        with ThreadPoolExecutor(max_workers=min(WRITE_CONCURRENCY, len(people))) as pool:
            list(pool.map(lambda p: self._touch_membership(org, program_id, p, mark, at), people))

    def _touch_membership(self, org: str, program_id: str, participant: Participant, mark: str, at: datetime) -> None:
        m = self.memberships
        item = m(participant_pk(org, program_id, participant.id), MEMBERSHIP_SK)
        try:
            item.update(actions=[m.rebuild_period.set(mark), m.touched_at.set(at)], condition=m.pk.exists())
        except UpdateError as e:
            if not condition_failed(e):
                raise
            self.save_participants(org, program_id, [participant], at)

    # --- submissions --------------------------------------------------------------------------------------

    def put_submissions(self, org: str, program_id: str, items: Sequence[StoredSubmission]) -> list[PutOutcome]:
        if len(items) <= 1:
            return [self._put_submission(org, program_id, s) for s in items]
        self._connect()
        with ThreadPoolExecutor(max_workers=min(WRITE_CONCURRENCY, len(items))) as pool:
            return list(pool.map(lambda s: self._put_submission(org, program_id, s), items))

    def _put_submission(self, org: str, program_id: str, stored: StoredSubmission) -> PutOutcome:
        s = stored.submission
        if stored.claim and not self._claim(org, program_id, s.id, s.participant):
            return PutOutcome.CONFLICT
        item = self.submissions(
            participant_pk(org, program_id, s.participant),
            submission_sk(s.id),
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
            if not condition_failed(e):
                raise
            existing = self.get_submission(org, program_id, s.participant, s.id)
            if existing is not None and existing.same_content(stored):
                return PutOutcome.DUPLICATE
            return PutOutcome.CONFLICT
        return PutOutcome.CREATED

    def _claim(self, org: str, program_id: str, submission_id: str, participant: str) -> bool:
        """Claim the id for this participant in the whole program; True when it is theirs (now or before).

        The claim is written before the submission, so a crash in between leaves a claim that the retry finds
        and completes, and two concurrent senders of one id for different participants cannot both win."""
        pk, sk = submission_claim_key(org, program_id, submission_id)
        try:
            claim = self.claims(pk, sk, kind="submission_claim", participant=participant)
            claim.save(condition=self.claims.pk.does_not_exist())
        except PutError as e:
            if not condition_failed(e):
                raise
            owner = get_item(self.claims, pk, sk)
            return owner is not None and owner.participant == participant
        return True

    def get_submission(
        self, org: str, program_id: str, participant: str, submission_id: str
    ) -> StoredSubmission | None:
        item = get_item(self.submissions, participant_pk(org, program_id, participant), submission_sk(submission_id))
        return None if item is None else stored_submission_of(item)

    def list_submissions(self, org: str, program_id: str, participant: str) -> list[StoredSubmission]:
        items = self.submissions.query(
            participant_pk(org, program_id, participant),
            self.submissions.sk.startswith(SUBMISSION_PREFIX),
            consistent_read=True,
        )
        return [stored_submission_of(i) for i in items]

    def count_submissions(self, org: str, program_id: str, participants: Iterable[str]) -> int:
        return sum(
            self.submissions.count(
                participant_pk(org, program_id, p), self.submissions.sk.startswith(SUBMISSION_PREFIX)
            )
            for p in participants
        )


def get_item(model: type[M], pk: str, sk: str) -> M | None:
    try:
        return model.get(pk, sk, consistent_read=True)
    except model.DoesNotExist:
        return None


def condition_failed(error: PutError | UpdateError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


def _api_key(org: str, item: ApiKeyItem) -> ApiKey:
    return ApiKey(
        org=org,
        id=suffix(item.sk, KEY_PREFIX),
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
        id=suffix(item.sk, PROGRAM_PREFIX),
        document=document,
        version=int(item.version),
        created_at=item.created_at,
        updated_at=item.updated_at,
        token_hashes=dict(item.token_hashes or {}),
        token_revision=int(item.token_revision or 0),
        period_started=item.period_started,
    )


def participant_of(item: ParticipantItem | MembershipItem, participant: str | None = None) -> Participant:
    return Participant(
        id=participant or suffix(item.sk, PARTICIPANT_PREFIX),
        name=item.name,
        email=getattr(item, "email", None) or "",
        team=item.team,
        division=item.division,
        active=item.active,
        history=history_of(item.history),
        opt_out=OptOut(getattr(item, "opt_out", None) or ""),
    )


def history_json(p: Participant) -> list[list[Any]] | None:
    return [[h.since.isoformat(), h.team, h.division, h.active] for h in p.history] or None


def history_of(raw: Any) -> tuple[Placement, ...]:
    entries = json.loads(raw) if isinstance(raw, str) else raw or []
    return tuple(
        Placement(datetime.fromisoformat(since), team, division, bool(active))
        for since, team, division, active in entries
    )


def stored_submission_of(item: SubmissionItem) -> StoredSubmission:
    return StoredSubmission(
        submission=Submission(
            id=suffix(item.sk, SUBMISSION_PREFIX),
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
