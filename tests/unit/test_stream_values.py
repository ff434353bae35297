"""The stream adapter decodes attribute values itself (no boto3 at import): exactly as boto3's TypeDeserializer
followed by the plain-number rule the adapter has always used."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from podium.adapters.streams import _image

SAMPLES: list[dict[str, Any]] = [
    {"S": "O#acme#PROG#sprint#P#ann"},
    {"N": "42"},
    {"N": "-3.25"},
    {"N": "1E+3"},
    {"N": "0.1"},
    {"BOOL": True},
    {"NULL": True},
    {"M": {"calls": {"N": "5"}, "at": {"S": "2026-11-25T15:00:00+00:00"}, "deep": {"M": {"x": {"L": []}}}}},
    {"L": [{"N": "1"}, {"S": "a"}, {"M": {}}]},
    {"SS": ["a", "b"]},
    {"NS": ["1", "2.5"]},
]


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return sorted(_plain(v) for v in value) if isinstance(value, set) else [_plain(v) for v in value]
    return value


@pytest.mark.parametrize("attribute", SAMPLES, ids=[next(iter(a)) + str(i) for i, a in enumerate(SAMPLES)])
def test_values_decode_as_boto3_decodes_them(attribute: dict[str, Any]) -> None:
    ours = _image({"a": attribute})
    assert ours is not None
    value = ours["a"]
    expected = _plain(TypeDeserializer().deserialize(attribute))
    assert (sorted(value) if next(iter(attribute)) in ("SS", "NS") else value) == expected
    assert type(value) is type(expected) or next(iter(attribute)) in ("SS", "NS")


def test_an_unknown_type_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError, match="unknown"):
        _image({"a": {"X": "?"}})
