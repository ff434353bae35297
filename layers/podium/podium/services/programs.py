"""Use cases for programs, rosters, participants, keys and tokens. Each takes the Store it works on."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from podium.domain.errors import Forbidden, InvalidInput, NotFound, Problem
from podium.domain.program import PROGRAM_ID, program_from_dict
from podium.domain.records import OPT_OUT_HINT, read_opt_out
from podium.domain.roster import PARTICIPANT_ID, Participant, Roster, build_roster
from podium.services.auth import KEY_ID, IssuedKey, Principal, issue_key, program_token
from podium.services.ports import ApiKey, ProgramRecord, Scope, Store

# A DynamoDB item holds at most 400 KB: inputs are bounded well below it, so they are refused with a 422, not
# turned into a failed write (a 500).
MAX_PROGRAM_BYTES = 100_000
MAX_TEXT = {"name": 200, "email": 254, "team": 200, "division": 200}


def put_program(store: Store, who: Principal, program_id: str, document: Any, now: datetime) -> ProgramRecord:
    """Create or replace a program definition; every change is a new version, kept in the history."""
    who.require(Scope.ADMIN, program_id)
    if not isinstance(document, dict):
        raise InvalidInput([Problem("", "must be a mapping of fields (id, name, metrics, …)")], "program")
    doc = dict(document)
    doc.setdefault("id", program_id)
    if doc["id"] != program_id:
        raise InvalidInput([Problem("id", f"{doc['id']!r} does not match the URL's program {program_id!r}")], "program")
    program_from_dict(doc)  # raises InvalidProgram with every problem
    try:
        size = len(json.dumps(doc, ensure_ascii=False).encode())
    except (TypeError, ValueError):  # YAML can tag values JSON cannot hold (!!binary, !!set)
        raise InvalidInput([Problem("", "holds a value JSON cannot represent")], "program") from None
    if size > MAX_PROGRAM_BYTES:
        raise InvalidInput(
            [Problem("", f"is {size:,} bytes; a program may be at most {MAX_PROGRAM_BYTES:,}")], "program"
        )
    current = store.get_program(who.org, program_id)
    if current is not None and current.document == doc:
        return current
    record = ProgramRecord(
        org=who.org,
        id=program_id,
        document=doc,
        version=1 if current is None else current.version + 1,
        created_at=now if current is None else current.created_at,
        updated_at=now,
        token_hashes={} if current is None else current.token_hashes,
    )
    store.save_program(record, None if current is None else current.version)
    return record


def get_program(store: Store, who: Principal, program_id: str) -> ProgramRecord:
    who.require(Scope.READ, program_id)
    return find_program(store, who.org, program_id)


def find_program(store: Store, org: str, program_id: str) -> ProgramRecord:
    """The program, or NotFound. An id no program can have is not looked up: DynamoDB refuses an over-long key
    with an error, not a miss."""
    record = store.get_program(org, program_id) if PROGRAM_ID.fullmatch(program_id) else None
    if record is None:
        raise NotFound(f"no program {program_id!r}")
    return record


def roster(store: Store, who: Principal, program_id: str) -> list[Participant]:
    """The program's participants with their emails: for API keys only, as a public read token sits in pages."""
    who.require(Scope.READ, program_id)
    if who.program is not None:
        raise Forbidden("the roster needs an API key; a public read token shows boards only")
    get_program(store, who, program_id)
    return sorted(store.list_participants(who.org, program_id), key=lambda p: p.id)


def list_programs(store: Store, who: Principal) -> list[ProgramRecord]:
    who.require(Scope.READ)
    return sorted(store.list_programs(who.org), key=lambda r: r.id)


def rotate_token(store: Store, who: Principal, program_id: str, scope: Scope, now: datetime) -> str:
    """A new public submit or read token for a program; the previous one stops working at once."""
    who.require(Scope.ADMIN, program_id)
    if scope is Scope.ADMIN:
        raise InvalidInput([Problem("scope", "public tokens are for submit or read")])
    record = get_program(store, who, program_id)
    token, digest = program_token(who.org, program_id, scope)
    store.save_tokens(record, {**record.token_hashes, scope.value: digest}, now)
    return token


# --- keys ---------------------------------------------------------------------------------------------------


def create_key(store: Store, who: Principal, name: str, scopes: Iterable[str], now: datetime) -> IssuedKey:
    who.require(Scope.ADMIN)
    wanted = list(scopes)
    problems = [Problem("scopes", f"{s!r} is not one of: admin, submit, read") for s in wanted if s not in set(Scope)]
    if not wanted:
        problems.append(Problem("scopes", "name at least one of: admin, submit, read"))
    if problems:
        raise InvalidInput(problems, "key")
    issued = issue_key(who.org, name or "unnamed key", frozenset(Scope(s) for s in wanted), now)
    store.put_key(issued.key)
    return issued


def list_keys(store: Store, who: Principal) -> list[ApiKey]:
    who.require(Scope.ADMIN)
    return sorted(store.list_keys(who.org), key=lambda k: k.created_at)


def revoke_key(store: Store, who: Principal, key_id: str, now: datetime) -> None:
    who.require(Scope.ADMIN)
    if not KEY_ID.fullmatch(key_id) or not store.revoke_key(who.org, key_id, now):
        raise NotFound(f"no key {key_id!r}")


# --- roster -------------------------------------------------------------------------------------------------


@dataclass
class RosterChange:
    """What a roster upload changes: nothing is deleted, people who left are deactivated (history stays)."""

    added: list[str] = field(default_factory=list)
    moved: list[dict[str, str | None]] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)
    unchanged: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "added": self.added,
            "moved": self.moved,
            "updated": self.updated,
            "removed": self.removed,
            "reactivated": self.reactivated,
            "unchanged": self.unchanged,
        }


