"""The table's key scheme, built and parsed here and nowhere else.

| item                    | pk                                  | sk                        |
| ----------------------- | ----------------------------------- | ------------------------- |
| organisation            | `O#{org}`                           | `ORG`                     |
| API key                 | `O#{org}`                           | `KEY#{key}`               |
| program                 | `O#{org}`                           | `PROG#{program}`          |
| program version         | `O#{org}#PROG#{program}`            | `V#{version:06d}`         |
| program's pulse         | `O#{org}#PROG#{program}`            | `PULSE`                   |
| participant             | `O#{org}#PROG#{program}`            | `P#{participant}`         |
| submission              | `O#{org}#PROG#{program}#P#{p}`      | `S#{submission}`          |
| membership mirror       | `O#{org}#PROG#{program}#P#{p}`      | `M`                       |
| submission id's owner   | `O#{org}#PROG#{program}#ID#{id}`    | `ID`                      |
| participant in period   | `O#{org}#PROG#{program}#T#{team}`   | `PP#{period}#{p}`         |
| team in period          | `O#{org}#PROG#{program}#D#{div}`    | `TP#{period}#{team}`      |
| division in period      | `O#{org}#PROG#{program}#DIVS`       | `DP#{period}#{div}`       |
| program in period       | `O#{org}#STANDINGS`                 | `PRP#{program}#{period}`  |
| bulletin                | `O#{org}#PROG#{program}#BUL`        | `BH#{bulletin}`           |
| bulletin's snapshot     | `O#{org}#PROG#{program}#BUL`        | `BC#{bulletin}#{n:03d}`   |
| a bulletin's send       | `O#{org}#PROG#{program}#BUL#{b}`    | `SEND#mail:{p}`, `SEND#post:{name}` |
| board's last bulletin   | `O#{org}#PROG#{program}#MARKS`      | `MK#{board}`, `MK#{board}#{n:03d}`, `MKH` |
| digest opt-out          | `O#{org}#PROG#{program}#NOMAIL`     | `OPT#{p}`                 |
| suppressed address      | `MAIL#SUPPRESSED`                   | sha256 of the address     |

Sparse index gsi1: programs of every org under `PROGRAMS` / `{org}#{program}` (scheduled work never scans), and
participants in a period under `O#{org}#PROG#{program}#PER#{period}` / `{p}` (everyone in a period is one Query).

Each standing is partitioned by its parent, so every change to one aggregate's children arrives on one stream
shard, in order: one writer per aggregate. Org and program ids never hold `#`; participant ids may, so they are
always the last part of a key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from podium.domain.bulletins import address_hash
from podium.domain.program import PeriodKind, Weekday
from podium.domain.standings import (
    DivisionPeriod,
    GroupLevel,
    ParticipantRef,
    PeriodScheme,
    ProgramPeriod,
    ProgramRef,
    RebuildRequest,
    TeamPeriod,
)

ORG_SK = "ORG"
MEMBERSHIP_SK = "M"
CLAIM_SK = "ID"
PULSE_SK = "PULSE"  # outside the stream's filter: touching it drives nothing
KEY_PREFIX = "KEY#"
PROGRAM_PREFIX = "PROG#"
VERSION_PREFIX = "V#"
PARTICIPANT_PREFIX = "P#"
SUBMISSION_PREFIX = "S#"
# Every program of every org sits in one partition of the sparse index: a deployment has a handful.
ALL_PROGRAMS = "PROGRAMS"


# --- building ------------------------------------------------------------------------------------------------


def org_pk(org: str) -> str:
    return f"O#{org}"


def program_pk(org: str, program: str) -> str:
    return f"O#{org}#PROG#{program}"


def participant_pk(org: str, program: str, participant: str) -> str:
    """A participant's log: their submissions and their membership mirror."""
    return f"O#{org}#PROG#{program}#P#{participant}"


def submission_claim_key(org: str, program: str, submission: str) -> tuple[str, str]:
    """Which participant a sender-chosen submission id belongs to: one small item per id, in a partition of its
    own (no hot key), so an id is unique in its program while the log stays partitioned by participant."""
    return f"O#{org}#PROG#{program}#ID#{submission}", CLAIM_SK


