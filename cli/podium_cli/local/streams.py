"""A DynamoDB stream poller that stands in for Lambda's event source mapping, on DynamoDB Local (or moto).

It reads every shard of the table's stream in order (parents before children), batches records with the
template's batch size and batching window, calls the consumer with Lambda's DynamoDB stream event shape, and
honours what Lambda honours: partial batch failures (`batchItemFailures`: retry from the first failed record),
a bounded number of retries, bisecting a batch whose invocation raised, and an on-failure destination: records
that exhaust their retries are parked where a person can see them, and the shard moves on.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from podium.adapters.keys import owner_org
from podium_cli.local.apigw import LambdaContext

Consumer = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True)
class StreamSettings:
    batch_size: int = 100
    window_seconds: float = 0.0
    max_retries: int = 3
    bisect_on_error: bool = True
    # The event source mapping's FilterCriteria patterns: a record that matches none never reaches the function.
    filters: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def from_event(cls, properties: Mapping[str, Any]) -> StreamSettings:
        criteria = properties.get("FilterCriteria") or {}
        return cls(
            batch_size=int(properties.get("BatchSize", 100)),
            window_seconds=float(properties.get("MaximumBatchingWindowInSeconds", 0)),
            max_retries=int(properties.get("MaximumRetryAttempts", 3)),
            bisect_on_error=bool(properties.get("BisectBatchOnFunctionError", False)),
            filters=tuple(json.loads(f["Pattern"]) for f in criteria.get("Filters", [])),
        )

    def admits(self, record: Mapping[str, Any]) -> bool:
        """Whether Lambda would pass this record to the function (no filters: every record)."""
        return not self.filters or any(_matches(pattern, record) for pattern in self.filters)


def _matches(pattern: Any, value: Any) -> bool:
    """Lambda's event filtering, for the part of its pattern syntax a template here may use: nested objects, lists
    of exact values and `prefix`. Anything else is refused, so the local stack never ignores a filter."""
    if isinstance(pattern, Mapping):
        return isinstance(value, Mapping) and all(k in value and _matches(p, value[k]) for k, p in pattern.items())
    if isinstance(pattern, list):
        return any(_matches_one(p, value) for p in pattern)
    raise ValueError(f"filter pattern {pattern!r}: expected an object or a list of values")


def _matches_one(pattern: Any, value: Any) -> bool:
    if isinstance(pattern, Mapping):
        if set(pattern) == {"prefix"}:
            return isinstance(value, str) and value.startswith(str(pattern["prefix"]))
        raise ValueError(f"filter operator {pattern!r} is not supported by the local stream poller")
    return bool(value == pattern)


def stream_consumers(template: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(function logical id, event properties) for every DynamoDB stream event in the template."""
    found = []
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") == "DynamoDB":
                found.append((name, dict(event.get("Properties", {}))))
    return found


QUIET_ROUNDS = 5  # rounds in a row that deliver nothing and hold nothing back: the stream has caught up


