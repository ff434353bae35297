"""Configuration, read once at the edge from the environment that template.yaml gives the functions."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Settings:
    table: str
    region: str
    # Standard AWS settings: AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL point at DynamoDB Local.
    dynamodb_endpoint: str | None
    # Set by `podium local`: its outbox of emails and posts has a page the home page links to.
    local_outbox: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        table = env.get("PODIUM_TABLE", "").strip()
        if not table:
            raise RuntimeError("PODIUM_TABLE is not set: it names the DynamoDB table (template.yaml sets it)")
        return cls(
            table=table,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            dynamodb_endpoint=env.get("AWS_ENDPOINT_URL_DYNAMODB") or env.get("AWS_ENDPOINT_URL") or None,
            local_outbox=bool(env.get("PODIUM_CHANNEL_OUTBOX")),
        )


@cache
def settings() -> Settings:
    return Settings.from_env()
