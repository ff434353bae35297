"""Reading submissions and rosters from rows (CSV files, form posts, JSON): one set of rules for every source.

Pure: callers hand in rows already read (csv.DictReader over a file, a request body, a JSON list) and get domain
objects plus every problem found, each located by row and column.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

from podium.domain.errors import InvalidInput, Problem
from podium.domain.program import MAX_ABS_NUMBER, Program
from podium.domain.roster import Participant, Roster, build_roster
from podium.domain.submissions import Submission

SUBMISSION_FIXED_COLUMNS = ("id", "participant", "at", "voids")
# A row whose source could not shape it (a JSON item that is not an object, say) carries its problem here.
ROW_PROBLEM = "!problem"
ROSTER_COLUMNS = ("id", "name", "email", "team", "division")
MAX_ID_LENGTH = 128


def parse_number(text: object) -> float:
    """A finite number within ±MAX_ABS_NUMBER, from a JSON number or text such as `12`, `-3.5`, `1e3`."""
    if isinstance(text, bool):
        raise ValueError("must be a number, not true/false")
    if isinstance(text, int | float):
        number = float(text)
    elif isinstance(text, str):
        cleaned = text.strip()
        try:
            number = float(cleaned)
        except ValueError:
            raise ValueError(f"{cleaned!r} is not a number") from None
    else:
        raise ValueError(f"must be a number, not {type(text).__name__}")
    if not math.isfinite(number) or abs(number) > MAX_ABS_NUMBER:
        raise ValueError(f"must be a finite number between -{MAX_ABS_NUMBER:g} and {MAX_ABS_NUMBER:g}")
    return number


def parse_instant(text: str, tz: ZoneInfo) -> datetime:
    """An ISO-8601 time. Without an offset it is read in the program's time zone; a bare date is its midnight."""
    cleaned = text.strip()
    if not cleaned:
        raise ValueError("is empty")
    try:
        parsed = datetime.fromisoformat(cleaned.replace("z", "Z"))
    except ValueError:
        raise ValueError(f"{cleaned!r} is not an ISO-8601 time such as 2026-11-24T09:30:00Z") from None
    if len(cleaned) == 10:  # a bare date
        parsed = datetime.combine(parsed.date(), time(0))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed


@dataclass
class SubmissionRows:
    """What a batch of submission rows turned into: the good ones, and a problem list for the rest."""

    submissions: list[Submission] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rejected_rows: set[int] = field(default_factory=set)


def read_submission_rows(
    rows: Iterable[Mapping[str, object]],
    program: Program,
    roster: Roster,
    *,
    now: datetime | None = None,
    known_ids: set[str] | None = None,
    first_row: int = 2,
    noun: str = "column",
    window: tuple[datetime, datetime] | None = None,
) -> SubmissionRows:
    """Check and convert submission rows: `id, participant, at, voids` and one field per metric.

    A row with any problem is rejected whole (never half-read); the others are kept. Empty cells mean "no value".
    Rows number from `first_row` (2 for a CSV file whose line 1 is the header). Without `now`, `at` is required.
    With `known_ids`, a row may void only an id in it or an earlier row of this batch. With `window`
    (earliest, latest), `at` must fall inside it.
    """
    out = SubmissionRows()
    tz = program.tz
    metrics = set(program.metric_keys)
    seen_ids: set[str] = set()
    for number, row in enumerate(rows, start=first_row):
        problems: list[Problem] = []

        def bad(field: str | None, message: str, number: int = number, problems: list[Problem] = problems) -> None:
            problems.append(Problem.in_row(number, field, message, noun))

        if ROW_PROBLEM in row:
            bad(None, str(row[ROW_PROBLEM]))
            out.problems.extend(problems)
            out.rejected_rows.add(number)
            continue
        for column in row:
            if column is None:
                bad(None, "has more cells than the header has columns")
            elif column not in SUBMISSION_FIXED_COLUMNS and column not in metrics:
                bad(column, f"is not a metric of program {program.id!r}")

        sid = _text(row.get("id")) or f"row-{number}"
        if len(sid) > MAX_ID_LENGTH:
            bad("id", f"is longer than {MAX_ID_LENGTH} characters")
        elif sid in seen_ids:
            bad("id", f"{sid!r} appears twice in this batch")

        participant = _text(row.get("participant"))
        if not participant:
            bad("participant", "is required")
        elif participant not in roster.participants:
            bad("participant", f"{participant!r} is not on the roster")
        elif not roster.participants[participant].active:
            bad("participant", f"{participant!r} is no longer active on the roster")

        at_text = _text(row.get("at"))
        at: datetime | None = now
        if at_text:
            try:
                at = parse_instant(at_text, tz)
            except ValueError as e:
                bad("at", str(e))
            else:
                if window is not None and not window[0] <= at <= window[1]:
                    bad("at", f"must be between {window[0]:%Y-%m-%d %H:%M} and {window[1]:%Y-%m-%d %H:%M} UTC")
        elif now is None:
            bad("at", "is required")

        values: dict[str, float] = {}
        for key in program.metric_keys:
            raw = row.get(key)
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            try:
                values[key] = parse_number(raw)
            except ValueError as e:
                bad(key, str(e))

        voids = _text(row.get("voids")) or None
        if voids and known_ids is not None and voids not in known_ids and voids not in seen_ids:
            bad("voids", f"{voids!r} is not an earlier submission")
        if not values and not voids and not problems:
            bad(None, "has no metric values and voids nothing")

        if problems or at is None or not participant:
            out.problems.extend(problems)
            out.rejected_rows.add(number)
            continue
        seen_ids.add(sid)
        out.submissions.append(Submission(id=sid, participant=participant, at=at, values=values, voids=voids))
    return out


