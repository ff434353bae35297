"""Benchmark of the handlers' import (the part of a Lambda cold start that is ours): what loading each function's
module costs next to `import boto3` alone and the bare interpreter.

Each figure is the median wall time (and CPU time) of 7 fresh interpreters, after one discarded run that writes the
bytecode caches. A handler module is loaded the way LocalApi loads it (from the function's CodeUri, under
`podium_fn_{Function}`), with the environment template.yaml gives that function. Then `-X importtime` names the
10 imports of each handler with the largest cumulative time (nested ones included, indented by depth).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 7
TARGET_RATIO = 1.15
FUNCTIONS = ["IngestFunction", "AdminFunction"]
# What the handlers' heaviest dependencies cost alone, each in a fresh interpreter (they overlap: botocore is in most).
PIECES = {
    "botocore (session, client)": "import botocore.session, botocore.client",
    "pynamodb.models": "import pynamodb.models",
    "aws_xray_sdk.core (Tracer)": "import aws_xray_sdk.core",
    "pydantic": "import pydantic",
    "powertools openapi_validation": "import aws_lambda_powertools.event_handler.middlewares.openapi_validation",
    "powertools Logger, Metrics": "from aws_lambda_powertools import Logger, Metrics",
}

LOAD = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location({name!r}, {file!r})
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
module.handler
"""


def handler_statement(function: str) -> tuple[str, dict[str, str]]:
    from podium_cli.local.apigw import function_environment
    from podium_cli.template import load_template

    template = load_template(ROOT / "template.yaml")
    props = template["Resources"][function]["Properties"]
    module_name = props["Handler"].rpartition(".")[0]
    file = ROOT / props["CodeUri"] / f"{module_name.replace('.', '/')}.py"
    env = function_environment(template, function, {"PodiumTable": "podium-bench"})
    return LOAD.format(name=f"podium_fn_{function}", file=str(file)), env


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "POWERTOOLS_", "PYTHON"))}
    env.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"})
    env.update(extra or {})
    return env


def measure(statement: str, env: dict[str, str]) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system, of the child) in ms. CPU time is the steadier figure
    on a busy machine: another process's load stretches the wall clock, not the child's own work."""
    command = [sys.executable, "-c", statement]
    subprocess.run(command, check=True, env=env, cwd=ROOT)  # writes the bytecode caches; not counted
    walls, cpus = [], []
    for _ in range(RUNS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, check=True, env=env, cwd=ROOT)
        walls.append((time.perf_counter() - start) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def top_imports(statement: str, env: dict[str, str], count: int = 10) -> list[tuple[int, int, str]]:
    """(cumulative µs, self µs, module with its nesting) of the slowest imports, from -X importtime."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        check=True,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        rows.append((int(cumulative_us), int(self_us), name.rstrip()))
    rows.sort(reverse=True)
    return rows[:count]


def _verdict(ratio: float) -> str:
    return "met" if ratio <= TARGET_RATIO else "MISSED"


def main() -> int:
    bare, bare_cpu = measure("pass", clean_env())
    boto3, boto3_cpu = measure("import boto3", clean_env())
    print(f"Import benchmark: median of {RUNS} fresh interpreters ({sys.version.split()[0]}), wall and CPU time")
    print()
    print(f"    {'':<29} {'wall':>9}   {'CPU':>9}")
    print(f"    {'bare interpreter':<29} {bare:6.1f} ms   {bare_cpu:6.1f} ms")
    print(f"    {'import boto3':<29} {boto3:6.1f} ms   {boto3_cpu:6.1f} ms")
    details, verdicts = [], []
    for function in FUNCTIONS:
        statement, env = handler_statement(function)
        ms, cpu = measure(statement, clean_env(env))
        ratio, ratio_cpu = ms / boto3, cpu / boto3_cpu
        net = (ms - bare) / (boto3 - bare)
        verdict = f"wall {_verdict(ratio)}, CPU {_verdict(ratio_cpu)}"
        print(f"    {function:<29} {ms:6.1f} ms   {cpu:6.1f} ms")
        verdicts.append(
            f"    {function:<29} {ratio:.2f}x wall, {ratio_cpu:.2f}x CPU, {net:.2f}x wall net of the bare interpreter"
            f"  (target <= {TARGET_RATIO}x: {verdict})"
        )
        details.append((function, top_imports(statement, clean_env(env))))
    print()
    print("handler / boto3")
    print("\n".join(verdicts))
    print()
    print("What the heaviest dependencies cost alone (median over the bare interpreter; they overlap):")
    for label, statement in PIECES.items():
        ms, cpu = measure(statement, clean_env())
        print(f"    {label:<33} +{ms - bare:6.1f} ms wall   +{cpu - bare_cpu:6.1f} ms CPU")
    for function, rows in details:
        print()
        print(f"{function}: top 10 imports by cumulative time (-X importtime, one run; self time in brackets)")
        for cumulative, own, name in rows:
            depth = (len(name) - len(name.lstrip()) - 1) // 2
            print(f"    {cumulative / 1000:7.1f} ms  [{own / 1000:6.1f}]  {'  ' * depth}{name.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
