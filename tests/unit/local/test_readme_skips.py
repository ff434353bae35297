"""The README's Tests section names every reason tests/conftest.py gives for a skip, so it says truthfully what a
run leaves out."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PRODUCTS = {"DynamoDB"}  # named everywhere in the section: not what tells one reason from another


def skip_reasons() -> list[str]:
    tree = ast.parse((ROOT / "tests" / "conftest.py").read_text())
    return [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "skip"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ]


def readme_tests_section() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split("\n## Tests\n", 1)[1].split("\n## ", 1)[0]


def test_the_readme_names_each_skip_reason() -> None:
    reasons = skip_reasons()
    assert len(reasons) >= 2
    section = readme_tests_section()
    for reason in reasons:
        # The reason's names (PODIUM_DYNAMODB_ENDPOINT, DescribeStream): what a reader will see in `pytest -rs`.
        names = set(re.findall(r"\b[A-Z][A-Za-z]*[A-Z_][A-Za-z_]*\b", reason)) - PRODUCTS
        assert names, reason
        assert any(name in section for name in names), f"the README's Tests section does not explain {reason!r}"


def test_the_readme_does_not_blame_java_for_the_stream_skips() -> None:
    assert "no Java" not in readme_tests_section()
