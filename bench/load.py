"""Load-and-crash benchmark of the local stack: many clients at once, resends, retries, SIGKILLs, then the checks.

One run starts `podium local --no-demo` with the end-to-end tests' harness (podium_cli.local.harness: free port,
temporary data directory, DynamoDB Local on disk), creates an org, a program (calls: sum; nps: latest, team mean)
and bench/freshness.py's roster (60 participants, 6 teams, 2 divisions), posts one warm-up submission per
participant and waits for every board to show them. Then, over real HTTP on loopback only:

- load: N clients (default 16) share a fixed list of jobs holding S new submissions (default 5,000), each with
  its own sender id: JSON batches of 50 (about 70% of the submissions), CSV posts of 100 (25%) and single HTML
  form posts with the program's public submit token (5%). About 10% more rows are resends: each batch carries
  rows already acknowledged (by any client, in any format) and one form in ten is posted twice; a resend must be
  answered as a duplicate. A client retries a request on a connection error, a timeout, 408, 429 or 5xx, with
  backoff, until it is answered (at most RETRY_SECONDS). The load is bounded in count (S) and time (--seconds:
  no new job starts after it).
- --crash K: when 1/(K+1), 2/(K+1), ... of the submissions are acknowledged, the stack is SIGKILLed (podium
  local and every process under it: DynamoDB Local's java; the HTTP server, stream poller and scheduler are its
  threads) and started again on the same data directory and port, while the clients keep retrying. The time
  from the kill to the restarted stack answering is measured.
- drain: from the last acknowledgement until every board (program, participants, each division, each team)
  equals what the pure domain computes from exactly the acknowledged submissions (the same code as `podium
  score`), polled every 0.25 s, and then until every stored standing matches the log as `podium verify` sees it
  (run in this process; it includes the program's own item, which no board reads, one stream hop after the
  division boards): that second time is the drain. Not drained within 10x the ingest time (120 to 600 s) is
  reported, not raised.
- checks: stored = accepted (the table's submission items and id claims are exactly the acknowledged ids, each
  under its participant); 0 double counts (no id answered "accepted" twice, every resend answered duplicate, the
  program board's calls equal the sum of the accepted ones); every board equals `podium score --json` run on
  CSV files of the acknowledged submissions; `podium verify` reports no drift; every submission sent was taken.
- baseline, in the same run: raw boto3 conditional put_item/s with 16 threads for 10 s, of items cloned from a
  stored submission, on the stack's own DynamoDB Local (bench/freshness.py's raw_puts, imported), once before the
  load and once after the checks (the machine's other work comes and goes); the baseline is their mean. After the
  first, a sentinel submission on every board shows the stream has read past the raw items before the load.

Figures are printed next to that baseline (the machine is shared and noisy): accepted/s as a ratio of raw
put_item/s (target >= 0.5x with 16 clients) and the drain time as a ratio of the ingest time (target <= 2x).
A missed target is reported, not raised: it exits 0 when it ran, 1 only when a check fails or the stack cannot
be started or set up. Standard library and boto3, plus the harness and bench/freshness.py.
Run: .venv/bin/python bench/load.py [--clients 16] [--submissions 5000] [--crash K] [--seconds 300] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from freshness import PHASE_SECONDS, RAW_THREADS, _item_bytes, dynamodb, leftover_processes, ms, pct, raw_puts, roster

from podium.adapters.keys import participant_pk, submission_sk
from podium.domain.boards import compute_scorebook
from podium.domain.periods import parse_period, period_of
from podium.domain.program import program_from_dict
from podium.domain.records import read_roster_csv
from podium.domain.submissions import Submission
from podium_cli.local.harness import PODIUM, LocalStack, StackDidNotStart, start_local_stack

ROOT = Path(__file__).resolve().parents[1]

ORG = "bench"  # as bench/freshness.py's, so its raw items (program "rawpk") are as large as this run's
PROGRAM = "loads"  # as long as "rawpk"
PROGRAM_DOC = {
    "id": PROGRAM,
    "name": "Load",
    "timezone": "UTC",
    "metrics": [
        {"key": "calls"},
        {"key": "nps", "period_aggregate": "latest", "team_rollup": "mean"},
    ],
}
SUBMISSIONS_PATH = f"/v1/programs/{PROGRAM}/submissions"

JSON_BATCH = 50
CSV_BATCH = 100
MIX = {"json": 0.70, "csv": 0.25, "form": 0.05}  # share of the new submissions sent each way
RESEND = 0.10
RETRY_SECONDS = 240.0  # a request unanswered for this long (the stack gone for good) is given up
HTTP_TIMEOUT = 120.0
STARTUP_LIMIT = 180.0
WARM_LIMIT = 120.0
DRAIN_POLL = 0.25
TARGET_RATIO = 0.5
TARGET_DRAIN = 2.0

T0 = time.monotonic()
notes: list[str] = []
baseline_phases: list[str] = []  # the raw put_item phases run so far


def log(message: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {message}", file=sys.stderr, flush=True)


def note(message: str) -> None:
    notes.append(message)
    log("NOTE: " + message)


# --- submissions and jobs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    id: str
    participant: str
    at: str
    calls: int
    nps: int

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "participant": self.participant, "at": self.at, "values": self.values}

    @property
    def values(self) -> dict[str, int]:
        return {"calls": self.calls, "nps": self.nps}

    def csv_line(self) -> str:
        return f"{self.id},{self.participant},{self.at},{self.calls},{self.nps}"

    def submission(self) -> Submission:
        return Submission(self.id, self.participant, datetime.fromisoformat(self.at), dict(self.values))


@dataclass
class Job:
    kind: str  # json | csv | form
    rows: list[Row]  # the new submissions it carries (a form: one)


def make_jobs(total: int, participants: list[str], rng: random.Random, base: datetime) -> list[Job]:
    """The run's submissions (ids s00000001 …, each with its own time, 10 ms apart, all in the past) cut into
    jobs by MIX, in a shuffled order."""
    rows = [
        Row(
            f"s{n:08d}",
            rng.choice(participants),
            (base + timedelta(milliseconds=10 * n)).isoformat(),
            rng.randint(1, 50),
            rng.randint(0, 100),
        )
        for n in range(1, total + 1)
    ]
    forms = round(total * MIX["form"])
    csv_count = round(total * MIX["csv"])
    jobs = [Job("form", [r]) for r in rows[:forms]]
    rest = rows[forms:]
    csv_part, json_rows = rest[:csv_count], rest[csv_count:]
    jobs += [Job("csv", csv_part[i : i + CSV_BATCH]) for i in range(0, len(csv_part), CSV_BATCH)]
    jobs += [Job("json", json_rows[i : i + JSON_BATCH]) for i in range(0, len(json_rows), JSON_BATCH)]
    rng.shuffle(jobs)
    return jobs


CSV_HEADER = "id,participant,at,calls,nps"


def encode(kind: str, rows: list[Row], token: str) -> tuple[bytes, str]:
    if kind == "json":
        return json.dumps([r.as_json() for r in rows]).encode(), "application/json"
    if kind == "csv":
        return ("\n".join([CSV_HEADER, *(r.csv_line() for r in rows)]) + "\n").encode(), "text/csv"
    (r,) = rows
    fields = {"token": token, "id": r.id, "participant": r.participant, "at": r.at, "calls": r.calls, "nps": r.nps}
    return urlencode(fields).encode(), "application/x-www-form-urlencoded"


# --- HTTP ----------------------------------------------------------------------------------------------------


class Conn:
    """One keep-alive connection to the stack (one per client thread); a failure closes it, the caller retries."""

    def __init__(self, url: str, key: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.key = key
        self.conn: http.client.HTTPConnection | None = None

    def send(self, method: str, path: str, body: bytes | None, ctype: str, auth: bool = True) -> tuple[int, bytes]:
        headers = {"Content-Type": ctype}
        if auth:
            headers["Authorization"] = f"Bearer {self.key}"
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=HTTP_TIMEOUT)
        try:
            self.conn.request(method, path, body=body, headers=headers)
            reply = self.conn.getresponse()
            data = reply.read()
        except (http.client.HTTPException, OSError):
            self.close()
            raise
        if (reply.getheader("Connection") or "").lower() == "close":
            self.close()
        return reply.status, data

    def json(self, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
        body = None if payload is None else json.dumps(payload).encode()
        status, data = self.send(method, path, body, "application/json")
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, data[:300]

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


RETRIED_STATUSES = {408, 429, 500, 502, 503, 504}


@dataclass
class Tally:
    """What the clients were told, shared by every client thread (under `lock`)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    acked: dict[str, Row] = field(default_factory=dict)  # every id answered accepted or duplicate
    accepted_reports: Counter[str] = field(default_factory=Counter)
    new_acked: int = 0  # of the load's new submissions (not the warm-up)
    pool: list[Row] = field(default_factory=list)  # acknowledged rows, for resends
    sent: set[str] = field(default_factory=set)  # new ids sent at least once
    resends_sent: int = 0
    resends_duplicate: int = 0
    resends_accepted: int = 0
    resends_other: int = 0
    early_duplicates: int = 0  # a new id answered duplicate by a request's first and only attempt
    rejected: list[str] = field(default_factory=list)
    given_up: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[int] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    first_send: float | None = None
    last_ack: float = 0.0