def bulletins_pk(org: str, program: str) -> str:
    """A program's bulletins: headers (`BH#`, newest last) and their snapshots in chunks (`BC#`)."""
    return f"O#{org}#PROG#{program}#BUL"


BULLETIN_PREFIX = "BH#"
CHUNK_PREFIX = "BC#"


def bulletin_sk(bulletin: str) -> str:
    return f"{BULLETIN_PREFIX}{bulletin}"


def chunk_sk(bulletin: str, n: int) -> str:
    return f"{CHUNK_PREFIX}{bulletin}#{n:03d}"


def sends_pk(org: str, program: str, bulletin: str) -> str:
    """What a bulletin sent: one item per email and per post, claimed before it is sent."""
    return f"O#{org}#PROG#{program}#BUL#{bulletin}"


SEND_PREFIX = "SEND#"


def send_sk(key: str) -> str:
    """A send's key (domain.bulletins.mail_key, post_key: "mail:{participant}", "post:{channel}") as a sort key."""
    return f"{SEND_PREFIX}{key}"


def send_key_of(sk: str) -> str:
    return sk.removeprefix(SEND_PREFIX)


def marks_pk(org: str, program: str) -> str:
    """What the board pages keep of the latest final bulletin: one item per board (`MK#{board}`, in more chunks
    when it is large) and a header (`MKH`) naming the bulletin, so an older one never overwrites a newer."""
    return f"O#{org}#PROG#{program}#MARKS"


MARKS_PREFIX = "MK#"
MARKS_HEADER_SK = "MKH"


def marks_sk(board: str, n: int = 0) -> str:
    """A board's ref (domain.boards.board_ref: "program", "team:chicago"; no `#` in it) and its chunk."""
    return f"{MARKS_PREFIX}{board}" if n == 0 else f"{MARKS_PREFIX}{board}#{n:03d}"


def marks_board_of(sk: str) -> str:
    return sk.removeprefix(MARKS_PREFIX).split("#", 1)[0]


def mail_opt_outs_pk(org: str, program: str) -> str:
    return f"O#{org}#PROG#{program}#NOMAIL"


OPT_OUT_PREFIX = "OPT#"


def mail_opt_out_sk(participant: str) -> str:
    return f"{OPT_OUT_PREFIX}{participant}"


# Bounces and complaints come from SES for the whole account, with no organisation: one partition, one Query.
SUPPRESSED_PK = "MAIL#SUPPRESSED"


def suppressed_sk(address: str) -> str:
    """Addresses are kept as hashes (domain.bulletins.address_hash): the table holds no list of addresses."""
    return address_hash(address)


def pulse_key(org: str, program: str) -> tuple[str, str]:
    """The small item that says when anything a program's boards show last changed (see services/boards.py)."""
    return program_pk(org, program), PULSE_SK


def key_sk(key_id: str) -> str:
    return f"{KEY_PREFIX}{key_id}"


def program_sk(program: str) -> str:
    return f"{PROGRAM_PREFIX}{program}"


def program_index_sk(org: str, program: str) -> str:
    return f"{org}#{program}"


def version_sk(version: int) -> str:
    return f"{VERSION_PREFIX}{version:06d}"


def participant_sk(participant: str) -> str:
    return f"{PARTICIPANT_PREFIX}{participant}"


def submission_sk(submission: str) -> str:
    return f"{SUBMISSION_PREFIX}{submission}"


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


def participant_standing_key(org: str, program: str, team: str, period: str, participant: str) -> tuple[str, str]:
    return team_pk(org, program, team), f"PP#{period}#{participant}"


def participant_standings_prefix(period: str) -> str:
    return f"PP#{period}#"


def team_standings_prefix(period: str) -> str:
    return f"TP#{period}#"


def division_standings_prefix(period: str) -> str:
    return f"DP#{period}#"


def group_standing_key(
    org: str, program: str, level: GroupLevel, ref: str, parent: str, period: str
) -> tuple[str, str]:
    if level is GroupLevel.TEAM:
        return division_pk(org, program, parent), f"TP#{period}#{ref}"
    if level is GroupLevel.DIVISION:
        return divisions_pk(org, program), f"DP#{period}#{ref}"
    return programs_pk(org), f"PRP#{program}#{period}"


