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
    # Bulletins: where the pages are (links in emails and posts), who digests come from, SES's configuration set
    # (bounce and complaint events), and the Secrets Manager secret that signs unsubscribe links.
    public_url: str = ""
    mail_from: str = ""
    configuration_set: str = ""
    signing_secret: str = ""

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
            public_url=env.get("PODIUM_PUBLIC_URL", "").strip().rstrip("/"),
            mail_from=env.get("PODIUM_MAIL_FROM", "").strip(),
            configuration_set=env.get("PODIUM_SES_CONFIGURATION_SET", "").strip(),
            signing_secret=env.get("PODIUM_SIGNING_SECRET", "").strip(),
        )


@cache
def settings() -> Settings:
    return Settings.from_env()
