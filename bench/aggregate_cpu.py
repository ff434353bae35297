"""What the aggregation service costs in CPU, this checkout against an earlier commit, in one run.

Lambda bills the aggregate function's duration, and a warm recompute is CPU-bound: this prints, per 1,000
submissions of the seed case (examples/healthcare-sales, 230 reps), for each checkout:

- the aggregate function's CPU seconds on DynamoDB Local (everything it does: parsing records, the service, the
  table adapter and botocore), and the read and write units its calls consumed;
- the aggregation service's CPU seconds alone: every batch replayed through `recompute` against in-memory ports
  that answer each call with what the table answered the first time (recorded at the port, so the same for any
  version of the ports), three times, the best taken.

Each checkout runs in its own process (`--checkout DIR`, its own `podium` package first on sys.path) against one
DynamoDB Local, its own table. The earlier commit comes from a `git worktree` (default: 7982b5f, the commit before
the aggregator took typed events and one key codec). Figures from one run on one machine: read the ratios.

    python bench/aggregate_cpu.py [--base COMMIT] [--per-rep N]
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aggregate import week_window, workload

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "healthcare-sales"
BASE = "7982b5f"
ORG = "bench"
PROGRAM = "healthcare-sales"
CAPACITY_OPS = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "TransactGetItems",
}


# --- the child: one checkout, measured --------------------------------------------------------------------------


class Recording:
    """A port that passes every call to the real one and keeps, in order, what each answered."""

    def __init__(self, target: Any, log: list[tuple[str, Any]]) -> None:
        self._target, self._log = target, log

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs)
            self._log.append((name, copy.deepcopy(result)))
            return result

        return call


class Replaying:
    """A port that answers each call with the recorded answer: in memory, nothing computed."""

    def __init__(self, log: list[tuple[str, Any]]) -> None:
        self._answers = iter(log)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            recorded, result = next(self._answers)
            if recorded != name:
                raise RuntimeError(f"replay diverged: {name} called where {recorded} was")
            return result

        return call


def meter_capacity(units: dict[str, float], active: list[bool]) -> None:
    """Ask every DynamoDB call for its consumed capacity and add it up while `active[0]` is set."""
    import botocore.client

    original = botocore.client.BaseClient._make_api_call

    def metered(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if not active[0] or operation not in CAPACITY_OPS or self.meta.service_model.service_name != "dynamodb":
            return original(self, operation, params)
        result = original(self, operation, {**params, "ReturnConsumedCapacity": "TOTAL"})
        consumed = result.get("ConsumedCapacity") or []
        for c in consumed if isinstance(consumed, list) else [consumed]:
            units["read"] += float(c.get("ReadCapacityUnits", 0) or 0)
            units["write"] += float(c.get("WriteCapacityUnits", 0) or 0)
            if not c.get("ReadCapacityUnits") and not c.get("WriteCapacityUnits"):
                units["read" if operation in ("GetItem", "Query", "Scan", "BatchGetItem") else "write"] += float(
                    c.get("CapacityUnits", 0) or 0
                )
        return result

    botocore.client.BaseClient._make_api_call = metered


def child(checkout: Path, endpoint: str, table: str, per_rep: int) -> dict[str, Any]:
    sys.path[:0] = [str(checkout / "layers" / "podium"), str(checkout / "cli")]
    os.environ.update(PODIUM_TABLE=table, AWS_ENDPOINT_URL_DYNAMODB=endpoint)
    import boto3

    import podium

    if not Path(podium.__file__).resolve().is_relative_to(checkout.resolve()):
        raise RuntimeError(f"podium imported from {podium.__file__}, not from {checkout}")
    try:  # the CLI and the local stack left the layer for podium_cli (d76250a)
        from podium_cli.local.apigw import LocalApi, load_function
        from podium_cli.local.streams import (
            StreamPoller,
            StreamSettings,
            stream_consumers,
        )
        from podium_cli.template import create_tables, load_template
    except ImportError:
        from podium.adapters.template import create_tables, load_template
        from podium.local.apigw import LocalApi, load_function
        from podium.local.streams import StreamPoller, StreamSettings, stream_consumers
    import podium.services.aggregate as service
    from podium.adapters import factory
    from podium.domain.program import parse_program
    from podium.observability import metrics
    from podium.services.auth import create_org

    client = boto3.client("dynamodb", endpoint_url=endpoint)
    streams = boto3.client("dynamodbstreams", endpoint_url=endpoint)
    create_tables(client, checkout / "template.yaml", {"PodiumTable": table})
    template = load_template(checkout / "template.yaml")
    api = LocalApi(checkout, {"PodiumTable": table})
    key = create_org(factory.store(), ORG, "Bench", datetime.now(UTC)).token
    headers = {"Authorization": f"Bearer {key}"}

    def call(method: str, path: str, body: bytes, content_type: str) -> Any:
        reply = api.request(method, path, headers={**headers, "Content-Type": content_type}, body=body)
        if reply.status not in (200, 201):
            raise RuntimeError(f"{method} {path}: {reply.status} {reply.body[:300]!r}")
        return json.loads(reply.body)

    program_text = (EXAMPLE / "program.yaml").read_bytes()
    timezone = parse_program(program_text, filename="program.yaml").timezone
    call("PUT", f"/v1/programs/{PROGRAM}", program_text, "application/yaml")
    call("PUT", f"/v1/programs/{PROGRAM}/roster", (EXAMPLE / "roster.csv").read_bytes(), "text/csv")
    with (EXAMPLE / "roster.csv").open(newline="") as f:
        people = sorted(r["id"] for r in csv.DictReader(f))

    # Every recompute is recorded at its ports, to be replayed in memory afterwards.
    batches: list[tuple[Any, datetime, list[tuple[str, Any]], list[tuple[str, Any]]]] = []
    real_recompute = service.recompute

    def recorded(changes: Any, standings: Any, catalog: Any, now: datetime) -> Any:
        s_log: list[tuple[str, Any]] = []
        c_log: list[tuple[str, Any]] = []
        batches.append((copy.deepcopy(changes), now, s_log, c_log))
        return real_recompute(changes, Recording(standings, s_log), Recording(catalog, c_log), now)

    service.recompute = recorded  # the function module imports it by name when it loads, below
    ((function, properties),) = stream_consumers(template)
    settings = StreamSettings.from_event(properties)
    consumer = load_function(checkout, template, function, {"PodiumTable": table})
    units = {"read": 0.0, "write": 0.0}
    active = [False]
    meter_capacity(units, active)
    cpu = [0.0]

    def timed(event: dict[str, Any], context: Any) -> Any:
        active[0] = True
        started = time.process_time()
        try:
            return consumer(event, context)
        finally:
            cpu[0] += time.process_time() - started
            active[0] = False
            metrics.clear_metrics()

    poller = StreamPoller(client, streams, table, timed, settings)

    def settle() -> None:
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < 3 * settings.window_seconds + 1:
            if poller.poll_once():
                quiet_since = time.monotonic()
            else:
                time.sleep(0.05)
        if poller.parked:
            raise RuntimeError(f"{len(poller.parked)} batches parked: {poller.parked[0]['reason']}")

    settle()  # the roster's own cascade is not the submissions'
    batches.clear()
    cpu[0], units["read"], units["write"] = 0.0, 0.0, 0.0
    rows = workload(people, per_rep, week_window(timezone))  # seeded: the same for every checkout
    for i in range(0, len(rows), 500):
        result = call(
            "POST", f"/v1/programs/{PROGRAM}/submissions", json.dumps(rows[i : i + 500]).encode(), "application/json"
        )
        if result["rejected"]:
            raise RuntimeError(result["errors"][:3])
    settle()

    if os.environ.get("BENCH_CPU_PROFILE"):  # where the service's time goes, on stderr
        import cProfile
        import pstats

        replays = [(ch, now, Replaying(copy.deepcopy(s)), Replaying(copy.deepcopy(c))) for ch, now, s, c in batches]
        with cProfile.Profile() as profile:
            for changes, now, standings, catalog in replays:
                real_recompute(changes, standings, catalog, now)
        pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    best = float("inf")
    for _ in range(3):
        replays = [
            (changes, now, Replaying(copy.deepcopy(s)), Replaying(copy.deepcopy(c))) for changes, now, s, c in batches
        ]
        started = time.process_time()
        for changes, now, standings, catalog in replays:
            real_recompute(changes, standings, catalog, now)
        best = min(best, time.process_time() - started)
    return {
        "submissions": len(rows),
        "invocations": len(batches),
        "function_cpu": cpu[0],
        "service_cpu": best,
        "read": units["read"],
        "write": units["write"],
    }


# --- the parent: both checkouts, one DynamoDB Local -------------------------------------------------------------


def measure(checkout: Path, endpoint: str, table: str, per_rep: int) -> dict[str, Any]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "PodiumBench",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "CRITICAL",
        "PYTHONWARNINGS": "ignore",
    }
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    argv = [sys.executable, __file__, "--child", str(checkout), "--endpoint", endpoint, "--table", table]
    done = subprocess.run([*argv, "--per-rep", str(per_rep)], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{checkout}: {done.stderr.strip()[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def report(rows: list[tuple[str, dict[str, Any]]]) -> None:
    def per_k(figures: dict[str, Any], key: str) -> float:
        return float(figures[key]) * 1000 / float(figures["submissions"])

    header = ("checkout", "subs", "batches", "fn CPU s/1k", "service s/1k", "RU/1k", "WU/1k")
    print("{:<22} {:>6} {:>7} {:>11} {:>12} {:>8} {:>8}".format(*header))
    for name, f in rows:
        print(
            f"{name:<22} {f['submissions']:>6} {f['invocations']:>7} {per_k(f, 'function_cpu'):>11.3f} "
            f"{per_k(f, 'service_cpu'):>12.3f} {per_k(f, 'read'):>8.1f} {per_k(f, 'write'):>8.1f}"
        )
    (base_name, base), (head_name, head) = rows[0], rows[-1]
    service = per_k(base, "service_cpu") / max(per_k(head, "service_cpu"), 1e-9)
    function = per_k(base, "function_cpu") / max(per_k(head, "function_cpu"), 1e-9)
    print(f"\nservice alone (in-memory ports): {base_name} / {head_name} = {service:.1f}x less CPU (target >= 3x)")
    print(f"aggregate function on DynamoDB Local: {function:.2f}x less CPU")
    for unit in ("read", "write"):
        print(f"{unit} units per 1,000 submissions: {per_k(base, unit):.1f} -> {per_k(head, unit):.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--base", default=BASE, help="the commit to compare with (default %(default)s)")
    parser.add_argument("--per-rep", type=int, default=int(os.environ.get("BENCH_CPU_PER_REP", "10")))
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--table", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child, args.endpoint, args.table, args.per_rep)))
        return 0

    sys.path.insert(0, str(ROOT / "cli"))
    from podium_cli.local.dynamodb import start

    with tempfile.TemporaryDirectory(prefix="podium-base-") as scratch:
        base = Path(scratch) / "checkout"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(base), args.base], check=True)
        print("starting DynamoDB Local …", file=sys.stderr, flush=True)
        ddb = start()
        try:
            rows = []
            for name, checkout in ((f"{args.base} (before)", base), ("this checkout", ROOT)):
                print(f"measuring {name} …", file=sys.stderr, flush=True)
                rows.append((name, measure(checkout, ddb.endpoint, f"podium-cpu-{len(rows)}", args.per_rep)))
        finally:
            ddb.stop()
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)
    report(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
