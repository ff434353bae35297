"""Builds the adapters from configuration, once per process (at first use, not at import).

The adapter modules are imported here, at first use, too: they bring PynamoDB and botocore (about as much as
`import boto3`), which a handler's module need not load before its first request builds the store.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from podium.config import settings

if TYPE_CHECKING:
    from podium.adapters.dynamodb import DynamoStore
    from podium.adapters.standings import DynamoStandings


@cache
def store() -> DynamoStore:
    from podium.adapters.dynamodb import DynamoStore

    s = settings()
    return DynamoStore(s.table, s.region, s.dynamodb_endpoint)


@cache
def standings() -> DynamoStandings:
    from podium.adapters.standings import DynamoStandings

    return DynamoStandings(store())