def post(
    conn: Conn, tally: Tally, kind: str, body: bytes, ctype: str, rng: random.Random
) -> tuple[int, bytes, bool] | None:
    """POST a body until it is answered with anything but a retryable failure: (status, body, whether an earlier
    attempt failed), or None when RETRY_SECONDS pass first."""
    deadline = time.monotonic() + RETRY_SECONDS
    attempt = 0
    while True:
        attempt += 1
        started = time.monotonic()
        with tally.lock:
            tally.requests += 1
            if tally.first_send is None:
                tally.first_send = started
        try:
            status, data = conn.send("POST", SUBMISSIONS_PATH, body, ctype, auth=kind != "form")
        except (http.client.HTTPException, OSError) as e:
            reason = type(e).__name__
        else:
            took = time.monotonic() - started
            with tally.lock:
                tally.statuses[status] += 1
                if status < 300:
                    tally.latencies[kind].append(took)
            if status not in RETRIED_STATUSES:
                return status, data, attempt > 1
            reason = f"HTTP {status}"
        with tally.lock:
            tally.retries[reason] += 1
        if time.monotonic() > deadline:
            return None
        time.sleep(min(2.0, 0.05 * 2 ** min(attempt, 6)) * (0.5 + rng.random()))


def form_outcome(status: int, page: bytes) -> str:
    """accepted | duplicate | rejected, from the form's result page."""
    if status == 200 and b"your score was received" in page:
        return "duplicate" if b"already been received" in page else "accepted"
    return "rejected"


def run_job(conn: Conn, tally: Tally, job: Job, token: str, rng: random.Random) -> None:
    resend: list[Row] = []
    if job.kind != "form":
        k = round(RESEND * len(job.rows))
        with tally.lock:
            if len(tally.pool) >= 4 * k:
                resend = rng.sample(tally.pool, k)
    rows = job.rows + resend
    rng.shuffle(rows)
    with tally.lock:
        tally.sent.update(r.id for r in job.rows)
    sends = [(rows, resend)]
    if job.kind == "form" and rng.random() < RESEND:
        sends.append((job.rows, job.rows))  # the same form again, once the first is answered
    for batch, resent in sends:
        body, ctype = encode(job.kind, batch, token)
        answer = post(conn, tally, job.kind, body, ctype, rng)
        if answer is None:
            with tally.lock:
                tally.given_up.append(f"{job.kind} of {len(batch)} from {batch[0].id}: unanswered {RETRY_SECONDS} s")
            return
        status, data, retried = answer
        if job.kind == "form":
            outcome = form_outcome(status, data)
            accepted = [batch[0].id] if outcome == "accepted" else []
            duplicate = [batch[0].id] if outcome == "duplicate" else []
            problems = [] if outcome != "rejected" else [f"form {status}: {data[:200]!r}"]
        else:
            try:
                reply = json.loads(data)
                accepted, duplicate = list(reply["accepted_ids"]), list(reply["duplicate_ids"])
                problems = [json.dumps(e)[:200] for e in reply.get("errors", [])]
            except (ValueError, KeyError, TypeError):
                accepted, duplicate, problems = [], [], [f"{job.kind} {status}: {data[:200]!r}"]
        record(tally, batch, {r.id for r in resent}, accepted, duplicate, problems, retried)


def record(
    tally: Tally,
    batch: list[Row],
    resent: set[str],
    accepted: list[str],
    duplicate: list[str],
    problems: list[str],
    retried: bool,
) -> None:
    by_id = {r.id: r for r in batch}
    now = time.monotonic()
    with tally.lock:
        tally.rejected += problems
        for sid in accepted:
            tally.accepted_reports[sid] += 1
        for sid in resent:
            if sid in accepted:
                tally.resends_accepted += 1
            elif sid in duplicate:
                tally.resends_duplicate += 1
            else:
                tally.resends_other += 1
        tally.resends_sent += len(resent)
        for sid in [*accepted, *duplicate]:
            row = by_id.get(sid)
            if row is None or sid in resent:
                continue
            if sid in duplicate and not retried:
                tally.early_duplicates += 1
            if sid not in tally.acked:
                tally.acked[sid] = row
                tally.pool.append(row)
                if not sid.startswith("w"):
                    tally.new_acked += 1
        tally.last_ack = now


# --- the stack, killed and restarted -------------------------------------------------------------------------


class Crasher:
    """Holds the running stack; SIGKILLs it (and everything under it) and starts it again on the same data
    directory and port, when the acknowledged submissions pass each threshold."""

    def __init__(self, stack: LocalStack, data_dir: Path, log_path: Path) -> None:
        self.stack = stack
        self.data_dir = data_dir
        self.log_path = log_path
        self.port = int(urlsplit(stack.url).port or 0)
        self.restarts: list[float] = []
        self.failed: str | None = None

    def crash(self) -> bool:
        stack = self.stack
        killed = time.monotonic()
        victims = stack.kill()
        log(f"crash: SIGKILLed {len(victims)} process(es) {victims}; restarting on port {self.port} …")
        try:
            self.stack = start_local_stack(
                ROOT, self.data_dir, port=self.port, log_path=self.log_path, timeout=STARTUP_LIMIT
            )
        except StackDidNotStart as e:
            self.failed = f"the stack did not start again after crash {len(self.restarts) + 1}: {e}"
            log(self.failed)
            return False
        self.restarts.append(time.monotonic() - killed)
        log(f"crash: answering again {self.restarts[-1]:.1f} s after the kill")
        return True

    def run(self, tally: Tally, thresholds: list[int], done: threading.Event) -> None:
        for threshold in thresholds:
            while not done.is_set():
                with tally.lock:
                    reached = tally.new_acked >= threshold
                if reached:
                    break
                time.sleep(0.02)
            if done.is_set() or not self.crash():
                return


# --- boards --------------------------------------------------------------------------------------------------


def boards_of(team_of: dict[str, str], division_of: dict[str, str]) -> list[tuple[str, str]]:
    """(API path, `podium score --board`) of every board."""
    out = [("program", "program"), ("participants", "participants")]
    out += [(f"division/{d}", f"division:{d}") for d in sorted(set(division_of.values()))]
    out += [(f"team/{t}", f"team:{t}") for t in sorted(set(team_of.values()))]
    return out


