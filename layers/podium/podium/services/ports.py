"""What the use cases need from the outside world, as protocols. Adapters implement them; tests may pass fakes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Any, Protocol

from podium.domain.program import Program, program_from_dict
from podium.domain.roster import Participant
from podium.domain.standings import GroupLevel, GroupStanding, ParticipantStanding, RebuildRequest
from podium.domain.submissions import Submission


class Scope(StrEnum):
    ADMIN = "admin"  # everything in the org, including keys
    SUBMIT = "submit"  # post submissions and corrections
    READ = "read"  # programs, rosters and boards


@dataclass(frozen=True)
class Org:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class ApiKey:
    org: str
    id: str
    name: str
    scopes: frozenset[Scope]
    secret_hash: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class ProgramRecord:
    """A stored program: the validated document as the user wrote it, its version and its public token hashes."""

    org: str
    id: str
    document: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime
    token_hashes: dict[str, str] = field(default_factory=dict)  # scope -> sha256 of the public token's secret
    # Changes with every rotation: a rotation is refused if another happened since it read the record.
    token_revision: int = 0
    period_started: str | None = None  # the latest period the rollover started everyone's standings in

    @cached_property
    def program(self) -> Program:
        """The document validated once per record: a batch reads each program once, and uses it for every
        aggregate it recomputes."""
        return program_from_dict(self.document)

    @property
    def document_json(self) -> str:
        return json.dumps(self.document, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Pulse:
    """What a poll needs to answer 304 with one small read: when the program's boards last changed (any standing,
    membership or rule), and what deciding who may see them takes (visibility, the read token's hash)."""

    changed: str = ""
    version: int = 0
    visibility: str = ""
    read_hash: str = ""
    periods: frozenset[str] = frozenset()  # the periods the program has standings in (the pages' period picker)


@dataclass(frozen=True)
class StoredSubmission:
    """A submission as logged: the domain submission plus where it came from. Immutable once written."""

    submission: Submission
    source: str  # json | form | csv | void
    received_at: datetime
    by: str  # the key id or public token that sent it
    reason: str = ""  # for corrections: why
    # The sender chose the id (a row's `id`, or one derived from an Idempotency-Key): it is claimed in the whole
    # program before the submission is written. An id Podium generated is unique already and costs no claim.
    claim: bool = field(default=True, compare=False)

    def same_content(self, other: StoredSubmission) -> bool:
        a, b = self.submission, other.submission
        return (a.participant, a.at, dict(a.values), a.voids) == (b.participant, b.at, dict(b.values), b.voids)


class PutOutcome(StrEnum):
    CREATED = "created"
    DUPLICATE = "duplicate"  # the same id with the same content was already there: nothing written
    CONFLICT = "conflict"  # the id is already used by a different submission, or for another participant


class Store(Protocol):
    def create_org(self, org: Org) -> bool: ...
    def get_org(self, org_id: str) -> Org | None: ...

    def put_key(self, key: ApiKey) -> None: ...
    def get_key(self, org: str, key_id: str) -> ApiKey | None: ...
    def list_keys(self, org: str) -> list[ApiKey]: ...
    def revoke_key(self, org: str, key_id: str, at: datetime) -> bool: ...

    def get_program(self, org: str, program_id: str) -> ProgramRecord | None: ...
    def list_programs(self, org: str) -> list[ProgramRecord]: ...
    def save_program(self, record: ProgramRecord, previous_version: int | None) -> None: ...
    def save_tokens(self, record: ProgramRecord, token_hashes: dict[str, str], at: datetime) -> None: ...
    def all_programs(self) -> list[ProgramRecord]: ...
    def mark_period_started(self, record: ProgramRecord, period: str) -> None: ...
    def get_pulse(self, org: str, program_id: str) -> Pulse | None: ...

    def list_participants(self, org: str, program_id: str) -> list[Participant]: ...
    def get_participants(self, org: str, program_id: str, ids: Iterable[str]) -> list[Participant]: ...
    def save_participants(self, org: str, program_id: str, people: Iterable[Participant], at: datetime) -> None: ...
    def touch_memberships(
        self, org: str, program_id: str, people: Sequence[Participant], request: RebuildRequest, at: datetime
    ) -> None: ...

    def put_submissions(self, org: str, program_id: str, items: Sequence[StoredSubmission]) -> list[PutOutcome]: ...
    def get_submission(
        self, org: str, program_id: str, participant: str, submission_id: str
    ) -> StoredSubmission | None: ...
    def list_submissions(self, org: str, program_id: str, participant: str) -> list[StoredSubmission]: ...


class Catalog(Protocol):
    """What the aggregator reads besides standings: programs and their rosters."""

    def get_program(self, org: str, program_id: str) -> ProgramRecord | None: ...
    def list_participants(self, org: str, program_id: str) -> list[Participant]: ...


class StandingsReader(Protocol):
    """Stored standings, as boards and `podium verify` read them."""

    def everyone(self, org: str, program: str, period: str) -> list[ParticipantStanding]: ...
    def team_standings(self, org: str, program: str, team: str, period: str) -> list[ParticipantStanding]: ...
    def division_teams(self, org: str, program: str, division: str, period: str) -> list[GroupStanding]: ...
    def divisions(self, org: str, program: str, period: str) -> list[GroupStanding]: ...
    def get_group(
        self, org: str, program: str, level: GroupLevel, ref: str, parent: str, period: str
    ) -> GroupStanding | None: ...
    def find_participant_standing(
        self, org: str, program: str, period: str, participant: str
    ) -> ParticipantStanding | None: ...


class Standings(StandingsReader, Protocol):
    """Stored standings as the aggregator keeps them. A write with a watermark (the latest stream record it was
    computed from) is refused if the stored standing was computed from newer records."""

    def participant_log(
        self, org: str, program: str, participant: str
    ) -> tuple[Participant | None, list[Submission]]: ...
    def get_participant_standing(
        self, org: str, program: str, team: str, period: str, participant: str
    ) -> ParticipantStanding | None: ...
    def put_participant_standing(
        self, org: str, program: str, standing: ParticipantStanding, watermark: str | None = None
    ) -> None: ...
    def delete_participant_standing(
        self, org: str, program: str, team: str, period: str, participant: str, watermark: str | None = None
    ) -> None: ...
    def put_group(self, org: str, program: str, group: GroupStanding, watermark: str | None = None) -> None: ...
    def delete_group(
        self,
        org: str,
        program: str,
        level: GroupLevel,
        ref: str,
        parent: str,
        period: str,
        watermark: str | None = None,
    ) -> None: ...
    def touch_memberships(
        self, org: str, program: str, people: Sequence[Participant], request: RebuildRequest, at: datetime
    ) -> None: ...
    def touch_pulse(self, org: str, program: str, changed: str, periods: Iterable[str] = ()) -> None: ...
