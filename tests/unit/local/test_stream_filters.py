"""The local stream poller filters records as the template's event source mapping does on AWS: the aggregator
sees the same records in both places (an id's claim item, for one, never reaches it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from podium_cli.local.streams import StreamSettings, stream_consumers
from podium_cli.template import load_template

ROOT = Path(__file__).resolve().parents[3]


def settings() -> StreamSettings:
    ((_, properties),) = stream_consumers(load_template(ROOT / "template.yaml"))
    return StreamSettings.from_event(properties)


def record(sk: str) -> dict[str, object]:
    return {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": "O#acme#PROG#sprint#P#ann"}, "sk": {"S": sk}}}}


@pytest.mark.parametrize("sk", ["S#s1", "M", "PP#2026-W48#ann", "TP#2026-W48#red", "DP#2026-W48#north", "PROG#sprint"])
def test_what_the_aggregator_follows_is_admitted(sk: str) -> None:
    assert settings().admits(record(sk))


@pytest.mark.parametrize("sk", ["ID", "P#ann", "ORG", "KEY#k1", "V#000001", "PRP#sprint#2026-W48"])
def test_everything_else_is_filtered_out(sk: str) -> None:
    assert settings().filters, "the template declares FilterCriteria"
    assert not settings().admits(record(sk))


def test_a_pattern_the_local_poller_cannot_apply_is_refused_not_ignored() -> None:
    numeric = StreamSettings(filters=({"dynamodb": {"Keys": {"sk": {"S": [{"numeric": [">", 0]}]}}}},))
    with pytest.raises(ValueError, match="not supported"):
        numeric.admits(record("S#1"))
