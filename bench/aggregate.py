"""Benchmark of aggregation on DynamoDB Local: what a submission costs, ingest plus the whole stream cascade, and how
long it takes to reach its division's standing.

Starts DynamoDB Local itself (in memory), creates the table from template.yaml, bootstraps an org with the seed
case (examples/healthcare-sales: its program and its roster of 230 reps), then, from one run:

1. cost: posts 230 x 45 = 10,350 submissions with times in the current week, as JSON batches of 500, through the
   ingest handler (LocalApi), while a StreamPoller feeds the table's stream to the template's AggregateFunction
   with the template's batch size and batching window, as Lambda would; then lets the cascade settle. Every
   DynamoDB call is metered (below) and split into ingest and aggregation by the thread that made it.
2. baseline: the same submissions written the idempotent fan-out-on-write way, for real, on the same DynamoDB
   Local: one TransactWriteItems per submission (a conditional Put of the submission, and ADD updates of its
   participant's, team's, division's and program's items).
3. latency: 50 single submissions, one at a time, with the poller running in a background thread with the
   template's batching window: the time from the submission's write (its POST answered) to its division's item
   showing it. The capacity these 50 use is reported too: a submission that arrives alone (the usual case for
   live scoring: 10,000 a week is one a minute) is a batch of one at every level of the cascade, so it pays for
   every recompute by itself, where a bulk load shares them.

How capacity is metered: with botocore's event system on every DynamoDB client that makes a call.
`before-parameter-build.dynamodb` sets ReturnConsumedCapacity=TOTAL on every data-plane operation that takes it
(TOTAL counts the table and its indexes), and `after-call.dynamodb` adds up the ConsumedCapacity of each answer.
PynamoDB makes its own botocore session and client per model class (or one shared by the store); they are reached
through each model's `_get_connection().connection.client.meta.events`, for every model class of the process's
store and standings (podium.adapters.factory), which is what the handlers use. boto3 clients made here are hooked
the same way. To prove nothing slips past, every botocore DynamoDB call in the process is also counted at
`BaseClient._make_api_call`, and the report says how many of them the hooks saw.

On-demand prices (us-east-1): $0.625 per million write request units, $0.125 per million read request units.
DynamoDB Local is not the service: it reports TransactWriteItems at 1 unit per item-KB where AWS bills 2, and it
reports nothing for a refused conditional write (AWS bills 1 WRU); both corrections are printed.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import random
import statistics
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from harness import offline_aws, on_dynamodb_local

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "healthcare-sales"
TABLE = "podium-bench-aggregate"
BASELINE_TABLE = "podium-bench-fanout"
TWIN_TABLE = "podium-bench-fanout-items"
TWIN_SAMPLE = 1000  # submissions written item by item to read each item's units
ORG = "bench"
PROGRAM = "healthcare-sales"
PER_REP = int(os.environ.get("BENCH_PER_REP", "45"))
POST_BATCH = 500
LATENCY_SAMPLES = 50
# How long one single submission may take to show before it is counted as late (a loaded machine), not a crash.
LATENCY_WAIT_SECONDS = 300
IDLE_POLL_SECONDS = 0.25  # how often Lambda's poller looks at an idle shard (about 4 times a second)
WRU_PRICE = 0.625  # $ per million write request units
RRU_PRICE = 0.125  # $ per million read request units
TARGET_VS_FLOOR = 3.0
TARGET_VS_BASELINE = 3.0

READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


# --- metering ---------------------------------------------------------------------------------------------------


class Meter:
    """Consumed capacity of every metered DynamoDB call, by phase and operation."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.local = threading.local()
        self.units: dict[tuple[str, str], float] = defaultdict(float)
        self.calls: dict[tuple[str, str], int] = defaultdict(int)
        self.unmetered: dict[tuple[str, str], int] = defaultdict(int)  # answers without ConsumedCapacity
        self.made: dict[str, int] = defaultdict(int)  # every botocore DynamoDB call, hooked or not
        self.seen: dict[str, int] = defaultdict(int)  # those the event hooks saw
        self.default_phase = "setup"  # for threads that did not say (the store's write pool, say)
        self.hooked: set[int] = set()

    @property
    def phase(self) -> str:
        return getattr(self.local, "phase", None) or self.default_phase

    @contextlib.contextmanager
    def in_phase(self, phase: str) -> Iterator[None]:
        """Calls made by this thread count for `phase` (other threads keep the default phase)."""
        before = getattr(self.local, "phase", None)
        self.local.phase = phase
        try:
            yield
        finally:
            self.local.phase = before

    def hook(self, client: Any) -> None:
        events = client.meta.events
        if id(events) in self.hooked:
            return
        self.hooked.add(id(events))
        events.register("before-parameter-build.dynamodb", self._before, unique_id=f"bench-before-{id(self)}")
        events.register("after-call.dynamodb", self._after, unique_id=f"bench-after-{id(self)}")

    def _before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in READS | WRITES:
            params["ReturnConsumedCapacity"] = "TOTAL"

    def _after(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        op = model.name
        with self.lock:
            self.seen[op] += 1
        if op not in READS | WRITES:
            return
        capacity = parsed.get("ConsumedCapacity")
        entries = capacity if isinstance(capacity, list) else [capacity] if capacity else []
        units = sum(float(e.get("CapacityUnits", 0.0)) for e in entries)
        key = (self.phase, op)
        with self.lock:
            self.calls[key] += 1
            self.units[key] += units
            if not entries and "Error" not in parsed:
                self.unmetered[key] += 1

    def count_every_call(self) -> None:
        """Count every botocore DynamoDB call in the process, to check the hooks saw them all."""
        from botocore.client import BaseClient

        original = BaseClient._make_api_call
        meter = self

        def make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            if client.meta.service_model.service_name == "dynamodb" and not getattr(client, "unmetered", False):
                with meter.lock:
                    meter.made[operation_name] += 1
            return original(client, operation_name, api_params)

        BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]

    def totals(self, phase: str) -> tuple[float, float]:
        """(read units, write units) of a phase."""
        reads = sum(u for (p, op), u in self.units.items() if p == phase and op in READS)
        writes = sum(u for (p, op), u in self.units.items() if p == phase and op in WRITES)
        return reads, writes

    def breakdown(
        self, *phases: str, since: tuple[dict[Any, float], dict[Any, int]] | None = None
    ) -> list[tuple[str, int, float]]:
        """(operation, calls, units) of some phases, less what `since` (a `mark()`) had counted."""
        before_units, before_calls = since or ({}, {})
        ops: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        for (p, op), units in self.units.items():
            if p in phases:
                ops[op][0] += self.calls[(p, op)] - before_calls.get((p, op), 0)
                ops[op][1] += units - before_units.get((p, op), 0.0)
        return sorted((op, int(c), u) for op, (c, u) in ops.items() if c)

    def mark(self) -> tuple[dict[Any, float], dict[Any, int]]:
        with self.lock:
            return dict(self.units), dict(self.calls)


