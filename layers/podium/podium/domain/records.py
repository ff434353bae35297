"""Reading submissions and rosters from rows (CSV files, form posts, JSON): one set of rules for every source.

Pure: callers hand in rows already read (csv.DictReader over a file, a request body, a JSON list) and get domain
objects plus every problem found, each located by row and column.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

from podium.domain.errors import InvalidInput, Problem
from podium.domain.periods import MAX_YEAR, MIN_YEAR
from podium.domain.program import MAX_ABS_NUMBER, Program
from podium.domain.roster import OptOut, Participant, Roster, build_roster
from podium.domain.submissions import Submission

SUBMISSION_FIXED_COLUMNS = ("id", "participant", "at", "voids")
# A row whose source could not shape it (a JSON item that is not an object, say) carries its problem here.
ROW_PROBLEM = "!problem"
# A row read from a file carries the row number it starts on (blank lines and multi-line cells make it differ
# from its position among the rows).
ROW_NUMBER = "!row"
ROSTER_COLUMNS = ("id", "name", "email", "team", "division")
OPTIONAL_ROSTER_COLUMNS = ("active", "opt_out")
MAX_ID_LENGTH = 128
# Ids of the corrections Podium writes itself (`void`) start with this; a submitted id may not, so no
# submission can take a correction's id first.
CORRECTION_PREFIX = "!void:"
# A number as text: ASCII digits, an optional sign, decimal point and exponent.
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def parse_number(text: object) -> float:
    """A finite number within ±MAX_ABS_NUMBER, from a JSON number or text such as `12`, `-3.5`, `1e3`."""
    if isinstance(text, bool):
        raise ValueError("must be a number, not true/false")
    if isinstance(text, int) and abs(text) > MAX_ABS_NUMBER:
        number = math.inf  # an integer too large for a float: refused below, without an OverflowError
    elif isinstance(text, int | float):
        number = float(text)
    elif isinstance(text, str):
        cleaned = text.strip()
        if _DECIMAL.fullmatch(cleaned):
            number = float(cleaned)
        elif cleaned.lower().lstrip("+-") in ("inf", "infinity", "nan"):
            number = math.inf  # refused below as not finite
        else:  # float() would also take `1_000` and non-ASCII digits
            raise ValueError(f"{cleaned[:40]!r} is not a number")
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
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValueError(f"{cleaned!r} is outside the years {MIN_YEAR} to {MAX_YEAR}")
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
    reject_inactive: bool = True,
) -> SubmissionRows:
    """Check and convert submission rows: `id, participant, at, voids` and one field per metric.

    A row with any problem is rejected whole (never half-read); the others are kept. Empty cells mean "no value".
    Rows number from `first_row` (2 for a CSV file whose line 1 is the header). Without `now`, `at` is required.
    With `known_ids`, a row may void only an id in it or an earlier row of this batch. With `window`
    (earliest, latest), `at` must fall inside it. New scores for deactivated people are refused; reading an
    old log offline (`reject_inactive=False`) keeps them, and boards leave inactive people out anyway.
    """
    out = SubmissionRows()
    tz = program.tz
    metrics = set(program.metric_keys)
    seen_ids: set[str] = set()
    for index, row in enumerate(rows, start=first_row):
        number = _row_number(row, index)
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
            elif column != ROW_NUMBER and column not in SUBMISSION_FIXED_COLUMNS and column not in metrics:
                bad(column, f"is not a metric of program {program.id!r}")

        # Without an id, a row is named by its row number, zero-padded so that rows at the same instant keep
        # their file order (equal times are ordered by id).
        sid = _text(row.get("id")) or f"row-{number:07d}"
        if len(sid) > MAX_ID_LENGTH:
            bad("id", f"is longer than {MAX_ID_LENGTH} characters")
        elif sid.startswith("!"):
            bad("id", "may not start with '!' (Podium names its own corrections so)")
        elif sid in seen_ids:
            bad("id", f"{sid!r} appears twice in this batch")

        participant = _text(row.get("participant"))
        if not participant:
            bad("participant", "is required")
        elif participant not in roster.participants:
            bad("participant", f"{participant!r} is not on the roster")
        elif reject_inactive and not roster.participants[participant].active:
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
        for metric in program.metrics:
            raw = row.get(metric.key)
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            try:
                value = parse_number(raw)
            except ValueError as e:
                bad(metric.key, str(e))
                continue
            if (out_of_bounds := metric.value_problem(value)) is not None:
                bad(metric.key, out_of_bounds)
            else:
                values[metric.key] = value

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


class CsvRows:
    """Rows of a CSV text, as mappings, numbered by the spreadsheet row they start on (the header is row 1).

    A row the csv module cannot read (a cell over its size limit, say) comes through carrying its problem, and
    reading stops there.
    """

    def __init__(self, lines: Iterable[str]) -> None:
        self._reader = csv.reader(without_bom(lines))
        self.header: list[str] = []
        self.error: str | None = None
        try:
            self.header = [h.strip() for h in next(self._reader, [])]
        except csv.Error as e:
            self.error = f"cannot be read as CSV: {e}"

    def header_problems(self, required: Iterable[str]) -> list[Problem]:
        if self.error:
            return [Problem.in_row(1, None, self.error)]
        missing = [c for c in required if c not in self.header]
        problems = (
            [Problem.in_row(1, None, f"the header must name the column(s) {', '.join(missing)}")] if missing else []
        )
        seen: set[str] = set()
        for column in self.header:
            if column in seen:
                problems.append(Problem.in_row(1, column, "appears twice in the header"))
            seen.add(column)
        return problems

    def __iter__(self) -> Iterator[dict[str, object]]:
        width = len(self.header)
        while True:
            start = self._reader.line_num + 1
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except csv.Error as e:
                yield {ROW_NUMBER: start, ROW_PROBLEM: f"cannot be read as CSV: {e}; nothing after it was read"}
                return
            if not cells or all(not c.strip() for c in cells):
                continue  # a blank line: spreadsheets leave them, and they carry nothing
            row: dict[str, object] = {ROW_NUMBER: start, **dict(zip(self.header, cells, strict=False))}
            if len(cells) > width:
                row[ROW_PROBLEM] = "has more cells than the header has columns"
            yield row


def submission_header_problems(header: Iterable[str], program: Program) -> list[Problem]:
    """Problems with a submissions CSV header: it must name `participant`; an unknown column (most likely a
    misspelt metric, whose values would be lost) refuses the whole file."""
    columns = list(header)
    if "participant" not in columns:
        return [Problem.in_row(1, None, "the header must name a 'participant' column")]
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
    reject_inactive: bool = True,
) -> SubmissionRows:
    """Submission rows from CSV text: a header line naming `participant`, `at` and metric columns."""
    rows = CsvRows(lines)
    problems = rows.header_problems([]) or submission_header_problems(rows.header, program)
    if problems:
        return SubmissionRows(problems=problems)
    return read_submission_rows(rows, program, roster, now=now, known_ids=known_ids, reject_inactive=reject_inactive)


def read_roster_csv(lines: Iterable[str]) -> Roster:
    """A roster from CSV text with the columns id,name,email,team,division (email, team, division may be empty)."""
    rows = CsvRows(lines)
    problems = rows.header_problems(["id", "name"])
    problems += [
        Problem.in_row(1, c, f"is not a roster column ({', '.join((*ROSTER_COLUMNS, *OPTIONAL_ROSTER_COLUMNS))})")
        for c in rows.header
        if c not in (*ROSTER_COLUMNS, *OPTIONAL_ROSTER_COLUMNS)
    ]
    if problems:
        raise InvalidInput(problems, "roster")
    return read_roster_rows(rows, first_row=2)


def read_roster_rows(rows: Iterable[Mapping[str, object]], *, first_row: int = 1, noun: str = "column") -> Roster:
    """A roster from rows of id, name, email, team, division and optionally active; every problem at once."""
    problems: list[Problem] = []
    people: list[Participant] = []
    for index, row in enumerate(rows, start=first_row):
        if not isinstance(row, Mapping):
            problems.append(Problem.in_row(index, None, "must be an object with id, name, email, team, division"))
            continue
        number = _row_number(row, index)
        if ROW_PROBLEM in row:
            problems.append(Problem.in_row(number, None, str(row[ROW_PROBLEM])))
            continue
        for column in row:
            if column not in (*ROSTER_COLUMNS, *OPTIONAL_ROSTER_COLUMNS, ROW_NUMBER):
                known = ", ".join((*ROSTER_COLUMNS, *OPTIONAL_ROSTER_COLUMNS))
                problems.append(Problem.in_row(number, str(column), f"is not a roster {noun} ({known})", noun))
        for column in ROSTER_COLUMNS:
            value = row.get(column)
            if value is not None and not isinstance(value, str | int):
                problems.append(Problem.in_row(number, column, "must be text", noun))
        pid = _text(row.get("id"))
        if not pid:
            problems.append(Problem.in_row(number, "id", "is required", noun))
            continue
        active = _flag(row.get("active"))
        if active is None:
            problems.append(Problem.in_row(number, "active", "must be yes, no, true, false, 1, 0 or empty", noun))
            continue
        opt_out = read_opt_out(row.get("opt_out"))
        if opt_out is None:
            problems.append(Problem.in_row(number, "opt_out", OPT_OUT_HINT, noun))
            continue
        people.append(
            Participant(
                id=pid,
                name=_text(row.get("name")) or pid,
                email=_text(row.get("email")),
                team=_text(row.get("team")) or None,
                division=_text(row.get("division")) or None,
                active=active,
                opt_out=opt_out,
            )
        )
    if problems:
        raise InvalidInput(problems, "roster")
    return build_roster(people)


OPT_OUT_HINT = "must be anonymise, hide or empty"


def read_opt_out(value: object) -> OptOut | None:
    """An opt_out cell: empty or absent means shown by name; None when it is none of the choices."""
    text = "" if value is None else str(value).strip().lower()
    try:
        return OptOut("anonymise" if text == "anonymize" else text)
    except ValueError:
        return None


def _flag(value: object) -> bool | None:
    """A yes/no cell: empty or absent means yes (active)."""
    if value is None or isinstance(value, bool):
        return True if value is None else value
    text = str(value).strip().lower()
    if text in ("", "yes", "y", "true", "1"):
        return True
    if text in ("no", "n", "false", "0"):
        return False
    return None


def _row_number(row: Mapping[str, object], default: int) -> int:
    number = row.get(ROW_NUMBER)
    return number if isinstance(number, int) else default


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
