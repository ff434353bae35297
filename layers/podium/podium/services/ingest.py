"""Taking in submissions and corrections: validated against the program, idempotent, never half-written.

Each submission is one conditional write keyed by its id, so a retried request writes nothing new and
reports duplicates. Rows are read and written in chunks, so a large CSV file never sits in memory as objects.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from podium.domain.errors import BadRequest, Forbidden, IdempotencyKeyReused, NotFound, Problem
from podium.domain.program import Program
from podium.domain.records import (
    CORRECTION_PREFIX,
    MAX_ID_LENGTH,
    ROW_NUMBER,
    ROW_PROBLEM,
    CsvRows,
    read_submission_rows,
    submission_header_problems,
)
from podium.domain.roster import PARTICIPANT_ID, Roster, build_roster
from podium.domain.submissions import Submission
from podium.services.auth import Principal
from podium.services.ports import PutOutcome, Scope, Store, StoredSubmission
from podium.services.programs import find_program

MAX_JSON_SUBMISSIONS = 1000
CHUNK_ROWS = 500
FUTURE_SKEW = timedelta(minutes=5)
# Below this many distinct people, fetching just them is cheaper than reading the whole roster.
SMALL_BATCH_PEOPLE = 50
# Beside ROW_PROBLEM, a row a source could not shape may name the field at fault (`participant`, a metric).
ROW_FIELD = "!field"


@dataclass
class IngestResult:
    accepted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rows_rejected(self) -> int:
        return len({r.get("row") for r in self.rejected})

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": len(self.accepted),
            "duplicates": len(self.duplicates),
            "rejected": self.rows_rejected,
            "accepted_ids": self.accepted,
            "duplicate_ids": self.duplicates,
            # In row order, whichever check found them (reading, voids, the write itself).
            "errors": sorted(self.rejected, key=lambda e: int(e.get("row") or 0)),
        }


def submit(
    store: Store,
    who: Principal,
    program_id: str,
    rows: Sequence[Mapping[str, object]],
    *,
    source: str,
    now: datetime,
    idempotency_key: str | None = None,
) -> IngestResult:
    """Validate and store submission rows (JSON objects or a form); rows number from 1."""
    who.require(Scope.SUBMIT, program_id)
    record = find_program(store, who.org, program_id)
    wanted = {p.strip() for r in rows if isinstance(p := r.get("participant"), str)}
    # Only well-formed ids can be on the roster; anything else (too long for a key, say) is never looked up.
    wanted = {p for p in wanted if PARTICIPANT_ID.fullmatch(p)}
    if len(wanted) <= SMALL_BATCH_PEOPLE:
        roster = build_roster(store.get_participants(who.org, program_id, wanted))
    else:
        roster = build_roster(store.list_participants(who.org, program_id))
    numbered = [{**row, ROW_NUMBER: n} for n, row in enumerate(rows, start=1)]
    return _store_rows(
        store, who, record.program, roster, numbered, source, now, idempotency_key, "field", single=len(rows) == 1
    )


def submit_csv(
    store: Store,
    who: Principal,
    program_id: str,
    lines: Iterable[str],
    *,
    now: datetime,
    idempotency_key: str | None = None,
) -> IngestResult:
    """Validate and store a CSV file of submissions, streaming through it in chunks; rows number as in the file."""
    who.require(Scope.SUBMIT, program_id)
    record = find_program(store, who.org, program_id)
    program = record.program
    rows = CsvRows(lines)
    header_problems = rows.header_problems([]) or submission_header_problems(rows.header, program)
    if header_problems:
        return IngestResult(rejected=[p.as_dict() for p in header_problems])
    roster = build_roster(store.list_participants(who.org, program_id))
    result = _store_rows(store, who, program, roster, rows, "csv", now, idempotency_key, "column")
    if not (result.accepted or result.duplicates or result.rejected):
        raise BadRequest("the CSV has a header but no rows: nothing to submit", code="empty")
    return result


def _store_rows(
    store: Store,
    who: Principal,
    program: Program,
    roster: Roster,
    rows: Iterable[Mapping[str, object]],
    source: str,
    now: datetime,
    idempotency_key: str | None,
    noun: str,
    *,
    single: bool = False,
) -> IngestResult:
    window = (now - timedelta(days=program.backdate_days), now + FUTURE_SKEW)
    result = IngestResult()
    ids = _Ids()
    for chunk in _chunks(_with_ids(rows, idempotency_key, single, ids), CHUNK_ROWS):
        read = read_submission_rows(chunk, program, roster, now=now, noun=noun, window=window)
        by_number = {_number(row): row for row in chunk}
        result.rejected += [_with_field(p, by_number.get(p.row or 0, {}), noun).as_dict() for p in read.problems]
        numbers: dict[str, int] = {}
        for row in chunk:  # the first row with an id is the one read; a second is refused as a repeat
            numbers.setdefault(str(row.get("id") or "").strip(), _number(row))
        timed = {sid for sid, n in numbers.items() if str(by_number[n].get("at") or "").strip()}
        plain = [s for s in read.submissions if not s.voids]
        corrections = [s for s in read.submissions if s.voids]
        if corrections and who.program is not None:
            message = "corrections need an API key, not a public program token"
            result.rejected += [Problem.in_row(numbers[s.id], "voids", message, noun).as_dict() for s in corrections]
            corrections = []
        # Corrections are checked after the plain rows are written, so one may cancel a row of the same request.
        taken = _put(store, who, program, plain, numbers, timed, source, now, noun, result, ids)
        checked = _check_voids(store, who.org, program.id, corrections, numbers, timed, noun, result)
        taken += _put(store, who, program, checked, numbers, timed, source, now, noun, result, ids)
        for outcome, sid in sorted(taken, key=lambda t: numbers[t[1]]):
            (result.accepted if outcome is PutOutcome.CREATED else result.duplicates).append(sid)
    if idempotency_key is not None and ids.conflicted & ids.derived and not (result.accepted or result.duplicates):
        raise IdempotencyKeyReused(idempotency_key)
    return result


@dataclass
class _Ids:
    """Where a request's submission ids came from, and which were already taken by something else."""

    generated: set[str] = field(default_factory=set)  # new ones Podium made: unique, nothing to claim
    derived: set[str] = field(default_factory=set)  # made from the request's Idempotency-Key
    conflicted: set[str] = field(default_factory=set)


