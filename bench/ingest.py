"""Benchmark of ingest on DynamoDB Local: what a submission costs in writes, and how fast the handler takes them.

Starts DynamoDB Local itself (in memory), creates the table from template.yaml, bootstraps an org with the seed
case's program and its roster of 230 reps, then prints, from one run on this machine:
- capacity: write capacity units per accepted submission, as DynamoDB reports them (ReturnConsumedCapacity=TOTAL,
  which PynamoDB asks for on every call) on the store's own conditional PutItems, read off the connection while the
  handler runs; plus the largest item's size, estimated by DynamoDB's rules, and one raw PutItem of it;
- throughput: submissions/s through the ingest handler (LocalApi, POST of JSON batches of 500) next to raw boto3
  conditional put_item/s of the same items on the same DynamoDB Local, with the store's concurrency (16 threads),
  in interleaved rounds, and the ratio between the two.

DynamoDB Local is a Java process on this machine, not the service: the absolute figures are for comparison only.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from harness import offline_aws, on_dynamodb_local

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "healthcare-sales"
TABLE = "podium-bench"
PROGRAM = "healthcare-sales"
BATCH = 500
BATCHES_PER_ROUND = 4  # 2,000 submissions per round and side
ROUNDS = 5
TARGET_WCU = 1.0
TARGET_WCU_WITH_IDS = 2.0  # an id the sender chose is claimed in the program first (services/ingest.py)
TARGET_RATIO = 0.5
NOT_METRICS = ("id", "participant", "at", "voids")


class CapacityLog:
    """Consumed capacity of every DynamoDB call PynamoDB makes, by operation (PynamoDB requests TOTAL itself)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.units: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.refused: dict[str, int] = {}  # calls that raised, e.g. a conditional put refused

    def record(self, operation: str, data: Any) -> None:
        capacity = data.get("ConsumedCapacity") if isinstance(data, dict) else None
        units = float(capacity.get("CapacityUnits", 0.0)) if isinstance(capacity, dict) else 0.0
        with self.lock:
            self.units[operation] = self.units.get(operation, 0.0) + units
            self.calls[operation] = self.calls.get(operation, 0) + 1

    def refuse(self, operation: str) -> None:
        with self.lock:
            self.refused[operation] = self.refused.get(operation, 0) + 1

    def reset(self) -> None:
        with self.lock:
            self.units.clear()
            self.calls.clear()
            self.refused.clear()


@contextlib.contextmanager
def observe_capacity(log: CapacityLog) -> Iterator[None]:
    from pynamodb.connection.base import Connection

    original = Connection.dispatch

    def dispatch(self: Connection, operation_name: str, operation_kwargs: dict[str, Any]) -> dict[str, Any]:
        try:
            data = original(self, operation_name, operation_kwargs)
        except Exception:
            log.refuse(operation_name)
            raise
        log.record(operation_name, data)
        return data

    Connection.dispatch = dispatch  # type: ignore[method-assign]
    try:
        yield
    finally:
        Connection.dispatch = original  # type: ignore[method-assign]


def attribute_size(value: dict[str, Any]) -> int:
    """The size DynamoDB counts for one attribute value (https://docs.aws.amazon.com: item sizes)."""
    (kind, v), *_ = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        digits = Decimal(v).as_tuple().digits
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in v)
    if kind == "NS":
        return sum(math.ceil(len(Decimal(n).as_tuple().digits) / 2) + 1 for n in v)
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_size(x) + 1 for k, x in v.items())
    if kind == "L":
        return 3 + sum(attribute_size(x) + 1 for x in v)
    raise ValueError(kind)