def hook_store_clients(meter: Meter) -> int:
    """Hook the botocore client behind every PynamoDB model of the process's store and standings."""
    from pynamodb.models import Model

    from podium.adapters import factory

    models = []
    for holder in (factory.store(), factory.standings()):
        models += [v for v in vars(holder).values() if isinstance(v, type) and issubclass(v, Model)]
    for model in models:
        meter.hook(model._get_connection().connection.client)
    return len(models)


# --- the workload -----------------------------------------------------------------------------------------------


def week_window(timezone: str) -> tuple[datetime, datetime]:
    """From the start of the program's current week (plus a minute) to a minute ago."""
    from zoneinfo import ZoneInfo

    now = datetime.now(UTC)
    local = now.astimezone(ZoneInfo(timezone))
    monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    start = monday.astimezone(UTC) + timedelta(minutes=1)
    end = now - timedelta(minutes=1)
    return (start, end) if end > start else (now - timedelta(seconds=30), now - timedelta(seconds=1))


def workload(
    people: list[str], per_rep: int, window: tuple[datetime, datetime], seed: int = 48
) -> list[dict[str, Any]]:
    """Submissions for every rep, shuffled, each with a few of the program's metrics and a time in the week."""
    rnd = random.Random(seed)  # noqa: S311 - a workload, not a secret
    start, end = window
    span = (end - start).total_seconds()
    rows = []
    for participant in people:
        followers = rnd.randint(200, 3000)
        for i in range(per_rep):
            values: dict[str, float] = {"calls": rnd.randint(0, 25)}
            if rnd.random() < 0.3:
                values["demos"] = rnd.randint(0, 3)
            if rnd.random() < 0.1:
                values["deals_closed"] = 1
                values["revenue"] = rnd.randrange(2000, 30000, 250)
            if rnd.random() < 0.2:
                values["nps"] = rnd.randint(-20, 100)
            if rnd.random() < 0.1:
                values["training_modules"] = 1
            if rnd.random() < 0.4:
                values["response_minutes"] = rnd.randint(1, 180)
            if rnd.random() < 0.1:
                followers += rnd.randint(0, 40)
                values["linkedin_followers"] = followers
            at = start + timedelta(seconds=rnd.uniform(0, span))
            rows.append(
                {"id": f"{participant}-{i:03d}", "participant": participant, "at": at.isoformat(), "values": values}
            )
    rnd.shuffle(rows)
    return rows