def _put(
    store: Store,
    who: Principal,
    program: Program,
    submissions: list[Submission],
    numbers: Mapping[str, int],
    timed: set[str],
    source: str,
    now: datetime,
    noun: str,
    result: IngestResult,
    ids: _Ids,
) -> list[tuple[PutOutcome, str]]:
    """Write submissions; returns (CREATED or DUPLICATE, id) for each one taken, and records the refused."""
    if not submissions:
        return []
    stored = [StoredSubmission(s, source, now, who.by, claim=s.id not in ids.generated) for s in submissions]
    taken: list[tuple[PutOutcome, str]] = []
    for item, outcome in zip(stored, store.put_submissions(who.org, program.id, stored), strict=True):
        s = item.submission
        if outcome is PutOutcome.CREATED:
            taken.append((outcome, s.id))
        elif outcome is PutOutcome.DUPLICATE or (s.id not in timed and _same_but_time(store, who.org, program, item)):
            taken.append((PutOutcome.DUPLICATE, s.id))
        else:
            ids.conflicted.add(s.id)
            message = f"{s.id!r} is already used in this program by a different submission"
            result.rejected.append(Problem.in_row(numbers[s.id], "id", message, noun).as_dict())
    return taken


def _with_field(problem: Problem, row: Mapping[str, object], noun: str) -> Problem:
    """A problem the row's source found carries the field the source named, if it named one."""
    named = row.get(ROW_FIELD)
    if problem.field is None and problem.row is not None and ROW_PROBLEM in row and isinstance(named, str):
        return Problem.in_row(problem.row, named, problem.message, noun)
    return problem


