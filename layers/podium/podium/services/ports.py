"""What the use cases need from the outside world, as protocols. Adapters implement them; tests may pass fakes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Any, Protocol

from podium.domain.announcements import Announcement
from podium.domain.bulletins import BoardMarks
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
    def touch_pulse(self, org: str, program_id: str, changed: str, periods: Iterable[str] = ()) -> None:
        """Say that what the program's pages show changed (a bulletin's movement), so their ETags do."""
        ...

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


# --- distribution ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """A post a channel accepted."""

    channel: str  # the channel's name in the program file
    reference: str = ""  # the platform's id of the post (a tweet id, a LinkedIn post URN, a webhook-id), if any
    attempts: int = 1


class ChannelFailed(Exception):
    """A channel refused a post, or kept failing through every retry; recorded on the bulletin, never raised
    further than the publish run."""

    def __init__(self, channel: str, reason: str, attempts: int = 1, status: int | None = None) -> None:
        super().__init__(f"{channel}: {reason}")
        self.channel = channel
        self.reason = reason
        self.attempts = attempts
        self.status = status


class Channel(Protocol):
    """One configured chat or social channel (`bulletins.channels` in the program file)."""

    name: str

    def post(self, announcement: Announcement) -> Delivery: ...


class SecretMissing(Exception):
    """A secret the program file names is not in the parameter store (or may not be read)."""


class Secrets(Protocol):
    """Secrets by name (SSM Parameter Store SecureStrings; moto's on the local stack)."""

    def get(self, name: str) -> str: ...


# --- bulletins -------------------------------------------------------------------------------------------------


class BulletinState(StrEnum):
    DRAFT = "draft"  # a preview: nothing is sent
    SENDING = "sending"  # final, its emails and posts going out (a run that stops is resumed by the next)
    SENT = "sent"  # final, everything sent (or failed, as recorded)
    QUIET = "quiet"  # final, with no new scores since the one before: nothing sent


class SendState(StrEnum):
    CLAIMED = "claimed"  # about to be handed over; if the run dies here the send is in doubt, and is not repeated
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"  # opted out, suppressed after a bounce or complaint, or no address


@dataclass(frozen=True)
class Send:
    """One email or post of a bulletin, claimed before it is sent so that no run sends it twice."""

    key: str  # domain.bulletins.mail_key or post_key: "mail:{participant}", "post:{channel}"
    state: SendState
    at: datetime
    reference: str = ""  # SES's message id, the platform's post id
    reason: str = ""
    attempts: int = 0


@dataclass(frozen=True)
class BulletinRecord:
    """A bulletin's header. Its snapshot (services.ports.Bulletins.snapshot) is stored once, beside it."""

    org: str
    program: str
    id: str  # sortable: the moment it was made, then how ("20261130T0800Z-schedule")
    status: str  # domain.bulletins.BulletinStatus
    state: BulletinState
    period: str
    created_at: datetime
    trigger: str  # "schedule" | "api"
    fingerprint: str
    previous: str | None = None  # the final bulletin it was compared with
    news: bool = True  # new scores since `previous`
    summary: dict[str, Any] = field(default_factory=dict)  # what was sent: counts, and each channel's outcome
    finished_at: datetime | None = None

    @property
    def final(self) -> bool:
        return self.status == "final"


class Bulletins(Protocol):
    """A program's bulletins, their snapshots, what each sent, and who gets no digests."""

    def create_bulletin(self, record: BulletinRecord, snapshot: dict[str, Any]) -> bool:
        """Store a new bulletin; False (and nothing changed) if one with its id exists."""
        ...

    def get_bulletin(self, org: str, program: str, bulletin: str) -> BulletinRecord | None: ...
    def list_bulletins(self, org: str, program: str, limit: int = 20) -> list[BulletinRecord]:
        """Newest first."""
        ...

    def latest_final(self, org: str, program: str) -> BulletinRecord | None:
        """The newest final bulletin that had news: what the next one is compared with (a quiet one is not)."""
        ...

    def snapshot(self, org: str, program: str, bulletin: str) -> dict[str, Any]: ...
    def update_bulletin(self, record: BulletinRecord) -> None: ...

    def claim_send(self, org: str, program: str, bulletin: str, key: str, at: datetime) -> bool:
        """Claim one send: False if any run has claimed it before (whatever became of it)."""
        ...

    def record_send(self, org: str, program: str, bulletin: str, send: Send) -> None: ...
    def sends(self, org: str, program: str, bulletin: str) -> dict[str, Send]: ...

    def write_marks(self, org: str, program: str, marks: Mapping[str, BoardMarks]) -> bool:
        """Keep each board's marks of one final bulletin (all of `marks` are of the same one), replacing the
        previous bulletin's and dropping boards it no longer has; False (nothing written) if the marks kept are
        of a later bulletin."""
        ...

    def read_marks(self, org: str, program: str, boards: Iterable[str]) -> dict[str, BoardMarks]:
        """The latest final bulletin's marks of these boards (by ref); a board it had not is left out."""
        ...

    def mail_opt_outs(self, org: str, program: str) -> set[str]: ...
    def set_mail_opt_out(self, org: str, program: str, participant: str, at: datetime, opted_out: bool) -> None: ...
    def suppressed_addresses(self) -> set[str]:
        """Hashes (adapters.keys.address_hash) of addresses SES reported as bounced or complained."""
        ...

    def suppress_address(self, address: str, reason: str, at: datetime) -> None: ...


@dataclass(frozen=True)
class Email:
    to: str
    sender: str
    subject: str
    html: str
    text: str
    headers: dict[str, str] = field(default_factory=dict)  # List-Unsubscribe and the like
    tags: dict[str, str] = field(default_factory=dict)  # SES message tags: what a bounce event says it was


class MailRejected(Exception):
    """The mail service refused one message (a bad address, a sender not verified): that send failed, the run
    goes on. `throttled` means try again later, not that the message is wrong."""

    def __init__(self, reason: str, throttled: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.throttled = throttled


class Mailer(Protocol):
    """Sends one email; returns the service's message id."""

    def send(self, email: Email) -> str: ...
    def max_send_rate(self) -> float:
        """Messages a second the account may send (SES's sending quota)."""
        ...
