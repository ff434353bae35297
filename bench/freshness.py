"""Benchmark of the local stack as a user runs it: how fresh the boards are, and how fast it takes submissions.

One run starts `podium local --no-demo` in its own process (free port, temporary data directory, DynamoDB Local on
disk) with the end-to-end tests' harness (podium_cli.local.harness), creates an org with `podium admin create-org`,
a program (calls: sum; nps: latest, team mean) and a roster of 60 participants in 6 teams in 2 divisions, and then,
over real HTTP:

- freshness: up to 40 times, one JSON submission for a random participant with a distinctive value (calls = 1000 + i);
  from the moment the POST answers 2xx, the division board is read every 50 ms until the participant's team shows
  its calls grown by exactly that value. The team board (one stream hop: participant items) is timed on the way;
  the division board (two hops: participant, then team items) is the figure. p50/p95/max, target p95 <= 2 s.
- throughput: raw boto3 conditional put_item/s (16 threads) of items cloned from a stored submission (same
  attributes and size; keys under a program that does not exist, so the aggregator skips them) on the stack's own
  DynamoDB Local, then submissions/s through the HTTP API (8 clients posting JSON batches of 50), each ~10 s.
  The ingest side includes what the system really does meanwhile: the stream cascade runs in the same process
  tree on the same machine. Printed as a ratio, as the machine is shared.
- catch-up and correctness: after the load, how long until the program board (three hops) shows every calls
  value that was accepted, and whether it shows exactly that (nothing lost, nothing counted twice).

Then it stops the stack with SIGINT, looks for leftovers (parked stream records, errors in the stack's log, a
DynamoDB Local still running) and exits 0. It exits 1 only when the stack cannot be started or set up.
Standard library and boto3, plus that harness and the table's key codec (podium.adapters.keys) for the raw items.
Run: .venv/bin/python bench/freshness.py
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from podium.adapters.keys import participant_pk, submission_sk
from podium_cli.local.harness import LocalStack, StackDidNotStart, start_local_stack

ROOT = Path(__file__).resolve().parents[1]

ORG = "bench"
PROGRAM = "fresh"
RAW_PROGRAM = "rawpk"  # same length as PROGRAM, so raw items are exactly as large; no such program exists
DIVISIONS = {"North": ["Red", "Blue", "Green"], "South": ["Gold", "Grey", "Pink"]}
PER_TEAM = 10
PROGRAM_DOC = {
    "id": PROGRAM,
    "name": "Freshness",
    "timezone": "UTC",
    "metrics": [
        {"key": "calls"},
        {"key": "nps", "period_aggregate": "latest", "team_rollup": "mean"},
    ],
}

RUN_LIMIT = 180.0  # seconds for the whole run; phases shrink to fit
STARTUP_LIMIT = 90.0
FRESH_N = 40
FRESH_BUDGET = 110.0
FRESH_TIMEOUT = 10.0  # one submission not on the board after this long is a stall
POLL = 0.05
TARGET_P95 = 2.0
HTTP_THREADS = 8
HTTP_BATCH = 50
RAW_THREADS = 16
PHASE_SECONDS = 10.0
DRAIN_LIMIT = 25.0

T0 = time.monotonic()
problems: list[str] = []


def log(message: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {message}", file=sys.stderr, flush=True)


def problem(message: str) -> None:
    problems.append(message)
    log("PROBLEM: " + message)


def left() -> float:
    return RUN_LIMIT - (time.monotonic() - T0)


# --- HTTP ----------------------------------------------------------------------------------------------------


class Http:
    """One keep-alive connection to the stack (one per thread)."""

    def __init__(self, url: str, key: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.key = key
        self.conn: http.client.HTTPConnection | None = None
        self.reconnects = 0

    def request(self, method: str, path: str, body: bytes | None = None, ctype: str = "application/json") -> Any:
        headers = {"Content-Type": ctype, "Authorization": f"Bearer {self.key}"}
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                reply = self.conn.getresponse()
                data = reply.read()
                if (reply.getheader("Connection") or "").lower() == "close":
                    self.close()
                return reply.status, data
            except (http.client.HTTPException, OSError):
                self.close()
                self.reconnects += 1
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
        status, data = self.request(method, path, None if payload is None else json.dumps(payload).encode())
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, data[:300]

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def calls_by_id(board: dict[str, Any]) -> dict[str, float]:
    out = {}
    for s in board["standings"]:
        metric = s.get("metrics", {}).get("calls") or {}
        out[s["id"]] = float(metric.get("value") or 0)
    return out


def board(client: Http, path: str) -> dict[str, Any]:
    status, body = client.json("GET", f"/v1/programs/{PROGRAM}/boards/{path}")
    if status != 200:
        raise RuntimeError(f"GET boards/{path}: {status} {body!r}")
    return body  # type: ignore[no-any-return]


# --- the stack: podium_cli.local.harness, as the end-to-end tests use it --------------------------------------


def stop(stack: LocalStack) -> tuple[int | None, float]:
    """Its exit status and how long SIGINT took to stop it."""
    started = time.monotonic()
    if not stack.stop():
        problem("podium local did not stop within 60 s of SIGINT: killed")
    return stack.process.returncode, time.monotonic() - started


def leftover_processes(data_dir: Path) -> list[int]:
    """Processes (e.g. DynamoDB Local's java) whose command line still names this run's data directory."""
    found = []
    needle = str(data_dir).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


# --- setup ---------------------------------------------------------------------------------------------------


def roster() -> tuple[str, dict[str, str], dict[str, str]]:
    """The roster CSV, participant → team id, team id → division id."""
    lines = ["id,name,email,team,division"]
    team_of, division_of = {}, {}
    n = 0
    for division, teams in DIVISIONS.items():
        for team in teams:
            division_of[team.lower()] = division.lower()
            for _ in range(PER_TEAM):
                n += 1
                participant = f"p{n:02d}"
                lines.append(f"{participant},Participant {n},,{team},{division}")
                team_of[participant] = team.lower()
    return "\n".join(lines) + "\n", team_of, division_of


def at_now() -> str:
    return (datetime.now(UTC) - timedelta(seconds=1)).isoformat()


def post_rows(client: Http, rows: list[dict[str, Any]]) -> tuple[int, Any]:
    return client.json("POST", f"/v1/programs/{PROGRAM}/submissions", rows)


def wait_for(predicate: Any, timeout: float, every: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


# --- measurements --------------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


class Expect:
    """What the boards should show: calls per participant, team and in all (only accepted submissions count)."""

    def __init__(self, team_of: dict[str, str]) -> None:
        self.team_of = team_of
        self.participant: dict[str, float] = {p: 0.0 for p in team_of}
        self.team: dict[str, float] = {t: 0.0 for t in set(team_of.values())}
        self.lock = threading.Lock()

    def add(self, participant: str, calls: float) -> None:
        with self.lock:
            self.participant[participant] += calls
            self.team[self.team_of[participant]] += calls

    @property
    def total(self) -> float:
        return float(sum(self.team.values()))


def freshness(
    client: Http, team_of: dict[str, str], division_of: dict[str, str], expect: Expect, rng: random.Random
) -> dict[str, Any]:
    participants = sorted(team_of)
    division_delays: list[float] = []
    team_delays: list[float] = []
    post_times: list[float] = []
    stalls = 0
    first: tuple[str, str] | None = None
    budget_end = time.monotonic() + min(FRESH_BUDGET, max(20.0, left() - 50))
    for i in range(FRESH_N):
        if time.monotonic() > budget_end:
            log(f"freshness: time budget spent after {i} submissions")
            break
        participant = rng.choice(participants)
        team = team_of[participant]
        division = division_of[team]
        value = 1000 + i
        before = calls_by_id(board(client, f"division/{division}")).get(team, 0.0)
        if before != expect.team[team]:
            problem(f"freshness #{i}: team {team} shows {before} calls before the post, expected {expect.team[team]}")
        participant_before = expect.participant[participant]
        row_id = f"fresh-{i:03d}"
        row = {"id": row_id, "participant": participant, "at": at_now(), "values": {"calls": value, "nps": 50}}
        sent = time.monotonic()
        status, body = post_rows(client, [row])
        ok_at = time.monotonic()
        post_times.append(ok_at - sent)
        if status // 100 != 2 or body.get("accepted") != 1:
            problem(f"freshness #{i}: POST answered {status} {body!r}")
            continue
        expect.add(participant, value)
        first = first or (row_id, participant)
        target = before + value
        team_seen = division_seen = None
        while time.monotonic() - ok_at < FRESH_TIMEOUT:
            tick = time.monotonic()
            if team_seen is None:
                member_calls = calls_by_id(board(client, f"team/{team}"))
                if member_calls.get(participant, 0.0) >= participant_before + value:
                    team_seen = time.monotonic() - ok_at
            shown = calls_by_id(board(client, f"division/{division}")).get(team, 0.0)
            if shown >= target:
                division_seen = time.monotonic() - ok_at
                if team_seen is None:
                    team_seen = division_seen
                if shown != target:
                    problem(f"freshness #{i}: team {team} shows {shown} calls, expected exactly {target}")
                break
            time.sleep(max(0.0, POLL - (time.monotonic() - tick)))
        if division_seen is None:
            stalls += 1
            problem(
                f"freshness #{i}: {participant}'s {value} calls not on division/{division} after {FRESH_TIMEOUT:.0f} s"
            )
            continue
        division_delays.append(division_seen)
        team_delays.append(team_seen or division_seen)
    return {"division": division_delays, "team": team_delays, "post": post_times, "stalls": stalls, "first": first}


def dynamodb(endpoint: str, config: Any = None) -> Any:
    """A boto3 client of the stack's DynamoDB Local (which takes any credentials)."""
    import boto3

    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - DynamoDB Local's dummy credentials
        config=config,
    )