def _same_but_time(store: Store, org: str, program: Program, item: StoredSubmission) -> bool:
    """A retry that left `at` to the server gets a new `at`; it is still the same submission if all else is."""
    s = item.submission
    existing = store.get_submission(org, program.id, s.participant, s.id)
    if existing is None:
        return False
    e = existing.submission
    return (e.participant, dict(e.values), e.voids) == (s.participant, dict(s.values), s.voids)


@dataclass(frozen=True)
class VoidResult:
    voided: str
    correction: str
    already: bool

    def as_dict(self) -> dict[str, Any]:
        return {"voided": self.voided, "correction": self.correction, "already_voided": self.already}


def void(
    store: Store,
    who: Principal,
    program_id: str,
    submission_id: str,
    participant: str,
    reason: str,
    now: datetime,
) -> VoidResult:
    """Cancel a submission by writing a correction that names it; the original stays in the log."""
    who.require(Scope.SUBMIT, program_id)
    if who.program is not None:
        raise Forbidden("corrections need an API key, not a public program token")
    find_program(store, who.org, program_id)
    missing = NotFound(f"no submission {submission_id!r} for participant {participant!r}")
    # Ids that no submission can have are not looked up (a key that long is refused by the table itself).
    longest = MAX_ID_LENGTH + len(CORRECTION_PREFIX)
    if not PARTICIPANT_ID.fullmatch(participant) or not 0 < len(submission_id) <= longest:
        raise missing
    target = store.get_submission(who.org, program_id, participant, submission_id)
    if target is None:
        raise missing
    correction = Submission(
        id=CORRECTION_PREFIX + submission_id,
        participant=participant,
        # The correction sits at the voided submission's time, so it falls in the same period.
        at=target.submission.at,
        values={},
        voids=submission_id,
    )
    (outcome,) = store.put_submissions(
        who.org, program_id, [StoredSubmission(correction, "void", now, who.by, reason=reason)]
    )
    return VoidResult(submission_id, correction.id, already=outcome is not PutOutcome.CREATED)


def _with_ids(
    rows: Iterable[Mapping[str, object]], idempotency_key: str | None, single: bool, ids: _Ids
) -> Iterator[Mapping[str, object]]:
    """Give every row an id: its own, else one derived from the request's Idempotency-Key, else a new one."""
    for row in rows:
        if str(row.get("id") or "").strip():
            yield row
        elif idempotency_key:
            derived = idempotency_key if single else f"{idempotency_key}-{_number(row)}"
            ids.derived.add(derived)
            yield {**row, "id": derived}
        else:
            generated = uuid.uuid4().hex
            ids.generated.add(generated)
            yield {**row, "id": generated}


def _number(row: Mapping[str, object]) -> int:
    """The row's number as its sender counts: from 1 in a JSON list, as in the file (header = 1) for CSV."""
    number = row.get(ROW_NUMBER)
    return number if isinstance(number, int) else 0


def _check_voids(
    store: Store,
    org: str,
    program_id: str,
    submissions: list[Submission],
    numbers: Mapping[str, int],
    timed: set[str],
    noun: str,
    result: IngestResult,
) -> list[Submission]:
    """A row that voids must name an existing submission of the same participant. Sent without `at`, it sits at
    the time of what it voids (as a correction made by `void` does), so it falls in the same period."""
    good = []
    for s in submissions:
        at = s.at
        if s.voids:
            target = (
                store.get_submission(org, program_id, s.participant, s.voids) if len(s.voids) <= MAX_ID_LENGTH else None
            )
            if target is None:
                result.rejected.append(
                    Problem.in_row(
                        numbers[s.id], "voids", f"{s.voids!r} is not a submission of {s.participant!r}", noun
                    ).as_dict()
                )
                continue
            if s.id not in timed:
                at = target.submission.at
        good.append(s if at == s.at else replace(s, at=at))
    return good


def _chunks(rows: Iterable[Mapping[str, object]], size: int) -> Iterator[list[Mapping[str, object]]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk
