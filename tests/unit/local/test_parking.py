"""What the local stream poller parks after every retry: only the records the function reported, one entry per
organisation naming it, so a parked report never lists another organisation's records (which were applied)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from podium_cli.local.streams import StreamPoller, StreamSettings


class Table:
    def describe_table(self, TableName: str) -> dict[str, Any]:
        return {"Table": {"LatestStreamArn": "arn:aws:dynamodb:local:000000000000:table/t/stream/1"}}


def record(sequence: str, org: str) -> dict[str, Any]:
    keys = {"pk": {"S": f"O#{org}#PROG#sprint#P#p{sequence}"}, "sk": {"S": f"S#s{sequence}"}}
    return {"eventName": "INSERT", "dynamodb": {"SequenceNumber": sequence, "Keys": keys}}


def poller(consumer: Any, parked: Path) -> StreamPoller:
    settings = StreamSettings(batch_size=10, max_retries=2, bisect_on_error=False)
    return StreamPoller(Table(), None, "t", consumer, settings, parked_dir=parked)


BATCH = [record("1", "acme"), record("2", "globex"), record("3", "acme"), record("4", "globex")]


def test_only_the_reported_records_are_parked_under_their_organisation(tmp_path: Path) -> None:
    stream = poller(lambda event, context: {"batchItemFailures": [{"itemIdentifier": "3"}]}, tmp_path)
    stream._deliver(list(BATCH), stream.settings.max_retries)
    assert [(e["org"], [r["dynamodb"]["SequenceNumber"] for r in e["records"]]) for e in stream.parked] == [
        ("acme", ["3"])
    ]
    (written,) = tmp_path.iterdir()
    assert written.name.startswith("acme-")
    assert "globex" not in written.read_text()
    assert json.loads(written.read_text())["reason"] == "records still failed after every retry"


def test_a_batch_that_raises_is_parked_whole_one_entry_per_organisation(tmp_path: Path) -> None:
    def raising(event: Any, context: Any) -> Any:
        raise RuntimeError("item too large")

    stream = poller(raising, tmp_path)
    stream._deliver(list(BATCH), stream.settings.max_retries)
    by_org = {e["org"]: [r["dynamodb"]["SequenceNumber"] for r in e["records"]] for e in stream.parked}
    assert by_org == {"acme": ["1", "3"], "globex": ["2", "4"]}
    files = {p.name.split("-", 1)[0]: json.loads(p.read_text()) for p in tmp_path.iterdir()}
    assert {
        org: [r["dynamodb"]["Keys"]["pk"]["S"].split("#")[1] for r in e["records"]] for org, e in files.items()
    } == {
        "acme": ["acme", "acme"],
        "globex": ["globex", "globex"],
    }
    assert all("item too large" in e["reason"] for e in stream.parked)