def raw_puts(endpoint: str, table: str, template: dict[str, Any], participants: list[str]) -> dict[str, Any]:
    from botocore.config import Config

    client = dynamodb(endpoint, Config(max_pool_connections=RAW_THREADS, retries={"max_attempts": 1}))

    def item(thread: int, n: int) -> dict[str, Any]:
        participant = participants[(thread * 7 + n) % len(participants)]
        clone = dict(template)
        clone["pk"] = {"S": participant_pk(ORG, RAW_PROGRAM, participant)}
        clone["sk"] = {"S": submission_sk(f"r{thread:02d}-{n:05d}")}
        if "participant" in clone:
            clone["participant"] = {"S": participant}
        return clone

    def put(thread: int, n: int) -> None:
        client.put_item(TableName=table, Item=item(thread, n), ConditionExpression="attribute_not_exists(pk)")

    for n in range(2 * RAW_THREADS):  # the client's connections and DynamoDB Local's code paths, warm
        put(99, n)
    counts = [0] * RAW_THREADS
    errors: Counter[str] = Counter()
    start = time.monotonic()
    end = start + PHASE_SECONDS
    finished = [start] * RAW_THREADS

    def work(thread: int) -> None:
        n = 0
        while time.monotonic() < end:
            try:
                put(thread, n)
                counts[thread] += 1
            except Exception as e:  # counted and reported
                errors[type(e).__name__ + ": " + str(e)[:120]] += 1
            n += 1
        finished[thread] = time.monotonic()

    threads = [threading.Thread(target=work, args=(t,)) for t in range(RAW_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = max(finished) - start
    return {"count": sum(counts), "seconds": seconds, "rate": sum(counts) / seconds, "errors": errors}


def http_ingest(url: str, key: str, participants: list[str], expect: Expect) -> dict[str, Any]:
    accepted = [0] * HTTP_THREADS
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    issues: Counter[str] = Counter()
    lock = threading.Lock()
    start = time.monotonic()
    end = start + PHASE_SECONDS
    finished = [start] * HTTP_THREADS
    reconnects = [0] * HTTP_THREADS

    def work(thread: int) -> None:
        rng = random.Random(thread)  # noqa: S311 - benchmark data, not secrets
        client = Http(url, key)
        n = 0
        while time.monotonic() < end:
            rows: list[dict[str, Any]] = []
            for _ in range(HTTP_BATCH):
                rows.append(
                    {
                        "id": f"t{thread:02d}-{n:05d}",
                        "participant": rng.choice(participants),
                        "at": at_now(),
                        "values": {"calls": rng.randint(1000, 1999), "nps": rng.randint(10, 99)},
                    }
                )
                n += 1
            sent = time.monotonic()
            try:
                status, body = post_rows(client, rows)
            except Exception as e:  # counted and reported
                issues[f"{type(e).__name__}: {e}"[:150]] += 1
                continue
            took = time.monotonic() - sent
            with lock:
                statuses[status] += 1
                latencies.append(took)
            if status == 200 and isinstance(body, dict):
                accepted[thread] += int(body.get("accepted", 0))
                if body.get("accepted") == len(rows):
                    for row in rows:
                        expect.add(row["participant"], row["values"]["calls"])
                else:
                    issues[f"batch not wholly accepted: {json.dumps(body)[:150]}"] += 1
            else:
                issues[f"{status}: {str(body)[:150]}"] += 1
        finished[thread] = time.monotonic()
        reconnects[thread] = client.reconnects
        client.close()

    threads = [threading.Thread(target=work, args=(t,)) for t in range(HTTP_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = max(finished) - start
    total = sum(accepted)
    return {
        "count": total,
        "seconds": seconds,
        "rate": total / seconds,
        "latencies": latencies,
        "statuses": statuses,
        "issues": issues,
        "reconnects": sum(reconnects),
        "ended": max(finished),
    }


def catch_up(client: Http, expect: Expect, since: float) -> tuple[float | None, float]:
    """Seconds from `since` until the program board shows every accepted calls value (None: not in time), and
    the last total it showed."""
    last = 0.0
    deadline = time.monotonic() + min(DRAIN_LIMIT, max(5.0, left() - 15))
    while time.monotonic() < deadline:
        last = sum(calls_by_id(board(client, "program")).values())
        if last >= expect.total:
            return time.monotonic() - since, last
        time.sleep(0.25)
    return None, last


# --- the run -------------------------------------------------------------------------------------------------


def main() -> int:
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="podium-freshness-") as tmp:
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
        try:
            results = run(stack)
        except Exception as e:  # the stack must be stopped whatever happened
            problem(f"the run failed: {type(e).__name__}: {e}")
            results = None
        finally:
            log("stopping the stack (SIGINT) …")
            code, stop_seconds = stop(stack)
        if code != 0:
            problem(f"podium local exited with {code} after SIGINT")
        leftovers = leftover_processes(data_dir)
        if leftovers:
            problem(f"processes still running with the data dir after the stack stopped: {leftovers} (killed)")
            for pid in leftovers:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        parked = list((data_dir / "parked").glob("*.json")) if (data_dir / "parked").is_dir() else []
        if parked:
            problem(f"{len(parked)} batch(es) of stream records parked (exhausted retries)")
        stack_log = log_path.read_text(errors="replace")
        noisy = [
            line
            for line in stack_log.splitlines()
            if any(w in line for w in ("Traceback", "stream poller:", "recompute failed", "ERROR", "Exception"))
        ]
        if noisy:
            lines = stack_log.splitlines()
            first = lines.index(noisy[0])
            excerpt = "\n      ".join(line[:200] for line in lines[first : first + 25])
            problem(f"{len(noisy)} error line(s) in the stack's output; the first:\n      {excerpt}")
        report(results, started_in, stop_seconds, code, load_start)
        if results is None:
            print("\n--- stack log (tail) ---\n" + stack_log[-3000:])
    return 0


def run(stack: LocalStack) -> dict[str, Any]:
    key = stack.create_org(ORG)
    client = Http(stack.url, key)
    csv_text, team_of, division_of = roster()
    participants = sorted(team_of)
    status, body = client.json("PUT", f"/v1/programs/{PROGRAM}", PROGRAM_DOC)
    if status != 200:
        raise RuntimeError(f"PUT program: {status} {body!r}")
    status, data = client.request("PUT", f"/v1/programs/{PROGRAM}/roster", csv_text.encode(), "text/csv")
    if status != 200:
        raise RuntimeError(f"PUT roster: {status} {data[:300]!r}")
    expect = Expect(team_of)

    # Warm-up: one submission each; the first cascade through cold handlers, timed but not counted.
    log("warm-up: one submission per participant, waiting for both division boards …")
    rows = [
        {"id": f"warm-{p}", "participant": p, "at": at_now(), "values": {"calls": 1, "nps": 50}} for p in participants
    ]
    posted = time.monotonic()
    status, body = post_rows(client, rows)
    if status != 200 or body.get("accepted") != len(rows):
        raise RuntimeError(f"warm-up POST: {status} {body!r}")
    for p in participants:
        expect.add(p, 1)

    def settled() -> bool:
        for division in set(division_of.values()):
            shown = calls_by_id(board(client, f"division/{division}"))
            if any(shown.get(t, 0.0) != expect.team[t] for t, d in division_of.items() if d == division):
                return False
        return True

    if not wait_for(settled, 60):
        raise RuntimeError("the warm-up submissions did not reach the division boards within 60 s")
    warm = time.monotonic() - posted
    log(f"warm-up on the boards after {warm:.1f} s")

    log(f"freshness: {FRESH_N} submissions, one at a time …")
    load_fresh = os.getloadavg()
    fresh = freshness(client, team_of, division_of, expect, random.Random(7))  # noqa: S311 - benchmark data

    ddb = dynamodb(stack.dynamodb_endpoint)
    # A stored submission of this run, as the store wrote it: the raw side writes its exact shape and size.
    # (a freshness submission: 4-digit calls, as the HTTP load sends, and an id as long as the load's)
    sample_id, sample_participant = fresh["first"] or (f"warm-{participants[0]}", participants[0])
    sample = ddb.get_item(
        TableName=stack.table,
        Key={"pk": {"S": participant_pk(ORG, PROGRAM, sample_participant)}, "sk": {"S": submission_sk(sample_id)}},
        ConsistentRead=True,
    ).get("Item")
    if not sample:
        raise RuntimeError("could not read back a stored submission")
    log(f"throughput: raw put_item, {RAW_THREADS} threads, {PHASE_SECONDS:.0f} s …")
    load_raw = os.getloadavg()
    raw = raw_puts(stack.dynamodb_endpoint, stack.table, sample, participants)
    log(f"throughput: HTTP ingest, {HTTP_THREADS} clients x batches of {HTTP_BATCH}, {PHASE_SECONDS:.0f} s …")
    load_http = os.getloadavg()
    ingest = http_ingest(stack.url, key, participants, expect)
    log("catch-up: waiting for the program board to show every accepted value …")
    caught, shown = catch_up(client, expect, ingest["ended"])
    if caught is None:
        problem(
            f"the program board did not catch up within {DRAIN_LIMIT:.0f} s of the load: shows {shown:,.0f} "
            f"calls of {expect.total:,.0f} accepted"
        )
    else:
        exact = sum(calls_by_id(board(client, "program")).values())
        if exact != expect.total:
            problem(f"the program board shows {exact:,.0f} calls, expected exactly {expect.total:,.0f}")
    client.close()
    return {
        "warm": warm,
        "fresh": fresh,
        "raw": raw,
        "ingest": ingest,
        "caught": caught,
        "shown": shown,
        "total": expect.total,
        "loads": {"freshness": load_fresh, "raw": load_raw, "ingest": load_http},
        "item_bytes": _item_bytes(sample),
    }


def _item_bytes(item: dict[str, Any]) -> int:
    """A rough size (names + values as text) of the cloned item: for the record, not DynamoDB's exact rule."""
    return sum(len(k) + len(json.dumps(v)) for k, v in item.items())


def report(
    r: dict[str, Any] | None, started_in: float, stop_seconds: float, code: int | None, load: tuple[float, ...]
) -> None:
    cpus = os.cpu_count() or 1
    print()
    print(
        f"Local stack benchmark (podium local --no-demo, DynamoDB Local on disk); {cpus} CPUs, "
        f"load average at start {load[0]:.1f}"
    )
    print(f"    stack up in {started_in:.1f} s; stopped by SIGINT in {stop_seconds:.1f} s (exit {code})")
    if r is not None:
        f = r["fresh"]
        d, t = f["division"], f["team"]
        print()
        print(f"(1) freshness: POST answered 2xx -> visible on the board (polled every {POLL * 1000:.0f} ms)")
        print(
            f"    first cascade (warm-up, 60 participants, cold handlers) on both division boards after {ms(r['warm'])}"
        )
        if d:
            verdict = "met" if pct(d, 95) <= TARGET_P95 else "MISSED"
            print(
                f"    samples                      {len(d)} of {FRESH_N} "
                f"({f['stalls']} stalled > {FRESH_TIMEOUT:.0f} s)"
            )
            print(
                f"    division board (2 hops)      p50 {ms(pct(d, 50))}  p95 {ms(pct(d, 95))}  max {ms(max(d))}"
                f"   (target p95 <= {ms(TARGET_P95)}: {verdict})"
            )
            print(f"    team board (1 hop)           p50 {ms(pct(t, 50))}  p95 {ms(pct(t, 95))}  max {ms(max(t))}")
            print(f"    division / team (p50)        {pct(d, 50) / pct(t, 50):.2f}x")
            print(f"    POST of one submission       p50 {ms(pct(f['post'], 50))}  max {ms(max(f['post']))}")
            print(f"    load average meanwhile       {r['loads']['freshness'][0]:.1f} at the start of the phase")
        else:
            print("    no sample reached the board")
        raw, ing = r["raw"], r["ingest"]
        print()
        print(f"(2) throughput, ~{PHASE_SECONDS:.0f} s a side, the same DynamoDB Local, one after the other")
        print(
            f"    raw boto3 put_item           {raw['rate']:,.0f} puts/s  ({raw['count']:,} in {raw['seconds']:.1f} s, "
            f"{RAW_THREADS} threads, conditional, item ~{r['item_bytes']} B; load {r['loads']['raw'][0]:.1f})"
        )
        lat = ing["latencies"]
        print(
            f"    HTTP ingest (JSON x{HTTP_BATCH})      {ing['rate']:,.0f} submissions/s  ({ing['count']:,} in "
            f"{ing['seconds']:.1f} s, {HTTP_THREADS} clients; load {r['loads']['ingest'][0]:.1f})"
        )
        if lat:
            print(
                f"    batch latency                p50 {ms(pct(lat, 50))}  p95 {ms(pct(lat, 95))}  max {ms(max(lat))}"
            )
        print(f"    ratio HTTP / raw             {ing['rate'] / raw['rate']:.2f}x")
        print(
            f"    HTTP statuses                {dict(sorted(ing['statuses'].items()))}; reconnects {ing['reconnects']}"
        )
        for issue, n in ing["issues"].most_common(5):
            print(f"      {n} x {issue}")
        for error, n in raw["errors"].most_common(5):
            print(f"      raw: {n} x {error}")
        print()
        print("(3) catch-up after the load (program board, 3 hops)")
        if r["caught"] is not None:
            rate = ing["count"] / (ing["seconds"] + r["caught"])
            print(
                f"    every accepted value ({r['total']:,.0f} calls) on the board {r['caught']:.1f} s after the load "
                f"ended; end-to-end {rate:,.0f} submissions/s ({rate / raw['rate']:.2f}x raw)"
            )
        else:
            print(f"    NOT caught up: {r['shown']:,.0f} of {r['total']:,.0f} calls shown")
    print()
    if problems:
        print(f"problems ({len(problems)}):")
        for p in problems[:20]:
            print(f"  - {p}")
    else:
        print("problems: none (no 5xx, no stalls, exact totals, nothing parked, clean stop)")
    print(f"total run time {time.monotonic() - T0:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
