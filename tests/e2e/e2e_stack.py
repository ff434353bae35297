"""Helpers and the fixture of the end-to-end tests: a module of its own, as a second conftest.py would clash
with tests/conftest.py on import. The local stack as a user runs it: `podium local` in its own process, over HTTP."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from podium_cli.local.dynamodb import missing
from podium_cli.local.harness import PODIUM, LocalStack, start_local_stack

ROOT = Path(__file__).resolve().parents[2]
__all__ = ["PODIUM", "ROOT", "RunningStack", "create_org", "running_stack", "start_stack", "stop_stack", "wait_for"]

pytestmark = pytest.mark.e2e


@dataclass
class RunningStack:
    """A started stack (podium_cli.local.harness) and the key the tests call it with."""

    local: LocalStack
    key: str = ""

    @property
    def url(self) -> str:
        return self.local.url

    @property
    def data_dir(self) -> Path:
        return self.local.data_dir

    def env(self) -> dict[str, str]:
        """What `podium admin` and `podium verify` need to work on this stack's table."""
        return self.local.env()

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str = "application/json",
        key: str | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {"Content-Type": content_type}
        token = self.key if key is None else key
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:  # noqa: S310 - our own loopback stack
                return reply.status, dict(reply.headers), reply.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def json(self, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
        status, _, body = self.call(method, path, None if payload is None else json.dumps(payload).encode())
        return status, json.loads(body) if body else None


def start_stack(data_dir: Path, port: int | None = None, root: Path = ROOT) -> RunningStack:
    """`podium local` in `root` (a checkout, or a copy of one with a changed template), on a free port; skipped
    where DynamoDB Local cannot run (a failure on CI)."""
    reason = missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"the end-to-end tests need DynamoDB Local and Java 17+: {reason}")
        pytest.skip(reason)
    return RunningStack(start_local_stack(root, data_dir, port=port))


def stop_stack(stack: RunningStack) -> None:
    stack.local.stop()


def create_org(stack: RunningStack, org: str) -> str:
    return stack.local.create_org(org)


def running_stack(tmp_path: Path) -> Iterator[RunningStack]:
    """A started stack with an organisation `e2e` and its admin key; stopped afterwards (a fixture's body)."""
    stack = start_stack(tmp_path / "podium")
    try:
        stack.key = create_org(stack, "e2e")
        yield stack
    finally:
        stop_stack(stack)


def wait_for(predicate: Any, timeout: float = 90.0, every: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"not reached within {timeout} s (last: {last!r})")