def submission_header_problems(header: Iterable[str], program: Program) -> list[Problem]:
    """Problems with a CSV header: it must name `participant`, and every other column must be known."""
    columns = list(header)
    if "participant" not in columns:
        return [Problem.in_row(1, None, "the header must name a 'participant' column")]
    # An unknown column is most likely a misspelt metric: taking the rows without it would lose its values.
    return [
        Problem.in_row(1, c, f"is not a metric of program {program.id!r}; no row was read")
        for c in columns
        if c not in SUBMISSION_FIXED_COLUMNS and c not in program.metric_keys
    ]


def read_submissions_csv(
    lines: Iterable[str],
    program: Program,
    roster: Roster,
    *,
    now: datetime | None = None,
    known_ids: set[str] | None = None,
) -> SubmissionRows:
    """Submission rows from CSV text: a header line naming `participant`, `at` and metric columns."""
    reader = csv.DictReader(without_bom(lines))
    problems = submission_header_problems(reader.fieldnames or [], program)
    if problems:
        return SubmissionRows(problems=problems)
    return read_submission_rows(reader, program, roster, now=now, known_ids=known_ids)


def read_roster_csv(lines: Iterable[str]) -> Roster:
    """A roster from CSV text with the columns id,name,email,team,division (email, team, division may be empty)."""
    reader = csv.DictReader(without_bom(lines))
    header = reader.fieldnames or []
    missing = [c for c in ("id", "name") if c not in header]
    if missing:
        raise InvalidInput(
            [Problem.in_row(1, None, f"the header must name the columns {', '.join(missing)}")], "roster"
        )
    return read_roster_rows(reader, first_row=2)


def read_roster_rows(rows: Iterable[Mapping[str, object]], *, first_row: int = 1, noun: str = "column") -> Roster:
    """A roster from rows of id, name, email, team, division and optionally active; every problem at once."""
    problems: list[Problem] = []
    people: list[Participant] = []
    for number, row in enumerate(rows, start=first_row):
        if not isinstance(row, Mapping):
            problems.append(Problem.in_row(number, None, "must be an object with id, name, email, team, division"))
            continue
        for column in row:
            if column is None:
                problems.append(Problem.in_row(number, None, "has more cells than the header has columns"))
            elif column not in (*ROSTER_COLUMNS, "active"):
                problems.append(
                    Problem.in_row(number, str(column), f"is not a roster {noun} ({', '.join(ROSTER_COLUMNS)})", noun)
                )
        for column in ROSTER_COLUMNS:
            value = row.get(column)
            if value is not None and not isinstance(value, str | int):
                problems.append(Problem.in_row(number, column, "must be text", noun))
        pid = _text(row.get("id"))
        if not pid:
            problems.append(Problem.in_row(number, "id", "is required", noun))
            continue
        active = row.get("active", True)
        if isinstance(active, str):
            active = active.strip().lower() not in ("false", "no", "0")
        elif not isinstance(active, bool):
            problems.append(Problem.in_row(number, "active", "must be true or false", noun))
            continue
        people.append(
            Participant(
                id=pid,
                name=_text(row.get("name")) or pid,
                email=_text(row.get("email")),
                team=_text(row.get("team")) or None,
                division=_text(row.get("division")) or None,
                active=active,
            )
        )
    if problems:
        raise InvalidInput(problems, "roster")
    return build_roster(people)


def _text(value: object) -> str:
    if value is None:
        return ""
    return str(value).strip()


def without_bom(lines: Iterable[str]) -> Iterator[str]:
    # Spreadsheets often save UTF-8 with a byte-order mark, which would otherwise become part of the first column.
    it = iter(lines)
    first = next(it, None)
    if first is None:
        return
    yield first.removeprefix("\ufeff")
    yield from it
