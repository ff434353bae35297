"""The layering, checked by reading the source: the domain is pure, the services speak to storage only through
the ports, and only podium.adapters.keys knows the table's key formats.

Every import is found, at module level and inside functions (also `importlib.import_module("…")`), relative ones
resolved; every string literal, f-strings' fixed parts included, is checked for a fragment of a key.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # not conftest's: tests/unit/domain has its own conftest
PACKAGE = ROOT / "layers" / "podium" / "podium"
KEYS = PACKAGE / "adapters" / "keys.py"
# What each layer may not import (a prefix of a dotted module name).
FORBIDDEN = {
    "domain": ("podium.adapters", "podium.services", "podium.api", "podium_cli", "boto3", "botocore", "pynamodb"),
    "services": ("podium.adapters", "podium.api", "podium_cli", "boto3", "botocore", "pynamodb"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, module: str, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of everything the source imports, wherever the import statement is."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base
            yield from ((node.lineno, f"{base}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                yield node.lineno, node.args[0].value


def strings(source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of every string literal; an f-string's fixed parts are literals too."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def key_fragments() -> set[str]:
    """The fixed parts of every key keys.py builds: the literals that hold a `#`."""
    return {text for _, text in strings(KEYS.read_text()) if "#" in text and not text.startswith("|")} - {"#"}


def violations(source: str, module: str, layer: str, fragments: set[str], *, is_package: bool = False) -> list[str]:
    """What in one module breaks its layer's rules, as `line: problem`. Docstrings may mention keys."""
    found = [
        f"{line}: imports {name}"
        for line, name in imports(source, module, is_package)
        if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN[layer])
    ]
    tree = ast.parse(source)
    docstrings = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            hits = sorted(f for f in fragments if f in node.value)
            if hits:
                found.append(f"{node.lineno}: holds the key format {hits[0]!r}")
    return found


def sources(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


def test_the_key_codec_has_fragments_to_look_for() -> None:
    fragments = key_fragments()
    assert {"O#", "#PROG#", "#P#", "PP#", "TP#", "DP#"} <= fragments, fragments


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_domain_or_service_module_imports_an_adapter_or_knows_a_key(layer: str) -> None:
    assert sources(layer), f"no modules under podium/{layer}"
    fragments = key_fragments()
    found = [
        f"{path.relative_to(ROOT)}:{problem}"
        for path in sources(layer)
        for problem in violations(
            path.read_text(), module_name(path), layer, fragments, is_package=path.name == "__init__.py"
        )
    ]
    assert found == []


def test_the_check_sees_imports_in_function_bodies_relative_imports_and_key_literals() -> None:
    source = (
        "def f(org):\n"
        "    from podium.adapters import keys\n"
        "    from ..adapters.dynamodb import DynamoStore\n"
        "    import importlib\n"
        "    importlib.import_module('boto3')\n"
        "    return f'O#{org}#PROG#x'\n"
    )
    found = violations(source, "podium.services.sample", "services", key_fragments())
    assert any("imports podium.adapters.keys" in v for v in found), found
    assert any("imports podium.adapters.dynamodb" in v for v in found), found
    assert any("imports boto3" in v for v in found), found
    assert any("holds the key format" in v for v in found), found
    assert violations('"""Keys look like O#{org}."""\n', "podium.domain.x", "domain", key_fragments()) == []
