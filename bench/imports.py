"""Benchmark of the five handlers' cold start (the part of it that is ours), as ratios to `import boto3`.

For each function in template.yaml, two fresh interpreters, each loading the handler as Lambda does
(`import app`, with the function's CodeUri and the layer first on sys.path, and the environment template.yaml
gives the function):
- import: `import app` alone. Target: at most 1.15x a fresh `import boto3`.
- import + first request: then what the function's first invocation builds before it can answer: the settings,
  the store (and the standings adapter, for boards and aggregate), the stream decoder (aggregate), and the
  botocore client, made by one GetItem against a DynamoDB on 127.0.0.1 (moto's server, or DynamoDB Local when
  PODIUM_DYNAMODB_ENDPOINT is set, e.g. under `python -m podium_cli.local.dynamodb -- …`). Target: at most 1.5x.
  Nothing reaches AWS: the endpoint is local and the credentials are fake (Lambda gives them in the environment,
  so botocore never searches for them).

The machine may be busy: every repetition runs the baseline and each handler one after the other, and a ratio is
taken within one repetition, so a load that comes and goes slows both sides of it. The table gives the median
wall time, the median of those ratios and their 10th-90th percentiles. Each interpreter ends with os._exit once
its work is done: a Lambda environment is frozen, never torn down, so interpreter shutdown is not part of a cold
start (it is measured once and printed below the table). One discarded run of each first writes the bytecode
caches. Then `-X importtime` names the slowest imports of each handler's first request.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "layers" / "podium"
TABLE = "podium-bench"
IMPORT_TARGET = 1.15
FIRST_REQUEST_TARGET = 1.5
BASELINE = "import boto3"
EXIT = "\nimport os\nos._exit(0)\n"  # a Lambda environment is frozen, never shut down

# What each function's first invocation builds before it can answer (see the handlers and podium.api.app).
_GET_ITEM = "store().get_org('bench')"  # the first call to the table: makes the botocore client
FIRST_REQUEST = {
    "IngestFunction": f"from podium.api.app import store\n{_GET_ITEM}",
    "AdminFunction": f"from podium.api.app import store\n{_GET_ITEM}",
    "BoardsFunction": f"from podium.api.app import store\nfrom podium.adapters.factory import standings\n"
    f"standings()\n{_GET_ITEM}",
    "AggregateFunction": "from podium.adapters.factory import standings, store\n"
    "from podium.adapters.streams import events_from_stream\n"
    f"events_from_stream({{'Records': []}})\nstandings()\n{_GET_ITEM}",
    "RolloverFunction": f"from podium.adapters.factory import store\n{_GET_ITEM}",
}
# What the handlers' heaviest dependencies cost alone, each in a fresh interpreter (--pieces; they overlap).
PIECES = {
    "botocore (session, client)": "import botocore.session, botocore.client",
    "pynamodb.models": "import pynamodb.models",
    "powertools Logger, Metrics": "from aws_lambda_powertools import Logger, Metrics",
    "powertools event_handler": "import aws_lambda_powertools.event_handler",
}


@dataclass(frozen=True)
class Case:
    label: str
    code: str  # the Python the interpreter runs (then os._exit)
    env: dict[str, str]


def program(code: str, path: list[Path] | None = None) -> str:
    head = f"import sys\nsys.path[:0] = {[str(p) for p in path]!r}\n" if path else ""
    return head + code + EXIT


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "POWERTOOLS_", "PYTHON", "AWS_"))}
    env.update(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_SESSION_TOKEN": "bench",
        }
    )
    env.update(extra)
    return env


def run(case: Case, flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *flags, "-c", case.code], env=case.env, cwd=ROOT, capture_output=True, text=True, check=False
    )


def wall_ms(case: Case) -> float:
    start = time.perf_counter()
    result = run(case)
    elapsed = (time.perf_counter() - start) * 1000
    if result.returncode != 0:
        raise RuntimeError(f"{case.label} failed:\n{result.stderr}")
    return elapsed


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


@dataclass
class Figures:
    walls: list[float]
    ratios: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.walls)

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    def spread(self) -> str:
        return f"{percentile(self.ratios, 0.1):.2f}-{percentile(self.ratios, 0.9):.2f}"


def measure(baseline: Case, cases: list[Case], runs: int) -> tuple[list[float], dict[str, Figures]]:
    """Interleaved: each repetition runs the baseline, then every case; ratios are taken within a repetition."""
    for case in [baseline, *cases]:
        wall_ms(case)  # writes the bytecode caches; not counted
    base: list[float] = []
    figures = {c.label: Figures([], []) for c in cases}
    for _ in range(runs):
        b = wall_ms(baseline)
        base.append(b)
        for case in cases:
            ms = wall_ms(case)
            figures[case.label].walls.append(ms)
            figures[case.label].ratios.append(ms / b)
    return base, figures


def top_imports(case: Case, count: int = 12) -> list[tuple[int, int, str]]:
    """(cumulative µs, self µs, module with its nesting) of the slowest imports, from -X importtime."""
    result = run(case, ("-X", "importtime"))
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        rows.append((int(cumulative_us), int(self_us), name.rstrip()))
    rows.sort(reverse=True)
    return rows[:count]


def function_cases(endpoint: str) -> list[tuple[str, Case, Case]]:
    from podium_cli.local.apigw import function_environment
    from podium_cli.template import load_template

    template = load_template(ROOT / "template.yaml")
    rows = []
    for function, first_request in FIRST_REQUEST.items():
        props = template["Resources"][function]["Properties"]
        module = props["Handler"].rpartition(".")[0]
        path = [ROOT / props["CodeUri"], LAYER]
        env = clean_env(
            {
                **function_environment(template, function, {"PodiumTable": TABLE}),
                "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
                "POWERTOOLS_METRICS_NAMESPACE": "PodiumBench",
            }
        )
        load = f"import {module}\n{module}.handler"
        rows.append(
            (
                function,
                Case(f"{function} import", program(load, path), env),
                Case(f"{function} first", program(f"{load}\n{first_request}", path), env),
            )
        )
    return rows


@contextmanager
def local_dynamodb() -> Iterator[str]:
    """A DynamoDB endpoint on 127.0.0.1 with the template's table: DynamoDB Local when PODIUM_DYNAMODB_ENDPOINT
    names one, else moto's server, started here."""
    import boto3

    from podium_cli.template import create_tables

    endpoint = os.environ.get("PODIUM_DYNAMODB_ENDPOINT", "")
    server = None
    if not endpoint:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        endpoint = f"http://127.0.0.1:{port}"
    try:
        client = boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",  # noqa: S106 - a fake for the local endpoint
        )
        create_tables(client, ROOT / "template.yaml", {"PodiumTable": TABLE})
        yield endpoint
    finally:
        if server is not None:
            server.stop()


