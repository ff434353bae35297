"""Benchmark of a final bulletin's digests on the in-memory ports: how fast `Publisher.deliver` mails a big
program, how many reads building and sending its bulletin makes, how much memory the send takes, and what the
snapshot's comparison with the previous one costs.

The program is the seed case's (examples/healthcare-sales/program.yaml: 8 metrics, weekly, no channels) over a
generated roster of --participants people (default 25,000: teams of 50, 10 divisions), each with 0-3
submissions in this week (1 in 20 none, so unscored digests exist too). Everything goes through the product's
own path in memory, as the in-memory tests do (tests/unit/services/demo_program.py): the roster is saved into a
podium_cli.memory.MemoryTable, the submissions are put into its log and a MemoryStream runs the aggregator's
cascade to the end (in batches of 1,000, not the template's 100: the cascade is setup, not measured), so the
standings the publisher reads are the aggregator's. The
bulletins are podium_cli.memory.MemoryBulletins, which deep-copies a snapshot where DynamoBulletins gzips JSON:
that copy is in the building and delivering times (figure 4 times it). A first final bulletin is made
and then a third of the people score again (and the cascade runs again), so the measured bulletin has a previous
one: movement, changes in points and badges are in its digests.

The measured bulletin is made as a draft (what "building" costs: the roster, everyone's standings, the scorebook
and the snapshot), then marked final and sending, and `deliver` sends it: for each participant a claim, the digest
(podium.domain.bulletins.digest_of, adapters.digests.render_digest: HTML and text), the MIME message
(adapters.mail.mime, which the SES mailer builds in `send`), the send and the record. The mailer is a no-op past
MIME: it counts, and returns a message id; its send rate is unlimited. The Publisher runs with its default
workers (threads, as in the Lambda, where SES calls wait on the network; here they only share the GIL). The report
shows the first message's List-Unsubscribe header as it goes on the wire: RFC 8058's one-click unsubscribe wants a
raw <https://…> URL there, not an RFC 2047 encoded word.

1. throughput: digests/s of `deliver`, next to a baseline in the same run: render_digest + mime of one
   participant's Digest (the same object each time) as many times as there are digests, half before the deliver
   and half after, so a machine getting busier weighs on both. Targets: deliver <= 1.5x the baseline's time,
   and <= 10 s for 25,000 digests (scaled by --participants / 25,000 for another count).
2. reads: every call to the store, standings and bulletins ports while building and while delivering (each port
   is wrapped in a counter; a call is a read unless it writes), by method. A read per participant would show as
   thousands. Target: <= 25 reads in all, whatever the roster (1 per 1,000 participants at 25,000). On DynamoDB
   one port call may be several requests (a 25,000-row roster or standings query pages at 1 MB); these are port
   calls.
3. memory: the process's resident set (/proc/self/statm, sampled every 20 ms by a thread) before and at its
   peak during `deliver`, and the growth. No target.
4. snapshot: the scorebook, snapshot_of (against the previous snapshot), compared, changes, the fingerprint and
   the snapshot's as_dict / from_dict (its store round trip, without gzip) and the in-memory twin's deep copy of
   it, each the best of 3, in ms and in microseconds per row.

--profile adds cProfile's top 15 (by cumulative time, then by own time) of a second `deliver` of the same
bulletin with its sends cleared, with one worker (cProfile sees only the thread it runs in).

Figures are for comparison: the machine is shared, and a busy one gives slower figures, never a crash. A missed
target is reported, not raised: it exits 0 when it ran, 1 only when setup fails.
Run: .venv/bin/python bench/digests.py [--participants N] [--profile]
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import io
import math
import os
import pstats
import random
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from podium.adapters.digests import render_digest
from podium.adapters.mail import mime
from podium.domain.announcements import Image
from podium.domain.boards import Scorebook
from podium.domain.bulletins import (
    BulletinStatus,
    Snapshot,
    changes,
    compared,
    digest_of,
    period_name,
    snapshot_of,
)
from podium.domain.periods import end_instant, parse_period
from podium.domain.program import program_from_dict
from podium.domain.records import read_roster_csv
from podium.domain.roster import roster_as_of
from podium.domain.submissions import Submission
from podium.services.ports import BulletinState, Email, ProgramRecord, StoredSubmission
from podium.services.publish import Publisher, digest_message
from podium_cli.memory import MemoryBulletins, MemoryStream, MemoryTable, with_history

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "healthcare-sales"
ORG, PROGRAM = "bench", "healthcare-sales"
TEAM_SIZE = 50
DIVISIONS = 10
KEY = b"k" * 32
# Wednesday noon of ISO week 2026-W47 in the program's zone (America/Chicago): the bulletin reports this week.
NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)
CREATED = NOW - timedelta(days=10)
WARM_RENDERS = 50
SNAPSHOT_ROUNDS = 3
STREAM_BATCH = 1_000  # the template's is 100: a bigger batch reads the roster fewer times (setup only)

TARGET_RATIO = 1.5
TARGET_SECONDS = 10.0  # for 25,000 digests
TARGET_READS = 25  # building + delivering, whatever the roster: 1 per 1,000 participants at 25,000

WRITES = {"create_bulletin", "update_bulletin", "claim_send", "record_send", "save_program", "save_participants"}
FIRST = ["Ada", "Ben", "Chloé", "Dmitri", "Esi", "Farah", "Gus", "Hana", "Ivo", "Jun", "Kemi", "Luis", "Mei", "Noor"]
LAST = ["Okafor", "Park", "Quinn", "Rossi", "Santos", "Tanaka", "Usman", "Varga", "Weiss", "Xu", "Yilmaz", "Zhou"]


class SetupFailed(RuntimeError):
    pass


def expect(ok: bool, what: str) -> None:
    if not ok:
        raise SetupFailed(what)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- ports with their calls counted ---------------------------------------------------------------------------


@dataclass
class Calls:
    """Every port call made through a `Counted` port, by (port, method)."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, port: str, method: str) -> None:
        with self.lock:
            self.counts[(port, method)] += 1

    @contextmanager
    def phase(self) -> Iterator[Counter[tuple[str, str]]]:
        """The calls made inside the block (the counter is filled when it ends)."""
        before = Counter(self.counts)
        seen: Counter[tuple[str, str]] = Counter()
        try:
            yield seen
        finally:
            seen.update(self.counts - before)


