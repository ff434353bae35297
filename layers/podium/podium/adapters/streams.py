"""DynamoDB stream events (as Lambda delivers them) decoded into plain changes for the aggregator."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from podium.services.aggregate import Change

_deserializer = TypeDeserializer()


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_plain(v) for v in value]
    return value


def _image(raw: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not raw:
        return None
    return {k: _plain(_deserializer.deserialize(v)) for k, v in raw.items()}


def changes_from_event(event: Mapping[str, Any]) -> list[Change]:
    """The records of a Lambda DynamoDB stream event, in delivery order."""
    changes = []
    for record in event.get("Records", []):
        ddb = record.get("dynamodb", {})
        changes.append(
            Change(
                sequence=str(ddb.get("SequenceNumber", "")),
                name=str(record.get("eventName", "")),
                keys=_image(ddb.get("Keys")) or {},
                new=_image(ddb.get("NewImage")),
                old=_image(ddb.get("OldImage")),
            )
        )
    return changes