def shutdown_ms(case: Case) -> float:
    """How much longer the interpreter takes when it also shuts down (median of 3 pairs)."""
    full = Case(case.label, case.code.replace(EXIT, ""), case.env)
    return statistics.median(wall_ms(full) - wall_ms(case) for _ in range(3))


def short(function: str) -> str:
    return function.removesuffix("Function").lower()


def verdict(ratio: float, target: float) -> str:
    return "pass" if ratio <= target else "FAIL"


def print_table(base: list[float], rows: list[tuple[str, Figures, Figures]]) -> None:
    print(
        f"{'handler':<18} {'import ms':>9} {'ratio':>5} {'p10-p90':>9} {'':4}"
        f"  {'import+first request ms':>23} {'ratio':>5} {'p10-p90':>9} {'':4}"
    )
    print(f"{'import boto3':<18} {statistics.median(base):9.1f} {1:5.2f}")
    for function, imported, first in rows:
        name = short(function)
        print(
            f"{name:<18} {imported.median:9.1f} {imported.ratio:5.2f} {imported.spread():>9} "
            f"{verdict(imported.ratio, IMPORT_TARGET):4}  {first.median:23.1f} {first.ratio:5.2f} "
            f"{first.spread():>9} {verdict(first.ratio, FIRST_REQUEST_TARGET):4}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="repetitions (default 11)")
    parser.add_argument("--pieces", action="store_true", help="also time the heaviest dependencies alone")
    parser.add_argument("--no-detail", action="store_true", help="skip the -X importtime lists")
    args = parser.parse_args(argv)

    with local_dynamodb() as endpoint:
        functions = function_cases(endpoint)
        baseline = Case("import boto3", program(BASELINE), clean_env({}))
        cases = [case for _, imported, first in functions for case in (imported, first)]
        base, figures = measure(baseline, cases, args.runs)
        print(
            f"Cold start of each handler, {args.runs} repetitions ({sys.version.split()[0]}, {os.cpu_count()} CPUs), "
            f"ratios to a fresh `{BASELINE}` in the same repetition; first request on {endpoint}"
        )
        print(f"targets: import <= {IMPORT_TARGET}x, import + first request's client setup <= {FIRST_REQUEST_TARGET}x")
        print()
        print_table(base, [(f, figures[i.label], figures[r.label]) for f, i, r in functions])
        firsts = [(short(f), first) for f, _, first in functions]
        print()
        # Once, what os._exit leaves out of the figures above.
        shutdowns = [f"{name} {shutdown_ms(case):+.0f} ms" for name, case in [("import boto3", baseline), *firsts]]
        print("Not counted: interpreter shutdown, which Lambda never runs (median of 3): " + ", ".join(shutdowns))
        if args.pieces:
            bare = statistics.median(wall_ms(Case("bare", program("pass"), baseline.env)) for _ in range(args.runs))
            print()
            print(f"What the heaviest dependencies cost alone (median of {args.runs}, over a bare {bare:.1f} ms):")
            for label, code in PIECES.items():
                piece = Case(label, program(code), baseline.env)
                wall_ms(piece)
                ms = statistics.median(wall_ms(piece) for _ in range(args.runs))
                print(f"    {label:<33} +{ms - bare:6.1f} ms")
        if not args.no_detail:
            for function, _, first in functions:
                print()
                print(f"{function}, import + first request: slowest imports (-X importtime, one run; self in [])")
                for cumulative, own, name in top_imports(first):
                    depth = (len(name) - len(name.lstrip()) - 1) // 2
                    print(f"    {cumulative / 1000:7.1f} ms  [{own / 1000:6.1f}]  {'  ' * depth}{name.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