def item_size(item: dict[str, dict[str, Any]]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def submission_rows() -> list[dict[str, float]]:
    """The seed case's submissions as metric values only (their times are moved to now, inside the window)."""
    rows = []
    with (EXAMPLE / "submissions.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            values = {k: float(v) for k, v in row.items() if k not in NOT_METRICS and v not in ("", None)}
            rows.append({"participant": row["participant"], "values": values})
    return rows


class Workload:
    """Fresh submissions, cycling through the seed case's rows, each with a new id and a recent time."""

    def __init__(self) -> None:
        self.rows = submission_rows()
        self.n = 0
        self.now = datetime.now(UTC)

    def take(self, count: int, prefix: str) -> list[dict[str, Any]]:
        out = []
        for _ in range(count):
            row = self.rows[self.n % len(self.rows)]
            at = self.now - timedelta(minutes=self.n % 600)
            out.append({"id": f"{prefix}-{self.n:07d}", "participant": row["participant"], "at": at.isoformat(), **row})
            self.n += 1
        return out


def main() -> int:
    offline_aws(TABLE)
    return on_dynamodb_local(run)


def run(endpoint: str) -> None:
    import boto3
    from botocore.config import Config

    from podium.adapters.dynamodb import WRITE_CONCURRENCY, DynamoStore
    from podium.api.app import store
    from podium.services.auth import create_org
    from podium_cli.local.apigw import LocalApi
    from podium_cli.template import create_tables

    client = boto3.client("dynamodb", endpoint_url=endpoint, config=Config(max_pool_connections=WRITE_CONCURRENCY))
    create_tables(client, ROOT / "template.yaml", {"PodiumTable": TABLE})
    api = LocalApi(ROOT, {"PodiumTable": TABLE})
    key = create_org(store(), "bench", "Bench", datetime.now(UTC)).token
    auth = {"Authorization": f"Bearer {key}"}

    def call(method: str, path: str, body: bytes, content_type: str) -> Any:
        with contextlib.redirect_stdout(io.StringIO()):  # the handlers' log and metric lines
            return api.request(method, path, headers={**auth, "Content-Type": content_type}, body=body)

    reply = call("PUT", f"/v1/programs/{PROGRAM}", (EXAMPLE / "program.yaml").read_bytes(), "application/yaml")
    expect(reply.status == 200, reply.body)
    reply = call("PUT", f"/v1/programs/{PROGRAM}/roster", (EXAMPLE / "roster.csv").read_bytes(), "text/csv")
    expect(reply.status == 200, reply.body)
    roster = call("GET", f"/v1/programs/{PROGRAM}/roster", b"", "application/json")
    people = len(json.loads(roster.body)["participants"])

    work = Workload()
    log = CapacityLog()
    submissions_path = f"/v1/programs/{PROGRAM}/submissions"

    def post(batch: list[dict[str, Any]]) -> dict[str, Any]:
        reply = call("POST", submissions_path, json.dumps(batch).encode(), "application/json")
        result: dict[str, Any] = json.loads(reply.body)
        expect(reply.status == 200 and result["rejected"] == 0, reply.body[:500])
        return result

    def post_batches(count: int, prefix: str, *, ids: bool = True) -> tuple[float, int]:
        """Post `count` batches; with ids=False the rows carry no id, and Podium generates them."""
        accepted = 0
        start = time.perf_counter()
        for _ in range(count):
            rows = work.take(BATCH, prefix)
            accepted += post(rows if ids else [{k: v for k, v in r.items() if k != "id"} for r in rows])["accepted"]
        return time.perf_counter() - start, accepted

    # The raw side writes exactly what the store writes: items serialised by the store's own model.
    shaper = DynamoStore(TABLE, "us-east-1", endpoint)

    def raw_items(count: int, prefix: str) -> list[dict[str, Any]]:
        from podium.adapters.keys import participant_pk, submission_sk

        items = []
        for row in work.take(count, prefix):
            item = shaper.submissions(
                participant_pk("bench", PROGRAM, row["participant"]),
                submission_sk(row["id"]),
                kind="submission",
                participant=row["participant"],
                at=datetime.fromisoformat(row["at"]).astimezone(UTC),
                values=row["values"],
                source="json",
                received_at=datetime.now(UTC),
                by="0123456789ab",
            )
            items.append(item.serialize())
        return items

    def put_raw(items: list[dict[str, Any]]) -> float:
        def put(item: dict[str, Any]) -> None:
            client.put_item(TableName=TABLE, Item=item, ConditionExpression="attribute_not_exists(pk)")

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=WRITE_CONCURRENCY) as pool:
            list(pool.map(put, items))
        return time.perf_counter() - start

    # Warm both paths (the handler's first import, DynamoDB Local's JIT) before anything is timed.
    cold_start = time.perf_counter()
    post_batches(1, "warm")
    cold = time.perf_counter() - cold_start
    post_batches(1, "warm")
    put_raw(raw_items(2 * BATCH, "warm-raw"))

    # (a) capacity, read off the store's own PutItems while the handler takes a batch
    log.reset()
    with observe_capacity(log):
        _, accepted = post_batches(2, "wcu")
    put_units, put_calls = log.units.get("PutItem", 0.0), log.calls.get("PutItem", 0)
    other = {op: (log.calls[op], log.units[op]) for op in sorted(log.calls) if op != "PutItem"}
    # The same without ids: nothing to claim program-wide, so one conditional put each.
    log.reset()
    with observe_capacity(log):
        _, accepted_plain = post_batches(2, "plain", ids=False)
    wcu_plain = log.units.get("PutItem", 0.0) / accepted_plain if accepted_plain else float("nan")
    # A retried batch: every put is refused by its condition, then the stored one is read to compare.
    retry = work.take(BATCH, "retry")
    post(retry)
    log.reset()
    with observe_capacity(log):
        duplicates = post(retry)["duplicates"]
    refused = log.refused.get("PutItem", 0)
    retry_reads = log.units.get("GetItem", 0.0) + log.units.get("Query", 0.0)
    sample = raw_items(BATCH, "size")
    sizes = [item_size(i) for i in sample]
    largest = max(sample, key=item_size)
    probe = client.put_item(
        TableName=TABLE,
        Item=largest,
        ConditionExpression="attribute_not_exists(pk)",
        ReturnConsumedCapacity="TOTAL",
    )
    probe_units = float(probe["ConsumedCapacity"]["CapacityUnits"])

    # (b) throughput, in rounds of one run a side, taking turns to go first, so that neither side gets a warmer or
    # emptier table or a quieter machine; the ratio is the median of the rounds' ratios.
    handler_rates: list[float] = []
    raw_rates: list[float] = []
    for r in range(ROUNDS):
        items = raw_items(BATCH * BATCHES_PER_ROUND, f"r{r}")
        for side in ("handler", "raw") if r % 2 == 0 else ("raw", "handler"):
            if side == "handler":
                seconds, accepted_round = post_batches(BATCHES_PER_ROUND, f"h{r}")
                handler_rates.append(accepted_round / seconds)
            else:
                raw_rates.append(len(items) / put_raw(items))
    handler_rate, raw_rate = statistics.median(handler_rates), statistics.median(raw_rates)
    ratios = [h / w for h, w in zip(handler_rates, raw_rates, strict=True)]
    ratio = statistics.median(ratios)
    met = _verdict(ratio >= TARGET_RATIO)
    wcu = put_units / accepted if accepted else float("nan")

    print(f"Ingest benchmark on DynamoDB Local ({endpoint}); program {PROGRAM}, roster of {people}")
    print()
    print("(a) capacity per accepted submission")
    print(f"    store PutItems observed       {put_calls} for {accepted} accepted submissions")
    print(f"    write capacity consumed       {put_units:.1f} WCU")
    print(
        f"    WCU per accepted submission   {wcu:.2f} with the sender's ids (claim + submission; target <= "
        f"{TARGET_WCU_WITH_IDS:.1f}: {_verdict(wcu <= TARGET_WCU_WITH_IDS)})"
    )
    print(
        f"                                  {wcu_plain:.2f} without ids (target <= {TARGET_WCU:.1f}: "
        f"{_verdict(wcu_plain <= TARGET_WCU)})"
    )
    print(
        f"    item size (estimated)         median {statistics.median(sizes):.0f} B, max {max(sizes)} B "
        f"(1 WCU up to 1,024 B)"
    )
    print(f"    raw PutItem of the largest    {probe_units:.1f} WCU")
    for op, (calls, units) in other.items():
        print(f"    also per request: {op:<14} {calls / 2:.1f} call(s), {units / 2:.1f} capacity units (reads)")
    print(
        f"    a retried batch of {BATCH}           {duplicates} duplicates: {refused} conditional puts refused "
        f"(AWS bills 1 WCU each; DynamoDB Local reports none), {retry_reads:.1f} RCU"
    )
    print()
    per_round = BATCH * BATCHES_PER_ROUND
    print(f"(b) throughput, {ROUNDS} rounds of {per_round} submissions a side, {WRITE_CONCURRENCY} threads")
    print(f"    ingest handler (LocalApi)     {_rates(handler_rates)}  median {handler_rate:,.0f} submissions/s")
    print(f"    raw boto3 put_item            {_rates(raw_rates)}  median {raw_rate:,.0f} puts/s")
    print(f"    ratio per round               [{', '.join(f'{x:.2f}' for x in ratios)}]")
    print(f"    ratio handler / raw (median)  {ratio:.2f}x   (target >= {TARGET_RATIO}x: {met})")
    print(f"    first batch (cold handler)    {cold * 1000:,.0f} ms for {BATCH}")


def expect(ok: bool, detail: object) -> None:
    if not ok:
        raise RuntimeError(f"unexpected answer: {detail!r}")


def _rates(rates: list[float]) -> str:
    return "[" + ", ".join(f"{r:,.0f}" for r in rates) + "]"


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


if __name__ == "__main__":
    sys.exit(main())
