"""What counts as text: a JSON or YAML escape can produce a lone UTF-16 surrogate (\\ud800), which no UTF-8 store,
page or answer can hold."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any


def number(x: float | None, decimals: int = 1) -> str:
    """A figure as boards, emails and cards show it: thousands separated, at most `decimals` decimals, no
    trailing zeros."""
    if x is None or not math.isfinite(x):
        return "–"
    if abs(x - round(x)) < 0.5 * 10**-decimals:
        return f"{round(x):,}"
    return f"{x:,.{decimals}f}".rstrip("0").rstrip(".")


def storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def leaves(value: Any) -> Iterator[Any]:
    """Every key and every value that is not a mapping or a list, in a JSON-shaped value (without recursion, so
    any depth is fine)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        else:
            yield v


def unstorable_text(value: Any) -> bool:
    """Whether any key or string in a JSON-shaped value holds a lone surrogate."""
    return any(isinstance(v, str) and not storable(v) for v in leaves(value))