class Counted:
    """A port whose every method call is counted, then made on the port itself."""

    def __init__(self, port: Any, name: str, calls: Calls) -> None:
        self._port, self._name, self._calls = port, name, calls

    def __getattr__(self, attr: str) -> Any:
        target = getattr(self._port, attr)
        if not callable(target):
            return target
        port, calls = self._name, self._calls

        def call(*args: Any, **kwargs: Any) -> Any:
            calls.add(port, attr)
            return target(*args, **kwargs)

        return call


def reads_of(calls: Counter[tuple[str, str]]) -> int:
    return sum(n for (_, method), n in calls.items() if method not in WRITES)


def writes_of(calls: Counter[tuple[str, str]]) -> int:
    return sum(n for (_, method), n in calls.items() if method in WRITES)


def listed(calls: Counter[tuple[str, str]], writes: bool) -> str:
    chosen = [(f"{port}.{m}", n) for (port, m), n in sorted(calls.items()) if (m in WRITES) == writes]
    return ", ".join(f"{name} {n:,}" for name, n in chosen) or "none"


# --- the mailer -----------------------------------------------------------------------------------------------


@dataclass
class NullMailer:
    """Builds the MIME message as SesMailer.send does, then drops it: a counter and a message id."""

    sent: int = 0
    bytes: int = 0
    unsubscribe_header: str = ""  # the first message's List-Unsubscribe, as it goes on the wire
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, email: Email) -> str:
        message = mime(email)
        with self.lock:
            self.sent += 1
            self.bytes += len(message)
            if not self.unsubscribe_header:
                self.unsubscribe_header = wire_header(message, "List-Unsubscribe")
            return f"bench-{self.sent}"

    def max_send_rate(self) -> float:
        return math.inf


def wire_header(message: bytes, name: str) -> str:
    """A header's raw value, its folded lines joined: what a mail client reads, before any decoding."""
    head = message.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("ascii", "replace")
    found = re.search(rf"^{re.escape(name)}:(.*(?:\n[ \t].*)*)", head, re.MULTILINE | re.IGNORECASE)
    return " ".join(found.group(1).split()) if found else "(none)"


# --- memory ---------------------------------------------------------------------------------------------------

PAGE = os.sysconf("SC_PAGE_SIZE")


STATM = Path("/proc/self/statm")


def rss_bytes() -> int:
    return int(STATM.read_text().split()[1]) * PAGE


@contextmanager
def rss_peak(every: float = 0.02) -> Iterator[list[int]]:
    """[RSS before, peak RSS] of the block, sampled by a thread."""
    found = [rss_bytes(), rss_bytes()]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(every):
            found[1] = max(found[1], rss_bytes())

    sampler = threading.Thread(target=sample, name="rss", daemon=True)
    sampler.start()
    try:
        yield found
    finally:
        done.set()
        sampler.join()
        found[1] = max(found[1], rss_bytes())


# --- the program ----------------------------------------------------------------------------------------------


@dataclass
class World:
    table: MemoryTable
    bulletins: MemoryBulletins
    calls: Calls
    participants: int
    teams: int
    divisions: int
    submissions: int
    cascade_s: float
    clock: list[datetime]

    def tick(self) -> datetime:
        self.clock[0] += timedelta(milliseconds=1)
        return self.clock[0]

    def publisher(self, mailer: NullMailer | None, **overrides: Any) -> Publisher:
        base = Publisher(
            store=Counted(self.table, "store", self.calls),  # type: ignore[arg-type]
            standings=Counted(self.table, "standings", self.calls),  # type: ignore[arg-type]
            bulletins=Counted(self.bulletins, "bulletins", self.calls),  # type: ignore[arg-type]
            mailer=mailer,
            channel_for=lambda config: None,  # type: ignore[arg-type,return-value]  # no channels
            render_digest=render_digest,
            render_card=lambda card: Image(b"\x89PNG", card.heading),
            signing_key=lambda: KEY,
            public_url="https://podium.example.org",
            sender="Podium <podium@example.org>",
            clock=lambda: NOW,
            sleep=lambda s: None,
        )
        return replace(base, **overrides)

    def score(self, rows: list[Submission]) -> None:
        """Put submissions into the log and run the stream's cascade to the end, as the ingest and aggregate
        functions would."""
        items = [StoredSubmission(s, "csv", self.tick(), "bench") for s in rows]
        outcomes = self.table.put_submissions(ORG, PROGRAM, items)
        expect(all(o.value == "created" for o in outcomes), "a generated submission was not created")
        stream = MemoryStream(self.table, self.tick, batch_size=STREAM_BATCH)
        stream.drain(limit=10**7)
        expect(not stream.parked, f"the cascade parked {len(stream.parked)} event(s)")


def roster_csv(participants: int) -> list[str]:
    teams = max(1, math.ceil(participants / TEAM_SIZE))
    divisions = min(DIVISIONS, teams)
    lines = ["id,name,email,team,division\n"]
    for i in range(participants):
        team = i // TEAM_SIZE
        name = f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}"
        lines.append(f"p-{i:05d},{name},p{i:05d}@example.org,Team {team + 1:03d},Division {team % divisions + 1:02d}\n")
    return lines


def first_round(ids: list[str], rng: random.Random) -> list[Submission]:
    """0-3 submissions each on Monday and Tuesday of the week (1 in 20 none)."""
    monday = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)
    rows = []
    for n, who in enumerate(ids):
        if n % 20 == 19:
            continue
        for k in range(rng.randint(1, 3)):
            values = {
                "calls": float(rng.randint(0, 60)),
                "demos": float(rng.randint(0, 6)),
                "deals_closed": float(rng.randint(0, 4)),
                "revenue": float(rng.randint(0, 40) * 500),
                "nps": float(rng.randint(0, 10)),
                "response_minutes": float(rng.randint(5, 240)),
            }
            at = monday + timedelta(hours=rng.randint(0, 30), minutes=k)
            rows.append(Submission(f"a-{who}-{k}", who, at, values))
    return rows


def second_round(ids: list[str], rng: random.Random) -> list[Submission]:
    """A third of the people close more deals on Wednesday morning: ranks move between the two bulletins."""
    wednesday = datetime(2026, 11, 18, 14, 0, tzinfo=UTC)
    return [
        Submission(f"b-{who}", who, wednesday + timedelta(minutes=n % 90), {"deals_closed": float(rng.randint(1, 5))})
        for n, who in enumerate(ids)
        if n % 3 == 0
    ]


def build(participants: int) -> World:
    document = yaml.safe_load((EXAMPLE / "program.yaml").read_text())
    document["bulletins"] = {"digests": True}  # no schedule, no channels
    program_from_dict(document)  # the document is valid
    roster = read_roster_csv(roster_csv(participants))
    people = list(roster.participants.values())
    expect(len(people) == participants, f"the roster has {len(people)} people, not {participants}")
    table = MemoryTable()
    world = World(
        table,
        MemoryBulletins(),
        Calls(),
        participants,
        len(roster.teams),
        len(roster.divisions),
        0,
        0.0,
        [CREATED],
    )
    table.save_program(ProgramRecord(ORG, PROGRAM, document, 1, CREATED, CREATED))
    table.save_participants(ORG, PROGRAM, with_history(people, {}, CREATED), CREATED)
    rng = random.Random(47)  # noqa: S311 - a workload, not a secret
    # In team order, as a team's people often send together: a stream batch then touches few teams.
    ids = [p.id for p in sorted(people, key=lambda p: (p.team or "", p.id))]
    rows = first_round(ids, rng)
    start = time.perf_counter()
    world.score(rows)
    world.cascade_s = time.perf_counter() - start
    world.submissions = len(rows)
    period = parse_period("2026-W47")
    expect(len(table.everyone(ORG, PROGRAM, period.key)) > 0, "the cascade wrote no standings for 2026-W47")
    return world


# --- measuring ------------------------------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def best_of(fn: Callable[[], Any], rounds: int = SNAPSHOT_ROUNDS) -> float:
    return min(timed(fn)[0] for _ in range(rounds))


@dataclass
class Baseline:
    """render_digest + mime of the same Digest: the cost of a digest with nothing around it."""

    publisher: Publisher
    digest: Any
    links: Any
    to: str
    render_s: float = 0.0
    mime_s: float = 0.0
    count: int = 0

    @property
    def seconds(self) -> float:
        return self.render_s + self.mime_s

    def run(self, n: int) -> None:
        clock = time.perf_counter
        links = self.links
        for _ in range(n):
            start = clock()
            rendered = render_digest(self.digest, links)
            rendered_at = clock()
            email = digest_message(
                rendered,
                links,
                to=self.to,
                sender=self.publisher.sender,
                tags={"program": PROGRAM, "bulletin": "baseline"},
            )
            mime(email)
            self.render_s += rendered_at - start
            self.mime_s += clock() - rendered_at
        self.count += n


