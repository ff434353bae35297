"""HTML pages from Jinja2 templates. Autoescaping is on for every template: names come from users."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import BaseLoader, ChoiceLoader, Environment, PackageLoader, select_autoescape


@cache
def environment(*extra_packages: str) -> Environment:
    """Templates of this package, and first those of `extra_packages` (the local stack's own pages)."""
    loaders: list[BaseLoader] = [PackageLoader(p, "templates") for p in extra_packages]
    loaders.append(PackageLoader("podium.adapters", "templates"))
    return Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, *, packages: tuple[str, ...] = (), **context: Any) -> str:
    return environment(*packages).get_template(template).render(**context)