# --- parsing -------------------------------------------------------------------------------------------------


def org_of(pk: str) -> str:
    return pk.removeprefix("O#")


def owner_org(pk: str) -> str | None:
    """The organisation any item belongs to, from its partition key (org ids never hold `#`); None for items of
    no organisation."""
    return pk.removeprefix("O#").split("#", 1)[0] if pk.startswith("O#") else None


def suffix(sk: str, prefix: str) -> str:
    """The id a sort key holds after its prefix (`KEY#k1` -> `k1`)."""
    return sk.removeprefix(prefix)


@dataclass(frozen=True)
class SubmissionKey:
    participant: ParticipantRef
    submission: str


@dataclass(frozen=True)
class MembershipKey:
    participant: ParticipantRef


@dataclass(frozen=True)
class ProgramKey:
    program: ProgramRef


@dataclass(frozen=True)
class ParticipantStandingKey:
    team: TeamPeriod
    participant: str


@dataclass(frozen=True)
class TeamStandingKey:
    division: DivisionPeriod
    team: str


@dataclass(frozen=True)
class DivisionStandingKey:
    program: ProgramPeriod
    division: str


ParsedKey = SubmissionKey | MembershipKey | ProgramKey | ParticipantStandingKey | TeamStandingKey | DivisionStandingKey


def parse_key(pk: str, sk: str) -> ParsedKey | None:
    """What an item is, from its keys; None for items the aggregator does not follow."""
    parts = pk.split("#", 5)
    if parts[0] != "O" or len(parts) < 2:
        return None
    org = parts[1]
    if len(parts) == 2:
        if sk.startswith(PROGRAM_PREFIX):
            return ProgramKey(ProgramRef(org, suffix(sk, PROGRAM_PREFIX)))
        return None
    if len(parts) < 4 or parts[2] != "PROG":
        return None
    program = parts[3]
    if len(parts) == 5 and parts[4] == "DIVS" and sk.startswith("DP#"):
        period, _, division = sk.removeprefix("DP#").partition("#")
        return DivisionStandingKey(ProgramPeriod(org, program, period), division)
    if len(parts) != 6:
        return None
    kind, ref = parts[4], parts[5]
    if kind == "P":
        participant = ParticipantRef(org, program, ref)
        if sk == MEMBERSHIP_SK:
            return MembershipKey(participant)
        if sk.startswith(SUBMISSION_PREFIX):
            return SubmissionKey(participant, suffix(sk, SUBMISSION_PREFIX))
    elif kind == "T" and sk.startswith("PP#"):
        period, _, who = sk.removeprefix("PP#").partition("#")
        return ParticipantStandingKey(TeamPeriod(org, program, ref, period), who)
    elif kind == "D" and sk.startswith("TP#"):
        period, _, team = sk.removeprefix("TP#").partition("#")
        return TeamStandingKey(DivisionPeriod(org, program, ref, period), team)
    return None


# --- stored values the stream shows as they are stored ----------------------------------------------------------

# PynamoDB's UTCDateTimeAttribute format: 2026-11-24T10:00:00.000000+0000
STORED_INSTANT = "%Y-%m-%dT%H:%M:%S.%f%z"
EVERY_PERIOD = "*"


def parse_stored_instant(value: str) -> datetime:
    return datetime.strptime(value, STORED_INSTANT)


def encode_rebuild(request: RebuildRequest) -> str:
    """A membership mark: a period key, `*` for every period, or `*week|UTC|monday` with the old scheme."""
    if request.period is not None:
        return request.period
    old = request.old_scheme
    return EVERY_PERIOD if old is None else f"{EVERY_PERIOD}{old.kind}|{old.timezone}|{old.week_start}"


def decode_rebuild(mark: str) -> RebuildRequest:
    if not mark.startswith(EVERY_PERIOD):
        return RebuildRequest.of_period(mark)
    scheme = mark.removeprefix(EVERY_PERIOD)
    if not scheme:
        return RebuildRequest()
    kind, timezone, week_start = scheme.split("|")
    return RebuildRequest(old_scheme=PeriodScheme(PeriodKind(kind), timezone, Weekday(week_start)))
