"""A program at every limit Podium states still fits: each item it stores stays far under DynamoDB's 400 KB.

Before the limits, a program of thousands of metrics was accepted and its standings could not be written: the
aggregator's writes failed, its records were parked and boards silently showed 0.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from conftest import Client
from podium.domain.program import MAX_METRICS, MAX_NAME_LENGTH, MAX_TARGET_OVERRIDES, program_from_dict
from podium.domain.rollup import GroupTotals, MetricTotals
from podium.domain.scoring import MetricValue
from podium.domain.standings import GroupLevel, GroupStanding, ParticipantStanding

ITEM_LIMIT = 400 * 1024
FAR_UNDER = ITEM_LIMIT // 4
LONG_ID = "p" * 128  # the longest participant id


def program_at_the_limits() -> dict[str, Any]:
    overrides_each = MAX_TARGET_OVERRIDES // MAX_METRICS
    metrics = [
        {
            "key": f"m{i:02d}_" + "x" * 36,  # 40 characters, the longest key
            "label": "L" * MAX_NAME_LENGTH,
            "points": {
                "target": 100,
                "target_overrides": {f"{LONG_ID[:120]}{i:03d}{j:04d}": 50 for j in range(overrides_each)},
            },
        }
        for i in range(MAX_METRICS)
    ]
    return {"id": "limits", "name": "N" * MAX_NAME_LENGTH, "timezone": "UTC", "metrics": metrics}


def item_size(item: dict[str, Any]) -> int:
    """An upper bound of DynamoDB's item size: every attribute name and value, as JSON."""
    return len(json.dumps(item, separators=(",", ":")).encode())


def test_one_metric_or_override_more_than_the_limits_is_refused(admin: Client) -> None:
    document = program_at_the_limits()
    too_many = {**document, "metrics": [*document["metrics"], {"key": "one_more"}]}
    r = admin.call("PUT", "/v1/programs/limits", too_many)
    assert r.status == 422, r.text
    assert any("at most" in p["reason"] for p in r.json["error"]["problems"]), r.text
    long_label = {**document, "metrics": [{**document["metrics"][0], "label": "L" * (MAX_NAME_LENGTH + 1)}]}
    assert admin.call("PUT", "/v1/programs/limits", long_label).status == 422
    total = sum(len(m["points"]["target_overrides"]) for m in document["metrics"])
    first = document["metrics"][0]
    extra = {**first["points"]["target_overrides"], **{f"x{j}": 1 for j in range(MAX_TARGET_OVERRIDES - total + 1)}}
    over = {**document, "metrics": [{**first, "points": {"target": 1, "target_overrides": extra}}]}
    over["metrics"] += document["metrics"][1:]
    assert admin.call("PUT", "/v1/programs/limits", over).status == 422


def test_every_item_of_a_program_at_the_limits_stays_far_under_400_kb(admin: Client, backend: str) -> None:
    from podium.adapters.factory import standings

    document = program_at_the_limits()
    r = admin.call("PUT", "/v1/programs/limits", document)
    assert r.status == 200, r.text
    program = program_from_dict(document)
    now = datetime.now(UTC)
    values = {m.key: MetricValue(1e12 - 1, now, 10**9) for m in program.metrics}
    totals = GroupTotals(10**6, {m.key: MetricTotals(1e12 - 1, 1e12 - 1, 10**6, now) for m in program.metrics})
    team, division = "t" * 120, "d" * 120
    standings().put_participant_standing(
        "acme", "limits", ParticipantStanding(LONG_ID, "N" * 200, team, division, "2026-W48", values, 10**6, "r")
    )
    for level, ref, parent in (
        (GroupLevel.TEAM, team, division),
        (GroupLevel.DIVISION, division, ""),
        (GroupLevel.PROGRAM, "limits", ""),
    ):
        standings().put_group("acme", "limits", GroupStanding(level, ref, "N" * 200, parent, "2026-W48", totals))

    client = boto3.client("dynamodb")
    table = client.describe_table(TableName=backend)["Table"]["TableName"]
    items = [i for page in client.get_paginator("scan").paginate(TableName=table) for i in page["Items"]]
    sizes = {i["kind"]["S"]: item_size(i) for i in items}
    written = {"program", "program_version", "participant_period", "team_period", "division_period", "program_period"}
    assert written <= set(sizes), sizes
    largest = max(items, key=item_size)
    assert item_size(largest) < FAR_UNDER, (largest["pk"], largest["sk"], item_size(largest))


@pytest.mark.parametrize(
    ("metric", "value", "reason"),
    [
        ({"key": "calls"}, -1, "at least 0"),
        ({"key": "calls"}, -1e12, "at least 0"),
        ({"key": "nps", "period_aggregate": "latest", "min": -100, "max": 100}, 101, "at most 100"),
        ({"key": "calls", "decimals": False}, 2.5, "whole number"),
    ],
)
def test_a_value_out_of_its_metrics_bounds_is_refused_by_row_and_field(
    admin: Client, metric: dict[str, Any], value: float, reason: str
) -> None:
    document = {"id": "bounds", "name": "Bounds", "timezone": "UTC", "metrics": [metric]}
    assert admin.call("PUT", "/v1/programs/bounds", document).status == 200
    roster = "id,name,email,team,division\nann,Ann,,Red,North\n"
    assert admin.call("PUT", "/v1/programs/bounds/roster", roster, content_type="text/csv").status == 200
    rows = [
        {"participant": "ann", "values": {metric["key"]: value}},
        {"participant": "ann", "values": {metric["key"]: 1}},
    ]
    r = admin.call("POST", "/v1/programs/bounds/submissions", rows)
    assert r.status == 200, r.text
    assert r.json["accepted"] == 1
    assert [(e["row"], e["field"]) for e in r.json["errors"]] == [(1, metric["key"])]
    assert reason in r.json["errors"][0]["reason"]


def test_negative_values_are_taken_where_the_program_allows_them(admin: Client) -> None:
    document = {"id": "refunds", "timezone": "UTC", "metrics": [{"key": "revenue", "min": -10000}]}
    assert admin.call("PUT", "/v1/programs/refunds", document).status == 200
    roster = "id,name,email,team,division\nann,Ann,,Red,North\n"
    assert admin.call("PUT", "/v1/programs/refunds/roster", roster, content_type="text/csv").status == 200
    r = admin.call("POST", "/v1/programs/refunds/submissions", {"participant": "ann", "values": {"revenue": -500}})
    assert (r.status, r.json["accepted"]) == (200, 1), r.text


@pytest.mark.parametrize("text", ["1_000", "١٢", "１２", "0x10", "1,5"])
def test_a_csv_number_is_plain_ascii(admin: Client, text: str) -> None:
    document = {"id": "ascii", "timezone": "UTC", "metrics": [{"key": "calls"}]}
    assert admin.call("PUT", "/v1/programs/ascii", document).status == 200
    roster = "id,name,email,team,division\nann,Ann,,Red,North\n"
    assert admin.call("PUT", "/v1/programs/ascii/roster", roster, content_type="text/csv").status == 200
    body = f'participant,calls\nann,"{text}"\nann,12\n'
    r = admin.call("POST", "/v1/programs/ascii/submissions", body, content_type="text/csv")
    assert r.status == 200, r.text
    assert (r.json["accepted"], [(e["row"], e["field"]) for e in r.json["errors"]]) == (1, [(2, "calls")])