class StreamActivity:
    """A poller's rounds as another thread sees them (busy: a round delivered records or holds some back for its
    batching window), so that thread can wait until the stream has caught up with what it wrote."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.rounds = 0
        self._last_busy = 0

    def record(self, busy: bool) -> None:
        """Called by the polling thread after each round."""
        with self._condition:
            self.rounds += 1
            if busy:
                self._last_busy = self.rounds
            self._condition.notify_all()

    def mark(self) -> int:
        """Now, for `caught_up`: only rounds that begin after this count (the round under way may have read the
        stream before the caller's last write)."""
        with self._condition:
            return self.rounds + 1

    def caught_up(self, since: int, quiet_rounds: int = QUIET_ROUNDS) -> bool:
        """Whether the last `quiet_rounds` rounds, all begun after the mark `since`, were idle."""
        with self._condition:
            return self.rounds - max(self._last_busy, since) >= quiet_rounds

    def wait_caught_up(self, since: int, timeout: float | None = None, quiet_rounds: int = QUIET_ROUNDS) -> bool:
        """Block until `caught_up(since)` or `timeout` seconds; returns whether it has caught up."""
        with self._condition:
            return self._condition.wait_for(lambda: self.caught_up(since, quiet_rounds), timeout)


@dataclass
class _Shard:
    id: str
    parent: str | None
    iterator: str | None = None
    ended: bool = False
    pending: list[dict[str, Any]] = field(default_factory=list)
    first_pending_at: float | None = None


class StreamPoller:
    """Feeds one table's stream to one consumer, shard by shard, in order."""

    def __init__(
        self,
        dynamodb: Any,
        client: Any,
        table: str,
        consumer: Consumer,
        settings: StreamSettings,
        *,
        function_name: str = "AggregateFunction",
        parked_dir: Path | None = None,
        checkpoint_file: Path | None = None,
    ) -> None:
        self.client = client
        self.table = table
        self.consumer = consumer
        self.settings = settings
        self.function_name = function_name
        self.parked_dir = parked_dir
        self.parked: list[dict[str, Any]] = []
        self.invocations = 0
        self.delivered = 0
        self._shards: dict[str, _Shard] = {}
        self._done: set[str] = set()
        # Where each shard was read up to, kept on disk so a restarted stack resumes instead of replaying.
        self.checkpoint_file = checkpoint_file
        self._checkpoints: dict[str, str] = {}
        if checkpoint_file is not None and checkpoint_file.is_file():
            saved = json.loads(checkpoint_file.read_text())
            self._checkpoints = dict(saved.get("shards", {}))
            self._done = set(saved.get("done", []))
        arn = dynamodb.describe_table(TableName=table)["Table"].get("LatestStreamArn")
        if not arn:
            raise RuntimeError(f"table {table} has no stream")
        self.stream_arn = str(arn)
        if self._checkpoints and json.loads(checkpoint_file.read_text()).get("stream") != self.stream_arn:  # type: ignore[union-attr]
            self._checkpoints, self._done = {}, set()  # a new stream (the table was recreated): start over

    @property
    def has_pending(self) -> bool:
        """Whether records are read but held back (waiting for the batching window or a full batch)."""
        return any(s.pending for s in self._shards.values())

    def _refresh_shards(self) -> None:
        start: str | None = None
        while True:
            kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
            if start:
                kwargs["ExclusiveStartShardId"] = start
            description = self.client.describe_stream(**kwargs)["StreamDescription"]
            for shard in description.get("Shards", []):
                sid = shard["ShardId"]
                if sid not in self._shards and sid not in self._done:
                    self._shards[sid] = _Shard(sid, shard.get("ParentShardId"))
            start = description.get("LastEvaluatedShardId")
            if not start:
                return

    def poll_once(self) -> int:
        """Read what is new on every ready shard and deliver full or due batches. Returns records delivered."""
        self._refresh_shards()
        delivered = 0
        for shard in list(self._shards.values()):
            if shard.parent and shard.parent in self._shards:
                continue  # a child waits for its parent, as Lambda does
            delivered += self._poll_shard(shard)
        return delivered

    def _poll_shard(self, shard: _Shard) -> int:
        if shard.iterator is None and not shard.ended:
            after = self._checkpoints.get(shard.id)
            position: dict[str, str] = (
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
                if after
                else {"ShardIteratorType": "TRIM_HORIZON"}
            )
            shard.iterator = self.client.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard.id, **position)[
                "ShardIterator"
            ]
        while shard.iterator and len(shard.pending) < self.settings.batch_size:
            page = self.client.get_records(ShardIterator=shard.iterator, Limit=1000)
            records = page.get("Records", [])
            shard.iterator = page.get("NextShardIterator")
            if records:
                admitted = [r for r in (_lambda_record(r, self.stream_arn) for r in records) if self.settings.admits(r)]
                if admitted and shard.first_pending_at is None:
                    shard.first_pending_at = time.monotonic()
                shard.pending.extend(admitted)
            else:
                break
        if shard.iterator is None:
            shard.ended = True
        delivered = 0
        while shard.pending and (
            len(shard.pending) >= self.settings.batch_size
            or shard.ended
            or time.monotonic() - (shard.first_pending_at or 0) >= self.settings.window_seconds
        ):
            batch = shard.pending[: self.settings.batch_size]
            shard.pending = shard.pending[self.settings.batch_size :]
            self._deliver(batch, self.settings.max_retries)
            delivered += len(batch)
            self._checkpoint(shard.id, batch[-1]["dynamodb"]["SequenceNumber"])
        if not shard.pending:
            shard.first_pending_at = None
        if shard.ended and not shard.pending:
            self._done.add(shard.id)
            del self._shards[shard.id]
            self._checkpoint(shard.id, None)
        return delivered

    def _checkpoint(self, shard_id: str, sequence: str | None) -> None:
        if sequence is not None:
            self._checkpoints[shard_id] = sequence
        if self.checkpoint_file is not None:
            state = {"stream": self.stream_arn, "shards": self._checkpoints, "done": sorted(self._done)}
            temporary = self.checkpoint_file.with_suffix(".tmp")
            temporary.write_text(json.dumps(state))
            temporary.replace(self.checkpoint_file)

    def _deliver(self, batch: list[dict[str, Any]], retries_left: int) -> None:
        """Invoke the consumer on a batch until it succeeds, retrying from the first failed record."""
        while batch:
            self.invocations += 1
            try:
                result = self.consumer({"Records": batch}, LambdaContext(self.function_name))
            except Exception as error:
                if self.settings.bisect_on_error and len(batch) > 1:
                    half = len(batch) // 2
                    self._deliver(batch[:half], retries_left)
                    self._deliver(batch[half:], retries_left)
                    return
                if retries_left <= 0:
                    self._park(batch, f"the function raised: {error!r}")
                    return
                retries_left -= 1
                continue
            failures = [f.get("itemIdentifier") for f in (result or {}).get("batchItemFailures", [])]
            if not failures:
                self.delivered += len(batch)
                return
            first = min(str(f) for f in failures)
            index = next((i for i, r in enumerate(batch) if r["dynamodb"]["SequenceNumber"] == first), 0)
            self.delivered += index
            batch = batch[index:]
            if retries_left <= 0:
                self._park(batch, "records still failed after every retry", {str(f) for f in failures})
                return
            retries_left -= 1

    def _park(self, batch: list[dict[str, Any]], reason: str, failed: set[str] | None = None) -> None:
        """Park what failed: the records the function reported (all of the batch when it raised), one entry per
        organisation, each naming it, so one organisation's failure never shows another's records. Records the
        function did not report were applied and are not parked."""
        records = [r for r in batch if failed is None or r["dynamodb"]["SequenceNumber"] in failed] or batch
        by_org: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            pk = str(record["dynamodb"].get("Keys", {}).get("pk", {}).get("S", ""))
            by_org.setdefault(owner_org(pk) or "", []).append(record)
        at = datetime.now().astimezone().isoformat()
        for org, own in sorted(by_org.items()):
            entry = {"reason": reason, "org": org or None, "parked_at": at, "records": own}
            self.parked.append(entry)
            if self.parked_dir is not None:
                self.parked_dir.mkdir(parents=True, exist_ok=True)
                name = f"{org or 'no-org'}-{uuid.uuid4().hex}.json"
                (self.parked_dir / name).write_text(json.dumps(entry, default=str, indent=1))

    def drain(self, timeout: float = 30.0, quiet_rounds: int = 3) -> int:
        """Poll until nothing new arrives for a few rounds (the cascade has settled). Returns records delivered."""
        total = 0
        quiet = 0
        deadline = time.monotonic() + timeout
        while quiet < quiet_rounds:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the stream did not settle within {timeout} s")
            n = self.poll_once()
            total += n
            quiet = 0 if (n or self.has_pending) else quiet + 1
            if not n:
                time.sleep(0.05)
        return total


def _lambda_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A Streams API record in the shape Lambda delivers (creation time as epoch seconds)."""
    ddb = dict(record["dynamodb"])
    created = ddb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        ddb["ApproximateCreationDateTime"] = created.timestamp()
    return {
        "eventID": record.get("eventID", uuid.uuid4().hex),
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", "us-east-1"),
        "dynamodb": ddb,
        "eventSourceARN": stream_arn,
    }