def comparable(board: dict[str, Any]) -> dict[str, Any]:
    """What must match: the period and every standing (rank, id, name, points, metrics, headcount)."""
    standings = [{k: v for k, v in s.items() if k != "movement"} for s in board["standings"]]
    return {"period": board["period"], "standings": standings}


def read_board(conn: Conn, path: str, period: str) -> dict[str, Any]:
    status, body = conn.json("GET", f"/v1/programs/{PROGRAM}/boards/{path}?period={period}")
    if status != 200 or not isinstance(body, dict):
        raise RuntimeError(f"GET boards/{path}: {status} {body!r}")
    return body


def expected_boards(
    rows: list[Row], roster_csv: str, period: str, boards: list[tuple[str, str]]
) -> dict[str, dict[str, Any]]:
    """Every board from exactly these submissions, with the pure domain (what `podium score` runs)."""
    program = program_from_dict(PROGRAM_DOC)
    book = compute_scorebook(
        program,
        read_roster_csv(io.StringIO(roster_csv)),
        [r.submission() for r in rows],
        parse_period(period, program.week_start),
    )
    out = {}
    for path, ref in boards:
        kind, _, name = ref.partition(":")
        out[path] = comparable(book.board(kind, name or None).as_dict())
    return out


def first_difference(got: dict[str, Any], want: dict[str, Any]) -> str:
    if got["period"] != want["period"]:
        return f"period {got['period']} != {want['period']}"
    if len(got["standings"]) != len(want["standings"]):
        return f"{len(got['standings'])} standings, expected {len(want['standings'])}"
    for g, w in zip(got["standings"], want["standings"], strict=True):
        if g != w:
            return f"{json.dumps(g)[:200]} != expected {json.dumps(w)[:200]}"
    return "equal"


def boards_right(conn: Conn, want: dict[str, dict[str, Any]], period: str) -> str | None:
    """None when every board equals `want`, else the first difference (the program board is read first)."""
    got = comparable(read_board(conn, "program", period))
    if got != want["program"]:
        return f"program: {first_difference(got, want['program'])}"
    others = {path: comparable(read_board(conn, path, period)) for path in want if path != "program"}
    wrong = [p for p in others if others[p] != want[p]]
    return f"{wrong[0]}: {first_difference(others[wrong[0]], want[wrong[0]])}" if wrong else None


def drain(
    conn: Conn,
    want: dict[str, dict[str, Any]],
    period: str,
    since: float,
    limit: float,
    settled: Callable[[], str | None] | None = None,
) -> tuple[float | None, float | None, str]:
    """Seconds from `since` until every board equals `want`, and until then `settled()` also says nothing differs
    (None: not within `limit`), and the last difference seen."""
    deadline = time.monotonic() + limit
    boards_at: float | None = None
    last = "not read"
    polls, polling = 0, 0.0
    while time.monotonic() < deadline:
        try:
            wrong = boards_right(conn, want, period)
            if wrong is None:
                boards_at = boards_at if boards_at is not None else time.monotonic() - since
                started = time.monotonic()
                wrong = settled() if settled is not None else None
                polls, polling = polls + 1, polling + time.monotonic() - started
                if wrong is None:
                    if settled is not None:
                        log(f"drain: standings polled {polls} time(s), {polling / polls:.2f} s a poll")
                    return boards_at, time.monotonic() - since, "equal"
                if wrong != last:
                    log(f"drain: boards right, stored standings not yet ({time.monotonic() - since:.1f} s): {wrong}")
            elif boards_at is not None:
                note(f"the boards were right {boards_at:.1f} s after the load, then not: {wrong}")
                boards_at = None
            last = wrong
        except Exception as e:  # a busy or restarting stack: read again
            last = f"{type(e).__name__}: {e}"[:300]
        time.sleep(DRAIN_POLL)
    return boards_at, None, last


def standings_drift(stack: LocalStack, period: str) -> Callable[[], str | None]:
    """What `podium verify` does, in this process (no interpreter to start at each poll): None when every stored
    standing (participants, teams, divisions and the program's own item, which no board reads) matches the log."""
    from podium.adapters.dynamodb import DynamoStore
    from podium.adapters.standings import DynamoStandings
    from podium.services.verify import verify

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "local")  # DynamoDB Local takes any credentials
    store = DynamoStore(stack.table, "us-east-1", stack.dynamodb_endpoint)
    standings = DynamoStandings(store)

    def drift() -> str | None:
        _, found = verify(store, standings, ORG, PROGRAM, period, datetime.now(UTC), lambda _: None)
        shown = "; ".join(str(d) for d in found[:3])
        return f"{len(found)} stored standing(s) differ from the log: {shown}"[:400] if found else None

    return drift


# --- checks --------------------------------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def stored_items(stack: LocalStack) -> tuple[dict[str, str], int]:
    """The program's stored submissions (id → participant) and its id claims, read from the table."""
    ddb = dynamodb(stack.dynamodb_endpoint)
    log_prefix = participant_pk(ORG, PROGRAM, "")
    claim_prefix = f"O#{ORG}#PROG#{PROGRAM}#ID#"
    submissions: dict[str, str] = {}
    claims = 0
    paginator = ddb.get_paginator("scan")
    for page in paginator.paginate(TableName=stack.table, ProjectionExpression="pk, sk", ConsistentRead=True):
        for item in page["Items"]:
            pk, sk = item["pk"]["S"], item["sk"]["S"]
            if pk.startswith(log_prefix) and sk.startswith(submission_sk("")):
                submissions[sk.removeprefix(submission_sk(""))] = pk.removeprefix(log_prefix)
            elif pk.startswith(claim_prefix):
                claims += 1
    return submissions, claims


