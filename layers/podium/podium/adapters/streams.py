"""DynamoDB stream events (as Lambda delivers them) decoded into the aggregator's typed events.

The keys say what changed (podium.adapters.keys); the images say how. Records of items the aggregator does not
follow (organisations, API keys, participants' roster rows, program versions) give no event.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from podium.adapters.keys import (
    DivisionStandingKey,
    MembershipKey,
    ParticipantStandingKey,
    ProgramKey,
    SubmissionKey,
    TeamStandingKey,
    decode_rebuild,
    parse_key,
    parse_stored_instant,
)
from podium.domain.events import (
    DivisionStandingChanged,
    LogChanged,
    MembershipChanged,
    ParticipantStandingChanged,
    Placed,
    RulesChanged,
    StandingsEvent,
    TeamStandingChanged,
)

Image = Mapping[str, Any]


def _number(text: str) -> int | float:
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


def _value(attribute: Mapping[str, Any]) -> Any:
    """One DynamoDB attribute value as plain Python (numbers as int or float, sets as lists). Decoded here rather
    than with boto3's TypeDeserializer: importing boto3 for it cost the aggregate function's cold start ~14 ms."""
    ((kind, raw),) = attribute.items()
    if kind in {"S", "B"}:
        return raw
    if kind == "N":
        return _number(raw)
    if kind == "BOOL":
        return bool(raw)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: _value(v) for k, v in raw.items()}
    if kind == "L":
        return [_value(v) for v in raw]
    if kind == "NS":
        return [_number(v) for v in raw]
    if kind in ("SS", "BS"):
        return list(raw)
    raise ValueError(f"unknown DynamoDB attribute type {kind!r}")


def _image(raw: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not raw:
        return None
    return {k: _value(v) for k, v in raw.items()}


def events_from_stream(event: Mapping[str, Any]) -> list[StandingsEvent]:
    """The records of a Lambda DynamoDB stream event, in delivery order, as the events they are."""
    events = []
    for record in event.get("Records", []):
        ddb = record.get("dynamodb", {})
        keys = _image(ddb.get("Keys")) or {}
        decoded = _event(
            str(ddb.get("SequenceNumber", "")),
            str(keys.get("pk", "")),
            str(keys.get("sk", "")),
            _image(ddb.get("NewImage")),
            _image(ddb.get("OldImage")),
        )
        if decoded is not None:
            events.append(decoded)
    return events


def _event(sequence: str, pk: str, sk: str, new: Image | None, old: Image | None) -> StandingsEvent | None:
    key = parse_key(pk, sk)
    images = [image for image in (new, old) if image]
    if isinstance(key, SubmissionKey):
        times = tuple(parse_stored_instant(str(i["at"])) for i in images if i.get("at"))
        voids = tuple(str(i["voids"]) for i in images if i.get("voids"))
        return LogChanged(sequence, key.participant, times, voids)
    if isinstance(key, MembershipKey):
        return _membership(sequence, key, new, old)
    if isinstance(key, ProgramKey):
        if new is None or old is None or new.get("document") == old.get("document"):
            return None
        return RulesChanged(sequence, key.program, _document(old.get("document")))
    if isinstance(key, ParticipantStandingKey):
        divisions = frozenset(str(i["division"]) for i in images if i.get("division"))
        return ParticipantStandingChanged(sequence, key.team, divisions)
    if isinstance(key, TeamStandingKey):
        return TeamStandingChanged(sequence, key.division)
    if isinstance(key, DivisionStandingKey):
        return DivisionStandingChanged(sequence, key.program)
    return None


def _membership(sequence: str, key: MembershipKey, new: Image | None, old: Image | None) -> MembershipChanged:
    saved, saved_before = ((i or {}).get("updated_at") for i in (new, old))
    # A mark asks for a recompute when this change set it: a roster save keeps the mark already there.
    mark = ("rebuild_period", "touched_at")
    marked = bool(new and new.get("rebuild_period")) and any((new or {}).get(k) != (old or {}).get(k) for k in mark)
    touched = (new or {}).get("touched_at")
    return MembershipChanged(
        sequence,
        key.participant,
        before=_placed(old),
        after=_placed(new),
        saved_at=parse_stored_instant(str(saved)) if saved and saved != saved_before else None,
        rebuild=decode_rebuild(str(new["rebuild_period"])) if marked and new else None,
        marked_at=parse_stored_instant(str(touched)) if marked and touched else None,
    )


def _placed(image: Image | None) -> Placed | None:
    if not image:
        return None
    team = image.get("team")
    return Placed(str(team) if team else None, bool(image.get("active", True)))


def _document(raw: Any) -> Mapping[str, Any] | None:
    try:
        document = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None
    return document if isinstance(document, dict) else None
