"""A handler's module imports only what every request needs: the table adapter (PynamoDB, botocore), the HTML
templates (Jinja2) and the rest load at first use, so a cold start that does not need
them does not pay for them (bench/imports.py measures what they cost).

Each handler is imported as Lambda imports it (`import app`, its CodeUri and the layer first on sys.path) in a
fresh interpreter, whose sys.modules then tells what the import loaded. Timings are not asserted here: they are
noisy on a shared machine; which modules load is not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "podium"
FUNCTIONS = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))

# Loaded at first use, never by importing a handler.
LAZY = [
    "boto3",
    "botocore.session",
    "botocore.client",
    "pynamodb",
    "jinja2",
    "yaml",
    "pydantic",
    "aws_xray_sdk",
    "hypothesis",
    "moto",
    "podium_cli",
    "podium.adapters.dynamodb",
    "podium.adapters.standings",
    "podium.adapters.pages",
]

PROBE = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import app
app.handler
print(json.dumps(sorted(sys.modules)))
"""


def modules_after_import(function: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "PYTHONPATH"))}
    env.update(PODIUM_TABLE="podium-test", AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1")
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT / "functions" / function), str(LAYER)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(result.stdout))


def test_every_function_has_a_handler_module():
    assert FUNCTIONS == ["admin", "aggregate", "boards", "ingest", "publish", "rollover"]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_importing_a_handler_loads_none_of_what_its_first_request_builds(function):
    loaded = modules_after_import(function)

    assert "podium.observability" in loaded  # the probe imported the handler itself
    assert [m for m in LAZY if m in loaded] == []