def check_stored(stack: LocalStack, acked: dict[str, Row]) -> Check:
    stored, claims = stored_items(stack)
    missing = [i for i in acked if i not in stored]
    extra = [i for i in stored if i not in acked]
    moved = [i for i in acked if i in stored and stored[i] != acked[i].participant]
    ok = not missing and not extra and not moved and claims == len(stored)
    detail = f"{len(stored):,} submissions and {claims:,} id claims stored, {len(acked):,} acknowledged"
    if missing:
        detail += f"; {len(missing)} acknowledged but not stored (e.g. {missing[:3]})"
    if extra:
        detail += f"; {len(extra)} stored but never acknowledged (e.g. {extra[:3]})"
    if moved:
        detail += f"; {len(moved)} stored under another participant"
    return Check("stored = accepted", ok, detail)


def check_double(tally: Tally, program_board: dict[str, Any]) -> Check:
    twice = [i for i, n in tally.accepted_reports.items() if n > 1]
    shown = sum(float((s["metrics"].get("calls") or {}).get("value") or 0) for s in program_board["standings"])
    total = float(sum(r.calls for r in tally.acked.values()))
    ok = not twice and tally.resends_accepted == 0 and shown == total
    detail = (
        f"{len(twice)} id(s) answered accepted twice; {tally.resends_sent:,} resends: {tally.resends_duplicate:,} "
        f"duplicate, {tally.resends_accepted} accepted again, {tally.resends_other} neither; program board calls "
        f"{shown:,.0f} = {total:,.0f} accepted" + ("" if shown == total else " (NOT EQUAL)")
    )
    return Check("0 double counts", ok, detail)