# --- the stream, in the background ------------------------------------------------------------------------------


class Background:
    """Runs a StreamPoller in a thread, as Lambda's event source mapping would, until stopped."""

    def __init__(self, poller: Any, meter: Meter) -> None:
        self.poller, self.meter = poller, meter
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="stream-poller", daemon=True)

    def _run(self) -> None:
        with self.meter.in_phase("aggregate"):
            try:
                while not self.stop.is_set():
                    if not self.poller.poll_once():
                        time.sleep(IDLE_POLL_SECONDS)
            except BaseException as e:  # reported by the main thread
                self.error = e

    def __enter__(self) -> Background:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(60)
        if self.error is not None:
            raise self.error

    def settle(self, quiet_seconds: float, timeout: float = 900.0) -> None:
        """Wait until the poller has delivered nothing new for a while (the cascade has settled)."""
        deadline = time.monotonic() + timeout
        last, since = self.poller.delivered, time.monotonic()
        while time.monotonic() - since < quiet_seconds:
            if self.error is not None:
                raise self.error
            if time.monotonic() > deadline:
                raise TimeoutError("the stream did not settle")
            time.sleep(0.2)
            if self.poller.delivered != last:
                last, since = self.poller.delivered, time.monotonic()


# --- the fan-out-on-write baseline --------------------------------------------------------------------------------


def fanout_baseline(
    client: Any,
    rows: list[dict[str, Any]],
    roster: dict[str, tuple[str, str]],
    shaper: Any,
    table: str,
    *,
    transactional: bool = True,
) -> dict[str, Any]:
    """Each submission in one transaction: its own conditional Put, and ADDs to its participant's, team's,
    division's and program's items. With `transactional=False` the same five writes are made one by one (to read
    what each item costs: DynamoDB Local does not report a transaction's units as AWS bills them)."""
    from podium.adapters.keys import participant_pk, submission_sk

    conflicts = 0
    lock = threading.Lock()

    def one(row: dict[str, Any]) -> float:
        nonlocal conflicts
        participant = row["participant"]
        team, division = roster[participant]
        item = shaper.submissions(
            participant_pk(ORG, PROGRAM, participant),
            submission_sk(row["id"]),
            kind="submission",
            participant=participant,
            at=datetime.fromisoformat(row["at"]).astimezone(UTC),
            values=row["values"],
            source="json",
            received_at=datetime.now(UTC),
            by="0123456789ab",
        ).serialize()
        names = {f"#m{i}": k for i, k in enumerate(sorted(row["values"]))}
        values = {f":v{i}": {"N": repr(float(row["values"][k]))} for i, k in enumerate(sorted(row["values"]))}
        adds = ", ".join(f"#m{i} :v{i}" for i in range(len(names)))
        update = {
            "TableName": table,
            "UpdateExpression": f"ADD {adds}, #n :one",
            "ExpressionAttributeNames": {**names, "#n": "submissions"},
            "ExpressionAttributeValues": {**values, ":one": {"N": "1"}},
        }
        keys = [
            (f"O#{ORG}#PROG#{PROGRAM}#T#{team}", f"PP#{participant}"),
            (f"O#{ORG}#PROG#{PROGRAM}#D#{division}", f"TP#{team}"),
            (f"O#{ORG}#PROG#{PROGRAM}#DIVS", f"DP#{division}"),
            (f"O#{ORG}#STANDINGS", f"PRP#{PROGRAM}"),
        ]
        transaction = [
            {"Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}},
            *({"Update": {**update, "Key": {"pk": {"S": pk}, "sk": {"S": sk}}}} for pk, sk in keys),
        ]
        if not transactional:
            client.put_item(**transaction[0]["Put"])
            for write in transaction[1:]:
                client.update_item(**write["Update"])
            return 0.0
        for attempt in range(50):
            try:
                client.transact_write_items(TransactItems=transaction)
                return 0.0
            except client.exceptions.TransactionCanceledException as e:
                reasons = [r.get("Code") for r in e.response.get("CancellationReasons", [])]
                if "ConditionalCheckFailed" in reasons:
                    return 0.0  # a duplicate: nothing written
                with lock:
                    conflicts += 1
                time.sleep(0.005 * (attempt + 1))
            except client.exceptions.TransactionInProgressException:
                time.sleep(0.01)
        raise RuntimeError("a transaction kept conflicting")

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, rows))
    return {"seconds": time.perf_counter() - start, "conflicts": conflicts}