def load_roster(store: Store, org: str, program_id: str) -> Roster:
    return build_roster(store.list_participants(org, program_id))


def put_roster(
    store: Store, who: Principal, program_id: str, upload: Roster, now: datetime, *, dry_run: bool
) -> RosterChange:
    """Replace a program's roster with an upload: add, move, update, deactivate whoever is missing."""
    who.require(Scope.ADMIN, program_id)
    _check_lengths(upload.participants.values())
    get_program(store, who, program_id)
    current = {p.id: p for p in store.list_participants(who.org, program_id)}
    change = RosterChange(dry_run=dry_run)
    writes: list[Participant] = []
    for p in upload.participants.values():
        before = current.get(p.id)
        if before is None:
            change.added.append(p.id)
        elif before == p:
            change.unchanged += 1
            continue
        elif (before.team_id, before.division_id) != (p.team_id, p.division_id):
            change.moved.append({"id": p.id, "from": before.team, "to": p.team})
        elif not before.active and p.active:
            change.reactivated.append(p.id)
        else:
            change.updated.append(p.id)
        writes.append(p)
    for pid, before in current.items():
        if pid not in upload.participants and before.active:
            change.removed.append(pid)
            writes.append(replace(before, active=False))
    # The whole roster must stay consistent (a team in one division), including people kept from before.
    merged = {**current, **{p.id: p for p in writes}}
    build_roster(merged.values())
    if not dry_run and writes:
        _save(store, who.org, program_id, current, writes, now)
    return change


def put_participant(store: Store, who: Principal, program_id: str, participant: Participant, now: datetime) -> bool:
    """Create or replace one participant; True when created."""
    who.require(Scope.ADMIN, program_id)
    _check_lengths([participant])
    get_program(store, who, program_id)
    people = {p.id: p for p in store.list_participants(who.org, program_id)}
    before = dict(people)
    created = participant.id not in people
    people[participant.id] = participant
    build_roster(people.values())
    _save(store, who.org, program_id, before, [participant], now)
    return created


def patch_participant(
    store: Store, who: Principal, program_id: str, participant_id: str, changes: dict[str, Any], now: datetime
) -> Participant:
    who.require(Scope.ADMIN, program_id)
    get_program(store, who, program_id)
    people = {p.id: p for p in store.list_participants(who.org, program_id)}
    if participant_id not in people:
        raise NotFound(f"no participant {participant_id!r} in program {program_id!r}")
    allowed = {"name", "email", "team", "division", "active", "opt_out"}
    problems = [
        Problem(k, "cannot be changed (use name, email, team, division, active, opt_out)")
        for k in changes
        if k not in allowed
    ]
    for k in ("name", "email", "team", "division"):
        if k in changes and changes[k] is not None and not isinstance(changes[k], str):
            problems.append(Problem(k, "must be text or null"))
    if "active" in changes and not isinstance(changes["active"], bool):
        problems.append(Problem("active", "must be true or false"))
    opt_out = read_opt_out(changes.get("opt_out")) if isinstance(changes.get("opt_out"), str | None) else None
    if "opt_out" in changes and opt_out is None:
        problems.append(Problem("opt_out", OPT_OUT_HINT))
    if "name" in changes and (changes["name"] is None or not str(changes["name"]).strip()):
        problems.append(Problem("name", "must not be empty"))
    if problems:
        raise InvalidInput(problems, "participant")
    before = people[participant_id]

    def text(key: str, current: str | None) -> str | None:
        if key not in changes:
            return current
        return str(changes[key]).strip() or None if changes[key] is not None else None

    updated = Participant(
        id=before.id,
        name=text("name", before.name) or before.name,
        email=text("email", before.email) or "",
        team=text("team", before.team),
        division=text("division", before.division),
        active=bool(changes.get("active", before.active)),
        opt_out=opt_out if "opt_out" in changes and opt_out is not None else before.opt_out,
    )
    _check_lengths([updated])
    people[participant_id] = updated
    build_roster(people.values())
    _save(store, who.org, program_id, {before.id: before}, [updated], now)
    return updated


def _save(
    store: Store,
    org: str,
    program_id: str,
    before: dict[str, Participant],
    writes: Iterable[Participant],
    now: datetime,
) -> None:
    """Write participants, each with their placement history carried on from the record they replace."""
    store.save_participants(org, program_id, [p.placed(before.get(p.id), now) for p in writes], now)


def _check_lengths(people: Iterable[Participant]) -> None:
    problems = [
        Problem(name, f"{name} of {p.id!r} is longer than {limit} characters")
        for p in people
        for name, limit in MAX_TEXT.items()
        if len(getattr(p, name) or "") > limit
    ]
    if problems:
        raise InvalidInput(problems, "participant")


def deactivate_participant(store: Store, who: Principal, program_id: str, participant_id: str, now: datetime) -> None:
    """People are deactivated, not deleted: their submissions and past standings stay explainable."""
    participant = _participant(store, who, program_id, participant_id)
    if participant.active:
        _save(store, who.org, program_id, {participant.id: participant}, [replace(participant, active=False)], now)


def _participant(store: Store, who: Principal, program_id: str, participant_id: str) -> Participant:
    who.require(Scope.ADMIN, program_id)
    get_program(store, who, program_id)
    found = (
        store.get_participants(who.org, program_id, [participant_id])
        if PARTICIPANT_ID.fullmatch(participant_id)
        else []
    )
    if not found:
        raise NotFound(f"no participant {participant_id!r} in program {program_id!r}")
    return found[0]