def check_score(
    conn: Conn, acked: list[Row], roster_csv: str, period: str, boards: list[tuple[str, str]], folder: Path
) -> Check:
    """Every board the API shows against `podium score --json` on CSV files of the acknowledged submissions."""
    program_file = folder / "program.json"
    program_file.write_text(json.dumps(PROGRAM_DOC))
    roster_file = folder / "roster.csv"
    roster_file.write_text(roster_csv)
    submissions_file = folder / "submissions.csv"
    submissions_file.write_text("\n".join([CSV_HEADER, *(r.csv_line() for r in acked)]) + "\n")
    wrong = []
    files = [str(program_file), str(submissions_file), "--roster", str(roster_file)]
    for path, ref in boards:
        result = subprocess.run(
            [PODIUM, "score", *files, "--board", ref, "--period", period, "--json"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            wrong.append(f"podium score --board {ref}: exit {result.returncode}: {result.stderr.strip()[:300]}")
            continue
        want = comparable(json.loads(result.stdout))
        got = comparable(read_board(conn, path, period))
        if got != want:
            wrong.append(f"{path}: {first_difference(got, want)}")
    detail = f"{len(boards) - len(wrong)} of {len(boards)} boards equal ({', '.join(ref for _, ref in boards)})"
    if wrong:
        detail += "; " + "; ".join(wrong[:3])
    return Check("every board = podium score", not wrong, detail)


def check_verify(stack: LocalStack, period: str) -> Check:
    result = subprocess.run(
        [PODIUM, "verify", "--org", ORG, "--program", PROGRAM, "--period", period],
        env=stack.env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    out = result.stdout.strip().splitlines()
    detail = f"exit {result.returncode}: " + " | ".join(out[:4] or [result.stderr.strip()[-300:]])
    return Check("podium verify: 0 drift", result.returncode == 0, detail)


def check_taken(tally: Tally) -> Check:
    unacked = [i for i in tally.sent if i not in tally.acked]
    ok = not unacked and not tally.rejected and not tally.given_up
    detail = (
        f"{len(tally.sent):,} new submissions sent, {len(unacked)} never acknowledged; "
        f"{len(tally.rejected)} row error(s); {len(tally.given_up)} request(s) given up"
    )
    for problem in [*tally.rejected[:2], *tally.given_up[:2]]:
        detail += f"; {problem}"
    return Check("every submission sent was taken", ok, detail)


# --- the run -------------------------------------------------------------------------------------------------


def baseline(stack: LocalStack, row: Row, participants: list[str], when: str) -> dict[str, Any]:
    """bench/freshness.py's raw put_item phase (RAW_THREADS threads for PHASE_SECONDS), of items cloned from the
    stored submission `row` (keys under a program that does not exist), on the stack's own DynamoDB Local. Each
    phase writes under participant ids of its own (as long as the roster's: p01 → a01, b01), so no key repeats."""
    participants = [chr(ord("a") + len(baseline_phases)) + p[1:] for p in participants]
    baseline_phases.append(when)
    sample = (
        dynamodb(stack.dynamodb_endpoint)
        .get_item(
            TableName=stack.table,
            Key={"pk": {"S": participant_pk(ORG, PROGRAM, row.participant)}, "sk": {"S": submission_sk(row.id)}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    if not sample:
        raise RuntimeError(f"could not read back the stored submission {row.id}")
    log(f"baseline ({when}): raw put_item, {RAW_THREADS} threads, {PHASE_SECONDS:.0f} s …")
    load = os.getloadavg()[0]
    raw = raw_puts(stack.dynamodb_endpoint, stack.table, sample, participants)
    log(f"baseline ({when}): {raw['rate']:,.0f} puts/s")
    return {**raw, "load": load, "when": when, "item_bytes": _item_bytes(sample)}


@dataclass
class Results:
    clients: int
    planned: int
    jobs: Counter[str]
    tally: Tally
    ingest_seconds: float = 0.0
    capped: bool = False
    boards_seconds: float | None = None
    drain_seconds: float | None = None
    drain_limit: float = 0.0
    drain_last: str = ""
    restarts: list[float] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    raw: list[dict[str, Any]] = field(default_factory=list)
    loads: dict[str, float] = field(default_factory=dict)


def run(crasher: Crasher, args: argparse.Namespace, folder: Path) -> Results:
    stack = crasher.stack
    key = stack.create_org(ORG)
    conn = Conn(stack.url, key)
    roster_csv, team_of, division_of = roster()
    participants = sorted(team_of)
    status, body = conn.json("PUT", f"/v1/programs/{PROGRAM}", PROGRAM_DOC)
    if status != 200:
        raise RuntimeError(f"PUT program: {status} {body!r}")
    status, data = conn.send("PUT", f"/v1/programs/{PROGRAM}/roster", roster_csv.encode(), "text/csv")
    if status != 200:
        raise RuntimeError(f"PUT roster: {status} {data[:300]!r}")
    status, body = conn.json("POST", f"/v1/programs/{PROGRAM}/tokens/submit")
    if status not in (200, 201) or not isinstance(body, dict):
        raise RuntimeError(f"POST tokens/submit: {status} {body!r}")
    token = str(body["token"])

    rng = random.Random(args.seed)  # noqa: S311 - benchmark data, not secrets
    base = datetime.now(UTC) - timedelta(seconds=120) - timedelta(milliseconds=10 * args.submissions)
    tally = Tally()
    boards = boards_of(team_of, division_of)

    # Warm-up: one submission each (the first cascade through cold handlers), on every board before the load.
    # (two-digit values, as most of the load's: the first baseline clones one of these)
    warm = [Row(f"w{n:08d}", p, (base - timedelta(seconds=1)).isoformat(), 10, 50) for n, p in enumerate(participants)]
    answer = post(conn, tally, "warm", *encode("json", warm, token), rng)
    if answer is None or answer[0] != 200:
        raise RuntimeError(f"warm-up POST: {answer!r}")
    reply = json.loads(answer[1])
    record(tally, warm, set(), reply["accepted_ids"], reply["duplicate_ids"], [], False)
    if len(tally.acked) != len(warm):
        raise RuntimeError(f"warm-up: {reply!r}")
    program = program_from_dict(PROGRAM_DOC)
    latest = base + timedelta(milliseconds=10 * args.submissions)
    period = period_of(latest, program.period, program.tz, program.week_start).key
    posted = time.monotonic()
    took, _, last = drain(conn, expected_boards(warm, roster_csv, period, boards), period, posted, WARM_LIMIT)
    if took is None:
        raise RuntimeError(f"the warm-up did not reach every board within {WARM_LIMIT:.0f} s: {last}")
    log(f"warm-up on every board after {took:.1f} s (period {period})")

    # The baseline, first half: raw put_item of items cloned from a stored submission (same attributes and size).
    # The stream then has the raw items to read past: a sentinel submission on every board says it has.
    results_raw = [baseline(stack, warm[0], participants, "before the load")]
    sentinel = Row(f"w{len(warm):08d}", warm[0].participant, (base - timedelta(seconds=0.5)).isoformat(), 10, 50)
    answer = post(conn, tally, "warm", *encode("json", [sentinel], token), rng)
    if answer is None or answer[0] != 200:
        raise RuntimeError(f"sentinel POST: {answer!r}")
    reply = json.loads(answer[1])
    record(tally, [sentinel], set(), reply["accepted_ids"], reply["duplicate_ids"], [], False)
    posted = time.monotonic()
    want = expected_boards([*warm, sentinel], roster_csv, period, boards)
    _, took, last = drain(conn, want, period, posted, WARM_LIMIT, standings_drift(stack, period))
    if took is None:
        raise RuntimeError(f"the sentinel did not reach every board and standing within {WARM_LIMIT:.0f} s: {last}")
    log(f"the stream past the raw items: the sentinel in every board and standing after {took:.1f} s")
    tally.latencies.clear()
    tally.statuses.clear()
    tally.requests, tally.first_send = 0, None

    jobs = make_jobs(args.submissions, participants, rng, base)
    results = Results(args.clients, args.submissions, Counter(j.kind for j in jobs), tally, raw=results_raw)
    queue = list(reversed(jobs))
    queue_lock = threading.Lock()
    cap = time.monotonic() + args.seconds
    capped = threading.Event()

    def client(n: int) -> None:
        own = random.Random(args.seed * 1000 + n)  # noqa: S311 - benchmark data
        c = Conn(stack.url, key)  # the port stays the same across restarts
        while True:
            if time.monotonic() > cap:
                capped.set()
                break
            with queue_lock:
                if not queue:
                    break
                job = queue.pop()
            run_job(c, tally, job, token, own)
        c.close()

    done = threading.Event()
    thresholds = [args.submissions * (i + 1) // (args.crash + 1) for i in range(args.crash)]
    crash_thread = threading.Thread(target=crasher.run, args=(tally, thresholds, done), name="crasher")
    log(
        f"load: {args.clients} clients, {args.submissions:,} submissions in {len(jobs)} requests "
        f"({dict(results.jobs)}), {RESEND:.0%} resent" + (f", {args.crash} crash(es)" if args.crash else "")
    )
    results.loads["load"] = os.getloadavg()[0]
    threads = [threading.Thread(target=client, args=(n,), name=f"client-{n}") for n in range(args.clients)]
    crash_thread.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    crash_thread.join()
    results.restarts = crasher.restarts
    if crasher.failed:
        raise RuntimeError(crasher.failed)
    if args.crash and len(crasher.restarts) < args.crash:
        note(f"only {len(crasher.restarts)} of {args.crash} crashes happened before the load ended")
    results.capped = capped.is_set()
    results.ingest_seconds = max(0.0, tally.last_ack - (tally.first_send or tally.last_ack))
    log(f"load: {tally.new_acked:,} acknowledged in {results.ingest_seconds:.1f} s; waiting for every board …")

    stack = crasher.stack
    conn = Conn(stack.url, key)
    acked = sorted(tally.acked.values(), key=lambda r: r.id)
    want = expected_boards(acked, roster_csv, period, boards)
    results.drain_limit = min(600.0, max(120.0, 10 * results.ingest_seconds))
    results.loads["drain"] = os.getloadavg()[0]
    results.boards_seconds, results.drain_seconds, results.drain_last = drain(
        conn, want, period, tally.last_ack, results.drain_limit, standings_drift(stack, period)
    )
    if results.drain_seconds is None:
        note(f"not drained within {results.drain_limit:.0f} s of the last acknowledgement: {results.drain_last}")
    else:
        log(
            f"every board right {results.boards_seconds:.1f} s after the last acknowledgement, every stored "
            f"standing {results.drain_seconds:.1f} s after it"
        )

    log("checks: the table, podium score, podium verify …")
    results.checks = [
        check_stored(stack, tally.acked),
        check_double(tally, read_board(conn, "program", period)),
        check_score(conn, acked, roster_csv, period, boards, folder),
        check_verify(stack, period),
        check_taken(tally),
    ]

    # The baseline, second half, on the same DynamoDB Local (the restarted one after crashes).
    try:
        results.raw.append(baseline(stack, next(r for r in acked if not r.id.startswith("w")), participants, "after"))
    except Exception as e:  # the figures before it stand; the run's checks are done
        note(f"the second baseline phase failed: {type(e).__name__}: {e}"[:300])
    conn.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--submissions", type=int, default=5000, help="new submissions in all (default 5,000)")
    parser.add_argument("--crash", type=int, default=0, metavar="K", help="SIGKILL and restart the stack K times")
    parser.add_argument("--seconds", type=float, default=300.0, help="no new request starts after this (default 300)")
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="4 clients, 500 submissions, 120 s")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.submissions, args.seconds = 4, 500, 120.0
    if args.clients < 1 or args.submissions < 100 or args.crash < 0:
        parser.error("--clients >= 1, --submissions >= 100, --crash >= 0")

    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="podium-load-") as tmp:
        data_dir = Path(tmp) / "podium"
        data_dir.mkdir()
        log_path = Path(tmp) / "stack.log"
        log("starting podium local …")
        try:
            stack = start_local_stack(ROOT, data_dir, log_path=log_path, timeout=STARTUP_LIMIT)
        except StackDidNotStart as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        started_in = time.monotonic() - T0
        log(f"stack up in {started_in:.1f} s at {stack.url} (DynamoDB Local {stack.dynamodb_endpoint})")
        crasher = Crasher(stack, data_dir, log_path)
        results: Results | None = None
        failure = ""
        try:
            results = run(crasher, args, Path(tmp))
        except Exception as e:  # the stack must be stopped whatever happened
            failure = f"{type(e).__name__}: {e}"
            log(f"the run failed: {failure}")
        finally:
            log("stopping the stack (SIGINT) …")
            if crasher.stack.process.poll() is None and not crasher.stack.stop():
                note("podium local did not stop within 60 s of SIGINT: killed")
        leftovers = leftover_processes(data_dir)
        if leftovers:
            note(f"processes still running with the data dir after the stack stopped: {leftovers} (killed)")
            for pid in leftovers:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        parked = list((data_dir / "parked").glob("*.json")) if (data_dir / "parked").is_dir() else []
        if parked:
            note(f"{len(parked)} batch(es) of stream records parked (exhausted retries)")
        stack_log = log_path.read_text(errors="replace")
        noisy = [
            line
            for line in stack_log.splitlines()
            if any(w in line for w in ("Traceback", "stream poller:", "recompute failed", "ERROR", "Exception"))
        ]
        if noisy:
            note(f"{len(noisy)} error line(s) in the stack's output; the first: {noisy[0][:300]}")
        if results is None:
            print(f"\nthe run failed: {failure}\n--- stack log (tail) ---\n{stack_log[-3000:]}")
            return 1
        report(results, args, started_in, load_start)
        return 0 if all(c.ok for c in results.checks) else 1


def report(r: Results, args: argparse.Namespace, started_in: float, load: tuple[float, ...]) -> None:
    t = r.tally
    cpus = os.cpu_count() or 1
    print()
    print(
        f"Load and crash benchmark (podium local --no-demo, DynamoDB Local on disk); {cpus} CPUs, "
        f"load average {load[0]:.1f} at start; stack up in {started_in:.1f} s"
    )
    mix = ", ".join(f"{n} {k}" for k, n in sorted(r.jobs.items()))
    print(
        f"    {r.clients} clients, {r.planned:,} new submissions in {sum(r.jobs.values())} jobs ({mix}; JSON x"
        f"{JSON_BATCH}, CSV x{CSV_BATCH}, forms x1), {t.resends_sent:,} resends, {args.crash} crash(es)"
    )
    raw_rate = sum(b["rate"] for b in r.raw) / len(r.raw) if r.raw else 0.0
    rate = t.new_acked / r.ingest_seconds if r.ingest_seconds else 0.0
    down = sum(r.restarts)
    print()
    print(f"    {'figure':<34}{'value':<30}against the baseline")
    for b in r.raw:
        label, value = f"raw put_item, {b['when']}", f"{b['rate']:,.0f} puts/s"
        print(
            f"    {label:<34}{value:<30}{RAW_THREADS} threads, conditional, item ~{b['item_bytes']} B, "
            f"{b['count']:,} in {b['seconds']:.1f} s (load {b['load']:.1f})"
        )
    if r.raw:
        print(f"    {'raw put_item (baseline: mean)':<34}{f'{raw_rate:,.0f} puts/s':<30}")
    verdict = "met" if raw_rate and rate / raw_rate >= TARGET_RATIO else "MISSED"
    ratio = f"{rate / raw_rate:.2f}x raw" if raw_rate else "no baseline"
    print(
        f"    {'accepted':<34}{f'{rate:,.0f} submissions/s':<30}{ratio} (target >= {TARGET_RATIO}x with 16 clients: "
        f"{verdict}; load {r.loads['load']:.1f})"
    )
    if r.restarts and r.ingest_seconds > down:
        up_rate = t.new_acked / (r.ingest_seconds - down)
        up_ratio = f"{up_rate / raw_rate:.2f}x raw" if raw_rate else ""
        print(f"    {'  less the restarts':<34}{f'{up_rate:,.0f} submissions/s':<30}{up_ratio}")
    print(
        f"    {'ingest':<34}{f'{r.ingest_seconds:.1f} s':<30}{t.new_acked:,} acknowledged, first request to last "
        f"answer" + (" (time cap reached)" if r.capped else "")
    )
    for kind in ("json", "csv", "form"):
        lat = t.latencies.get(kind) or []
        if lat:
            label = f"request latency {kind}" + (f" x{JSON_BATCH}" if kind == "json" else "")
            label += f" x{CSV_BATCH}" if kind == "csv" else ""
            print(
                f"    {label:<34}{f'p50 {ms(pct(lat, 50))}  p95 {ms(pct(lat, 95))}':<30}p99 {ms(pct(lat, 99))}, "
                f"{len(lat):,} answered 2xx"
            )
    ingest = r.ingest_seconds or 1.0
    if r.boards_seconds is not None:
        label = f"{r.boards_seconds:.1f} s"
        print(f"    {'drain: every board right':<34}{label:<30}{r.boards_seconds / ingest:.2f}x ingest")
    if r.drain_seconds is not None:
        d_verdict = "met" if r.drain_seconds <= TARGET_DRAIN * ingest else "MISSED"
        print(
            f"    {'drain: every stored standing':<34}{f'{r.drain_seconds:.1f} s':<30}"
            f"{r.drain_seconds / ingest:.2f}x ingest (target <= {TARGET_DRAIN:.0f}x: {d_verdict}; "
            f"load {r.loads['drain']:.1f})"
        )
    else:
        label = f"not within {r.drain_limit:.0f} s"
        print(f"    {'drain: every stored standing':<34}{label:<30}last: {r.drain_last}")
    if args.crash:
        each = ", ".join(f"{s:.1f} s" for s in r.restarts)
        print(f"    {'restarts (SIGKILL to answering)':<34}{f'{len(r.restarts)} of {args.crash}':<30}{each}")
    retries = ", ".join(f"{n} x {why}" for why, n in t.retries.most_common(5)) or "none"
    statuses = dict(sorted(t.statuses.items()))
    print(f"    {'HTTP attempts':<34}{f'{t.requests:,}':<30}statuses {statuses}; retries {retries}")
    print()
    print("checks")
    for c in r.checks:
        print(f"    {'PASS' if c.ok else 'FAIL'}  {c.name}: {c.detail}")
    if t.early_duplicates:
        note(f"{t.early_duplicates} new submission(s) answered duplicate by a request's first attempt")
    if notes:
        print("notes")
        for n in notes[:20]:
            print(f"    - {n}")
    print(f"total run time {time.monotonic() - T0:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
