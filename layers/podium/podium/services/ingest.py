"""Taking in submissions and corrections: validated against the program, idempotent, never half-written.

Each submission is one conditional write keyed by its id, so a retried request writes nothing new and
reports duplicates. Rows are read and written in chunks, so a large CSV file never sits in memory as objects.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from podium.domain.errors import Forbidden, NotFound, Problem
from podium.domain.program import Program
from podium.domain.records import read_submission_rows, submission_header_problems, without_bom
from podium.domain.roster import Roster, build_roster
from podium.domain.submissions import Submission
from podium.services.auth import Principal
from podium.services.ports import ProgramRecord, PutOutcome, Scope, Store, StoredSubmission

MAX_JSON_SUBMISSIONS = 1000
CHUNK_ROWS = 500
FUTURE_SKEW = timedelta(minutes=5)
# Below this many distinct people, fetching just them is cheaper than reading the whole roster.
SMALL_BATCH_PEOPLE = 50


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
            "errors": self.rejected,
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
    record = _program(store, who.org, program_id)
    wanted = {str(r.get("participant", "")).strip() for r in rows} - {""}
    if len(wanted) <= SMALL_BATCH_PEOPLE:
        roster = build_roster(store.get_participants(who.org, program_id, wanted))
    else:
        roster = build_roster(store.list_participants(who.org, program_id))
    return _store_rows(store, who, record.program, roster, rows, source, now, idempotency_key, 1, "field")


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
    record = _program(store, who.org, program_id)
    program = record.program
    reader = csv.DictReader(without_bom(lines))
    header_problems = submission_header_problems(reader.fieldnames or [], program)
    if header_problems:
        return IngestResult(rejected=[p.as_dict() for p in header_problems])
    roster = build_roster(store.list_participants(who.org, program_id))
    return _store_rows(store, who, program, roster, reader, "csv", now, idempotency_key, 2, "column")


def _store_rows(
    store: Store,
    who: Principal,
    program: Program,
    roster: Roster,
    rows: Iterable[Mapping[str, object]],
    source: str,
    now: datetime,
    idempotency_key: str | None,
    first_row: int,
    noun: str,
) -> IngestResult:
    window = (now - timedelta(days=program.backdate_days), now + FUTURE_SKEW)
    result = IngestResult()
    start = first_row
    single = isinstance(rows, Sequence) and len(rows) == 1
    for chunk in _chunks(_with_ids(rows, idempotency_key, first_row, single), CHUNK_ROWS):
        read = read_submission_rows(chunk, program, roster, now=now, first_row=start, noun=noun, window=window)
        result.rejected += [p.as_dict() for p in read.problems]
        good = _check_voids(store, who.org, program.id, read.submissions, chunk, start, result)
        stored = [StoredSubmission(s, source, now, who.by) for s in good]
        for s, outcome in zip(good, store.put_submissions(who.org, program.id, stored), strict=True):
            if outcome is PutOutcome.CREATED:
                result.accepted.append(s.id)
            elif outcome is PutOutcome.DUPLICATE:
                result.duplicates.append(s.id)
            else:
                row = _row_of(chunk, s.id, start)
                result.rejected.append(
                    Problem.in_row(row, "id", f"{s.id!r} is already used by a different submission", noun).as_dict()
                )
        start += len(chunk)
    return result


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
    _program(store, who.org, program_id)
    target = store.get_submission(who.org, program_id, participant, submission_id)
    if target is None:
        raise NotFound(f"no submission {submission_id!r} for participant {participant!r}")
    correction = Submission(
        id=f"void-{submission_id}",
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


def _program(store: Store, org: str, program_id: str) -> ProgramRecord:
    record = store.get_program(org, program_id)
    if record is None:
        raise NotFound(f"no program {program_id!r}")
    return record


def _with_ids(
    rows: Iterable[Mapping[str, object]], idempotency_key: str | None, first_row: int, single: bool
) -> Iterator[Mapping[str, object]]:
    """Give every row an id: its own, else one derived from the request's Idempotency-Key, else a new one."""
    for n, row in enumerate(rows, start=first_row):
        if str(row.get("id") or "").strip():
            yield row
        elif idempotency_key:
            yield {**row, "id": idempotency_key if single else f"{idempotency_key}-{n}"}
        else:
            yield {**row, "id": uuid.uuid4().hex}


def _check_voids(
    store: Store,
    org: str,
    program_id: str,
    submissions: list[Submission],
    chunk: Sequence[Mapping[str, object]],
    first_row: int,
    result: IngestResult,
) -> list[Submission]:
    """A row that voids must name an existing submission of the same participant."""
    good = []
    for s in submissions:
        if s.voids and store.get_submission(org, program_id, s.participant, s.voids) is None:
            row = _row_of(chunk, s.id, first_row)
            result.rejected.append(
                Problem.in_row(row, "voids", f"{s.voids!r} is not a submission of {s.participant!r}").as_dict()
            )
            continue
        good.append(s)
    return good


def _row_of(chunk: Sequence[Mapping[str, object]], submission_id: str, first_row: int) -> int:
    for i, row in enumerate(chunk):
        if str(row.get("id") or "").strip() == submission_id:
            return first_row + i
    return first_row


def _chunks(rows: Iterable[Mapping[str, object]], size: int) -> Iterator[list[Mapping[str, object]]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk
