"""Benchmark of the board pages on DynamoDB Local: what each page reads next to its JSON, what an unchanged poll
costs, how long a page takes to render next to a bare Jinja2 loop, and how large a page is.

Starts DynamoDB Local itself (in memory), creates the table from template.yaml and bootstraps the demo as `podium
local` does: org `demo`, the seed case's program (examples/healthcare-sales/program.yaml, loaded with `visibility:
public` set in its document), its roster (230 reps, 17 teams, 5 divisions) and its submissions moved by whole weeks
into this week (podium_cli.local.stack.shifted_submissions: rows still in the future are left out), posted as CSV
with an admin key; then a read API key (POST /v1/keys). The stream cascade runs to the end: a StreamPoller feeds
the table's stream to the template's AggregateFunction with the template's batch size and batching window, as
bench/aggregate.py does, until it has delivered nothing for 3 windows plus 1 s. The program's pulse must then
exist and say `public` (it is written when the program is saved, and by the aggregator). Every request goes
through the boards function as API Gateway would call it (podium_cli.local.apigw.LocalApi, the template's routes),
after two unmeasured rounds of every URL (imports, Jinja2's compile, DynamoDB Local's JIT). From one run:

1. reads: each page as the public opens it (no key) next to its JSON: team (/p/demo/healthcare-sales/team/chicago
   vs /v1/programs/healthcare-sales/boards/team/chicago with the read API key), division (mid-west), program,
   everyone's first page (/everyone vs /boards/participants), scorecard (/participant/rep-007 vs
   /participants/rep-007/scorecard), TV (/tv?boards=division:mid-west vs board.json?board=division:mid-west, which
   the TV fetches, without a key) and widget (/widget?board=division:mid-west vs the same board.json). For each:
   read units, every read by what it read, wall time (median of RUNS requests, page and JSON interleaved), the
   page/JSON ratio of read units, and the page's units with the read API key too (no pulse shortcut: a key is
   checked by reading it). A read made twice in one request (the same GetItem key, or the same Query) is flagged.
2. poll: an unchanged `If-None-Match` poll, with the ETag of the full answer just before, of the division page,
   of board.json and of the TV page: its status (304 expected), read units (target <= 1) and wall time (median).
3. render: rendering only, no reads: podium.adapters.pages.render("board.html", **context) with the context the
   route built for the everyone board's first page (50 rows), and for a 25-team division (the mid-west page's
   context with its rows repeated to 25 teams, each with its own rank, name and link), next to a bare loop over
   the same rows in the pages' own Jinja2 environment (autoescaped), rendering the same cells (rank, linked name,
   headcount, points, each metric's value and points). The contexts are captured once, by wrapping the route's
   render call; each side is timed in batches, interleaved, and the ratio is of the medians (target <= 2x).
4. size: every page's HTML (its inline CSS and JS included) in KB of 1,024 bytes (target <= 60 KB for a board
   page), and the URLs it references (src, href, action, srcset, poster, data, CSS url() and @import): none may be
   on another origin (an absolute http(s):// or //host URL to a host other than the page's own).

How capacity is metered: with botocore's event system on the client behind every PynamoDB model of the process's
store and standings (bench/aggregate.py's hook_store_clients: the handlers use those): `before-parameter-build`
sets ReturnConsumedCapacity=TOTAL on every data-plane call and notes what it reads (the GetItem's key, the Query's
key condition and index), `after-call` adds up the ConsumedCapacity of each answer. Every botocore DynamoDB call in
the process is also counted at `BaseClient._make_api_call`, and the report says how many the hooks saw. DynamoDB
Local is not the service, but it bills reads by AWS's rules: a strongly consistent read is 1 unit per 4 KB (the
store's GetItems and the board Queries are consistent), an eventually consistent one (the sparse index) half that.

Figures are for comparison: the machine is shared, and a busy one gives slower figures, never a crash. A missed
target is reported, not raised: it exits 0 when it ran, 1 only when setup fails (DynamoDB Local, the bootstrap,
the cascade, a page that does not answer 200).
Run: .venv/bin/python bench/boards.py
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from aggregate import hook_store_clients
from harness import offline_aws, on_dynamodb_local

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "healthcare-sales"
TABLE = "podium-bench-boards"
ORG = "demo"
PROGRAM = "healthcare-sales"
PAGES = f"/p/{ORG}/{PROGRAM}"
API = f"/v1/programs/{PROGRAM}"
TEAM, DIVISION, PARTICIPANT = "chicago", "mid-west", "rep-007"
RUNS = 7  # requests per URL for the wall time's median
WARM_ROUNDS = 2  # unmeasured requests of every URL first (imports, Jinja2's compile, DynamoDB Local's JIT)
RENDER_BATCHES = 7  # interleaved batches per side for the render time's median
RENDER_PER_BATCH = 20
WIDE_DIVISION = 25  # teams in the division whose page render is timed
SETTLE_TIMEOUT = 900.0
OWN_HOSTS = {"localhost"}  # what the pages see as their host: LocalApi sends no Host header

TARGET_POLL_RU = 1.0
TARGET_RENDER_RATIO = 2.0
TARGET_PAGE_KB = 60.0

READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}

# The bare loop: the board's rows and cells, nothing around them.
BARE = (
    '{% for r in rows %}<tr><td>{{ r.rank }}</td><td><a href="{{ r.url }}">{{ r.name }}</a></td>'
    "<td>{{ r.headcount }}</td><td>{{ r.points }}</td>"
    "{% for c in r.cells %}<td>{{ c.value }}<span>{{ c.points }} pts</span></td>{% endfor %}</tr>{% endfor %}"
)


class SetupFailed(RuntimeError):
    pass


def expect(ok: bool, what: str) -> None:
    if not ok:
        raise SetupFailed(what)


# --- metering ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    op: str
    label: str  # what was read, in words
    key: str  # exactly what was read (a GetItem's key, a Query's condition): the same twice is a double read
    units: float


@dataclass
class Recorder:
    """Every metered DynamoDB call of the requests made inside `request()`, with what it read."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    local: threading.local = field(default_factory=threading.local)
    hooked: set[int] = field(default_factory=set)
    made: int = 0  # botocore DynamoDB calls made during requests, hooked or not
    seen: int = 0  # those the hooks saw

    @contextlib.contextmanager
    def request(self) -> Iterator[list[Read]]:
        calls: list[Read] = []
        self.local.calls = calls
        try:
            yield calls
        finally:
            self.local.calls = None

    @property
    def calls(self) -> list[Read] | None:
        return getattr(self.local, "calls", None)

    def hook(self, client: Any) -> None:
        events = client.meta.events
        if id(events) in self.hooked:
            return
        self.hooked.add(id(events))
        events.register("before-parameter-build.dynamodb", self._before, unique_id=f"boards-before-{id(self)}")
        events.register("after-call.dynamodb", self._after, unique_id=f"boards-after-{id(self)}")

    def _before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in READS | WRITES:
            params["ReturnConsumedCapacity"] = "TOTAL"
        self.local.pending = describe(model.name, params)  # calls are synchronous: the next answer is this one's

    def _after(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        calls = self.calls
        if calls is None:
            return
        with self.lock:
            self.seen += 1
        capacity = parsed.get("ConsumedCapacity")
        entries = capacity if isinstance(capacity, list) else [capacity] if capacity else []
        units = sum(float(e.get("CapacityUnits", 0.0)) for e in entries)
        label, key = getattr(self.local, "pending", None) or (model.name, model.name)
        calls.append(Read(model.name, label, key, units))

    def count_every_call(self) -> None:
        from botocore.client import BaseClient

        original = BaseClient._make_api_call
        recorder = self

        def make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            if client.meta.service_model.service_name == "dynamodb" and recorder.calls is not None:
                with recorder.lock:
                    recorder.made += 1
            return original(client, operation_name, api_params)

        BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]


GET_LABELS = {"PULSE": "pulse", "PROG": "program record", "KEY": "API key", "PP": "a participant's standing"}
QUERY_LABELS = {
    "P#": "roster",
    "PP#": "team's member standings",
    "TP#": "division's team standings",
    "DP#": "division standings",
}


def describe(op: str, params: dict[str, Any]) -> tuple[str, str]:
    """(words, exact key) for what a call reads."""
    if op == "GetItem":
        key = {k: next(iter(v.values())) for k, v in (params.get("Key") or {}).items()}
        sk = str(key.get("sk", ""))
        return GET_LABELS.get(sk.split("#", 1)[0], sk.split("#", 1)[0] or "item"), f"GetItem {sorted(key.items())}"
    if op == "Query":
        values = [str(next(iter(v.values()))) for v in (params.get("ExpressionAttributeValues") or {}).values()]
        exact = f"Query {params.get('IndexName', '')} {params.get('KeyConditionExpression', '')} {values}"
        exact += f" {params.get('ExclusiveStartKey', '')}"
        if params.get("IndexName"):
            return "everyone's standings of a period (sparse index)", exact
        for value in values:
            for prefix, words in QUERY_LABELS.items():
                if value.startswith(prefix):
                    return words, exact
        return "query", exact
    return op, op


def units(reads: list[Read]) -> float:
    return sum(r.units for r in reads if r.op in READS)


def doubles(reads: list[Read]) -> list[tuple[Read, int]]:
    """Reads made more than once in one request: (the read, how many times)."""
    counts = Counter(r.key for r in reads if r.op in READS)
    first = {r.key: r for r in reversed(reads)}
    return [(first[k], n) for k, n in counts.items() if n > 1]


def summary(reads: list[Read]) -> str:
    """`words: N x Op = U RU` for each kind of read, in the order first made."""
    groups: dict[tuple[str, str], list[float]] = {}
    for r in reads:
        if r.op in READS:
            groups.setdefault((r.label, r.op), []).append(r.units)
    parts = []
    for (label, op), us in groups.items():
        times = f"{len(us)} x " if len(us) > 1 else ""
        parts.append(f"{label} ({times}{op}) {sum(us):g}")
    return "; ".join(parts) or "none"


WHY = {
    "pulse": "the pulse, looked up first for the 304 shortcut",
    "API key": "the JSON's caller is checked by reading its key",
}


def difference(page: list[Read], json_: list[Read]) -> str:
    """What the page read that its JSON did not, and the other way round, with why where it is known."""
    a = Counter((r.label, r.op) for r in page if r.op in READS)
    b = Counter((r.label, r.op) for r in json_ if r.op in READS)
    each: dict[tuple[str, str], float] = {}
    for r in (*json_, *page):
        each[(r.label, r.op)] = r.units
    twice = {(r.label, r.op) for r, _ in doubles(page)} | {(r.label, r.op) for r, _ in doubles(json_)}

    def words(sign: str, label: str, op: str, n: int) -> str:
        why = "the same item read again" if (label, op) in twice else WHY.get(label, "")
        return f"{sign}{n} {label} {op} {each[(label, op)] * n:g} RU" + (f" ({why})" if why else "")

    more = [words("+", label, op, n) for (label, op), n in (a - b).items()]
    less = [words("-", label, op, n) for (label, op), n in (b - a).items()]
    return "; ".join(more + less) or "the same reads"


def without_doubles(reads: list[Read]) -> float:
    """Read units if every read made twice were made once."""
    return units(reads) - sum(r.units * (n - 1) for r, n in doubles(reads))


# --- pages ------------------------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    reads: list[Read]
    seconds: float


class Client:
    def __init__(self, api: Any, recorder: Recorder) -> None:
        self.api, self.recorder = api, recorder

    def get(self, url: str, headers: dict[str, str] | None = None) -> Answer:
        from podium.observability import metrics

        path, _, query = url.partition("?")
        with self.recorder.request() as reads, contextlib.redirect_stdout(io.StringIO()):
            start = time.perf_counter()
            reply = self.api.request("GET", path, headers=headers or {}, query=query)
            seconds = time.perf_counter() - start
            metrics.clear_metrics()  # with metrics disabled Powertools never clears its set
        return Answer(reply.status, reply.headers, reply.body, list(reads), seconds)


@dataclass
class Measured:
    answers: list[Answer]

    @property
    def ru(self) -> float:
        return units(self.answers[-1].reads)

    @property
    def ru_range(self) -> tuple[float, float]:
        each = [units(a.reads) for a in self.answers]
        return min(each), max(each)

    @property
    def ms(self) -> float:
        return 1000 * statistics.median(a.seconds for a in self.answers)

    @property
    def statuses(self) -> Counter[int]:
        return Counter(a.status for a in self.answers)


