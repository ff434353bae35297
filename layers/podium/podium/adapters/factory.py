"""Builds the adapters from configuration, once per process (at first use, not at import)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from podium.adapters.dynamodb import DynamoStore
from podium.config import settings

if TYPE_CHECKING:
    from podium.adapters.standings import DynamoStandings


@cache
def store() -> DynamoStore:
    s = settings()
    return DynamoStore(s.table, s.region, s.dynamodb_endpoint)


@cache
def standings() -> DynamoStandings:
    from podium.adapters.standings import DynamoStandings

    return DynamoStandings(store())
