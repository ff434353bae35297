"""What counts as text: a JSON or YAML escape can produce a lone UTF-16 surrogate (\\ud800), which no UTF-8 store,
page or answer can hold."""

from __future__ import annotations

from typing import Any


def storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unstorable_text(value: Any) -> bool:
    """Whether any key or string in a JSON-shaped value holds a lone surrogate."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, str) and not storable(v):
            return True
    return False