class References(HTMLParser):
    """Every URL a page references: in attributes, and in CSS (style elements and attributes)."""

    ATTRIBUTES: ClassVar[set[str]] = {
        "src",
        "href",
        "action",
        "formaction",
        "poster",
        "data",
        "background",
        "cite",
        "manifest",
        "srcset",
    }
    CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")\s]+)|@import\s+['\"]([^'\"]+)")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.in_style = tag == "style"
        for name, value in attrs:
            if not value:
                continue
            if name == "srcset":
                self.urls += [part.strip().split(" ")[0] for part in value.split(",") if part.strip()]
            elif name in self.ATTRIBUTES:
                self.urls.append(value.strip())
            elif name == "style":
                self._css(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self.in_style = False

    def handle_data(self, data: str) -> None:
        if self.in_style:
            self._css(data)

    def _css(self, text: str) -> None:
        self.urls += [a or b for a, b in self.CSS_URL.findall(text)]


def foreign_references(html: str) -> list[str]:
    parser = References()
    parser.feed(html)
    out = []
    for url in parser.urls:
        parts = urlsplit(url)
        if parts.netloc and (parts.hostname or "") not in OWN_HOSTS:
            out.append(url)
    return out


def inline_bytes(html: str) -> tuple[int, int]:
    """(bytes of inline CSS, bytes of inline JS)."""
    css = sum(len(m.encode()) for m in re.findall(r"<style[^>]*>(.*?)</style>", html, re.S))
    js = sum(len(m.encode()) for m in re.findall(r"<script[^>]*>(.*?)</script>", html, re.S))
    return css, js


# --- the run ----------------------------------------------------------------------------------------------------


def main() -> int:
    offline_aws(TABLE, POWERTOOLS_METRICS_DISABLED="true", POWERTOOLS_LOG_LEVEL="CRITICAL")
    try:
        return on_dynamodb_local(run)
    except SetupFailed as e:
        print(f"setup failed: {e}", file=sys.stderr)
        return 1


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(endpoint: str) -> None:
    import boto3
    import yaml

    from podium.api.app import store
    from podium.observability import metrics
    from podium.services.auth import create_org
    from podium_cli.local.apigw import LocalApi, load_function
    from podium_cli.local.stack import shifted_submissions
    from podium_cli.local.streams import StreamPoller, StreamSettings, stream_consumers
    from podium_cli.template import create_tables, load_template

    recorder = Recorder()
    recorder.count_every_call()
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    streams = boto3.client("dynamodbstreams", endpoint_url=endpoint)
    create_tables(client, ROOT / "template.yaml", {"PodiumTable": TABLE})
    template = load_template(ROOT / "template.yaml")
    api = LocalApi(ROOT, {"PodiumTable": TABLE})

    # --- setup: the demo, as `podium local` seeds it, public ---------------------------------------------------
    admin = create_org(store(), ORG, "Demo Health", datetime.now(UTC)).token
    auth = {"Authorization": f"Bearer {admin}"}

    def call(method: str, path: str, body: bytes, content_type: str) -> Any:
        with contextlib.redirect_stdout(io.StringIO()):
            reply = api.request(method, path, headers={**auth, "Content-Type": content_type}, body=body)
        expect(reply.status in (200, 201), f"{method} {path}: {reply.status} {reply.body[:500]!r}")
        return json.loads(reply.body)

    document = yaml.safe_load((EXAMPLE / "program.yaml").read_text())
    document["visibility"] = "public"
    call("PUT", API, json.dumps(document).encode(), "application/json")
    call("PUT", f"{API}/roster", (EXAMPLE / "roster.csv").read_bytes(), "text/csv")
    with (EXAMPLE / "roster.csv").open(newline="") as f:
        people = list(csv.DictReader(f))
    shape = (len(people), len({p["team"] for p in people}), len({p["division"] for p in people}))
    scores = shifted_submissions(EXAMPLE / "submissions.csv", datetime.now(UTC))
    posted = call("POST", f"{API}/submissions", scores.encode(), "text/csv")
    expect(not posted.get("rejected"), f"submissions rejected: {str(posted.get('errors'))[:500]}")
    reader = call(
        "POST", "/v1/keys", json.dumps({"name": "bench reader", "scopes": ["read"]}).encode(), "application/json"
    )
    read_key = {"Authorization": f"Bearer {reader['key']}"}

    ((function, properties),) = stream_consumers(template)
    settings = StreamSettings.from_event(properties)
    consumer = load_function(ROOT, template, function, {"PodiumTable": TABLE})

    def aggregate(event: dict[str, Any], context: Any) -> Any:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                return consumer(event, context)
        finally:
            metrics.clear_metrics()

    poller = StreamPoller(client, streams, TABLE, aggregate, settings)
    log(f"cascade of {posted.get('accepted', 0):,} submissions …")
    started = time.monotonic()
    quiet = 3 * settings.window_seconds + 1
    last = time.monotonic()
    while time.monotonic() - last < quiet or poller.has_pending:
        expect(time.monotonic() - started < SETTLE_TIMEOUT, f"the stream did not settle in {SETTLE_TIMEOUT:.0f} s")
        if poller.poll_once():
            last = time.monotonic()
        else:
            time.sleep(0.1)
    expect(not poller.parked, f"{len(poller.parked)} batches parked: {poller.parked[:1]}")
    settled = time.monotonic() - started
    pulse = store().get_pulse(ORG, PROGRAM)
    if pulse is None or not pulse.changed:
        raise SetupFailed("the program has no pulse after its cascade")
    expect(pulse.visibility == "public", f"the pulse says {pulse.visibility!r}, not public")

    # --- measuring ------------------------------------------------------------------------------------------------
    pages = Client(api, recorder)
    board_json = f"{PAGES}/board.json?board=division:{DIVISION}"
    pairs = [
        ("team", f"{PAGES}/team/{TEAM}", f"{API}/boards/team/{TEAM}", read_key),
        ("division", f"{PAGES}/division/{DIVISION}", f"{API}/boards/division/{DIVISION}", read_key),
        ("program", PAGES, f"{API}/boards/program", read_key),
        ("everyone", f"{PAGES}/everyone", f"{API}/boards/participants", read_key),
        ("scorecard", f"{PAGES}/participant/{PARTICIPANT}", f"{API}/participants/{PARTICIPANT}/scorecard", read_key),
        ("TV", f"{PAGES}/tv?boards=division:{DIVISION}", board_json, {}),
        ("widget", f"{PAGES}/widget?board=division:{DIVISION}", board_json, {}),
    ]

    # The contexts the routes build, captured once (for the render timing), by wrapping the route's render call.
    from podium.api import page_routes

    contexts: dict[str, dict[str, Any]] = {}
    capture: list[str | None] = [None]
    route_render = page_routes.render

    def capturing(template_name: str, **context: Any) -> str:
        if capture[0] is not None and template_name == "board.html":
            contexts[capture[0]] = dict(context)
        return route_render(template_name, **context)

    hook_store_clients(recorder)  # type: ignore[arg-type]  # duck-typed: it only calls recorder.hook(client)
    page_routes.render = capturing  # type: ignore[assignment]
    for round_ in range(WARM_ROUNDS):
        for name, page, json_url, headers in pairs:
            for url, h in ((page, {}), (json_url, headers), (page, read_key)):
                capture[0] = name if round_ == 0 and url == page and not h else None  # the public's context
                answer = pages.get(url, h)
                expect(answer.status == 200, f"GET {url}: {answer.status} {answer.body[:300]!r}")
        capture[0] = None
        page_routes.render = route_render  # type: ignore[assignment]
    hook_store_clients(recorder)  # type: ignore[arg-type]  # again: the handlers' models, now surely loaded
    recorder.made = recorder.seen = 0  # what the hooks see is checked on the measured requests only
    log("measuring …")

    everyone = json.loads(pages.get(f"{API}/boards/participants", read_key).body)
    expect(len(everyone.get("standings", [])) > 0, "the everyone board is empty after the cascade")

    results: dict[str, tuple[Measured, Measured, Measured]] = {}
    for name, page, json_url, headers in pairs:
        page_answers, json_answers = [], []
        for _ in range(RUNS):
            page_answers.append(pages.get(page))
            json_answers.append(pages.get(json_url, headers))
        keyed = pages.get(page, read_key)
        for a, url in ((page_answers[-1], page), (json_answers[-1], json_url), (keyed, page + " (key)")):
            expect(a.status == 200, f"GET {url}: {a.status} {a.body[:300]!r}")
        results[name] = (Measured(page_answers), Measured(json_answers), Measured([keyed]))

    polls: dict[str, Measured] = {}
    for name, url in (
        ("division page", f"{PAGES}/division/{DIVISION}"),
        ("board.json", board_json),
        ("TV page", f"{PAGES}/tv?boards=division:{DIVISION}"),
    ):
        answers = []
        tag = pages.get(url).headers.get("etag", "")
        for _ in range(RUNS):
            answer = pages.get(url, {"If-None-Match": tag})
            if answer.status == 200:  # the clock's hour moved on (it is in the tag): poll with the new copy's
                tag = answer.headers.get("etag", tag)
            answers.append(answer)
        polls[name] = Measured(answers)
    made, seen = recorder.made, recorder.seen

    # Rendering only, from the captured contexts.
    from podium.adapters.pages import environment, render

    bare = environment().from_string(BARE)
    division = contexts["division"]
    rows = division["rows"]
    wide_rows = [
        {
            **rows[i % len(rows)],
            "rank": i + 1,
            "name": f"{rows[i % len(rows)]['name']} {i + 1}",
            "id": f"team-{i + 1:02d}",
            "url": f"{PAGES}/team/team-{i + 1:02d}",
        }
        for i in range(WIDE_DIVISION)
    ]
    render_cases = {
        f"everyone, first page ({len(contexts['everyone']['rows'])} rows)": contexts["everyone"],
        f"division of {WIDE_DIVISION} teams": {**division, "rows": wide_rows},
    }
    renders: dict[str, tuple[float, float, int, int]] = {}
    for label, context in render_cases.items():
        page_times, bare_times = [], []
        page_html = render("board.html", **context)
        bare_html = bare.render(rows=context["rows"])
        for _ in range(RENDER_BATCHES):
            start = time.perf_counter()
            for _ in range(RENDER_PER_BATCH):
                render("board.html", **context)
            page_times.append((time.perf_counter() - start) / RENDER_PER_BATCH)
            start = time.perf_counter()
            for _ in range(RENDER_PER_BATCH):
                bare.render(rows=context["rows"])
            bare_times.append((time.perf_counter() - start) / RENDER_PER_BATCH)
        renders[label] = (statistics.median(page_times), statistics.median(bare_times), len(page_html), len(bare_html))

    report(endpoint, shape, posted, settled, settings, pairs, results, polls, renders, made, seen, recorder)


def report(
    endpoint: str,
    shape: tuple[int, int, int],
    posted: dict[str, Any],
    settled: float,
    settings: Any,
    pairs: list[tuple[str, str, str, dict[str, str]]],
    results: dict[str, tuple[Measured, Measured, Measured]],
    polls: dict[str, Measured],
    renders: dict[str, tuple[float, float, int, int]],
    made: int,
    seen: int,
    recorder: Recorder,
) -> None:
    checks: list[tuple[str, str, bool | None, str]] = []  # (target, figure, met (None: no target), note)
    print(
        f"Board pages on DynamoDB Local ({endpoint}): {PAGES}, public; {shape[0]} reps, {shape[1]} teams, "
        f"{shape[2]} divisions; "
        f"{posted.get('accepted', 0):,} submissions moved into this week"
    )
    print(
        f"cascade settled in {settled:.1f} s (AggregateFunction, batch size {settings.batch_size}, window "
        f"{settings.window_seconds:g} s); {RUNS} requests per URL, wall time = median; metering: botocore events on "
        f"{len(recorder.hooked)} client(s), which saw {seen:,} of the {made:,} DynamoDB calls of the measured requests"
    )
    print()
    print("1. Reads: each page as the public opens it (no key) next to its JSON (the v1 API with a read API key;")
    print("   the TV's and the widget's JSON is board.json, without a key). RU = read units of one request; once RU =")
    print("   the page's if no read were made twice; page+key = the page with the read API key (no pulse shortcut).")
    print(
        f"   {'board':<10} {'page RU':>8} {'JSON RU':>8} {'page/JSON':>9} {'once RU':>8} {'page+key RU':>11} "
        f"{'page ms':>8} {'JSON ms':>8}"
    )
    for name, *_ in pairs:
        page, json_, keyed = results[name]
        ratio = page.ru / json_.ru if json_.ru else float("inf")
        spread = "" if page.ru_range[0] == page.ru_range[1] else f" ({page.ru_range[0]:g}-{page.ru_range[1]:g})"
        once = without_doubles(page.answers[-1].reads)
        print(
            f"   {name:<10} {page.ru:8.1f} {json_.ru:8.1f} {ratio:8.2f}x {once:8.1f} {keyed.ru:11.1f} {page.ms:8.1f} "
            f"{json_.ms:8.1f}{spread}"
        )
        diff = difference(page.answers[-1].reads, json_.answers[-1].reads)
        checks.append((f"{name} page RU = its JSON's", f"{ratio:.2f}x", abs(ratio - 1) < 1e-9, diff))
    print("   what each read (words (count x operation) read units):")
    for name, page_url, json_url, _ in pairs:
        page, json_, keyed = results[name]
        print(f"   {name} page     {page_url}: {summary(page.answers[-1].reads)}")
        print(f"   {name} JSON     {json_url}: {summary(json_.answers[-1].reads)}")
        print(f"   {name} page+key: {summary(keyed.answers[-1].reads)}")
    double = {}
    for name, *_ in pairs:
        for which, m in zip(("page", "JSON", "page+key"), results[name], strict=True):
            for read, n in doubles(m.answers[-1].reads):
                double.setdefault((read.label, read.op, n), []).append(f"{name} {which}")
    if double:
        print("   the same read twice in one request:")
        for (label, op, n), where in double.items():
            print(f"     {label} {op} x{n}: {', '.join(where)}")
    print()
    print("2. An unchanged poll (If-None-Match with the ETag of the full answer just before; a strongly consistent")
    print("   GetItem of an item under 4 KB is 1 RU):")
    print(f"   {'poll':<14} {'statuses':<14} {'RU':>5} {'ms':>7}  reads")
    for name, m in polls.items():
        statuses = ", ".join(f"{n}x {s}" for s, n in sorted(m.statuses.items()))
        ru = m.ru_range[1]  # the dearest of the polls
        print(f"   {name:<14} {statuses:<14} {ru:5.1f} {m.ms:7.2f}  {summary(m.answers[-1].reads)}")
        all_304 = m.statuses.get(304, 0) == len(m.answers)
        note = "" if all_304 else f"not all 304: {statuses}"
        checks.append(
            (
                f"unchanged poll of the {name} <= {TARGET_POLL_RU:g} RU",
                f"{ru:.1f} RU",
                ru <= TARGET_POLL_RU and all_304,
                note,
            )
        )
    print()
    print(
        f"3. Render only (no reads): board.html from the route's context vs a bare Jinja2 loop over the same rows "
        f"(median of {RENDER_BATCHES} batches of {RENDER_PER_BATCH}):"
    )
    print(f"   {'board':<28} {'page ms':>8} {'bare ms':>8} {'ratio':>7} {'page KB':>8} {'bare KB':>8}")
    for label, (page_s, bare_s, page_n, bare_n) in renders.items():
        ratio = page_s / bare_s
        print(
            f"   {label:<28} {1000 * page_s:8.2f} {1000 * bare_s:8.2f} {ratio:6.2f}x {page_n / 1024:8.1f} "
            f"{bare_n / 1024:8.1f}"
        )
        checks.append(
            (f"render {label} <= {TARGET_RENDER_RATIO:g}x bare", f"{ratio:.2f}x", ratio <= TARGET_RENDER_RATIO, "")
        )
    print()
    print("4. Size of each page's HTML (inline CSS and JS included; KB = 1,024 bytes) and references to other origins:")
    print(f"   {'page':<10} {'KB':>6} {'CSS KB':>7} {'JS KB':>6}  other origins")
    biggest = ("", 0.0)
    foreign_all: list[str] = []
    for name, *_ in pairs:
        html = results[name][0].answers[-1].body.decode()
        kb = len(html.encode()) / 1024
        css, js = inline_bytes(html)
        foreign = foreign_references(html)
        foreign_all += [f"{name}: {u}" for u in foreign]
        print(f"   {name:<10} {kb:6.1f} {css / 1024:7.1f} {js / 1024:6.1f}  {', '.join(foreign) or 'none'}")
        if name in ("team", "division", "program", "everyone") and kb > biggest[1]:
            biggest = (name, kb)
    checks.append(
        (
            f"largest board page <= {TARGET_PAGE_KB:g} KB",
            f"{biggest[1]:.1f} KB ({biggest[0]})",
            biggest[1] <= TARGET_PAGE_KB,
            "",
        )
    )
    checks.append(
        ("no asset from another origin", f"{len(foreign_all)} found", not foreign_all, "; ".join(foreign_all))
    )
    print()
    print("Targets:")
    print(f"   {'target':<50} {'figure':<20} {'result':<6}  why")
    for target, figure, ok, note in checks:
        verdict = "-" if ok is None else "PASS" if ok else "MISS"
        print(f"   {target:<50} {figure:<20} {verdict:<6}  {note}")
    met = sum(1 for c in checks if c[2])
    print(f"   {met} of {len(checks)} targets met")


if __name__ == "__main__":
    sys.exit(main())
