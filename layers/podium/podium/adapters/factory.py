"""Builds the adapters from configuration, once per process (at first use, not at import)."""

from __future__ import annotations

from functools import cache

from podium.adapters.dynamodb import DynamoStore
from podium.config import settings


@cache
def store() -> DynamoStore:
    s = settings()
    return DynamoStore(s.table, s.region, s.dynamodb_endpoint)
