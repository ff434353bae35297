"""`make run` passes ARGS to `podium local`, so every option the README lists works through it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
MAKE = shutil.which("make") or "make"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def run_line(*make_args: str) -> str:
    """The command `make run` would run last (a dry run: nothing is installed or started)."""
    result = subprocess.run(
        [MAKE, "--no-print-directory", "-n", "run", *make_args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1].strip()


def test_make_run_passes_its_args_to_podium_local() -> None:
    line = run_line("ARGS=--port 9000 --data /tmp/podium-x --in-memory --simulate --no-demo")
    assert line.endswith("/podium local --port 9000 --data /tmp/podium-x --in-memory --simulate --no-demo")


def test_make_run_without_args_is_plain_podium_local() -> None:
    assert run_line().endswith("/podium local")
