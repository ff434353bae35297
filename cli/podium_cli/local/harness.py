"""`podium local` in a process of its own, as a user runs it, for the end-to-end tests and the benchmarks.

`start_local_stack` starts `podium local --no-demo` on a free port with a data folder of the caller's, and returns
once the stack answers over HTTP; `LocalStack.stop` stops it the way Ctrl-C does (SIGINT). The stack's output goes
to a log file, never to a pipe: a pipe nobody reads fills up and blocks the stack. Standard library only, so a
benchmark measures the stack and not this module.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from podium_cli.local.dynamodb import free_port

# The `podium` console script installed next to the running interpreter (the virtualenv's).
PODIUM = str(Path(sys.executable).with_name("podium"))
STARTUP_SECONDS = 180.0
STOP_SECONDS = 60.0


class StackDidNotStart(RuntimeError):
    """`podium local` exited, or did not answer in time; the message ends with the tail of its log."""


@dataclass
class LocalStack:
    """A running `podium local`: its process, where it keeps its data and its log, and what its stack.json says."""

    process: subprocess.Popen[bytes]
    root: Path
    data_dir: Path
    log_path: Path
    state: dict[str, Any]
    _log: IO[bytes]

    @property
    def url(self) -> str:
        """The HTTP API's base, `http://127.0.0.1:PORT` (routes start with /v1)."""
        return str(self.state["url"])

    @property
    def table(self) -> str:
        return str(self.state["table"])

    @property
    def dynamodb_endpoint(self) -> str:
        return str(self.state["dynamodb_endpoint"])

    def env(self) -> dict[str, str]:
        """The environment in which `podium admin`, `podium verify` and boto3 work on this stack's table."""
        return {
            **os.environ,
            "PODIUM_TABLE": self.table,
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_endpoint,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def create_org(self, org: str) -> str:
        """`podium admin create-org ORG` on this stack's table; the admin key it prints."""
        result = subprocess.run(
            [PODIUM, "admin", "create-org", org, "--json"],
            env=self.env(),
            cwd=self.root,
            capture_output=True,
            text=True,
            check=True,
        )
        return str(json.loads(result.stdout)["key"])

    def stop(self, timeout: float = STOP_SECONDS) -> bool:
        """SIGINT, as Ctrl-C sends, then wait; killed if it has not stopped within `timeout`. True when it stopped
        by itself (its exit status is `process.returncode`)."""
        clean = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                clean = False
                self.process.kill()
                self.process.wait()
        self._log.close()
        return clean

    def kill(self, timeout: float = 30.0) -> list[int]:
        """SIGKILL the stack and everything under it (DynamoDB Local's java), as a crash would, and wait until
        they are gone; the data folder is left as they left it. Returns the process ids killed."""
        victims = [self.process.pid, *descendants(self.process.pid)]
        for pid in victims:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()
        self._log.close()
        deadline = time.monotonic() + timeout
        while not all(gone(p) for p in victims) and time.monotonic() < deadline:
            time.sleep(0.05)
        return victims


def descendants(pid: int) -> list[int]:
    """Every process under `pid`, from /proc."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        children[int(stat.rsplit(")", 1)[1].split()[1])].append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


def start_local_stack(
    root: Path,
    data_dir: Path,
    *,
    port: int | None = None,
    log_path: Path | None = None,
    timeout: float = STARTUP_SECONDS,
    in_memory: bool = False,
    env: Mapping[str, str] | None = None,
) -> LocalStack:
    """`podium local --no-demo` run in `root` (a checkout, or a copy of one with a changed template), keeping its
    data in `data_dir` (kept between starts, as a user's `.podium/` is), on `port` or a free one; its output is
    appended to `log_path` (default `data_dir/stack.log`). Returns once `GET /v1/openapi.json` answers 200;
    raises StackDidNotStart if the process exits first or `timeout` seconds pass (then it is killed).
    `in_memory` keeps the database in memory (`--in-memory`); `env` is the process's environment."""
    data_dir.mkdir(parents=True, exist_ok=True)
    state_file = data_dir / "stack.json"
    state_file.unlink(missing_ok=True)  # a previous run's, naming a port that is gone
    log_path = log_path or data_dir / "stack.log"
    log = log_path.open("ab")
    memory = ["--in-memory"] if in_memory else []
    process = subprocess.Popen(
        [PODIUM, "local", "--no-demo", *memory, "--port", str(port or free_port()), "--data", str(data_dir)],
        cwd=root,
        env=None if env is None else dict(env),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.close()
            raise StackDidNotStart(f"podium local exited with {process.returncode}:\n{_tail(log_path)}")
        state = _state(state_file)
        if state is not None and _answers(state["url"]):
            return LocalStack(process, root, data_dir, log_path, state, log)
        time.sleep(0.5)
    process.kill()
    process.wait()
    log.close()
    raise StackDidNotStart(f"podium local did not start within {timeout:.0f} s:\n{_tail(log_path)}")


def _state(state_file: Path) -> dict[str, Any] | None:
    """What the stack wrote to stack.json once it listens; None before (or while it is half-written)."""
    try:
        state = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _answers(url: str) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", urlsplit(url).port, timeout=5)
        try:
            connection.request("GET", "/v1/openapi.json")
            reply = connection.getresponse()
            reply.read()  # closing with the body unread would reset the connection: a traceback in the log
            return reply.status == 200
        finally:
            connection.close()
    except (OSError, http.client.HTTPException):
        return False


def _tail(log_path: Path, size: int = 3000) -> str:
    try:
        return log_path.read_text(errors="replace")[-size:]
    except OSError:
        return ""