# --- the run ----------------------------------------------------------------------------------------------------


def main() -> int:
    offline_aws(TABLE, POWERTOOLS_METRICS_DISABLED="true", POWERTOOLS_LOG_LEVEL="CRITICAL")
    status = on_dynamodb_local(run)
    # Then the service's CPU against the commit before the aggregator's reshaping (bench/aggregate_cpu.py).
    from aggregate_cpu import main as cpu

    print("\n== CPU of the aggregation service, this checkout against the commit before (bench/aggregate_cpu.py)")
    return status or cpu([])


def run(endpoint: str) -> None:
    import boto3
    from botocore.config import Config

    from podium.adapters.dynamodb import DynamoStore
    from podium.adapters.keys import division_standings_prefix, divisions_pk
    from podium.api.app import store
    from podium.domain.periods import period_of
    from podium.domain.program import parse_program
    from podium.domain.roster import slug
    from podium.observability import metrics
    from podium.services.auth import create_org
    from podium_cli.local.apigw import LocalApi, load_function
    from podium_cli.local.streams import StreamPoller, StreamSettings, stream_consumers
    from podium_cli.template import create_tables, load_template

    meter = Meter()
    meter.count_every_call()
    config = Config(max_pool_connections=16)
    client = boto3.client("dynamodb", endpoint_url=endpoint, config=config)
    meter.hook(client)
    streams = boto3.client("dynamodbstreams", endpoint_url=endpoint)  # stream reads are free for Lambda
    probe = boto3.client("dynamodb", endpoint_url=endpoint)  # reads standings to check and time: not metered
    probe.unmetered = True
    create_tables(client, ROOT / "template.yaml", {"PodiumTable": TABLE})
    template = load_template(ROOT / "template.yaml")
    api = LocalApi(ROOT, {"PodiumTable": TABLE})
    key = create_org(store(), ORG, "Bench", datetime.now(UTC)).token
    models = hook_store_clients(meter)
    auth = {"Authorization": f"Bearer {key}"}

    def call(method: str, path: str, body: bytes, content_type: str) -> Any:
        reply = api.request(method, path, headers={**auth, "Content-Type": content_type}, body=body)
        if reply.status not in (200, 201):
            raise RuntimeError(f"{method} {path}: {reply.status} {reply.body[:500]!r}")
        return json.loads(reply.body)

    program_text = (EXAMPLE / "program.yaml").read_bytes()
    program = parse_program(program_text, filename="program.yaml")
    call("PUT", f"/v1/programs/{PROGRAM}", program_text, "application/yaml")
    call("PUT", f"/v1/programs/{PROGRAM}/roster", (EXAMPLE / "roster.csv").read_bytes(), "text/csv")
    with (EXAMPLE / "roster.csv").open(newline="") as f:
        roster = {r["id"]: (slug(r["team"]), slug(r["division"])) for r in csv.DictReader(f)}

    ((function, properties),) = stream_consumers(template)
    settings = StreamSettings.from_event(properties)
    consumer = load_function(ROOT, template, function, {"PodiumTable": TABLE})
    hook_store_clients(meter)  # the function shares the process's store; hook again in case it built new ones
    kinds: dict[str, int] = defaultdict(int)

    def counted(event: dict[str, Any], context: Any) -> Any:
        for record in event["Records"]:
            sk = record["dynamodb"]["Keys"]["sk"]["S"]
            kinds[sk.split("#", 1)[0] if "#" in sk else sk] += 1
        try:
            return consumer(event, context)
        finally:
            # With metrics disabled Powertools never clears its metric set, and prints it at 100 values anyway.
            metrics.clear_metrics()

    poller = StreamPoller(client, streams, TABLE, counted, settings)

    # The roster's own cascade (membership items) runs first, so that it is not counted as the submissions'.
    with Background(poller, meter) as background:
        background.settle(quiet_seconds=3 * settings.window_seconds + 1)
    meter.units.clear()
    meter.calls.clear()
    meter.unmetered.clear()
    kinds.clear()
    invocations_before, delivered_before = poller.invocations, poller.delivered

    # 1. Podium: ingest over HTTP with the stream running, then let the cascade settle.
    rows = workload(sorted(roster), PER_REP, week_window(program.timezone))
    started = time.perf_counter()
    meter.default_phase = "ingest"
    with Background(poller, meter) as background:
        accepted = 0
        for i in range(0, len(rows), POST_BATCH):
            body = json.dumps(rows[i : i + POST_BATCH]).encode()
            result = call("POST", f"/v1/programs/{PROGRAM}/submissions", body, "application/json")
            if result["rejected"]:
                raise RuntimeError(result["errors"][:3])
            accepted += result["accepted"]
        ingested = time.perf_counter() - started
        background.settle(quiet_seconds=3 * settings.window_seconds + 2)
    settled = time.perf_counter() - started
    invocations = poller.invocations - invocations_before
    by_kind = dict(kinds)
    meter.default_phase = "after"
    records = poller.delivered - delivered_before
    if poller.parked:
        raise RuntimeError(f"{len(poller.parked)} batches parked: {poller.parked[0]['reason']}")
    ingest_r, ingest_w = meter.totals("ingest")
    agg_r, agg_w = meter.totals("aggregate")

    # A check that the cascade really finished: the program's division items add up to every submission's calls.
    period = period_of(datetime.now(UTC), program.period, program.tz, program.week_start)
    expected_calls = sum(r["values"]["calls"] for r in rows)

    def division_calls() -> dict[str, float]:
        page = probe.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
            ExpressionAttributeValues={
                ":pk": {"S": divisions_pk(ORG, PROGRAM)},
                ":sk": {"S": division_standings_prefix(period.key)},
            },
            ConsistentRead=True,
        )
        return {
            i["sk"]["S"].rsplit("#", 1)[1]: float(json.loads(i["data"]["S"])["totals"]["calls"][0])
            for i in page["Items"]
        }

    stored_calls = sum(division_calls().values())

    # 2. The fan-out-on-write baseline, for real, on the same DynamoDB Local: every submission as a transaction;
    # then a sample written item by item, for the units of each item (DynamoDB Local under-reports transactions).
    for name in (BASELINE_TABLE, TWIN_TABLE):
        client.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        )
        client.get_waiter("table_exists").wait(TableName=name)
    shaper = DynamoStore(TABLE, "us-east-1", endpoint)
    meter.default_phase = "baseline"
    baseline = fanout_baseline(client, rows, roster, shaper, BASELINE_TABLE)
    meter.default_phase = "baseline-items"
    twin_rows = rows[:TWIN_SAMPLE]
    fanout_baseline(client, twin_rows, roster, shaper, TWIN_TABLE, transactional=False)
    meter.default_phase = "after"
    base_r, base_w = meter.totals("baseline")
    twin_w = meter.totals("baseline-items")[1]
    item_wru = twin_w / len(twin_rows)  # units of the five writes of one submission, made one by one
    tx_items = 5

    # 3. Latency: one submission at a time, the poller in the background with the template's window.
    rnd = random.Random(7)  # noqa: S311
    latencies: list[float] = []
    late = 0
    meter.default_phase = "latency"
    trickle_before = meter.totals("aggregate")
    trickle_mark = meter.mark()
    with Background(poller, meter) as background:
        for n in range(LATENCY_SAMPLES):
            participant = rnd.choice(sorted(roster))
            division = roster[participant][1]
            before = division_calls().get(division, 0.0)
            row = {
                "id": f"lat-{n}",
                "participant": participant,
                "at": datetime.now(UTC).isoformat(),
                "values": {"calls": 1},
            }
            call("POST", f"/v1/programs/{PROGRAM}/submissions", json.dumps([row]).encode(), "application/json")
            written = time.perf_counter()
            while division_calls().get(division, 0.0) < before + 1:
                if time.perf_counter() - written > LATENCY_WAIT_SECONDS:
                    break
                time.sleep(0.02)
            else:
                latencies.append(time.perf_counter() - written)
                continue
            late += 1  # reported below; let it land before the next sample reads its division
            background.settle(quiet_seconds=3 * settings.window_seconds + 1)
        background.settle(quiet_seconds=3 * settings.window_seconds + 1)
    trickle_after = meter.totals("aggregate")
    lat_r, lat_w = meter.totals("latency")  # the ingest side of the single submissions
    trickle = (
        (lat_r + trickle_after[0] - trickle_before[0]) / LATENCY_SAMPLES,
        (lat_w + trickle_after[1] - trickle_before[1]) / LATENCY_SAMPLES,
    )

    # --- the report ---------------------------------------------------------------------------------------------
    n = accepted
    per = {
        "podium": ((ingest_r + agg_r) / n, (ingest_w + agg_w) / n),
        "floor": (0.0, 1.0),
        "baseline": (base_r / n, base_w / n),
        "baseline_aws": (base_r / n, 2 * item_wru),  # AWS bills a transaction's writes at 2 units per item-KB
    }

    def dollars(units: tuple[float, float]) -> float:
        reads, writes = units
        return reads * RRU_PRICE + writes * WRU_PRICE  # units per submission x $ per million units

    podium, floor, fanout = dollars(per["podium"]), dollars(per["floor"]), dollars(per["baseline_aws"])
    made, seen = sum(meter.made.values()), sum(meter.seen.values())
    print(f"Aggregation benchmark on DynamoDB Local ({endpoint}); program {PROGRAM}, {len(roster)} reps")
    print(
        f"stream: batch size {settings.batch_size} (template), batching window {settings.window_seconds:g} s, "
        f"max retries {settings.max_retries}, bisect {settings.bisect_on_error}"
    )
    print(
        f"metering: botocore events on {len(meter.hooked)} DynamoDB client(s) ({models} PynamoDB models + boto3); "
        f"the hooks saw {seen:,} of the {made:,} DynamoDB calls made in the process"
    )
    print()
    print(f"1. Podium: {n:,} submissions accepted ({PER_REP} per rep, POSTs of {POST_BATCH}) in {ingested:.1f} s;")
    print(
        f"   cascade settled {settled:.1f} s after the first POST: {invocations:,} invocations, "
        f"{records:,} stream records ({records / max(invocations, 1):.1f} per invocation)"
    )
    print(f"   stream records by kind: {', '.join(f'{k} {v:,}' for k, v in sorted(by_kind.items()))}")
    print(f"   check: calls in the division items {stored_calls:,.0f}, in the submissions {expected_calls:,.0f}")
    print(f"   {'':24} {'read units':>12} {'write units':>12} {'RRU/sub':>9} {'WRU/sub':>9}")
    for label, (r, w) in (("ingest", (ingest_r, ingest_w)), ("aggregation", (agg_r, agg_w))):
        print(f"   {label:24} {r:12,.1f} {w:12,.1f} {r / n:9.3f} {w / n:9.3f}")
    total_r, total_w = ingest_r + agg_r, ingest_w + agg_w
    print(f"   {'total':24} {total_r:12,.1f} {total_w:12,.1f} {total_r / n:9.3f} {total_w / n:9.3f}")
    for phase in ("ingest", "aggregate"):
        parts = ", ".join(f"{op} {calls:,} calls {units:,.1f} u" for op, calls, units in meter.breakdown(phase))
        print(f"   {phase} by operation: {parts}")
    print()
    print(
        f"2. fan-out-on-write baseline: {n:,} TransactWriteItems of {tx_items} items in {baseline['seconds']:.1f} s "
        f"(8 threads, {baseline['conflicts']:,} transaction conflicts retried)"
    )
    print(
        f"   as DynamoDB Local reports the transactions: {base_w:,.1f} write units ({base_w / n:.2f} per submission), "
        f"{base_r:,.1f} read units"
    )
    print(
        f"   the same five writes made one by one ({len(twin_rows):,} submissions): {item_wru:.2f} WRU per submission; "
        f"AWS bills a transaction at 2 units per item-KB: {2 * item_wru:.2f} WRU per submission"
    )
    print()
    print("$ per million submissions, on-demand ($0.625 per million WRU, $0.125 per million RRU):")
    print(f"   floor (1 WRU per submission, nothing else)   ${floor:7.3f}")
    print(f"   Podium (ingest + every aggregation)          ${podium:7.3f}   ({podium / floor:.2f}x the floor)")
    local_fanout = dollars(per["baseline"])
    print(
        f"   fan-out baseline, as AWS bills it            ${fanout:7.3f}   (DynamoDB Local's count ${local_fanout:.3f})"
    )
    print(
        f"   Podium vs floor: {podium / floor:.2f}x (target <= {TARGET_VS_FLOOR:g}x: "
        f"{_verdict(podium / floor <= TARGET_VS_FLOOR)}); baseline / Podium: {fanout / podium:.2f}x "
        f"(target >= {TARGET_VS_BASELINE:g}x: {_verdict(fanout / podium >= TARGET_VS_BASELINE)}; "
        f"{local_fanout / podium:.2f}x with DynamoDB Local's count)"
    )
    ingest_cost, agg_cost = dollars((ingest_r / n, ingest_w / n)), dollars((agg_r / n, agg_w / n))
    print(f"   of which ingest ${ingest_cost:.3f}, aggregation ${agg_cost:.3f}")
    trickle_cost = dollars(trickle)
    print(
        f"   one submission at a time (the latency run, {LATENCY_SAMPLES} alone, each its own batch at every level): "
        f"{trickle[1]:.2f} WRU + {trickle[0]:.2f} RRU = ${trickle_cost:.3f} per million, "
        f"{trickle_cost / floor:.1f}x the floor; baseline / this: {fanout / trickle_cost:.2f}x"
    )
    parts = ", ".join(
        f"{op} {calls / LATENCY_SAMPLES:.1f} calls {units / LATENCY_SAMPLES:.2f} u"
        for op, calls, units in meter.breakdown("latency", "aggregate", since=trickle_mark)
    )
    print(f"   per single submission, by operation: {parts}")
    print()
    latencies.sort()
    print(
        f"3. latency, submission written -> its division's item shows it ({LATENCY_SAMPLES} single submissions, "
        f"poller in a thread, window {settings.window_seconds:g} s, idle poll every {IDLE_POLL_SECONDS} s):"
    )
    if latencies:
        p50 = statistics.median(latencies)
        p95 = latencies[min(len(latencies) - 1, round(0.95 * len(latencies)) - 1)]
        print(f"   p50 {p50:.2f} s   p95 {p95:.2f} s   (min {latencies[0]:.2f} s, max {latencies[-1]:.2f} s)")
    if late:
        print(f"   {late} of {LATENCY_SAMPLES} did not show within {LATENCY_WAIT_SECONDS} s (a busy machine?)")


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


if __name__ == "__main__":
    sys.exit(main())
