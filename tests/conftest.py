"""Fixtures shared by the unit tests (moto) and the integration tests (DynamoDB Local).

The same repository and API tests run on both backends: `backend` is parametrised, and the DynamoDB Local case
runs when PODIUM_DYNAMODB_ENDPOINT points at one (.ci/run starts it; `make test` does too).
"""

from __future__ import annotations

import functools
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest

ROOT = Path(__file__).resolve().parents[1]
DDB_LOCAL = os.environ.get("PODIUM_DYNAMODB_ENDPOINT", "")
BACKENDS = ["moto", pytest.param("dynamodb-local", marks=pytest.mark.integration)]


_shared_loader = functools.cache(botocore.loaders.create_loader)


@pytest.fixture(autouse=True)
def _one_botocore_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every botocore session in a test shares one loader of the read-only service models instead of parsing
    them again (moto and each client make sessions): a test's set-up stays at a fraction of a second."""
    monkeypatch.setattr(botocore.session, "create_loader", _shared_loader)


@pytest.fixture(autouse=True)
def _aws_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real AWS account: fake credentials, a fixed region, no endpoint from outside."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "PodiumTest")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")


def _clear_caches() -> None:
    from podium.adapters import factory
    from podium.config import settings

    settings.cache_clear()
    factory.store.cache_clear()
    factory.standings.cache_clear()
    factory.bulletins.cache_clear()
    factory.publisher.cache_clear()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh table from template.yaml, on moto or on DynamoDB Local; yields its name (PODIUM_TABLE is set)."""
    with fresh_table(request.param, monkeypatch) as table:
        yield table


# What template.yaml makes beside the table, as the handlers find them: the link-signing key (Secrets Manager).
SIGNING_SECRET = "podium/test/link-signing-key"
PUBLIC_URL = "https://podium.example.org"
REFS = {"LinkSigningKey": SIGNING_SECRET, "PublicUrl": PUBLIC_URL}


def template_resources() -> None:
    """The template's other resources on moto (inside mock_aws): the link-signing key."""
    boto3.client("secretsmanager").create_secret(Name=SIGNING_SECRET, SecretString=uuid.uuid4().hex * 2)


@contextmanager
def fresh_table(kind: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A table from template.yaml on moto or DynamoDB Local. Either way every other AWS service is moto's, in
    this process (mock_aws lets calls to DynamoDB Local's own endpoint through): nothing can reach AWS."""
    from moto import mock_aws

    from podium_cli.template import create_tables

    table = f"podium-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("PODIUM_TABLE", table)
    if kind == "moto":
        with mock_aws():
            create_tables(boto3.client("dynamodb"), ROOT / "template.yaml", {"PodiumTable": table})
            template_resources()
            _clear_caches()
            yield table
    else:
        if not DDB_LOCAL:
            pytest.skip("set PODIUM_DYNAMODB_ENDPOINT to run against DynamoDB Local")
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", DDB_LOCAL)
        with mock_aws():
            client = boto3.client("dynamodb", endpoint_url=DDB_LOCAL)
            create_tables(client, ROOT / "template.yaml", {"PodiumTable": table})
            template_resources()
            _clear_caches()
            yield table
            client.delete_table(TableName=table)
    _clear_caches()


@pytest.fixture
def store(backend: str) -> Any:
    from podium.api.app import store as build

    return build()


@dataclass
class Client:
    """Speaks HTTP to the handlers the way API Gateway would, through the template's routes."""

    api: Any
    key: str = ""

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
        query: str = "",
    ) -> Any:
        all_headers = dict(headers or {})
        token = self.key if key is None else key
        if token:
            all_headers.setdefault("Authorization", f"Bearer {token}")
        raw: bytes | None
        if body is None:
            raw = None
        elif isinstance(body, bytes):
            raw = body
        elif isinstance(body, str):
            raw = body.encode()
        else:
            raw = json.dumps(body).encode()
            content_type = content_type or "application/json"
        if content_type:
            all_headers["Content-Type"] = content_type
        return Reply(self.api.request(method, path, headers=all_headers, query=query, body=raw))


@dataclass
class Reply:
    raw: Any

    @property
    def status(self) -> int:
        return int(self.raw.status)

    @property
    def headers(self) -> dict[str, str]:
        return dict(self.raw.headers)

    @property
    def text(self) -> str:
        return bytes(self.raw.body).decode()

    @property
    def json(self) -> Any:
        return json.loads(self.raw.body)


@pytest.fixture
def stream(backend: str, api: Client) -> Any:
    """The table's stream feeding the template's aggregate function, as Lambda would; `stream.drain()` runs the
    cascade until it settles. The batching window is 0 here (the template's is for cost, not correctness)."""
    from podium_cli.local.apigw import load_function
    from podium_cli.local.streams import StreamPoller, StreamSettings, stream_consumers

    if not os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"):
        pytest.skip("the stream runs on DynamoDB Local (moto does not implement DescribeStream)")
    template = api.api.template
    ((function, properties),) = stream_consumers(template)
    settings = StreamSettings.from_event(properties)
    consumer = load_function(ROOT, template, function, {"PodiumTable": backend})
    endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or None
    return StreamPoller(
        boto3.client("dynamodb", endpoint_url=endpoint),
        boto3.client("dynamodbstreams", endpoint_url=endpoint),
        backend,
        consumer,
        StreamSettings(settings.batch_size, 0.0, settings.max_retries, settings.bisect_on_error),
    )


@pytest.fixture
def api(backend: str) -> Client:
    from podium_cli.local.apigw import LocalApi

    return Client(LocalApi(ROOT, {"PodiumTable": backend, **REFS}))


def bootstrap_org(org: str = "acme") -> str:
    """Create an organisation in the current table and return its first admin key."""
    from podium.api.app import store
    from podium.services.auth import create_org

    return create_org(store(), org, org.title(), datetime.now(UTC)).token


@pytest.fixture
def admin(api: Client) -> Client:
    """An API client holding the admin key of a fresh organisation `acme`."""
    api.key = bootstrap_org("acme")
    return api
