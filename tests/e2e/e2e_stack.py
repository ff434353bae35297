"""Helpers and the fixture of the end-to-end tests: a module of its own, as a second conftest.py would clash
with tests/conftest.py on import. The local stack as a user runs it: `podium local` in its own process, over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from podium_cli.local.dynamodb import find_jar, free_port, java_available

ROOT = Path(__file__).resolve().parents[2]
PODIUM = str(Path(sys.executable).with_name("podium"))

pytestmark = pytest.mark.e2e


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    url: str
    data_dir: Path
    state: dict[str, Any]
    key: str = ""

    def env(self) -> dict[str, str]:
        """What `podium admin` and `podium verify` need to work on this stack's table."""
        return {
            **os.environ,
            "PODIUM_TABLE": self.state["table"],
            "AWS_ENDPOINT_URL_DYNAMODB": self.state["dynamodb_endpoint"],
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

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
    """`podium local` in `root` (a checkout, or a copy of one with a changed template), on a free port."""
    if not (find_jar() and java_available()):
        if os.environ.get("CI"):
            pytest.fail("the end-to-end tests need DynamoDB Local and Java 17+")
        pytest.skip("DynamoDB Local or Java is missing (make dynamodb-local)")
    port = port or free_port()
    state_file = data_dir / "stack.json"
    state_file.unlink(missing_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    log = (data_dir / "stack.log").open("a")  # a file, not a pipe nobody reads (a full pipe would stall the stack)
    process = subprocess.Popen(
        [PODIUM, "local", "--no-demo", "--port", str(port), "--data", str(data_dir)],
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"podium local exited: {(data_dir / 'stack.log').read_text()[-2000:]}")
        if state_file.is_file():
            state = json.loads(state_file.read_text())
            try:
                with urllib.request.urlopen(state["url"] + "/v1/openapi.json", timeout=5) as reply:  # noqa: S310
                    reply.read()
                return RunningStack(process, state["url"], data_dir, state)
            except OSError:
                pass
        time.sleep(0.5)
    process.kill()
    raise RuntimeError("podium local did not start within 180 s")


def stop_stack(stack: RunningStack) -> None:
    if stack.process.poll() is None:
        stack.process.send_signal(signal.SIGINT)
        try:
            stack.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            stack.process.kill()
            stack.process.wait()


def create_org(stack: RunningStack, org: str) -> str:
    result = subprocess.run(
        [PODIUM, "admin", "create-org", org, "--json"], env=stack.env(), capture_output=True, text=True, check=True
    )
    return str(json.loads(result.stdout)["key"])


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