def profile_of(run: Callable[[], Any]) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(15)
    stats.sort_stats("tottime").print_stats(15)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--participants", type=int, default=25_000, help="people on the roster (default 25,000)")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top 15 of a second deliver")
    args = parser.parse_args()
    n = max(1, args.participants)
    try:
        log(f"building a program of {n:,} participants and running the cascade …")
        world = build(n)
        ids = [p.id for p in world.table.list_participants(ORG, PROGRAM)]

        # The previous final bulletin (no mailer: nothing sent, it is the baseline all the same).
        log("making the previous bulletin …")
        first = world.publisher(None).make(ORG, PROGRAM, BulletinStatus.FINAL, "bench", NOW - timedelta(hours=2))
        expect(first.state is BulletinState.SENT and first.news, f"the first bulletin is {first.state.value}")
        log("new scores from a third of the people …")
        start = time.perf_counter()
        more = second_round(ids, random.Random(48))  # noqa: S311
        world.score(more)
        world.cascade_s += time.perf_counter() - start
        world.submissions += len(more)

        mailer = NullMailer()
        publisher = world.publisher(mailer)
        log("building the bulletin …")
        with world.calls.phase() as building_calls:
            building_s, draft = timed(lambda: publisher.make(ORG, PROGRAM, BulletinStatus.DRAFT, "bench", NOW))
        expect(draft.news, "the measured bulletin has no news")
        bulletin = replace(draft, status=BulletinStatus.FINAL.value, state=BulletinState.SENDING)
        world.bulletins.update_bulletin(bulletin)

        # The baseline's digest: someone scored, in a team, who moved.
        program = world.table.programs[next(iter(world.table.programs))].program
        snapshot = Snapshot.from_dict(world.bulletins.snapshot(ORG, PROGRAM, bulletin.id))
        previous = Snapshot.from_dict(world.bulletins.snapshot(ORG, PROGRAM, first.id))
        line = next((p for p in snapshot.participants if p.scored and p.movement), snapshot.participants[0])
        period = period_name(parse_period(snapshot.period, program.week_start))
        digest = digest_of(snapshot, program, line, period)
        links = publisher.digest_links(ORG, program, line.id)
        Baseline(publisher, digest, links, f"{line.id}@example.org").run(WARM_RENDERS)  # Jinja2's compile
        baseline = Baseline(publisher, digest, links, f"{line.id}@example.org")

        log(f"baseline: {n:,} renders, half now …")
        half = n // 2
        baseline.run(half)
        log(f"delivering {n:,} digests …")
        with world.calls.phase() as delivering_calls, rss_peak() as rss:
            deliver_s, delivered = timed(lambda: publisher.deliver(bulletin))
        log("baseline, the other half …")
        baseline.run(n - half)
        digests = delivered.summary.get("digests", {})
        expect(delivered.state is BulletinState.SENT, f"the bulletin ended {delivered.state.value}: {digests}")
        expect(mailer.sent == digests.get("sent", -1), f"the mailer saw {mailer.sent:,}, the summary says {digests}")

        log("snapshot figures …")
        figures = snapshot_figures(world, program, previous)

        profile = ""
        if args.profile:
            log("profiling a second deliver (one worker) …")
            world.bulletins.send_items.pop((ORG, PROGRAM, bulletin.id), None)
            world.bulletins.update_bulletin(bulletin)
            again = replace(publisher, workers=1, mailer=NullMailer())  # the measured mailer's counts stay
            profile = profile_of(lambda: again.deliver(bulletin))
    except SetupFailed as failure:
        print(f"setup failed: {failure}", file=sys.stderr)
        return 1

    run = Run(world, publisher, mailer, digests, building_s, deliver_s, baseline, building_calls, delivering_calls)
    report(run)
    report_memory(rss)
    report_snapshot(figures)
    report_targets(run)
    if profile:
        print()
        print("cProfile of a second deliver of the same bulletin, one worker (by cumulative, then own time):")
        print(profile)
    return 0


def snapshot_figures(world: World, program: Any, previous: Snapshot) -> dict[str, float]:
    table = world.table
    period = parse_period("2026-W47", program.week_start)
    people = table.list_participants(ORG, PROGRAM)
    values = {s.participant: s.values for s in table.everyone(ORG, PROGRAM, period.key)}
    settings = program.bulletins

    def book() -> Scorebook:
        return Scorebook(program, roster_as_of(people, end_instant(period, program.tz)), period, values)

    books = [book() for _ in range(SNAPSHOT_ROUNDS)]  # snapshot_of's boards are cached on the book: a new one each
    made = iter(books)
    current = snapshot_of(book(), None, settings)
    latest = compared(current, previous, settings)
    stored = latest.as_dict()
    return {
        "rows": float(len(latest.participants)),
        "scorebook (roster as of, standings' values)": best_of(book),
        "snapshot_of (boards, lines, compared)": best_of(lambda: snapshot_of(next(made), previous, settings)),
        "compared (with the previous)": best_of(lambda: compared(current, previous, settings)),
        "changes (climbers, newcomers, badges)": best_of(lambda: changes(latest, previous)),
        "fingerprint": best_of(lambda: latest.fingerprint),
        "as_dict": best_of(latest.as_dict),
        "from_dict": best_of(lambda: Snapshot.from_dict(stored)),
        "MemoryBulletins' deep copy (the twin's, not DynamoDB's)": best_of(lambda: copy.deepcopy(stored)),
    }


# --- the report -----------------------------------------------------------------------------------------------


@dataclass
class Run:
    world: World
    publisher: Publisher
    mailer: NullMailer
    digests: dict[str, Any]  # deliver's summary of them
    building_s: float
    deliver_s: float
    baseline: Baseline
    building_calls: Counter[tuple[str, str]]
    delivering_calls: Counter[tuple[str, str]]

    @property
    def per_digest(self) -> float:
        return self.deliver_s / max(self.mailer.sent, 1)

    @property
    def per_baseline(self) -> float:
        return self.baseline.seconds / max(self.baseline.count, 1)

    @property
    def ratio(self) -> float:
        return self.per_digest / self.per_baseline

    @property
    def reads(self) -> int:
        return reads_of(self.building_calls) + reads_of(self.delivering_calls)


def report(run: Run) -> None:
    world, mailer, baseline = run.world, run.mailer, run.baseline
    n = world.participants
    print(
        f"Digests of a final bulletin on the in-memory ports: {n:,} participants ({world.teams:,} teams, "
        f"{world.divisions} divisions), {world.submissions:,} submissions through the cascade "
        f"({world.cascade_s:.1f} s, not measured); Publisher with {run.publisher.workers} workers; no channels"
    )
    print(f"   deliver's summary: {run.digests}; {mailer.bytes / max(mailer.sent, 1) / 1024:.1f} KB of MIME a digest")
    shown = mailer.unsubscribe_header
    shown = shown if len(shown) <= 90 else f"{shown[:90]}…"
    raw = "a <https://…> URL" if shown.startswith("<https://") else "NOT a raw <https://…> URL"
    print(f"   List-Unsubscribe as sent ({raw}): {shown}")
    print()
    print("1. Throughput (deliver: claim, digest_of, render_digest, mime, send, record, on 4 threads; baseline:")
    print("   render_digest + mime of one Digest, the same object each time, half before and half after the deliver):")
    print(f"   {'':<22} {'digests':>8} {'seconds':>8} {'digests/s':>10} {'ms/digest':>10}")
    rows = (
        ("deliver", mailer.sent, run.deliver_s),
        ("baseline", baseline.count, baseline.seconds),
        ("  of which render", baseline.count, baseline.render_s),
        ("  of which mime", baseline.count, baseline.mime_s),
    )
    for name, count, seconds in rows:
        print(
            f"   {name:<22} {count:>8,} {seconds:8.2f} {count / seconds:10,.0f} {1000 * seconds / max(count, 1):10.3f}"
        )
    print(f"   ratio: {run.ratio:.2f}x the baseline's time per digest")
    print(f"   building the bulletin (a draft: roster, standings, scorebook, snapshot, store): {run.building_s:.2f} s")
    print()
    print("2. Port calls (a call is a read unless it writes):")
    for name, calls in (("building", run.building_calls), ("delivering", run.delivering_calls)):
        reads = reads_of(calls)
        print(f"   {name:<10} {reads:>6} reads ({1000 * reads / n:.2f} per 1,000 participants): {listed(calls, False)}")
        print(f"   {'':<10} {writes_of(calls):>6,} writes: {listed(calls, True)}")


def report_memory(rss: list[int]) -> None:
    mb = 1024 * 1024
    print()
    print("3. Memory during deliver (resident set, sampled every 20 ms):")
    print(f"   before {rss[0] / mb:,.0f} MB, peak {rss[1] / mb:,.0f} MB, growth {(rss[1] - rss[0]) / mb:,.1f} MB")


def report_snapshot(figures: dict[str, float]) -> None:
    rows = int(figures.pop("rows"))
    print()
    print(f"4. The snapshot of {rows:,} rows against the previous one (best of {SNAPSHOT_ROUNDS}):")
    print(f"   {'step':<56} {'ms':>9} {'us/row':>8}")
    for name, seconds in figures.items():
        print(f"   {name:<56} {1000 * seconds:9.1f} {1e6 * seconds / max(rows, 1):8.2f}")


def report_targets(run: Run) -> None:
    n = run.world.participants
    limit = TARGET_SECONDS * n / 25_000
    checks = [
        (f"deliver <= {TARGET_RATIO:g}x the baseline's time", f"{run.ratio:.2f}x", run.ratio <= TARGET_RATIO),
        (f"deliver of {n:,} digests <= {limit:g} s", f"{run.deliver_s:.2f} s", run.deliver_s <= limit),
        (f"reads <= {TARGET_READS} (not one per participant)", f"{run.reads}", run.reads <= TARGET_READS),
    ]
    print()
    print("Targets:")
    print(f"   {'target':<46} {'figure':<12} result")
    for target, figure, ok in checks:
        print(f"   {target:<46} {figure:<12} {'PASS' if ok else 'MISS'}")
    print(f"   {sum(1 for c in checks if c[2])} of {len(checks)} targets met")


if __name__ == "__main__":
    sys.exit(main())
